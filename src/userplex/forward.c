/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "response.h"
#include "userplex.h"

static bool not_running(int r) {
        return r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR;
}

/* Makes the Upstream for one of the user's two sockets on first use. */
static int site_get(Userplex *u, Upstream **site, const char *path, uid_t expected_uid) {
        if (*site)
                return 0;
        return upstream_new_socket(u->event, path, expected_uid, site);
}

/* A listener that is not who it should be: someone may be squatting the
 * user's socket, so the admin is told which socket and whose it is. */
static void log_squatted(UserEntry *e, Upstream *site, uid_t expected) {
        char peer[32];

        snprintf(peer, sizeof(peer), "%u", (unsigned) upstream_peer_uid(site));
        log_fields(LOG_WARNING,
                   (const LogField[]){
                           {"MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE},
                           {"SOCKET", upstream_name(site)},
                           {"PEER_UID", peer},
                           {"USER", e->name},
                           {},
                   },
                   "Refusing user site socket %s: its listener runs as uid %s, not %u", upstream_name(site),
                   peer, (unsigned) expected);
}

/* Sends to one socket; on -EPERM logs, on other failures stays quiet (the
 * caller decides). */
static int site_send(Userplex *u, UserEntry *e, Upstream **site, const char *path, uid_t expected,
                     const Request *req, int resp_fd) {
        int r;

        r = site_get(u, site, path, expected);
        if (r < 0)
                return r;
        r = upstream_send(*site, req, resp_fd);
        if (r == -EPERM)
                log_squatted(e, *site, expected);
        return r;
}

void userplex_forward(Userplex *u, UserEntry *e, Request *req, int resp_fd) {
        _cleanup_free_ char *system_path = NULL, *user_path = NULL;
        int r;

        if (asprintf(&system_path, "%s/%s.sock", u->options.user_dir, e->name) < 0 ||
            asprintf(&user_path, "%s/%u/site.sock", u->options.user_dir, (unsigned) e->uid) < 0) {
                (void) response_simple(resp_fd, 500, NULL);
                return;
        }

        /* The admin-enabled site first: only root (PID 1 for
         * ashd-user@NAME.socket) may have bound it. */
        r = site_send(u, e, &e->system_site, system_path, 0, req, resp_fd);
        if (not_running(r))
                /* Then the user's own unit, bound by their manager. */
                r = site_send(u, e, &e->user_site, user_path, e->uid, req, resp_fd);
        if (r == 0)
                return;

        if (not_running(r))
                log_fields(LOG_DEBUG, (const LogField[]){{"USER", e->name}, {}},
                           "No site running for a requested user");
        else if (r != -EPERM)
                log_fields(LOG_WARNING,
                           (const LogField[]){
                                   {"MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE}, {"USER", e->name}, {}},
                           "Cannot forward a request to a user site: %s", strerror(-r));
        /* The client learns nothing about sockets or uids. */
        (void) response_simple(resp_fd, 503, "site not running");
}
