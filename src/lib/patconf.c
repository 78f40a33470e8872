/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "patconf.h"

static bool strv_equal(char *const *a, char *const *b) {
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !*a && !*b;
}

static void pat_match_done(PatMatch *m) {
        for (size_t i = 0; i < m->n_rules; i++) {
                free(m->rules[i].header);
                if (m->rules[i].compiled)
                        regfree(&m->rules[i].regex);
        }
        free(m->rules);
        free(m->handler);
        strv_free(m->headers);
        free(m->restpat);
}

PatConf *patconf_free(PatConf *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_handlers; i++)
                target_done(&c->handlers[i]);
        free(c->handlers);
        for (size_t i = 0; i < c->n_matches; i++)
                pat_match_done(&c->matches[i]);
        free(c->matches);
        free(c);
        return NULL;
}

int patconf_new(PatConf **ret) {
        PatConf *c = calloc(1, sizeof(PatConf));

        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* child/fchild NAME with its indented "exec" line, or socket NAME PATH. */
static int parse_handler(ConfReader *r, const ConfLine *l, PatConf *c) {
        return target_parse(r, l, &c->handlers, &c->n_handlers);
}

static int parse_flags(ConfReader *r, const ConfLine *f, const char *s, PatRuleKind kind, PatFlags *ret) {
        PatFlags flags = 0;

        for (; *s; s++) {
                if (*s == 'i')
                        flags |= PAT_FLAG_ICASE;
                else if (*s == 's' && kind == PAT_RULE_POINT)
                        flags |= PAT_FLAG_SEGMENT;
                else if (*s == 'q' && kind != PAT_RULE_POINT)
                        flags |= PAT_FLAG_UNQUOTE;
                else
                        return conf_fail(r, f, "flag '%c' is not valid for %s", *s, f->argv[0]);
        }
        *ret = flags;
        return 0;
}

/* point/url/method REGEX [FLAGS], header NAME REGEX [FLAGS], all. */
static int parse_rule(ConfReader *r, const ConfLine *f, PatMatch *m) {
        const char *d = f->argv[0];
        PatRule rule = {}, *n;
        size_t arg = 1;
        char err[128];
        int k;

        if (streq(d, "all")) {
                if (f->argc != 1)
                        return conf_fail(r, f, "all takes no arguments");
                rule.kind = PAT_RULE_ALL;
        } else {
                rule.kind = streq(d, "point")    ? PAT_RULE_POINT
                            : streq(d, "url")    ? PAT_RULE_URL
                            : streq(d, "method") ? PAT_RULE_METHOD
                                                 : PAT_RULE_HEADER;
                if (rule.kind == PAT_RULE_HEADER)
                        arg = 2;
                if (f->argc < arg + 1 || f->argc > arg + 2)
                        return conf_fail(r, f,
                                         rule.kind == PAT_RULE_HEADER
                                                 ? "header takes a name, a regex and flags"
                                                 : "%s takes a regex and flags",
                                         d);
                if (f->argc == arg + 2) {
                        k = parse_flags(r, f, f->argv[arg + 1], rule.kind, &rule.flags);
                        if (k < 0)
                                return k;
                }
                k = regcomp(&rule.regex, f->argv[arg],
                            REG_EXTENDED | (rule.flags & PAT_FLAG_ICASE ? REG_ICASE : 0));
                if (k != 0) {
                        regerror(k, &rule.regex, err, sizeof(err));
                        return conf_fail(r, f, "bad regex '%s': %s", f->argv[arg], err);
                }
                rule.compiled = true;
        }
        n = realloc(m->rules, (m->n_rules + 1) * sizeof(PatRule));
        if (!n) {
                if (rule.compiled)
                        regfree(&rule.regex);
                return -ENOMEM;
        }
        m->rules = n;
        m->rules[m->n_rules++] = rule;
        if (rule.kind == PAT_RULE_HEADER) {
                m->rules[m->n_rules - 1].header = strdup(f->argv[1]);
                if (!m->rules[m->n_rules - 1].header)
                        return -ENOMEM;
        }
        return 0;
}

static int match_set(ConfReader *r, const ConfLine *f, PatMatch *m) {
        size_t n = 0;
        char **l;

        if (f->argc != 3)
                return conf_fail(r, f, "%s takes a header name and a value", f->argv[0]);
        if (!*f->argv[1] || strpbrk(f->argv[1], ": \t\r\n") || strpbrk(f->argv[2], "\r\n"))
                return conf_fail(r, f, "invalid header for %s", f->argv[0]);
        while (m->headers && m->headers[n])
                n++;
        l = realloc(m->headers, (n + 3) * sizeof(char *));
        if (!l)
                return -ENOMEM;
        m->headers = l;
        l[n] = l[n + 1] = l[n + 2] = NULL;
        if (streq(f->argv[0], "xset") ? asprintf(&l[n], REQ_ASH_PREFIX "%s", f->argv[1]) < 0
                                      : !(l[n] = strdup(f->argv[1]))) {
                l[n] = NULL;
                return -ENOMEM;
        }
        l[n + 1] = strdup(f->argv[2]);
        return l[n + 1] ? 0 : -ENOMEM;
}

static int parse_number(ConfReader *r, const ConfLine *f, long *ret) {
        char *end;
        long v;

        if (f->argc != 2)
                return conf_fail(r, f, "%s takes a number", f->argv[0]);
        errno = 0;
        v = strtol(f->argv[1], &end, 10);
        if (errno || end == f->argv[1] || *end || v < -1000000 || v > 1000000)
                return conf_fail(r, f, "invalid %s '%s'", f->argv[0], f->argv[1]);
        *ret = streq(f->argv[0], "order") ? -v : v;
        return 0;
}

static int parse_match_line(ConfReader *r, const ConfLine *f, PatMatch *m) {
        const char *d = f->argv[0];

        if (streq(d, "point") || streq(d, "url") || streq(d, "method") || streq(d, "header") ||
            streq(d, "all"))
                return parse_rule(r, f, m);
        if (streq(d, "default")) {
                if (f->argc != 1)
                        return conf_fail(r, f, "default takes no arguments");
                m->is_default = true;
                return 0;
        }
        if (streq(d, "handler")) {
                if (f->argc != 2)
                        return conf_fail(r, f, "handler takes one name");
                if (m->handler || m->reparse)
                        return conf_fail(r, f, "a match has one handler or reparse");
                m->handler = strdup(f->argv[1]);
                return m->handler ? 0 : -ENOMEM;
        }
        if (streq(d, "reparse")) {
                if (f->argc != 1)
                        return conf_fail(r, f, "reparse takes no arguments");
                if (m->handler || m->reparse)
                        return conf_fail(r, f, "a match has one handler or reparse");
                m->reparse = true;
                return 0;
        }
        if (streq(d, "set") || streq(d, "xset"))
                return match_set(r, f, m);
        if (streq(d, "restpat")) {
                if (f->argc != 2)
                        return conf_fail(r, f, "restpat takes one template");
                if (m->restpat)
                        return conf_fail(r, f, "restpat given twice");
                m->restpat = strdup(f->argv[1]);
                return m->restpat ? 0 : -ENOMEM;
        }
        if (streq(d, "priority") || streq(d, "order"))
                return parse_number(r, f, &m->priority);
        return conf_fail(r, f, "unknown match directive '%s'", d);
}

static int parse_match(ConfReader *r, const ConfLine *l, PatConf *c) {
        const ConfLine at = {.file = l->file, .line = l->line};
        const ConfLine *f;
        PatMatch *m;
        int k;

        if (l->argc != 1)
                return conf_fail(r, l, "match takes no arguments");
        m = realloc(c->matches, (c->n_matches + 1) * sizeof(PatMatch));
        if (!m)
                return -ENOMEM;
        c->matches = m;
        m = &c->matches[c->n_matches++];
        *m = (PatMatch){.line = l->line};

        while ((k = conf_next_indented(r, &f)) > 0) {
                k = parse_match_line(r, f, m);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        if (!m->handler && !m->reparse)
                return conf_fail(r, &at, "match has no handler");
        return 0;
}

int patconf_parse(PatConf *c, ConfReader *r) {
        const ConfLine *l;
        int k;

        while ((k = conf_next(r, &l)) > 0) {
                const char *d = l->argv[0];

                if (l->indented)
                        return conf_fail(r, l, "indented line outside a stanza");
                if (streq(d, "child") || streq(d, "fchild") || streq(d, "socket"))
                        k = parse_handler(r, l, c);
                else if (streq(d, "match"))
                        k = parse_match(r, l, c);
                else
                        k = conf_fail(r, l, "unknown directive '%s'", d);
                if (k < 0)
                        return k;
        }
        return k;
}

int patconf_finish(PatConf *c, unsigned *ret_line, const char **ret_name) {
        for (size_t i = 0; i < c->n_matches; i++)
                if (c->matches[i].handler && !patconf_handler(c, c->matches[i].handler)) {
                        *ret_line = c->matches[i].line;
                        *ret_name = c->matches[i].handler;
                        return -ENOENT;
                }
        /* A stable sort by insertion, since the array's own order is the file order. */
        for (size_t i = 1; i < c->n_matches; i++) {
                PatMatch m = c->matches[i];
                size_t j = i;

                for (; j > 0 && c->matches[j - 1].priority < m.priority; j--)
                        c->matches[j] = c->matches[j - 1];
                c->matches[j] = m;
        }
        return 0;
}

const Target *patconf_handler(const PatConf *c, const char *name) {
        for (size_t i = 0; i < c->n_handlers; i++)
                if (streq(c->handlers[i].name, name))
                        return &c->handlers[i];
        return NULL;
}

void patconf_adopt(PatConf *c, PatConf *old) {
        for (size_t i = 0; i < c->n_handlers; i++) {
                Target *h = &c->handlers[i];

                for (size_t j = 0; old && j < old->n_handlers; j++) {
                        Target *o = &old->handlers[j];

                        if (o->upstream && streq(o->name, h->name) && o->kind == h->kind &&
                            strv_equal(o->argv, h->argv) &&
                            (!o->path || !h->path ? o->path == h->path : streq(o->path, h->path)) &&
                            !h->upstream)
                                h->upstream = TAKE_PTR(o->upstream);
                }
        }
}
