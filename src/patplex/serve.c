/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "messages.h"
#include "patplex.h"
#include "response.h"
#include "transient.h"

static int on_transient_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        return 0;
}

/* Hands req to h; owns neither. -errno when the handler cannot take it. */
static int dispatch(Patplex *p, Target *h, const Request *req, int resp_fd) {
        pid_t pid;
        int r;

        switch (h->kind) {
        case TARGET_FCHILD:
                r = transient_spawn(h->argv, req, resp_fd, &pid);
                if (r < 0)
                        return r;
                /* A floating source reaps it; SIGCHLD is blocked by the runtime. */
                r = sd_event_add_child(p->event, NULL, pid, WEXITED, on_transient_exit, NULL);
                if (r < 0)
                        log_errno(LOG_WARNING, r, "Cannot watch transient handler %s (pid %d): %m", h->name,
                                  (int) pid);
                return 0;
        case TARGET_CHILD:
                if (!h->upstream) {
                        r = upstream_new_exec(p->event, h->argv, &h->upstream);
                        if (r < 0)
                                return r;
                }
                return upstream_send(h->upstream, req, resp_fd);
        case TARGET_SOCKET:
                if (!h->upstream) {
                        r = upstream_new_socket(p->event, h->path, UPSTREAM_UID_ANY, &h->upstream);
                        if (r < 0)
                                return r;
                }
                return upstream_send(h->upstream, req, resp_fd);
        }
        return -EINVAL;
}

void patplex_serve(Patplex *p, Request *req, int resp_fd) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd;
        const Target *h;
        int k;

        k = patconf_route(p->conf, r, &h);
        if (k == -ENOENT) {
                (void) response_simple(fd, 404, "No handler matches this request.");
                return;
        }
        if (k < 0) {
                log_fields(LOG_WARNING, (LogField[]){{"URL", r->url}, {}}, "Cannot route a request: %s",
                           k == -ELOOP ? "too many reparse passes" : strerror(-k));
                (void) response_simple(fd, 500, "The request could not be routed.");
                return;
        }
        /* The handlers belong to the configuration, which only patplex changes. */
        k = dispatch(p, (Target *) h, r, fd);
        if (k < 0) {
                log_fields(LOG_WARNING,
                           (LogField[]){
                                   {"MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE}, {"HANDLER", h->name}, {}},
                           "Handler %s cannot take a request: %s", h->name, strerror(-k));
                (void) response_simple(fd, 503, "The handler is not available.");
        }
}
