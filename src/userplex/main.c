/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* userplex: serves /~NAME/ by forwarding to NAME's own site socket.
 *
 *   userplex [-I] [-g GROUP] [-m MIN-UID] [--user-dir DIR] [--upstream-user USER]
 *
 * The rest string is "NAME/…" (mounted by patplex at "^~", as in the
 * original ashd) or "~NAME/…" (mounted directly); NAME is taken off it and
 * the request goes to DIR/NAME.sock if its listener is root (the system
 * template ashd-user@NAME.socket), else to DIR/UID/site.sock if its listener
 * runs as the user (their ashd-site.socket). "NAME" without a '/' is
 * redirected (301) to the same URL with one. Users that do not exist, have a
 * uid below MIN-UID (default 1000) or are not in GROUP get a 404; a site
 * that is not running, or whose socket belongs to someone else, a 503.
 * userplex never runs user code and needs no privilege.
 *
 * -I is accepted for the original ashd's command line and does nothing:
 * there it meant "ignore ~/.ashd/handler", a choice made here by the
 * per-user site wrapper, which userplex never runs. */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "log.h"
#include "response.h"
#include "userpath.h"
#include "userplex.h"

static Userplex userplex;

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd;
        _cleanup_free_ char *name = NULL, *rest = NULL;
        Userplex *u = userdata;
        const char *after = NULL;
        UserEntry *e;
        int k;

        k = userpath_split(r->rest, &name, &after);
        if (k < 0) {
                (void) response_simple(fd, 404, NULL);
                return;
        }
        if (k == 0) {
                _cleanup_free_ char *location = NULL;

                if (userpath_slash_location(r->url, &location) < 0 ||
                    response_redirect(fd, 301, location) < 0)
                        (void) response_simple(fd, 404, NULL);
                return;
        }

        k = users_get(u, name, &e);
        if (k < 0) {
                log_fields(LOG_ERR, (const LogField[]){{"USER", name}, {}}, "Cannot look up a user: %s",
                           strerror(-k));
                (void) response_simple(fd, 500, NULL);
                return;
        }
        if (!e->allowed) {
                (void) response_simple(fd, 404, NULL);
                return;
        }

        /* after points into r->rest, which req_set_rest() replaces. */
        rest = strdup(after);
        if (!rest || req_set_rest(r, rest) < 0) {
                (void) response_simple(fd, 500, NULL);
                return;
        }
        userplex_forward(u, e, r, fd);
}

/* The event loop exists now: the user table needs it for its clock and for
 * the connections it makes. */
static int setup(sd_event *event, void *userdata) {
        Userplex *u = userdata;

        u->event = sd_event_ref(event);
        return 0;
}

/* -g takes a group name or a gid; it must exist, since a filter that
 * silently lets nobody (or everybody) through is worse than not starting. */
static int parse_group(const char *s, gid_t *ret) {
        struct group *g;
        char *end;
        unsigned long n;

        errno = 0;
        g = getgrnam(s);
        if (g) {
                *ret = g->gr_gid;
                return 0;
        }
        n = strtoul(s, &end, 10);
        if (*s && !*end && n < (gid_t) -1) {
                *ret = (gid_t) n;
                return 0;
        }
        return errno > 0 ? -errno : -ENOENT;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: userplex [-I] [-g GROUP] [-m MIN-UID] [--user-dir DIR] [--upstream-user USER]\n"
                "  -g GROUP               serve only members of GROUP (primary or supplementary)\n"
                "  -m MIN-UID             serve only users with a uid of at least MIN-UID (default %u)\n"
                "  -I                     accepted for compatibility with ashd; does nothing\n"
                "  --user-dir DIR         where the site sockets are (default %s)\n"
                "  --upstream-user USER   who may connect besides root and us (default "
                "%s)\n" HANDLER_IDLE_EXIT_HELP "  -h, --help\n",
                USERPLEX_MIN_UID_DEFAULT, USERPLEX_USER_DIR_DEFAULT, HANDLER_UPSTREAM_USER_DEFAULT);
}

int main(int argc, char **argv) {
        enum { OPT_USER_DIR = 0x100, OPT_UPSTREAM_USER };
        static const struct option longopts[] = {
                {"user-dir", required_argument, NULL, OPT_USER_DIR},
                {"upstream-user", required_argument, NULL, OPT_UPSTREAM_USER},
                HANDLER_IDLE_EXIT_OPTION,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        UserplexOptions *o = &userplex.options;
        uint64_t idle_exit = 0;
        char *end;
        unsigned long n;
        int c, r;

        log_open(NULL, LOG_INFO);
        o->user_dir = USERPLEX_USER_DIR_DEFAULT;
        o->min_uid = USERPLEX_MIN_UID_DEFAULT;

        while ((c = getopt_long(argc, argv, "Ig:m:h", longopts, NULL)) >= 0)
                switch (c) {
                case 'I':
                        break;
                case 'g':
                        r = parse_group(optarg, &o->group);
                        if (r < 0) {
                                fprintf(stderr, "userplex: unknown group %s\n", optarg);
                                return 1;
                        }
                        o->has_group = true;
                        break;
                case 'm':
                        errno = 0;
                        n = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || errno || n >= (uid_t) -1) {
                                fprintf(stderr, "userplex: -m needs a uid, not %s\n", optarg);
                                return 2;
                        }
                        o->min_uid = (uid_t) n;
                        break;
                case OPT_USER_DIR:
                        o->user_dir = optarg;
                        break;
                case OPT_UPSTREAM_USER:
                        o->upstream_user = optarg;
                        break;
                case HANDLER_OPT_IDLE_EXIT:
                        if (handler_parse_idle_exit(optarg, &idle_exit) < 0) {
                                fprintf(stderr, "userplex: --idle-exit takes seconds, not %s\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind != argc) {
                usage(stderr);
                return 2;
        }

        HandlerOptions ho = {
                .upstream_user = o->upstream_user,
                .on_request = on_request,
                .userdata = &userplex,
                .idle_exit_usec = idle_exit,
        };
        r = handler_run(&ho, setup);
        users_clear(&userplex);
        userplex.event = sd_event_unref(userplex.event);
        return r;
}
