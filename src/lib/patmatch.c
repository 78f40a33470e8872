/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "patconf.h"
#include "url.h"

/* What a stanza's rules found: the groups of the regex that counts for
 * restpat and how much of the rest string the point takes off. */
typedef struct MatchState {
        char *groups[PATCONF_GROUPS];
        bool have_point;
        size_t point_end;
} MatchState;

static void match_state_done(MatchState *s) {
        for (size_t i = 0; i < PATCONF_GROUPS; i++) {
                free(s->groups[i]);
                s->groups[i] = NULL;
        }
}

/* Appends n bytes to the growing string *buf of *len bytes, within the rest
 * string limit. */
static int append(FILE *f, size_t *len, const char *s, size_t n) {
        if (*len + n > REQ_URL_MAX)
                return -E2BIG;
        if (n > 0 && fwrite(s, 1, n, f) != n)
                return -ENOMEM;
        *len += n;
        return 0;
}

int patconf_expand(const char *template, const char *const groups[PATCONF_GROUPS], const char *old_rest,
                   const Request *req, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, len = 0;
        FILE *f;
        int k = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (const char *p = template; *p && k >= 0;) {
                const char *dollar = strchr(p, '$');

                if (!dollar) {
                        k = append(f, &len, p, strlen(p));
                        break;
                }
                k = append(f, &len, p, dollar - p);
                if (k < 0)
                        break;
                p = dollar + 1;
                if (*p >= '0' && *p <= '9') {
                        const char *g = groups ? groups[*p - '0'] : NULL;

                        k = append(f, &len, g ? g : "", g ? strlen(g) : 0);
                        p++;
                } else if (*p == '_') {
                        k = append(f, &len, old_rest, strlen(old_rest));
                        p++;
                } else if (*p == '$') {
                        k = append(f, &len, "$", 1);
                        p++;
                } else if (*p == '{' && strchr(p, '}')) {
                        const char *end = strchr(p, '}');
                        _cleanup_free_ char *name = strndup(p + 1, end - p - 1);
                        const char *v;

                        if (!name) {
                                k = -ENOMEM;
                                break;
                        }
                        v = req_header_get(req, name);
                        k = append(f, &len, v ? v : "", v ? strlen(v) : 0);
                        p = end + 1;
                } else
                        /* Not an expansion: the '$' stays, as written. */
                        k = append(f, &len, "$", 1);
        }
        if (fclose(f) != 0 && k >= 0)
                k = -ENOMEM;
        if (k < 0)
                return k;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The Host header's host: without ":port", brackets of an IPv6 literal kept. */
static char *host_without_port(const char *v) {
        const char *colon;

        if (v[0] == '[') {
                const char *close = strchr(v, ']');
                return strndup(v, close ? (size_t) (close - v + 1) : strlen(v));
        }
        colon = strchr(v, ':');
        /* More than one ':' is a bare IPv6 address, not host:port. */
        if (colon && !strchr(colon + 1, ':'))
                return strndup(v, colon - v);
        return strdup(v);
}

/* The string a rule looks at, newly allocated; NULL in *ret when there is
 * none (a missing header, a value that does not decode). */
static int rule_subject(const PatRule *rule, const Request *req, char **ret) {
        const char *v = NULL;
        char *s;

        switch (rule->kind) {
        case PAT_RULE_POINT:
                v = req->rest;
                break;
        case PAT_RULE_URL:
                v = req->url;
                break;
        case PAT_RULE_METHOD:
                v = req->method;
                break;
        case PAT_RULE_HEADER:
                v = req_header_get(req, rule->header);
                break;
        case PAT_RULE_ALL:
                break;
        }
        *ret = NULL;
        if (!v)
                return 0;
        if (rule->flags & PAT_FLAG_UNQUOTE) {
                size_t n;
                int k = url_unescape(v, strlen(v), &s, &n);

                if (k == -ENOMEM)
                        return k;
                /* An embedded NUL would hide the rest from regexec. */
                if (k < 0 || strlen(s) != n) {
                        if (k >= 0)
                                free(s);
                        return 0;
                }
                v = s;
        } else {
                s = strdup(v);
                if (!s)
                        return -ENOMEM;
        }
        if (rule->kind == PAT_RULE_HEADER && strcasecmp(rule->header, "host") == 0) {
                char *h = host_without_port(s);

                free(s);
                if (!h)
                        return -ENOMEM;
                s = h;
        }
        *ret = s;
        return 0;
}

/* Whether one rule holds; a regex rule that holds leaves its groups in st
 * (a point's are never replaced by a later rule's). 1 yes, 0 no, -errno. */
static int rule_check(const PatRule *rule, const Request *req, MatchState *st) {
        _cleanup_free_ char *s = NULL;
        regmatch_t m[PATCONF_GROUPS];
        int k;

        if (rule->kind == PAT_RULE_ALL)
                return 1;
        k = rule_subject(rule, req, &s);
        if (k < 0)
                return k;
        if (!s || regexec(&rule->regex, s, PATCONF_GROUPS, m, 0) != 0)
                return 0;
        if (rule->kind == PAT_RULE_POINT) {
                size_t end = m[0].rm_eo;

                if (rule->flags & PAT_FLAG_SEGMENT) {
                        if (s[end] != '\0' && s[end] != '/')
                                return 0;
                        if (s[end] == '/')
                                end++;
                }
                st->have_point = true;
                st->point_end = end;
        } else if (st->have_point)
                return 1;
        match_state_done(st);
        for (size_t i = 0; i < PATCONF_GROUPS; i++) {
                if (m[i].rm_so < 0)
                        continue;
                st->groups[i] = strndup(s + m[i].rm_so, m[i].rm_eo - m[i].rm_so);
                if (!st->groups[i])
                        return -ENOMEM;
        }
        return 1;
}

static int match_check(const PatMatch *m, const Request *req, MatchState *st) {
        for (size_t i = 0; i < m->n_rules; i++) {
                int k = rule_check(&m->rules[i], req, st);

                if (k <= 0)
                        return k;
        }
        return 1;
}

/* Applies a matched stanza to req: the point's cut, restpat, set/xset. */
static int match_apply(const PatMatch *m, Request *req, const MatchState *st) {
        _cleanup_free_ char *old_rest = strdup(req->rest);
        _cleanup_free_ char *rest = NULL;
        int k;

        if (!old_rest)
                return -ENOMEM;
        if (m->restpat) {
                k = patconf_expand(m->restpat, (const char *const *) st->groups, old_rest, req, &rest);
                if (k < 0)
                        return k;
        } else if (st->have_point) {
                rest = strdup(old_rest + st->point_end);
                if (!rest)
                        return -ENOMEM;
        }
        if (rest) {
                k = req_set_rest(req, rest);
                if (k < 0)
                        return k;
        }
        for (char **h = m->headers; h && h[0]; h += 2) {
                k = req_header_set(req, h[0], h[1]);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* One pass: the first stanza that matches, defaults only when no other did. */
static int route_pass(const PatConf *c, const Request *req, MatchState *st, const PatMatch **ret) {
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < c->n_matches; i++) {
                        const PatMatch *m = &c->matches[i];
                        int k;

                        if (m->is_default != (pass == 1))
                                continue;
                        *st = (MatchState){};
                        k = match_check(m, req, st);
                        if (k < 0 || k > 0) {
                                *ret = m;
                                return k;
                        }
                        match_state_done(st);
                }
        return 0;
}

int patconf_route(const PatConf *c, Request *req, const Target **ret) {
        for (unsigned pass = 0; pass < PATCONF_PASSES_MAX; pass++) {
                MatchState st = {};
                const PatMatch *m = NULL;
                int k;

                k = route_pass(c, req, &st, &m);
                if (k > 0)
                        k = match_apply(m, req, &st);
                else if (k == 0)
                        k = -ENOENT;
                match_state_done(&st);
                if (k < 0)
                        return k;
                if (!m->reparse) {
                        *ret = patconf_handler(c, m->handler);
                        return *ret ? 0 : -ENOENT;
                }
        }
        return -ELOOP;
}
