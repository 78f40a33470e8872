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
        k = target_send((Target *) h, p->event, r, fd);
        if (k < 0) {
                log_fields(LOG_WARNING,
                           (LogField[]){
                                   {"MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE}, {"HANDLER", h->name}, {}},
                           "Handler %s cannot take a request: %s", h->name, strerror(-k));
                (void) response_simple(fd, 503, "The handler is not available.");
        }
}
