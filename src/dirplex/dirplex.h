/* SPDX-License-Identifier: MIT */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "dirconf.h"
#include "request.h"

/* Directories deeper than this below the root are not served (404): it
 * bounds the per-request configuration chain, which is never reallocated. */
#define DIRPLEX_DEPTH_MAX 128
/* Global configuration files (-c, and dirplex.rc). */
#define DIRPLEX_GLOBALS_MAX 16
/* A .htrc longer than this is refused as broken. */
#define DIRPLEX_HTRC_MAX     (1024 * 1024)
#define DIRPLEX_HTRC_BUCKETS 256

typedef struct HtrcEntry HtrcEntry;

typedef struct Dirplex {
        sd_event *event;
        const char *root; /* as given: a symlink here is resolved once per request */
        DirConf *globals[DIRPLEX_GLOBALS_MAX];
        size_t n_globals;
        bool follow_symlinks;
        HtrcEntry *htrc[DIRPLEX_HTRC_BUCKETS];
} Dirplex;

/* htrc.c: the .htrc of the directory dirfd, read through the cache. *ret is
 * NULL when there is none. -EINVAL when it is broken (logged when it was
 * read, not at every request). display is the directory's path for logs. */
int htrc_get(Dirplex *d, int dirfd, const char *display, DirConf **ret);
void htrc_flush(Dirplex *d);

/* forward.c: hands req to h (a child, fchild or socket); owns neither req
 * nor resp_fd. Returns -errno when the handler cannot take it (503). */
int dirplex_dispatch(Dirplex *d, Target *h, const Request *req, int resp_fd);

/* walk.c: serves one request; owns req and resp_fd. */
void dirplex_serve(Dirplex *d, Request *req, int resp_fd);

/* main.c: a configuration error, with its file and line as journal fields. */
void dirplex_log_config_error(const char *file, const char *error);
