/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirconf.h"

static char **strv_copy(char *const *l, size_t n) {
        char **c = calloc(n + 1, sizeof(char *));

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

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

static void dir_handler_done(DirHandler *h) {
        free(h->name);
        strv_free(h->argv);
        free(h->path);
        upstream_free(h->upstream);
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
                dir_handler_done(&c->handlers[i]);
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

/* The next line if it is indented (1), else 0 with the line put back. */
static int next_indented(ConfReader *r, const ConfLine **ret) {
        int k = conf_next(r, ret);

        if (k <= 0)
                return k;
        if (!(*ret)->indented) {
                conf_unread(r);
                return 0;
        }
        return 1;
}

static int handler_name_unique(ConfReader *r, const ConfLine *l, const DirConf *c, const char *name) {
        for (size_t i = 0; i < c->n_handlers; i++)
                if (streq(c->handlers[i].name, name))
                        return conf_fail(r, l, "handler '%s' defined twice", name);
        return 0;
}

/* child/fchild NAME with its indented "exec" line, or socket NAME PATH. */
static int parse_handler(ConfReader *r, const ConfLine *l, DirConf *c) {
        DirHandler h = {}, *m;
        const ConfLine *f;
        int k;

        if (streq(l->argv[0], "socket")) {
                if (l->argc != 3)
                        return conf_fail(r, l, "socket takes a name and a path");
                h.kind = DIR_HANDLER_SOCKET;
        } else {
                if (l->argc != 2)
                        return conf_fail(r, l, "%s takes one name", l->argv[0]);
                h.kind = streq(l->argv[0], "child") ? DIR_HANDLER_CHILD : DIR_HANDLER_FCHILD;
        }
        k = handler_name_unique(r, l, c, l->argv[1]);
        if (k < 0)
                return k;

        m = realloc(c->handlers, (c->n_handlers + 1) * sizeof(DirHandler));
        if (!m)
                return -ENOMEM;
        c->handlers = m;
        h.name = strdup(l->argv[1]);
        if (!h.name)
                return -ENOMEM;
        if (h.kind == DIR_HANDLER_SOCKET) {
                h.path = strdup(l->argv[2]);
                if (!h.path) {
                        dir_handler_done(&h);
                        return -ENOMEM;
                }
        }
        /* Stored now, so that every later failure frees it with the rest. */
        c->handlers[c->n_handlers++] = h;
        DirHandler *dh = &c->handlers[c->n_handlers - 1];
        /* l is overwritten by the next conf_next(): keep where it was. */
        const ConfLine at = {.file = l->file, .line = l->line};
        const char *what = dh->kind == DIR_HANDLER_CHILD    ? "child"
                           : dh->kind == DIR_HANDLER_FCHILD ? "fchild"
                                                            : "socket";

        while ((k = next_indented(r, &f)) > 0) {
                if (dh->kind == DIR_HANDLER_SOCKET)
                        return conf_fail(r, f, "socket takes no indented lines");
                if (!streq(f->argv[0], "exec"))
                        return conf_fail(r, f, "unknown %s directive '%s'", what, f->argv[0]);
                if (f->argc < 2)
                        return conf_fail(r, f, "exec needs a program");
                if (dh->argv)
                        return conf_fail(r, f, "exec given twice");
                dh->argv = strv_copy(f->argv + 1, f->argc - 1);
                if (!dh->argv)
                        return -ENOMEM;
        }
        if (k < 0)
                return k;
        if (dh->kind != DIR_HANDLER_SOCKET && !dh->argv)
                return conf_fail(r, &at, "%s %s has no exec line", what, dh->name);
        return 0;
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

        while ((k = next_indented(r, &f)) > 0) {
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
