/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

#include "userplex.h"

#define PW_BUFFER_MAX (1024 * 1024)
#define GROUPS_MAX    65536

static void entry_drop_sites(UserEntry *e) {
        e->system_site = upstream_free(e->system_site);
        e->user_site = upstream_free(e->user_site);
}

static void entry_done(UserEntry *e) {
        entry_drop_sites(e);
        free(e->name);
        *e = (UserEntry){};
}

void users_clear(Userplex *u) {
        for (size_t i = 0; i < u->n_users; i++)
                entry_done(&u->users[i]);
        u->n_users = 0;
}

/* getpwnam_r() with a buffer grown on ERANGE. Returns 1 with the uid and
 * primary gid, 0 for no such user, -errno when NSS failed. */
static int passwd_lookup(const char *name, uid_t *ret_uid, gid_t *ret_gid) {
        long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t size = hint > 0 ? (size_t) hint : 4096;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *result = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getpwnam_r(name, &pw, buf, size, &result);
                if (r == ERANGE && size < PW_BUFFER_MAX) {
                        size *= 2;
                        continue;
                }
                /* glibc reports "not found" as 0 and NULL, some modules as
                 * ENOENT or ESRCH. */
                if (r == 0 && !result)
                        return 0;
                if (r == ENOENT || r == ESRCH)
                        return 0;
                if (r != 0)
                        return -r;
                *ret_uid = pw.pw_uid;
                *ret_gid = pw.pw_gid;
                return 1;
        }
}

/* Whether the user is in the group, as its primary group or a supplementary
 * one (getgrouplist() gives both, from every NSS source). */
static int user_in_group(const char *name, gid_t primary, gid_t group) {
        int n = 64;

        if (primary == group)
                return 1;
        for (;;) {
                _cleanup_free_ gid_t *groups = calloc(n, sizeof(gid_t));
                int count = n;

                if (!groups)
                        return -ENOMEM;
                if (getgrouplist(name, primary, groups, &count) < 0) {
                        if (count <= n || count > GROUPS_MAX)
                                return -E2BIG;
                        n = count;
                        continue;
                }
                for (int i = 0; i < count; i++)
                        if (groups[i] == group)
                                return 1;
                return 0;
        }
}

/* Looks name up and applies -m and -g; 0 with e->allowed set accordingly. */
static int entry_lookup(Userplex *u, UserEntry *e) {
        uid_t uid = 0;
        gid_t gid = 0;
        int r;

        r = passwd_lookup(e->name, &uid, &gid);
        if (r < 0)
                return r;
        if (r == 0 || uid < u->options.min_uid) {
                e->allowed = false;
                return 0;
        }
        if (u->options.has_group) {
                r = user_in_group(e->name, gid, u->options.group);
                if (r < 0)
                        return r;
                if (r == 0) {
                        e->allowed = false;
                        return 0;
                }
        }
        if (uid != e->uid)
                entry_drop_sites(e);
        e->uid = uid;
        e->allowed = true;
        return 0;
}

/* A free slot: a new one, else the entry closest to expiry (the least
 * recently looked-up), whose connections are closed. */
static UserEntry *users_slot(Userplex *u) {
        UserEntry *oldest;

        if (u->n_users < USERPLEX_USERS_MAX)
                return &u->users[u->n_users++];
        oldest = &u->users[0];
        for (size_t i = 1; i < u->n_users; i++)
                if (u->users[i].expires < oldest->expires)
                        oldest = &u->users[i];
        entry_done(oldest);
        return oldest;
}

int users_get(Userplex *u, const char *name, UserEntry **ret) {
        UserEntry *e = NULL;
        uint64_t now;
        int r;

        r = sd_event_now(u->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;

        for (size_t i = 0; i < u->n_users; i++)
                if (streq(u->users[i].name, name)) {
                        e = &u->users[i];
                        break;
                }
        if (e && now < e->expires) {
                *ret = e;
                return 0;
        }
        if (!e) {
                char *copy = strdup(name);

                if (!copy)
                        return -ENOMEM;
                e = users_slot(u);
                e->name = copy;
                e->uid = (uid_t) -1;
        }

        r = entry_lookup(u, e);
        if (r < 0) {
                /* Not cached: the next request asks NSS again. */
                e->expires = 0;
                return r;
        }
        if (!e->allowed)
                entry_drop_sites(e);
        e->expires = now + USERPLEX_CACHE_USEC;
        *ret = e;
        return 0;
}
