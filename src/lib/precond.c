/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <string.h>
#include <time.h>

#include "precond.h"

int http_date_parse(const char *s, time_t *ret) {
        /* strptime follows LC_TIME; the programs never call setlocale(), so
         * day and month names are the C locale's English ones. */
        static const char *const formats[] = {
                "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
                "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
                "%a %b %e %H:%M:%S %Y",      /* asctime */
        };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
                struct tm tm = {0};
                const char *end = strptime(s, formats[i], &tm);
                time_t t;

                if (!end || *end)
                        continue;
                t = timegm(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                *ret = t;
                return 0;
        }
        return -EINVAL;
}

static const char *skip_ows(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

/* One entity-tag at p: sets *ret_weak, *ret_tag and *ret_len (the opaque
 * tag with its quotes) and returns the end, or NULL if malformed. */
static const char *parse_etag(const char *p, bool *ret_weak, const char **ret_tag, size_t *ret_len) {
        const char *q;

        *ret_weak = strncmp(p, "W/", 2) == 0;
        if (*ret_weak)
                p += 2;
        if (*p != '"')
                return NULL;
        q = strchr(p + 1, '"');
        if (!q)
                return NULL;
        *ret_tag = p;
        *ret_len = q + 1 - p;
        return q + 1;
}

bool etag_list_match(const char *list, const char *etag, bool weak) {
        const char *tag, *p;
        size_t len, own_len;
        bool tag_weak, own_weak;

        if (!list || !etag)
                return false;
        p = skip_ows(list);
        if (*p == '*' && !*skip_ows(p + 1))
                return true;
        if (!parse_etag(etag, &own_weak, &tag, &own_len))
                return false;
        etag = tag;

        for (;;) {
                p = skip_ows(p);
                if (*p == ',') {
                        p++;
                        continue;
                }
                if (!*p)
                        return false;
                p = parse_etag(p, &tag_weak, &tag, &len);
                if (!p)
                        return false;
                if (len == own_len && memcmp(tag, etag, len) == 0 && (weak || (!tag_weak && !own_weak)))
                        return true;
                p = skip_ows(p);
                if (*p && *p != ',')
                        return false;
        }
}

int precond_evaluate(const PrecondRequest *r, const char *etag, time_t last_modified) {
        time_t t;

        if (r->if_match) {
                if (!etag_list_match(r->if_match, etag, false))
                        return 412;
        } else if (r->if_unmodified_since && http_date_parse(r->if_unmodified_since, &t) >= 0 &&
                   last_modified > t)
                return 412;

        if (r->if_none_match) {
                if (etag_list_match(r->if_none_match, etag, true))
                        return r->get_or_head ? 304 : 412;
        } else if (r->get_or_head && r->if_modified_since &&
                   http_date_parse(r->if_modified_since, &t) >= 0 && last_modified <= t)
                return 304;
        return 0;
}

bool precond_if_range(const char *if_range, const char *etag, time_t last_modified) {
        const char *p;
        time_t t;

        if (!if_range)
                return true;
        p = skip_ows(if_range);
        if (*p == '"' || strncmp(p, "W/", 2) == 0) {
                const char *tag;
                size_t len;
                bool weak;
                const char *end = parse_etag(p, &weak, &tag, &len);

                return end && !*skip_ows(end) && !weak && etag_list_match(tag, etag, false);
        }
        return http_date_parse(p, &t) >= 0 && t == last_modified;
}
