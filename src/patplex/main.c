/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* patplex [-N] [--upstream-user USER] CONFIG: the original ashd's pattern
 * matcher as a persistent handler (stdin style and/or activated sockets; see
 * handler.h). It reads CONFIG and then the global PATPLEX_GLOBAL_CONF, whose
 * stanzas lose ties against CONFIG's; -N leaves the global file out. SIGHUP
 * rereads both: a new configuration that fails is logged and the old one
 * keeps serving. The configuration language is described in patconf.h. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "handler.h"
#include "log.h"
#include "patplex.h"

#ifndef PATPLEX_GLOBAL_CONF
#define PATPLEX_GLOBAL_CONF "/etc/ashd/patplex.rc"
#endif

static void usage(FILE *f) {
        fputs("Usage: patplex [-N] [--upstream-user USER] CONFIG\n"
              "\n"
              "Matches requests against the rules in CONFIG and passes each to the\n"
              "handler of the first matching stanza. SIGHUP rereads the configuration.\n"
              "\n"
              "  -N                     do not read " PATPLEX_GLOBAL_CONF "\n"
              "  --upstream-user USER   may connect besides root and our own uid\n" HANDLER_IDLE_EXIT_HELP
              "  -h, --help\n",
              f);
}

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        patplex_serve(userdata, req, resp_fd);
}

/* Swaps in a new configuration between two requests (the loop is single
 * threaded, so no request sees half of each). Children and sockets that the
 * new one still names the same way are handed over, not restarted. */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Patplex *p = userdata;
        PatConf *c = NULL;
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu",
                          (unsigned long long) ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000);
        if (patplex_load(p, &c) < 0)
                log_warning("Keeping the old configuration");
        else {
                patconf_adopt(c, p->conf);
                patconf_free(p->conf);
                p->conf = c;
                log_info("Configuration reloaded");
        }
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int setup_loop(sd_event *event, void *userdata) {
        Patplex *p = userdata;
        sigset_t set;

        p->event = event;
        /* sd-event wants the signal blocked before it watches it. */
        sigemptyset(&set);
        sigaddset(&set, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return log_errno(LOG_ERR, -errno, "Cannot block SIGHUP: %m");
        return sd_event_add_signal(event, NULL, SIGHUP, on_sighup, p);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"upstream-user", required_argument, NULL, 'u'},
                HANDLER_IDLE_EXIT_OPTION,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        static Patplex p = {.global = PATPLEX_GLOBAL_CONF};
        HandlerOptions ho = {.on_request = on_request, .userdata = &p};
        int c, r;

        log_open(NULL, LOG_INFO);
        while ((c = getopt_long(argc, argv, "+Nh", options, NULL)) >= 0) {
                switch (c) {
                case 'N':
                        p.global = NULL;
                        break;
                case 'u':
                        ho.upstream_user = optarg;
                        break;
                case HANDLER_OPT_IDLE_EXIT:
                        if (handler_parse_idle_exit(optarg, &ho.idle_exit_usec) < 0) {
                                fprintf(stderr, "patplex: --idle-exit takes seconds, not %s\n", optarg);
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
        }
        if (optind != argc - 1) {
                usage(stderr);
                return 2;
        }
        p.config = argv[optind];

        if (patplex_load(&p, &p.conf) < 0)
                return 1;
        r = handler_run(&ho, setup_loop);
        p.conf = patconf_free(p.conf);
        handler_wait_children(HANDLER_CHILDREN_TIMEOUT_USEC);
        return r < 0 ? 1 : r;
}
