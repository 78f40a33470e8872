/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* ashd-usersite: what a user's site runs (ashd-site.service in the user's
 * manager, ashd-user@NAME.service from the system), as that user, on the
 * activated socket it was given. In the home directory it execs
 *   htactivate ~/.ashd/handler   if that file is executable (the user's own
 *                                handler, stdin-style as in the original ashd),
 *   dirplex ~/public_html        otherwise.
 * exec keeps the pid, so LISTEN_PID and the activated sockets stay valid. */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void usage(FILE *f) {
        fputs("Usage: ashd-usersite [-d DIR] [-c DIRPLEX-CONFIG] [-u UPSTREAM-USER] [--idle-exit SEC]\n"
              "\n"
              "Serves the user's site on the activated socket: ~/.ashd/handler through\n"
              "htactivate when it is executable, else dirplex on ~/public_html.\n"
              "\n"
              "  -d, --dir=DIR             the directory for dirplex (default ~/public_html)\n"
              "  -c, --config=FILE         passed to dirplex as -c FILE\n"
              "  -u, --upstream-user=USER  who may connect besides root and the user\n"
              "      --idle-exit=SEC       passed on: exit after SEC seconds without requests\n"
              "  -h, --help\n",
              f);
}

/* The user's home: $HOME (systemd sets it for User= services and user
 * managers), else the password database. */
static const char *home_dir(void) {
        const char *home = getenv("HOME");
        struct passwd *pw;

        if (home && home[0] == '/')
                return home;
        pw = getpwuid(getuid());
        return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"dir", required_argument, NULL, 'd'},
                {"config", required_argument, NULL, 'c'},
                {"upstream-user", required_argument, NULL, 'u'},
                {"idle-exit", required_argument, NULL, 'i'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *dir = NULL, *config = NULL, *upstream = NULL, *idle = NULL, *home;
        char handler[PATH_MAX], public[PATH_MAX];
        char *args[16];
        size_t n = 0;
        int c;

        log_open(NULL, LOG_INFO);
        while ((c = getopt_long(argc, argv, "d:c:u:h", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        dir = optarg;
                        break;
                case 'c':
                        config = optarg;
                        break;
                case 'u':
                        upstream = optarg;
                        break;
                case 'i':
                        idle = optarg;
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

        home = home_dir();
        if (!home) {
                log_error("No home directory for uid %u", (unsigned) getuid());
                return 1;
        }
        if (chdir(home) < 0)
                return log_errno(LOG_ERR, -errno, "Cannot enter %s: %m", home), 1;

        if ((size_t) snprintf(handler, sizeof(handler), "%s/.ashd/handler", home) >= sizeof(handler))
                return log_error("Home directory path too long"), 1;
        if (access(handler, X_OK) == 0) {
                args[n++] = "htactivate";
                if (upstream) {
                        args[n++] = "-u";
                        args[n++] = (char *) upstream;
                }
                if (idle) {
                        args[n++] = "--idle-exit";
                        args[n++] = (char *) idle;
                }
                args[n++] = handler;
        } else {
                if (!dir) {
                        if ((size_t) snprintf(public, sizeof(public), "%s/public_html", home) >=
                            sizeof(public))
                                return log_error("Home directory path too long"), 1;
                        dir = public;
                }
                args[n++] = "dirplex";
                if (config) {
                        args[n++] = "-c";
                        args[n++] = (char *) config;
                }
                if (upstream) {
                        args[n++] = "--upstream-user";
                        args[n++] = (char *) upstream;
                }
                if (idle) {
                        args[n++] = "--idle-exit";
                        args[n++] = (char *) idle;
                }
                args[n++] = (char *) dir;
        }
        args[n] = NULL;

        execvp(args[0], args);
        return log_errno(LOG_ERR, -errno, "Cannot run %s: %m", args[0]), 1;
}
