/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "dirplex.h"

/* Where dirplex hands a request: its target, the same way patplex does. */
int dirplex_dispatch(Dirplex *d, Target *h, const Request *req, int resp_fd) {
        return target_send(h, d->event, req, resp_fd);
}
