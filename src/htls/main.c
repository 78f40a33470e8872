/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* htls: directory listings (ashd's htls).
 *
 *   htls [-d DIR] [-a] [METHOD URL REST]
 *
 * With three trailing arguments it is a transient handler (the response
 * socket on stdin/stdout, headers as REQ_* variables); without, a persistent
 * one on the handler runtime (a socket on stdin, or activated sockets). The
 * directory listed is the request's X-Ash-File (set by dirplex), else DIR.
 * -a shows dot-files. The listing is HTML, or JSON for a client that prefers
 * application/json; see listing.h for its order, escaping and limits. */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "handler.h"
#include "htls.h"
#include "listing.h"
#include "log.h"
#include "transient.h"

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd;

        (void) htls_serve(userdata, r, fd);
}

/* Serves requests until the upstream closes fd 0 or a signal says stop. */
static int run_persistent(HtlsOptions *o) {
        HandlerOptions ho = {.on_request = on_request, .userdata = o, .idle_exit_usec = o->idle_exit_usec};

        return handler_run(&ho, NULL) == 0 ? 0 : -EIO;
}

/* One request from argv and the environment, answered on stdout. */
static int run_transient(HtlsOptions *o, int argc, char **argv) {
        _cleanup_(req_freep) Request *r = NULL;
        int k;

        k = transient_request(argc, argv, environ, &r);
        if (k < 0)
                return log_errno(LOG_ERR, k, "Invalid request in the arguments: %m");
        return htls_serve(o, r, STDOUT_FILENO);
}

static void usage(FILE *f) {
        fprintf(f, "usage: htls [-d DIR] [-a] [--idle-exit SEC] [METHOD URL REST]\n"
                   "  -d DIR                 list DIR when a request has no X-Ash-File header\n"
                   "  -a                     show names starting with '.'\n" HANDLER_IDLE_EXIT_HELP
                   "  -h, --help\n");
}

int main(int argc, char **argv) {
        HtlsOptions o = {};
        int c, r;

        log_open(NULL, LOG_INFO);
        signal(SIGPIPE, SIG_IGN);

        /* '+': stop at METHOD, so that a rest string starting with '-'
         * is never taken for an option. */
        static const struct option options[] = {
                HANDLER_IDLE_EXIT_OPTION,
                {"help", no_argument, NULL, 'h'},
                {},
        };

        while ((c = getopt_long(argc, argv, "+d:ah", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        o.directory = optarg;
                        break;
                case 'a':
                        o.listing_flags |= LISTING_SHOW_HIDDEN;
                        break;
                case HANDLER_OPT_IDLE_EXIT:
                        if (handler_parse_idle_exit(optarg, &o.idle_exit_usec) < 0) {
                                fprintf(stderr, "htls: --idle-exit takes seconds, not %s\n", optarg);
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

        if (argc - optind == 3)
                r = run_transient(&o, argc, argv);
        else if (argc == optind)
                r = run_persistent(&o);
        else {
                usage(stderr);
                return 2;
        }
        return r < 0 ? 1 : 0;
}
