/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "request.h"
#include "upstream.h"

#define USERPLEX_USER_DIR_DEFAULT "/run/ashd/user"
#define USERPLEX_MIN_UID_DEFAULT  1000
/* Users remembered at once: each holds up to two connections. */
#define USERPLEX_USERS_MAX 256
/* How long a lookup (found, filtered out or unknown) is trusted, so that a
 * burst of requests costs one NSS lookup and a changed account is seen soon. */
#define USERPLEX_CACHE_USEC (10 * 1000000ULL)

typedef struct UserplexOptions {
        const char *user_dir;
        const char *upstream_user;
        uid_t min_uid;
        bool has_group;
        gid_t group;
} UserplexOptions;

/* One looked-up name. The connections live as long as the entry, so one
 * connection per user site is kept between requests. */
typedef struct UserEntry {
        char *name;
        bool allowed; /* exists and passes -m and -g */
        uid_t uid;
        uint64_t expires;      /* CLOCK_MONOTONIC, µs */
        Upstream *system_site; /* DIR/NAME.sock, listener uid 0 */
        Upstream *user_site;   /* DIR/UID/site.sock, listener uid UID */
} UserEntry;

typedef struct Userplex {
        sd_event *event;
        UserplexOptions options;
        UserEntry users[USERPLEX_USERS_MAX];
        size_t n_users;
} Userplex;

/* The entry for name, looked up again when the cached one has expired (and
 * its connections dropped if the account changed). Never NULL on success:
 * check ->allowed. -errno for a lookup failure other than "no such user". */
int users_get(Userplex *u, const char *name, UserEntry **ret);
void users_clear(Userplex *u);

/* Forwards the request to the user's site and answers the client when it
 * cannot (503). Takes nothing: the caller closes resp_fd. */
void userplex_forward(Userplex *u, UserEntry *e, Request *req, int resp_fd);
