/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <sys/wait.h>

#include "dirplex.h"
#include "log.h"
#include "transient.h"

static int on_transient_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        return 0;
}

int dirplex_dispatch(Dirplex *d, Target *h, const Request *req, int resp_fd) {
        pid_t pid;
        int r;

        switch (h->kind) {
        case TARGET_FCHILD:
                r = transient_spawn(h->argv, req, resp_fd, &pid);
                if (r < 0)
                        return r;
                /* A floating source reaps it; SIGCHLD is blocked in main(). */
                r = sd_event_add_child(d->event, NULL, pid, WEXITED, on_transient_exit, NULL);
                if (r < 0)
                        log_errno(LOG_WARNING, r, "Cannot watch transient handler %s (pid %d): %m", h->name,
                                  (int) pid);
                return 0;
        case TARGET_CHILD:
                if (!h->upstream) {
                        r = upstream_new_exec(d->event, h->argv, &h->upstream);
                        if (r < 0)
                                return r;
                }
                return upstream_send(h->upstream, req, resp_fd);
        case TARGET_SOCKET:
                if (!h->upstream) {
                        r = upstream_new_socket(d->event, h->path, UPSTREAM_UID_ANY, &h->upstream);
                        if (r < 0)
                                return r;
                }
                return upstream_send(h->upstream, req, resp_fd);
        }
        return -EINVAL;
}
