/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* htactivate: puts a classic stdin-style persistent handler (one written
 * for the original ashd, or a user's own script) behind activated listening
 * sockets. It accepts upstream connections on the sockets systemd passes,
 * checks each peer like every handler does, and feeds every request to
 * PROGRAM, which it forks with a socket on its stdin and starts again on the
 * next request after it exits. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "handler.h"
#include "log.h"
#include "response.h"
#include "upstream.h"

typedef struct Activate {
        char **argv;
        Upstream *program;
} Activate;

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd;
        Activate *a = userdata;
        int k;

        k = upstream_send(a->program, r, fd);
        if (k < 0) {
                log_fields(LOG_ERR, (const LogField[]){{"HANDLER", a->argv[0]}, {NULL}},
                           "Cannot hand a request to %s: %s", a->argv[0], strerror(-k));
                (void) response_simple(fd, 503, "The handler of this site is not available.");
        }
}

/* The program is started on the first request, not before: an activated
 * service that is never asked costs nothing. */
static int setup(sd_event *event, void *userdata) {
        Activate *a = userdata;
        int r;

        r = upstream_new_exec(event, a->argv, &a->program);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Cannot set up %s: %m", a->argv[0]);
        return 0;
}

static void usage(FILE *f) {
        fputs("Usage: htactivate [-u UPSTREAM-USER] PROGRAM [ARGS...]\n"
              "\n"
              "Serves requests from the activated sockets (LISTEN_FDS) with PROGRAM, a\n"
              "persistent handler that reads requests from a socket on its stdin, as\n"
              "the original ashd forks them. PROGRAM is started on the first request\n"
              "and again after it exits.\n"
              "\n"
              "  -u, --upstream-user=USER  who may connect besides root and us (default "
              "ashd)\n" HANDLER_IDLE_EXIT_HELP "  -h, --help\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"upstream-user", required_argument, NULL, 'u'},
                HANDLER_IDLE_EXIT_OPTION,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        Activate a = {};
        HandlerOptions ho = {.on_request = on_request, .userdata = &a};
        int c, r;

        log_open(NULL, LOG_INFO);
        /* "+": PROGRAM's own options are not ours. */
        while ((c = getopt_long(argc, argv, "+u:h", options, NULL)) >= 0)
                switch (c) {
                case 'u':
                        ho.upstream_user = optarg;
                        break;
                case HANDLER_OPT_IDLE_EXIT:
                        if (handler_parse_idle_exit(optarg, &ho.idle_exit_usec) < 0) {
                                fprintf(stderr, "htactivate: --idle-exit takes seconds, not %s\n", optarg);
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
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        a.argv = argv + optind;

        r = handler_run(&ho, setup);
        upstream_free(a.program);
        return r;
}
