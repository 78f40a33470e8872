/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* ashd-launch [OPTIONS] -- PROGRAM [ARGS...]
 *
 * Socket activation for the tests and the demo, without systemd as PID 1:
 * binds the --listen sockets, then runs PROGRAM as a Type=notify service
 * behind them. Every event is a line on stdout (see the usage text). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "launch.h"

static const char usage[] =
        "usage: ashd-launch [OPTIONS] -- PROGRAM [ARGS...]\n"
        "\n"
        "Binds listening sockets and runs PROGRAM behind them the way systemd runs a\n"
        "Type=notify service behind a socket unit (Accept=no).\n"
        "\n"
        "  -l, --listen NAME=SPEC         a socket for PROGRAM, fd 3, 4, ... in option order;\n"
        "                                 SPEC is tcp:ADDR:PORT (IPv4 or [IPv6], port 0 picks one),\n"
        "                                 unix:PATH (SOCK_SEQPACKET) or stream:PATH (SOCK_STREAM);\n"
        "                                 a PATH starting with @ is abstract\n"
        "      --socket-mode OCTAL        mode of unix socket files (0666)\n"
        "      --socket-user USER         owner of unix socket files\n"
        "      --socket-group GROUP       group of unix socket files\n"
        "  -u, --user USER                run PROGRAM as USER\n"
        "      --lazy                     start PROGRAM on the first connection, not at once\n"
        "      --no-notify                PROGRAM does not send READY=1: ready once started\n"
        "      --notify-access main|all   whose notifications count (main)\n"
        "      --watchdog-usec N          WATCHDOG_USEC=N; SIGABRT when no WATCHDOG=1 comes in time\n"
        "      --once                     exit when PROGRAM exits, with its status\n"
        "      --setenv NAME=VALUE        extra environment for PROGRAM, applied last\n"
        "      --start-limit-burst N      give up after N starts within the interval (5; 0: never)\n"
        "      --start-limit-interval-sec SECONDS  (10)\n"
        "      --timeout-stop-sec SECONDS SIGKILL when PROGRAM outlives SIGTERM or SIGABRT (5)\n"
        "  -h, --help\n"
        "\n"
        "Events on stdout, one a line: listen NAME ADDRESS, waiting, started PID,\n"
        "notify PID ASSIGNMENT, ready PID, exited PID status N, exited PID signal N,\n"
        "watchdog PID, timeout PID, gave-up.\n"
        "SIGTERM/SIGINT: SIGTERM to PROGRAM, then exit with its status (128+N for signal N).\n"
        "SIGHUP: passed on to PROGRAM.\n";

/* Writes one event line to stdout and flushes it, so a test sees it at once. */
void report(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static int parse_unsigned(const char *s, unsigned long long max, unsigned long long *ret) {
        unsigned long long v;
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Parses a number of seconds, fractions allowed, into microseconds. */
static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        double v;

        if ((*s < '0' || *s > '9') && *s != '.')
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0 || v > 1e9)
                return -EINVAL;
        *ret = (uint64_t) (v * USEC_PER_SEC);
        return 0;
}

/* A user name or number, for --socket-user. */
static int parse_uid(const char *s, uid_t *ret) {
        unsigned long long v;
        struct passwd *pw = getpwnam(s);

        if (pw) {
                *ret = pw->pw_uid;
                return 0;
        }
        if (parse_unsigned(s, (uid_t) -2, &v) < 0)
                return -ESRCH;
        *ret = (uid_t) v;
        return 0;
}

/* A group name or number, for --socket-group. */
static int parse_gid(const char *s, gid_t *ret) {
        unsigned long long v;
        struct group *gr = getgrnam(s);

        if (gr) {
                *ret = gr->gr_gid;
                return 0;
        }
        if (parse_unsigned(s, (gid_t) -2, &v) < 0)
                return -ESRCH;
        *ret = (gid_t) v;
        return 0;
}

static int add_listener(Launcher *l, const char *arg) {
        Listener *array;
        int r;

        array = reallocarray(l->listeners, l->n_listeners + 1, sizeof(Listener));
        if (!array)
                return -ENOMEM;
        l->listeners = array;

        r = listener_parse(arg, &l->listeners[l->n_listeners]);
        if (r < 0)
                return r;
        l->n_listeners++;
        return 0;
}

/* Appends a --setenv NAME=VALUE to the NULL-terminated list. */
static int add_environment(Launcher *l, const char *assignment) {
        size_t n = 0;
        char **array;

        if (assignment[0] == '=' || !strchr(assignment, '='))
                return -EINVAL;
        while (l->environment && l->environment[n])
                n++;
        array = reallocarray(l->environment, n + 2, sizeof(char *));
        if (!array)
                return -ENOMEM;
        l->environment = array;
        array[n] = strdup(assignment);
        array[n + 1] = NULL;
        return array[n] ? 0 : -ENOMEM;
}

static _printf_(1, 2) int option_error(const char *format, ...) {
        va_list ap;

        fputs("ashd-launch: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

/* Reads the options into l and the ownership of unix socket files; returns 0
 * for --help, positive to go on, -EINVAL after saying what is wrong. */
static int parse_argv(int argc, char **argv, Launcher *l, SocketOwnership *ownership) {
        enum {
                ARG_SOCKET_MODE = 0x100,
                ARG_SOCKET_USER,
                ARG_SOCKET_GROUP,
                ARG_LAZY,
                ARG_NO_NOTIFY,
                ARG_NOTIFY_ACCESS,
                ARG_WATCHDOG_USEC,
                ARG_ONCE,
                ARG_SETENV,
                ARG_START_LIMIT_BURST,
                ARG_START_LIMIT_INTERVAL,
                ARG_TIMEOUT_STOP,
        };
        static const struct option options[] = {
                {"listen", required_argument, NULL, 'l'},
                {"socket-mode", required_argument, NULL, ARG_SOCKET_MODE},
                {"socket-user", required_argument, NULL, ARG_SOCKET_USER},
                {"socket-group", required_argument, NULL, ARG_SOCKET_GROUP},
                {"user", required_argument, NULL, 'u'},
                {"lazy", no_argument, NULL, ARG_LAZY},
                {"no-notify", no_argument, NULL, ARG_NO_NOTIFY},
                {"notify-access", required_argument, NULL, ARG_NOTIFY_ACCESS},
                {"watchdog-usec", required_argument, NULL, ARG_WATCHDOG_USEC},
                {"once", no_argument, NULL, ARG_ONCE},
                {"setenv", required_argument, NULL, ARG_SETENV},
                {"start-limit-burst", required_argument, NULL, ARG_START_LIMIT_BURST},
                {"start-limit-interval-sec", required_argument, NULL, ARG_START_LIMIT_INTERVAL},
                {"timeout-stop-sec", required_argument, NULL, ARG_TIMEOUT_STOP},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        unsigned long long v;
        char *end;
        int c, r;

        /* '+': the options end at PROGRAM, whose own options are its business. */
        while ((c = getopt_long(argc, argv, "+hl:u:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                case 'l':
                        r = add_listener(l, optarg);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return option_error("invalid --listen %s (NAME=tcp:ADDR:PORT, "
                                                    "NAME=unix:PATH or NAME=stream:PATH)",
                                                    optarg);
                        break;
                case ARG_SOCKET_MODE:
                        errno = 0;
                        v = strtoull(optarg, &end, 8);
                        if (errno != 0 || *end != '\0' || optarg[0] == '\0' || v > 0777)
                                return option_error("invalid --socket-mode %s", optarg);
                        ownership->mode = (mode_t) v;
                        break;
                case ARG_SOCKET_USER:
                        if (parse_uid(optarg, &ownership->uid) < 0)
                                return option_error("unknown --socket-user %s", optarg);
                        break;
                case ARG_SOCKET_GROUP:
                        if (parse_gid(optarg, &ownership->gid) < 0)
                                return option_error("unknown --socket-group %s", optarg);
                        break;
                case 'u':
                        user_done(&l->user);
                        r = user_lookup(optarg, &l->user);
                        if (r < 0)
                                return option_error("unknown --user %s", optarg);
                        l->exec.user = &l->user;
                        break;
                case ARG_LAZY:
                        l->lazy = true;
                        break;
                case ARG_NO_NOTIFY:
                        l->use_notify = false;
                        break;
                case ARG_NOTIFY_ACCESS:
                        if (streq(optarg, "main"))
                                l->notify_access = NOTIFY_ACCESS_MAIN;
                        else if (streq(optarg, "all"))
                                l->notify_access = NOTIFY_ACCESS_ALL;
                        else
                                return option_error("invalid --notify-access %s (main or all)", optarg);
                        break;
                case ARG_WATCHDOG_USEC:
                        if (parse_unsigned(optarg, UINT64_MAX / 2, &v) < 0 || v == 0)
                                return option_error("invalid --watchdog-usec %s", optarg);
                        l->watchdog_usec = v;
                        break;
                case ARG_ONCE:
                        l->once = true;
                        break;
                case ARG_SETENV:
                        r = add_environment(l, optarg);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return option_error("invalid --setenv %s (NAME=VALUE)", optarg);
                        break;
                case ARG_START_LIMIT_BURST:
                        if (parse_unsigned(optarg, 1000000, &v) < 0)
                                return option_error("invalid --start-limit-burst %s", optarg);
                        l->start_limit_burst = (unsigned) v;
                        break;
                case ARG_START_LIMIT_INTERVAL:
                        if (parse_seconds(optarg, &l->start_limit_interval_usec) < 0)
                                return option_error("invalid --start-limit-interval-sec %s", optarg);
                        break;
                case ARG_TIMEOUT_STOP:
                        if (parse_seconds(optarg, &l->timeout_stop_usec) < 0 || l->timeout_stop_usec == 0)
                                return option_error("invalid --timeout-stop-sec %s", optarg);
                        break;
                default:
                        fputs(usage, stderr);
                        return -EINVAL;
                }
        }

        if (optind >= argc)
                return option_error("no PROGRAM given (ashd-launch [OPTIONS] -- PROGRAM [ARGS...])");
        if (l->lazy && l->n_listeners == 0)
                return option_error("--lazy needs at least one --listen socket");
        l->exec.argv = argv + optind;
        return 1;
}

/* Makes sure fds 0, 1 and 2 are open, so that no socket lands there and
 * report lines go where stdout was meant to go. */
static int ensure_std_fds(void) {
        for (int fd = 0; fd < 3; fd++) {
                if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
                        continue;
                int null = open("/dev/null", O_RDWR);
                if (null < 0)
                        return -errno;
                if (null != fd)
                        /* Lower fds are open, so open() returned the lowest free one: fd. */
                        return -EBADF;
        }
        return 0;
}

/* Binds every --listen socket, reporting each, and collects their fds and names. */
static int open_listeners(Launcher *l, const SocketOwnership *ownership) {
        size_t names_length = 1;

        l->fds = calloc(l->n_listeners ? l->n_listeners : 1, sizeof(int));
        if (!l->fds)
                return -ENOMEM;

        for (size_t i = 0; i < l->n_listeners; i++) {
                Listener *listener = &l->listeners[i];
                _cleanup_free_ char *address = NULL;
                int r;

                r = listener_open(listener, ownership);
                if (r < 0) {
                        fprintf(stderr, "ashd-launch: cannot listen on %s (%s): %s\n", listener->name,
                                listener->path ? listener->path : "tcp", strerror(-r));
                        return r;
                }
                r = listener_format_address(listener, &address);
                if (r < 0)
                        return r;
                report("listen %s %s", listener->name, address);

                l->fds[i] = listener->fd;
                names_length += strlen(listener->name) + 1;
        }

        l->fd_names = calloc(names_length, 1);
        if (!l->fd_names)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_listeners; i++) {
                if (i > 0)
                        strcat(l->fd_names, ":");
                strcat(l->fd_names, l->listeners[i].name);
        }

        l->exec.fds = l->fds;
        l->exec.n_fds = l->n_listeners;
        l->exec.fd_names = l->fd_names;
        return 0;
}

/* Frees everything, removes the socket files, and kills PROGRAM if it still runs. */
static void launcher_done(Launcher *l) {
        /* First, as freeing it kills and reaps a PROGRAM that still runs. */
        l->child_source = sd_event_source_unref(l->child_source);
        l->watchdog_timer = sd_event_source_unref(l->watchdog_timer);
        l->kill_timer = sd_event_source_unref(l->kill_timer);
        l->notify_io = sd_event_source_unref(l->notify_io);
        l->notify_fd = safe_close(l->notify_fd);
        for (size_t i = 0; i < l->n_listeners; i++)
                listener_done(&l->listeners[i]);
        free(l->listeners);
        free(l->fds);
        free(l->fd_names);
        free(l->notify_address);
        free(l->start_times);
        strv_free(l->environment);
        user_done(&l->user);
        l->event = sd_event_unref(l->event);
}

int main(int argc, char **argv) {
        _cleanup_(launcher_done) Launcher l = {
                .use_notify = true,
                .notify_access = NOTIFY_ACCESS_MAIN,
                .start_limit_burst = 5,
                .start_limit_interval_usec = 10 * USEC_PER_SEC,
                .timeout_stop_usec = 5 * USEC_PER_SEC,
                .notify_fd = -EBADF,
        };
        SocketOwnership ownership = {
                .mode = 0666,
                .uid = (uid_t) -1,
                .gid = (gid_t) -1,
        };
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv, &l, &ownership);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        l.exec.environment = l.environment;

        r = ensure_std_fds();
        if (r < 0)
                return EXIT_FAILURE;
        setvbuf(stdout, NULL, _IOLBF, 0);
        /* A reader that went away must not kill us halfway through a stop. */
        signal(SIGPIPE, SIG_IGN);

        /* sd-event wants these blocked before its signal and child sources exist;
         * the child unblocks them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                fprintf(stderr, "ashd-launch: cannot block signals: %m\n");
                return EXIT_FAILURE;
        }

        r = sd_event_new(&l.event);
        if (r < 0) {
                fprintf(stderr, "ashd-launch: cannot create the event loop: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = open_listeners(&l, &ownership);
        if (r < 0)
                return EXIT_FAILURE;

        if (l.use_notify) {
                r = notify_open(&l.notify_fd, &l.notify_address);
                if (r < 0) {
                        fprintf(stderr, "ashd-launch: cannot open the notify socket: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                l.exec.notify_socket = l.notify_address;
        }
        l.exec.watchdog_usec = l.watchdog_usec;

        r = service_setup(&l);
        if (r < 0) {
                fprintf(stderr, "ashd-launch: cannot start %s: %s\n", l.exec.argv[0], strerror(-r));
                return EXIT_FAILURE;
        }

        r = sd_event_loop(l.event);
        if (r < 0) {
                fprintf(stderr, "ashd-launch: event loop failed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return r;
}
