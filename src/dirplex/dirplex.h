/* SPDX-License-Identifier: MIT */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
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
#define DIRPLEX_HTRC_BUCKETS 1024
/* Directories without a .htrc whose entry is kept in the cache before the
 * stale ones are dropped (htrc.c): a crawl through a large tree must not
 * grow the cache without bound. */
#define DIRPLEX_HTRC_ENTRIES_MAX 4096
/* How long one look at the file system stays good: whether the root still
 * names the directory kept open, and each directory's .htrc, are checked
 * again at most this often. A request through known directories then makes
 * no system call for them; the price is that a replaced root or an edited
 * .htrc takes effect up to this long later (dirplex(1) says so). */
#define DIRPLEX_RECHECK_USEC (1000 * 1000ULL)

typedef struct HtrcEntry HtrcEntry;

/* The root directory, kept open between requests (root.c). */
typedef struct DirplexRoot {
        int fd;         /* O_PATH; -EBADF until the first request */
        struct stat st; /* of fd: the identity checked, the key of its .htrc */
        uint64_t checked_usec;
        char path[PATH_MAX]; /* fd as the kernel resolved it, "" for "/" */
} DirplexRoot;

typedef struct Dirplex {
        sd_event *event;
        const char *root; /* as given: a symlink here is followed anew when checked */
        DirplexRoot root_dir;
        DirConf *globals[DIRPLEX_GLOBALS_MAX];
        size_t n_globals;
        bool follow_symlinks;
        HtrcEntry *htrc[DIRPLEX_HTRC_BUCKETS];
        size_t n_htrc;
        size_t htrc_sweep_at; /* entries at which stale ones are dropped; 0: the maximum */
} Dirplex;

/* The time a request is served at (CLOCK_MONOTONIC, usec), for the checks
 * made once every DIRPLEX_RECHECK_USEC. */
uint64_t dirplex_now(Dirplex *d);
/* Whether a check made at checked_usec still holds at now. */
static inline bool dirplex_checked_recently(uint64_t checked_usec, uint64_t now) {
        /* A clock that seems to go back counts as stale: checking again is
         * always safe. */
        return now >= checked_usec && now - checked_usec < DIRPLEX_RECHECK_USEC;
}

/* root.c: makes d->root_dir the directory d->root names, opening it again
 * when the check due at now finds that d->root now names another. -errno
 * when it cannot be opened or resolved (the cached one is closed then). */
int root_dir_get(Dirplex *d, uint64_t now);
void root_dir_close(Dirplex *d);

/* htrc.c: the .htrc of the directory dirfd, whose fstat() is dir and whose
 * path below the root is rel, read through the cache: the file system is
 * looked at only when the directory was not checked within
 * DIRPLEX_RECHECK_USEC before now. *ret is NULL when there is none. -EINVAL
 * when it is broken (logged when it was read, not at every request). */
int htrc_get(Dirplex *d, int dirfd, const struct stat *dir, const char *rel, uint64_t now, DirConf **ret);
void htrc_flush(Dirplex *d);

/* forward.c: hands req to h (a child, fchild or socket); owns neither req
 * nor resp_fd. Returns -errno when the handler cannot take it (503). */
int dirplex_dispatch(Dirplex *d, Target *h, const Request *req, int resp_fd);

/* walk.c: serves one request; owns req and resp_fd. */
void dirplex_serve(Dirplex *d, Request *req, int resp_fd);

/* main.c: a configuration error, with its file and line as journal fields. */
void dirplex_log_config_error(const char *file, const char *error);
