/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* The life of PROGRAM, as systemd runs a Type=notify service behind a socket
 * unit with Accept=no: start it when a connection is pending, hear its
 * notifications, watch its watchdog, forward our signals, and when it exits
 * go back to watching the sockets, within a start rate limit. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#include "launch.h"

static void service_exit(Launcher *l, int code) {
        (void) sd_event_exit(l->event, code);
}

/* The loop's idea of now, or the clock's before the loop has run. */
static uint64_t now_usec(Launcher *l) {
        uint64_t t;

        if (sd_event_now(l->event, CLOCK_MONOTONIC, &t) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                t = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        }
        return t;
}

static int set_listeners_enabled(Launcher *l, int enabled) {
        for (size_t i = 0; i < l->n_listeners; i++) {
                int r = sd_event_source_set_enabled(l->listeners[i].io, enabled);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Sends sig to PROGRAM through its pidfd, which cannot hit a recycled pid. */
static void service_kill(Launcher *l, int sig) {
        int r;

        if (l->pid <= 0)
                return;
        r = sd_event_source_send_child_signal(l->child_source, sig, NULL, 0);
        if (r < 0 && r != -ESRCH)
                fprintf(stderr, "ashd-launch: cannot send signal %d to %d: %s\n", sig, (int) l->pid,
                        strerror(-r));
}

/* Arms the one-shot timer s to fire usec from now. */
static int arm_timer(sd_event_source *s, uint64_t usec) {
        int r = sd_event_source_set_time_relative(s, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Goes back to watching the listening sockets: the next connection starts
 * PROGRAM again, and it waits in the backlog until PROGRAM accepts it. */
static int service_wait(Launcher *l) {
        int r = set_listeners_enabled(l, SD_EVENT_ON);
        if (r < 0)
                return r;
        report("waiting");
        return 0;
}

/* Records a start in the rate limit; false once more than
 * start_limit_burst starts fall within start_limit_interval_usec. */
static bool start_limit_test(Launcher *l) {
        uint64_t now = now_usec(l);

        if (l->start_limit_burst == 0)
                return true;
        if (l->n_start_times == l->start_limit_burst) {
                if (now - l->start_times[0] < l->start_limit_interval_usec)
                        return false;
                memmove(l->start_times, l->start_times + 1, (l->n_start_times - 1) * sizeof(uint64_t));
                l->n_start_times--;
        }
        l->start_times[l->n_start_times++] = now;
        return true;
}

static void service_ready(Launcher *l) {
        if (l->ready)
                return;
        l->ready = true;
        report("ready %d", (int) l->pid);
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata);

/* Starts PROGRAM, unless it has been started too often lately (then gives up). */
static int service_start(Launcher *l) {
        pid_t pid;
        int r;

        if (!start_limit_test(l)) {
                fprintf(stderr, "ashd-launch: started %u times within %.3g s, giving up\n",
                        l->start_limit_burst, (double) l->start_limit_interval_usec / USEC_PER_SEC);
                report("gave-up");
                service_exit(l, EXIT_FAILURE);
                return 0;
        }

        r = set_listeners_enabled(l, SD_EVENT_OFF);
        if (r < 0)
                return r;

        r = child_spawn(&l->exec, &pid);
        if (r < 0)
                return r;
        l->pid = pid;
        l->ready = false;
        l->watchdog_fired = false;
        /* A WATCHDOG_USEC= from the previous program does not carry over. */
        l->watchdog_usec = l->exec.watchdog_usec;
        report("started %d", (int) pid);

        /* The previous program's source has fired and is spent. */
        l->child_source = sd_event_source_unref(l->child_source);
        r = sd_event_add_child(l->event, &l->child_source, pid, WEXITED, on_child_exit, l);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                return r;
        }
        /* Whichever way we exit, PROGRAM is killed and reaped with us. */
        (void) sd_event_source_set_child_process_own(l->child_source, true);

        if (!l->use_notify)
                service_ready(l);
        if (l->watchdog_usec > 0) {
                r = arm_timer(l->watchdog_timer, l->watchdog_usec);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Replaces control characters, so that one assignment stays one report line. */
static void sanitize(char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7f)
                        *s = '?';
}

/* No WATCHDOG=1 in time (or WATCHDOG=trigger): SIGABRT, as systemd's WatchdogSignal=. */
static void watchdog_fire(Launcher *l) {
        int r;

        if (l->pid <= 0 || l->watchdog_fired)
                return;
        l->watchdog_fired = true;
        (void) sd_event_source_set_enabled(l->watchdog_timer, SD_EVENT_OFF);
        fprintf(stderr, "ashd-launch: watchdog timeout for %d, sending SIGABRT\n", (int) l->pid);
        report("watchdog %d", (int) l->pid);
        service_kill(l, SIGABRT);
        /* As systemd after TimeoutAbortSec=: SIGKILL if SIGABRT did not end it. */
        r = arm_timer(l->kill_timer, l->timeout_stop_usec);
        if (r < 0)
                fprintf(stderr, "ashd-launch: cannot arm the kill timer: %s\n", strerror(-r));
}

/* A WATCHDOG=1 arrived: the timeout starts over. */
static void watchdog_reset(Launcher *l) {
        int r;

        if (l->pid <= 0 || l->watchdog_fired || l->watchdog_usec == 0)
                return;
        r = arm_timer(l->watchdog_timer, l->watchdog_usec);
        if (r < 0)
                fprintf(stderr, "ashd-launch: cannot arm the watchdog: %s\n", strerror(-r));
}

/* Parses a WATCHDOG_USEC= value sent by PROGRAM to change its own timeout. */
static int parse_usec(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Acts on one notify datagram: reports each assignment, then does what they
 * ask, in the manner of systemd's service_notify_message(). */
static void service_notify_message(Launcher *l, pid_t sender, char *message) {
        bool ready = false, reloading = false, watchdog = false, trigger = false;
        uint64_t watchdog_usec = 0;
        char *state = NULL;

        if (l->pid <= 0 || (l->notify_access == NOTIFY_ACCESS_MAIN && sender != l->pid)) {
                fprintf(stderr, "ashd-launch: ignoring notification from pid %d, main pid is %d\n",
                        (int) sender, (int) l->pid);
                return;
        }

        for (char *line = strtok_r(message, "\n", &state); line; line = strtok_r(NULL, "\n", &state)) {
                sanitize(line);
                report("notify %d %s", (int) sender, line);
                if (streq(line, "READY=1"))
                        ready = true;
                else if (streq(line, "RELOADING=1"))
                        reloading = true;
                else if (streq(line, "WATCHDOG=1"))
                        watchdog = true;
                else if (streq(line, "WATCHDOG=trigger"))
                        trigger = true;
                else if (strncmp(line, "WATCHDOG_USEC=", 14) == 0 &&
                         parse_usec(line + 14, &watchdog_usec) < 0)
                        watchdog_usec = 0;
        }

        if (reloading)
                /* The next READY=1 ends the reload: report "ready" again then. */
                l->ready = false;
        if (ready)
                service_ready(l);
        if (watchdog_usec > 0 && l->watchdog_usec > 0) {
                l->watchdog_usec = watchdog_usec;
                watchdog = true;
        }
        if (trigger)
                watchdog_fire(l);
        else if (watchdog)
                watchdog_reset(l);
}

/* Handles every queued notify datagram. */
static void notify_drain(Launcher *l) {
        char buf[NOTIFY_BUFFER_MAX + 1];

        if (l->notify_fd < 0)
                return;
        for (;;) {
                pid_t sender = 0;
                int n = notify_receive(l->notify_fd, buf, sizeof(buf), &sender);
                if (n == -EAGAIN)
                        return;
                if (n == -EMSGSIZE || n == -EBADMSG) {
                        fprintf(stderr, "ashd-launch: ignoring a malformed notification from pid %d\n",
                                (int) sender);
                        continue;
                }
                if (n < 0) {
                        fprintf(stderr, "ashd-launch: cannot read the notify socket: %s\n", strerror(-n));
                        return;
                }
                service_notify_message(l, sender, buf);
        }
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        notify_drain(userdata);
        return 0;
}

/* PROGRAM exited: report how, then exit with its status (stopping, --once)
 * or wait for the next connection. */
static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Launcher *l = userdata;
        int code, r;

        /* Whatever it said before dying comes first. */
        notify_drain(l);

        if (si->si_code == CLD_EXITED) {
                report("exited %d status %d", (int) si->si_pid, si->si_status);
                code = si->si_status;
        } else {
                report("exited %d signal %d", (int) si->si_pid, si->si_status);
                code = 128 + si->si_status;
        }

        l->pid = 0;
        l->ready = false;
        (void) sd_event_source_set_enabled(l->kill_timer, SD_EVENT_OFF);
        if (l->watchdog_timer)
                (void) sd_event_source_set_enabled(l->watchdog_timer, SD_EVENT_OFF);

        if (l->stopping || l->once || l->n_listeners == 0) {
                service_exit(l, code);
                return 0;
        }

        r = service_wait(l);
        if (r < 0) {
                fprintf(stderr, "ashd-launch: cannot watch the listening sockets: %s\n", strerror(-r));
                service_exit(l, EXIT_FAILURE);
        }
        return 0;
}

/* A connection waits on a listening socket while PROGRAM is down: start it,
 * as a socket unit starts its service. */
static int on_connection_pending(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Launcher *l = userdata;
        int r;

        if (l->pid > 0 || l->stopping)
                return 0;
        r = service_start(l);
        if (r < 0) {
                fprintf(stderr, "ashd-launch: cannot start %s: %s\n", l->exec.argv[0], strerror(-r));
                service_exit(l, EXIT_FAILURE);
        }
        return 0;
}

static int on_watchdog_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        watchdog_fire(userdata);
        return 0;
}

/* The stop (or abort) timed out: SIGKILL, as systemd's SendSIGKILL=yes. */
static int on_kill_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Launcher *l = userdata;

        if (l->pid <= 0)
                return 0;
        fprintf(stderr, "ashd-launch: %d did not exit in time, sending SIGKILL\n", (int) l->pid);
        report("timeout %d", (int) l->pid);
        service_kill(l, SIGKILL);
        return 0;
}

/* SIGTERM and SIGINT stop PROGRAM with SIGTERM, then us with its status;
 * SIGHUP is passed on for a reload. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Launcher *l = userdata;
        int r;

        if (si->ssi_signo == SIGHUP) {
                service_kill(l, SIGHUP);
                return 0;
        }

        if (l->pid <= 0) {
                service_exit(l, EXIT_SUCCESS);
                return 0;
        }

        if (!l->stopping) {
                l->stopping = true;
                (void) set_listeners_enabled(l, SD_EVENT_OFF);
                r = arm_timer(l->kill_timer, l->timeout_stop_usec);
                if (r < 0)
                        fprintf(stderr, "ashd-launch: cannot arm the kill timer: %s\n", strerror(-r));
        }
        service_kill(l, SIGTERM);
        /* As systemd does after SIGTERM, in case it was stopped. */
        service_kill(l, SIGCONT);
        return 0;
}

/* Adds the event sources, then starts PROGRAM at once or waits for the first
 * connection (--lazy). The signals must be blocked already. */
int service_setup(Launcher *l) {
        static const int signals[] = {SIGTERM, SIGINT, SIGHUP};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = sd_event_add_signal(l->event, NULL, signals[i], on_signal, l);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < l->n_listeners; i++) {
                r = sd_event_add_io(l->event, &l->listeners[i].io, l->listeners[i].fd, EPOLLIN,
                                    on_connection_pending, l);
                if (r < 0)
                        return r;
                r = sd_event_source_set_enabled(l->listeners[i].io, SD_EVENT_OFF);
                if (r < 0)
                        return r;
        }

        if (l->notify_fd >= 0) {
                r = sd_event_add_io(l->event, &l->notify_io, l->notify_fd, EPOLLIN, on_notify, l);
                if (r < 0)
                        return r;
                /* Before the exit of the program that sent them, and before its watchdog. */
                r = sd_event_source_set_priority(l->notify_io, SD_EVENT_PRIORITY_IMPORTANT);
                if (r < 0)
                        return r;
        }

        /* Accuracy 1 µs: the default 250 ms would swallow short watchdog timeouts. */
        if (l->watchdog_usec > 0) {
                r = sd_event_add_time_relative(l->event, &l->watchdog_timer, CLOCK_MONOTONIC,
                                               l->watchdog_usec, 1, on_watchdog_timeout, l);
                if (r < 0)
                        return r;
                r = sd_event_source_set_enabled(l->watchdog_timer, SD_EVENT_OFF);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_time_relative(l->event, &l->kill_timer, CLOCK_MONOTONIC, l->timeout_stop_usec, 1,
                                       on_kill_timeout, l);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(l->kill_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;

        if (l->start_limit_burst > 0) {
                l->start_times = calloc(l->start_limit_burst, sizeof(uint64_t));
                if (!l->start_times)
                        return -ENOMEM;
        }

        if (l->lazy)
                return service_wait(l);
        return service_start(l);
}
