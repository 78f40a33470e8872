/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* dirplex [-N] [-c CONFIG]... [--upstream-user USER] DIR: serves the tree
 * under DIR as the original ashd's dirplex does, as a persistent handler
 * (stdin style and/or activated sockets; see handler.h). */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "conf.h"
#include "dirplex.h"
#include "handler.h"
#include "log.h"
#include "messages.h"

#ifndef DIRPLEX_GLOBAL_CONF
#define DIRPLEX_GLOBAL_CONF "/etc/ashd/dirplex.rc"
#endif

static void usage(FILE *f) {
        fputs("Usage: dirplex [-N] [-c CONFIG]... [--upstream-user USER] DIR\n"
              "\n"
              "Maps request rest strings onto the files under DIR and passes each to the\n"
              "handler its configuration chooses (dirplex.rc, .htrc files).\n"
              "\n"
              "  -N                     do not read " DIRPLEX_GLOBAL_CONF "\n"
              "  -c CONFIG              read CONFIG too (before " DIRPLEX_GLOBAL_CONF ")\n"
              "  --upstream-user USER   may connect besides root and our own uid\n" HANDLER_IDLE_EXIT_HELP
              "  -h, --help\n",
              f);
}

void dirplex_log_config_error(const char *file, const char *error) {
        char line[16] = "";
        size_t len = strlen(file);
        LogField fields[] = {
                {"MESSAGE_ID", MESSAGE_ID_CONFIG_ERROR},
                {"CONFIG_FILE", file},
                {"CONFIG_LINE", line},
                {},
        };

        /* conf_error() says "FILE:LINE: what"; the line becomes its field. */
        if (strncmp(error, file, len) == 0 && error[len] == ':')
                snprintf(line, sizeof(line), "%lu", strtoul(error + len + 1, NULL, 10));
        if (!line[0])
                fields[2] = (LogField){};
        log_fields(LOG_ERR, fields, "%s", error);
}

static int load_global(Dirplex *d, const char *path, bool optional) {
        _cleanup_(conf_freep) ConfReader *reader = NULL;
        DirConf *c = NULL;
        int r;

        if (optional && access(path, F_OK) < 0 && errno == ENOENT)
                return 0;
        if (d->n_globals == DIRPLEX_GLOBALS_MAX) {
                log_error("More than %d configuration files", DIRPLEX_GLOBALS_MAX);
                return -E2BIG;
        }
        r = conf_open(path, &reader);
        if (r >= 0)
                r = dirconf_parse(reader, path, DIRCONF_GLOBAL, &c);
        if (r < 0) {
                dirplex_log_config_error(path, conf_error(reader) ? conf_error(reader) : strerror(-r));
                return r;
        }
        d->follow_symlinks |= c->follow_symlinks;
        d->globals[d->n_globals++] = c;
        return 0;
}

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        dirplex_serve(userdata, req, resp_fd);
}

uint64_t dirplex_now(Dirplex *d) {
        struct timespec ts;
        uint64_t now;

        /* The loop's time of this iteration: no system call, and the same
         * for every request of a batch. */
        if (d->event && sd_event_now(d->event, CLOCK_MONOTONIC, &now) >= 0)
                return now;
        /* Before the loop: the same clock, read through the vDSO. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* dirplex starts its children from the event loop. */
static int setup_loop(sd_event *event, void *userdata) {
        Dirplex *d = userdata;

        d->event = event;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"upstream-user", required_argument, NULL, 'u'},
                HANDLER_IDLE_EXIT_OPTION,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        static Dirplex d;
        HandlerOptions ho = {.on_request = on_request, .userdata = &d};
        const char *configs[DIRPLEX_GLOBALS_MAX];
        size_t n_configs = 0;
        bool no_global = false;
        int c, r;

        log_open(NULL, LOG_INFO);
        while ((c = getopt_long(argc, argv, "+Nc:h", options, NULL)) >= 0) {
                switch (c) {
                case 'N':
                        no_global = true;
                        break;
                case 'c':
                        if (n_configs == DIRPLEX_GLOBALS_MAX) {
                                fprintf(stderr, "dirplex: too many -c options\n");
                                return 2;
                        }
                        configs[n_configs++] = optarg;
                        break;
                case 'u':
                        ho.upstream_user = optarg;
                        break;
                case HANDLER_OPT_IDLE_EXIT:
                        if (handler_parse_idle_exit(optarg, &ho.idle_exit_usec) < 0) {
                                fprintf(stderr, "dirplex: --idle-exit takes seconds, not %s\n", optarg);
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
        d.root = argv[optind];
        d.root_dir.fd = -EBADF;

        for (size_t i = 0; i < n_configs; i++)
                if (load_global(&d, configs[i], false) < 0)
                        return 1;
        if (!no_global && load_global(&d, DIRPLEX_GLOBAL_CONF, true) < 0)
                return 1;

        r = handler_run(&ho, setup_loop);
        htrc_flush(&d);
        root_dir_close(&d);
        for (size_t i = 0; i < d.n_globals; i++)
                dirconf_free(d.globals[i]);
        handler_wait_children(HANDLER_CHILDREN_TIMEOUT_USEC);
        return r < 0 ? 1 : r;
}
