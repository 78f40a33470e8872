/* SPDX-License-Identifier: MIT */
#pragma once

/* Conditional requests (RFC 9110 §13): entity-tag comparison, HTTP dates,
 * and the order in which a server evaluates the preconditions. Pure
 * functions over header values. */

#include <stdbool.h>
#include <time.h>

/* Parses an HTTP-date in any of its three forms (IMF-fixdate, RFC 850,
 * asctime; RFC 9110 §5.6.7). -EINVAL if it is none of them. */
int http_date_parse(const char *s, time_t *ret);

/* Whether the If-Match/If-None-Match list matches etag (a quoted
 * entity-tag, "W/" prefixed if weak): "*" matches anything; strong
 * comparison needs both tags strong and equal, weak comparison ignores "W/".
 * A malformed list matches nothing. */
bool etag_list_match(const char *list, const char *etag, bool weak);

typedef struct PrecondRequest {
        bool get_or_head;
        const char *if_match;
        const char *if_unmodified_since;
        const char *if_none_match;
        const char *if_modified_since;
} PrecondRequest;

/* RFC 9110 §13.2.2 for an existing representation with the strong
 * validator etag and last_modified: If-Match (strong) or else
 * If-Unmodified-Since failing is 412; then If-None-Match (weak) matching is
 * 304 for GET and HEAD (412 otherwise), or else, for GET and HEAD only,
 * If-Modified-Since not older than last_modified is 304. Returns 0 when the
 * request goes on, else the status. Invalid dates are ignored. */
int precond_evaluate(const PrecondRequest *r, const char *etag, time_t last_modified);

/* If-Range (RFC 9110 §13.1.5): whether the Range header applies, that is
 * whether the value is etag by strong comparison or exactly last_modified.
 * A weak tag or an invalid value never matches. */
bool precond_if_range(const char *if_range, const char *etag, time_t last_modified);
