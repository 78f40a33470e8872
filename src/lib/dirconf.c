/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirconf.h"

/* Appends copies of l[0..n) to *list (which may be NULL). */
static int strv_extend(char ***list, char *const *l, size_t n) {
        size_t have = 0;
        char **m;

        while (*list && (*list)[have])
                have++;
        m = realloc(*list, (have + n + 1) * sizeof(char *));
        if (!m)
                return -ENOMEM;
        *list = m;
        for (size_t i = 0; i < n; i++) {
                m[have + i] = strdup(l[i]);
                m[have + i + 1] = NULL;
                if (!m[have + i])
                        return -ENOMEM;
        }
        m[have + n] = NULL;
        return 0;
}

static void dir_match_done(DirMatch *m) {
        strv_free(m->filenames);
        strv_free(m->pathnames);
        free(m->handler);
        strv_free(m->headers);
}

DirConf *dirconf_free(DirConf *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_handlers; i++)
                target_done(&c->handlers[i]);
        free(c->handlers);
        for (size_t i = 0; i < c->n_matches; i++)
                dir_match_done(&c->matches[i]);
        free(c->matches);
        strv_free(c->index_files);
        strv_free(c->dot_allow);
        free(c->capture);
        free(c->file);
        free(c);
        return NULL;
}

/* child/fchild NAME with its indented "exec" line, or socket NAME PATH. */
static int parse_handler(ConfReader *r, const ConfLine *l, DirConf *c) {
        return target_parse(r, l, &c->handlers, &c->n_handlers);
}

static int match_set(ConfReader *r, const ConfLine *f, DirMatch *m) {
        _cleanup_free_ char *name = NULL;
        char *pair[2];

        if (f->argc != 3)
                return conf_fail(r, f, "%s takes a header name and a value", f->argv[0]);
        if (!*f->argv[1] || strpbrk(f->argv[1], ": \t\r\n") || strpbrk(f->argv[2], "\r\n"))
                return conf_fail(r, f, "invalid header for %s", f->argv[0]);
        if (streq(f->argv[0], "xset")) {
                if (asprintf(&name, "X-Ash-%s", f->argv[1]) < 0)
                        return -ENOMEM;
        } else {
                name = strdup(f->argv[1]);
                if (!name)
                        return -ENOMEM;
        }
        pair[0] = name;
        pair[1] = f->argv[2];
        return strv_extend(&m->headers, pair, 2);
}

static int parse_match_rule(ConfReader *r, const ConfLine *f, DirMatch *m) {
        const char *d = f->argv[0];

        if (streq(d, "filename") || streq(d, "pathname")) {
                if (f->argc < 2)
                        return conf_fail(r, f, "%s needs a pattern", d);
                return strv_extend(streq(d, "filename") ? &m->filenames : &m->pathnames, f->argv + 1,
                                   f->argc - 1);
        }
        if (streq(d, "default") || streq(d, "local") || streq(d, "directory")) {
                if (f->argc != 1)
                        return conf_fail(r, f, "%s takes no arguments", d);
                if (streq(d, "default"))
                        m->is_default = true;
                else if (streq(d, "local"))
                        m->local = true;
                else
                        m->directory = true;
                return 0;
        }
        if (streq(d, "handler")) {
                if (f->argc != 2)
                        return conf_fail(r, f, "handler takes one name");
                if (m->handler)
                        return conf_fail(r, f, "handler given twice");
                m->handler = strdup(f->argv[1]);
                return m->handler ? 0 : -ENOMEM;
        }
        if (streq(d, "set") || streq(d, "xset"))
                return match_set(r, f, m);
        return conf_fail(r, f, "unknown match rule '%s'", d);
}

static int parse_match(ConfReader *r, const ConfLine *l, DirConf *c) {
        const ConfLine *f;
        DirMatch *m;
        int k;

        if (l->argc != 1)
                return conf_fail(r, l, "match takes no arguments");
        m = realloc(c->matches, (c->n_matches + 1) * sizeof(DirMatch));
        if (!m)
                return -ENOMEM;
        c->matches = m;
        m = &c->matches[c->n_matches++];
        *m = (DirMatch){.line = l->line};
        const ConfLine at = {.file = l->file, .line = l->line};

        while ((k = conf_next_indented(r, &f)) > 0) {
                k = parse_match_rule(r, f, m);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        if (!m->handler)
                return conf_fail(r, &at, "match without a handler");
        return 0;
}

static int parse_line(ConfReader *r, const ConfLine *l, DirConfFlags flags, DirConf *c) {
        const char *d = l->argv[0];

        if (l->indented)
                return conf_fail(r, l, "indented line outside a stanza");
        if (streq(d, "child") || streq(d, "fchild") || streq(d, "socket"))
                return parse_handler(r, l, c);
        if (streq(d, "match"))
                return parse_match(r, l, c);
        if (streq(d, "index-file") || streq(d, "dot-allow")) {
                if (l->argc < 2)
                        return conf_fail(r, l, "%s needs at least one name", d);
                return strv_extend(streq(d, "index-file") ? &c->index_files : &c->dot_allow, l->argv + 1,
                                   l->argc - 1);
        }
        if (streq(d, "capture")) {
                if (flags & DIRCONF_GLOBAL)
                        return conf_fail(r, l, "capture belongs in a .htrc file");
                if (l->argc < 2 || l->argc > 3 || (l->argc == 3 && !streq(l->argv[2], "D")))
                        return conf_fail(r, l, "capture takes a handler name and optionally D");
                if (c->capture)
                        return conf_fail(r, l, "capture given twice");
                c->capture = strdup(l->argv[1]);
                c->capture_dir = l->argc == 2;
                return c->capture ? 0 : -ENOMEM;
        }
        if (streq(d, "follow-symlinks")) {
                if (!(flags & DIRCONF_GLOBAL))
                        return conf_fail(r, l,
                                         "follow-symlinks is allowed in the global configuration only");
                if (l->argc != 1)
                        return conf_fail(r, l, "follow-symlinks takes no arguments");
                c->follow_symlinks = true;
                return 0;
        }
        return conf_fail(r, l, "unknown directive '%s'", d);
}

int dirconf_parse(ConfReader *r, const char *name, DirConfFlags flags, DirConf **ret) {
        _cleanup_(dirconf_freep) DirConf *c = NULL;
        const ConfLine *l;
        int k;

        c = calloc(1, sizeof(DirConf));
        if (!c)
                return -ENOMEM;
        c->file = strdup(name);
        if (!c->file)
                return -ENOMEM;
        while ((k = conf_next(r, &l)) > 0) {
                k = parse_line(r, l, flags, c);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(c);
        return 0;
}
