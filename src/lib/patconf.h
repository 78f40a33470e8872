/* SPDX-License-Identifier: MIT */
#pragma once

/* patplex's configuration, in the original ashd's language, parsed from a
 * ConfReader (conf.h). Directives:
 *
 *   child NAME   + "exec PROGRAM ARGS..."  a persistent stdin-style handler
 *   fchild NAME  + "exec PROGRAM ARGS..."  a transient handler, one per request
 *   socket NAME PATH                      an activated handler socket
 *   match        + rules, all of which must hold, and actions:
 *     point REGEX [FLAGS]        the rest string; on a match everything up to
 *                                the end of the match is removed from it
 *     url REGEX [FLAGS]          the raw URL
 *     method REGEX [FLAGS]       the method
 *     header NAME REGEX [FLAGS]  a header (a missing one never matches); for
 *                                "header host" the value with its port
 *                                stripped ("Example.org:8080" → "Example.org",
 *                                "[::1]:80" → "[::1]")
 *     all                        always
 *     default                    the stanza is tried only when no stanza
 *                                without "default" matched
 *     handler NAME | reparse     where the request goes; reparse applies the
 *                                stanza's changes and matches again from the
 *                                top (at most PATCONF_PASSES_MAX passes)
 *     set HEADER VALUE, xset HEADER VALUE (X-Ash-HEADER)
 *     restpat TEMPLATE           the new rest string (see patconf_expand())
 *     priority N                 higher first (default 0), then file order;
 *     order N                    the same as "priority -N" (lower first)
 *
 * Regex flags: "i" case-insensitive; "s" (point only) the match must end at
 * the end of a path segment, i.e. be followed by '/' or the end of the rest,
 * and that '/' is removed as well ("point ^foo s": "foo/bar" → "bar",
 * "foo" → "", "foobar" does not match); "q" (url, method, header) the regex
 * is matched against the URL-decoded value (one that does not decode never
 * matches). "q" is refused on point, whose match is cut from the still
 * escaped rest string. Regexes are POSIX extended, unanchored unless they say
 * so, compiled once when the file is read.
 *
 * Pure: nothing here touches the file system except through the reader. */

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "macro.h"
#include "request.h"
#include "target.h"
#include "upstream.h"

#define PATCONF_PASSES_MAX 8  /* matching passes per request (reparse) */
#define PATCONF_GROUPS     10 /* $0..$9 */

typedef enum PatRuleKind {
        PAT_RULE_POINT,
        PAT_RULE_URL,
        PAT_RULE_METHOD,
        PAT_RULE_HEADER,
        PAT_RULE_ALL,
} PatRuleKind;

typedef enum PatFlags {
        PAT_FLAG_ICASE = 1 << 0,
        PAT_FLAG_SEGMENT = 1 << 1,
        PAT_FLAG_UNQUOTE = 1 << 2,
} PatFlags;

typedef struct PatRule {
        PatRuleKind kind;
        PatFlags flags;
        char *header; /* PAT_RULE_HEADER */
        bool compiled;
        regex_t regex;
} PatRule;

typedef struct PatMatch {
        PatRule *rules;
        size_t n_rules;
        bool is_default;
        bool reparse;
        char *handler;
        char **headers; /* name, value, ..., NULL (xset already has X-Ash-) */
        char *restpat;
        long priority;
        unsigned line;
} PatMatch;

typedef struct PatConf {
        Target *handlers;
        size_t n_handlers;
        PatMatch *matches; /* in the order they are tried, after patconf_finish() */
        size_t n_matches;
} PatConf;

int patconf_new(PatConf **ret);
/* Reads every line of r into c (a second file adds to the first). On a
 * mistake returns -EINVAL (or what conf_next() returned) with conf_error(r)
 * naming FILE:LINE. */
int patconf_parse(PatConf *c, ConfReader *r);
/* After the last file: checks that every handler named exists (-ENOENT, with
 * the stanza's line in *ret_line) and sorts the stanzas by priority. */
int patconf_finish(PatConf *c, unsigned *ret_line, const char **ret_name);
PatConf *patconf_free(PatConf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(PatConf *, patconf_free);

const Target *patconf_handler(const PatConf *c, const char *name);
/* Moves the upstreams (running children, open sockets) of old handlers to
 * handlers of c with the same name, kind and command or path, so that a
 * reload does not restart what it did not change. */
void patconf_adopt(PatConf *c, PatConf *old);

/* Expands a restpat template: $0..$9 the groups (NULL: ""), $_ old_rest,
 * $$ a '$', ${NAME} the first value of request header NAME ("" if there is
 * none); any other '$' is kept as it is. -E2BIG beyond REQ_URL_MAX. */
int patconf_expand(const char *template, const char *const groups[PATCONF_GROUPS], const char *old_rest,
                   const Request *req, char **ret);

/* Routes req: finds the first matching stanza (defaults last), applies its
 * point, restpat and set/xset to req, and follows reparse. Returns 0 with the
 * handler, -ENOENT when nothing matched, -ELOOP after PATCONF_PASSES_MAX
 * passes, -E2BIG when a new rest string is too long, -ENOMEM. */
int patconf_route(const PatConf *c, Request *req, const Target **ret);
