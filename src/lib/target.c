/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "target.h"
#include "transient.h"

static char **strv_copy(char *const *l, size_t n) {
        _cleanup_strv_ char **m = calloc(n + 1, sizeof(char *));

        if (!m)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                m[i] = strdup(l[i]);
                if (!m[i])
                        return NULL;
        }
        return TAKE_PTR(m);
}

bool target_is_directive(const char *word) {
        return streq(word, "child") || streq(word, "fchild") || streq(word, "socket");
}

Target *target_find(Target *targets, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(targets[i].name, name))
                        return &targets[i];
        return NULL;
}

void target_done(Target *t) {
        free(t->name);
        strv_free(t->argv);
        free(t->path);
        upstream_free(t->upstream);
}

int target_parse(ConfReader *r, const ConfLine *l, Target **targets, size_t *n_targets) {
        Target t = {}, *m, *stored;
        const ConfLine *f;
        const char *what;
        int k;

        if (streq(l->argv[0], "socket")) {
                if (l->argc != 3)
                        return conf_fail(r, l, "socket takes a name and a path");
                t.kind = TARGET_SOCKET;
        } else {
                if (l->argc != 2)
                        return conf_fail(r, l, "%s takes one name", l->argv[0]);
                t.kind = streq(l->argv[0], "child") ? TARGET_CHILD : TARGET_FCHILD;
        }
        if (target_find(*targets, *n_targets, l->argv[1]))
                return conf_fail(r, l, "handler '%s' defined twice", l->argv[1]);

        m = realloc(*targets, (*n_targets + 1) * sizeof(Target));
        if (!m)
                return -ENOMEM;
        *targets = m;
        t.name = strdup(l->argv[1]);
        if (!t.name)
                return -ENOMEM;
        if (t.kind == TARGET_SOCKET) {
                t.path = strdup(l->argv[2]);
                if (!t.path) {
                        target_done(&t);
                        return -ENOMEM;
                }
        }
        /* Stored now, so that every later failure frees it with the rest. */
        m[(*n_targets)++] = t;
        stored = &m[*n_targets - 1];
        /* l is overwritten by the next conf_next(): keep where it was. */
        const ConfLine at = {.file = l->file, .line = l->line};
        what = stored->kind == TARGET_CHILD ? "child" : stored->kind == TARGET_FCHILD ? "fchild" : "socket";

        while ((k = conf_next_indented(r, &f)) > 0) {
                if (stored->kind == TARGET_SOCKET)
                        return conf_fail(r, f, "socket takes no indented lines");
                if (!streq(f->argv[0], "exec"))
                        return conf_fail(r, f, "unknown %s directive '%s'", what, f->argv[0]);
                if (f->argc < 2)
                        return conf_fail(r, f, "exec needs a program");
                if (stored->argv)
                        return conf_fail(r, f, "exec given twice");
                stored->argv = strv_copy(f->argv + 1, f->argc - 1);
                if (!stored->argv)
                        return -ENOMEM;
        }
        if (k < 0)
                return k;
        if (stored->kind != TARGET_SOCKET && !stored->argv)
                return conf_fail(r, &at, "%s %s has no exec line", what, stored->name);
        return 0;
}

static int on_transient_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        return 0;
}

int target_send(Target *t, sd_event *event, const Request *req, int resp_fd) {
        pid_t pid;
        int r;

        switch (t->kind) {
        case TARGET_FCHILD:
                r = transient_spawn(t->argv, req, resp_fd, &pid);
                if (r < 0)
                        return r;
                /* A floating source reaps it (SIGCHLD is blocked by the handler
                 * runtime). Should that fail, the request is still served and
                 * the child only lingers as a zombie until we exit. */
                (void) sd_event_add_child(event, NULL, pid, WEXITED, on_transient_exit, NULL);
                return 0;
        case TARGET_CHILD:
                if (!t->upstream) {
                        r = upstream_new_exec(event, t->argv, &t->upstream);
                        if (r < 0)
                                return r;
                }
                return upstream_send(t->upstream, req, resp_fd);
        case TARGET_SOCKET:
                if (!t->upstream) {
                        r = upstream_new_socket(event, t->path, UPSTREAM_UID_ANY, &t->upstream);
                        if (r < 0)
                                return r;
                }
                return upstream_send(t->upstream, req, resp_fd);
        }
        return -EINVAL;
}
