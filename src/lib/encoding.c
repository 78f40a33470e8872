/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); -1 if not. */
static int parse_qvalue(const char *p, size_t len) {
        int q = 0, scale = 100;

        if (len == 0 || (p[0] != '0' && p[0] != '1'))
                return -1;
        q = (p[0] - '0') * 1000;
        if (len == 1)
                return q;
        if (p[1] != '.' || len > 5)
                return -1;
        for (size_t i = 2; i < len; i++, scale /= 10) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                q += (p[i] - '0') * scale;
        }
        return q > 1000 ? -1 : q;
}

static bool coding_eq(const char *name, size_t len, const char *coding) {
        if (len == strlen(coding) && strncasecmp(name, coding, len) == 0)
                return true;
        return strcasecmp(coding, "gzip") == 0 && len == 6 && strncasecmp(name, "x-gzip", 6) == 0;
}

int accept_encoding_q(const char *value, const char *coding) {
        int own = -1, star = -1;
        const char *p;

        if (!value)
                return strcasecmp(coding, "identity") == 0 ? 1000 : 0;

        for (p = value; *p;) {
                const char *name, *end;
                size_t len;
                int q = 1000;
                bool ok = true;

                p = skip_ows(p);
                if (*p == ',') {
                        p++;
                        continue;
                }
                if (!*p)
                        break;
                for (name = p; is_tchar(*p); p++)
                        ;
                len = p - name;
                ok = len > 0;
                /* Parameters: only q means anything here. */
                for (;;) {
                        p = skip_ows(p);
                        if (*p != ';')
                                break;
                        p = skip_ows(p + 1);
                        if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                                for (end = p + 2;
                                     *end && *end != ',' && *end != ';' && *end != ' ' && *end != '\t';
                                     end++)
                                        ;
                                q = parse_qvalue(p + 2, end - (p + 2));
                                if (q < 0)
                                        ok = false;
                                p = end;
                        } else {
                                while (*p && *p != ',' && *p != ';')
                                        p++;
                        }
                }
                if (*p && *p != ',') {
                        ok = false;
                        while (*p && *p != ',')
                                p++;
                }
                if (!ok)
                        continue;
                if (len == 1 && name[0] == '*')
                        star = q;
                else if (coding_eq(name, len, coding))
                        own = q;
        }
        if (own >= 0)
                return own;
        if (star >= 0)
                return star;
        return strcasecmp(coding, "identity") == 0 ? 1000 : 0;
}

int accept_encoding_choose(const char *value, const char *const *codings, size_t n) {
        int best = -1, best_q = accept_encoding_q(value, "identity");

        for (size_t i = 0; i < n; i++) {
                int q = accept_encoding_q(value, codings[i]);

                if (q > 0 && (q > best_q || (q == best_q && best < 0)))
                        best = (int) i, best_q = q;
        }
        return best;
}
