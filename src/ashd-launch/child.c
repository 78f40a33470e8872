/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* Starting PROGRAM: fork, then give the child what a systemd service gets
 * (its listening fds at 3.., LISTEN_*, NOTIFY_SOCKET, WATCHDOG_*, a clean
 * signal state, stdin from /dev/null, its own session) and exec it. */

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "launch.h"

/* Looks up a user by name or number, as --user takes it. */
int user_lookup(const char *name, User *ret) {
        struct passwd *pw;
        User u = {};
        char *end;

        errno = 0;
        pw = getpwnam(name);
        if (!pw && name[0] >= '0' && name[0] <= '9') {
                unsigned long uid = strtoul(name, &end, 10);
                if (*end == '\0' && uid < (uid_t) -1) {
                        errno = 0;
                        pw = getpwuid((uid_t) uid);
                }
        }
        if (!pw)
                return errno > 0 ? -errno : -ESRCH;

        u.name = strdup(pw->pw_name);
        u.home = strdup(pw->pw_dir);
        u.shell = strdup(pw->pw_shell);
        u.uid = pw->pw_uid;
        u.gid = pw->pw_gid;
        if (!u.name || !u.home || !u.shell) {
                user_done(&u);
                return -ENOMEM;
        }

        *ret = u;
        return 0;
}

void user_done(User *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        u->name = u->home = u->shell = NULL;
}

/* Reports why the child could not become PROGRAM and ends it with a
 * systemd-style status, so that the parent reports "exited PID status N". */
_noreturn_ _printf_(2, 3) static void child_fail(int status, const char *format, ...) {
        int saved = errno;
        va_list ap;

        fputs("ashd-launch: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(saved));
        _exit(status);
}

/* Sets every signal back to its default action and unblocks them all, since
 * both are inherited across exec and the launcher blocks and ignores some. */
static int reset_signals(void) {
        struct sigaction sa = {
                .sa_handler = SIG_DFL,
        };
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                /* Numbers reserved by the C library fail with EINVAL: nothing to reset. */
                (void) sigaction(sig, &sa, NULL);
        }

        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return -errno;
        return 0;
}

/* A service's stdin is /dev/null (StandardInput=null), not our terminal or pipe. */
static int stdin_from_null(void) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fd == STDIN_FILENO)
                /* stdin was closed: keep this one, and keep it across exec. */
                return fcntl(fd, F_SETFD, 0) < 0 ? -errno : 0;
        if (dup2(fd, STDIN_FILENO) < 0) {
                safe_close(fd);
                return -errno;
        }
        safe_close(fd);
        return 0;
}

/* Puts fds[i] at 3 + i without CLOEXEC and closes every other fd from 3 up.
 * The fds may themselves sit anywhere in 3..3+n-1, in any order, so all of
 * them are first copied above that range, and only then moved down. */
static int install_listen_fds(const int *fds, size_t n) {
        _cleanup_free_ int *high = NULL;
        int first_free = 3 + (int) n;

        high = calloc(n ? n : 1, sizeof(int));
        if (!high)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, first_free);
                if (high[i] < 0)
                        return -errno;
        }
        for (size_t i = 0; i < n; i++)
                /* dup2() clears CLOEXEC on the new fd, and only there. */
                if (dup2(high[i], 3 + (int) i) < 0)
                        return -errno;

        /* The copies above are among what this closes. */
        if (close_range(first_free, ~0U, 0) < 0) {
                long max = sysconf(_SC_OPEN_MAX);

                if (errno != ENOSYS && errno != EINVAL)
                        return -errno;
                for (long fd = first_free; fd < max; fd++)
                        (void) close((int) fd);
        }
        return 0;
}

/* Sets name=value as a decimal number. */
static int setenv_number(const char *name, uint64_t value) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, value);
        return setenv(name, buf, 1) < 0 ? -errno : 0;
}

/* Builds the environment of PROGRAM: ours without stale activation variables,
 * then the service's own, then --setenv, which may override anything (a test
 * may want a wrong LISTEN_PID on purpose). */
static int setup_environment(const ExecConfig *c) {
        static const char *const stale[] = {
                "LISTEN_FDS",    "LISTEN_PID",    "LISTEN_FDNAMES",
                "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
        };
        pid_t pid = getpid();

        for (size_t i = 0; i < ELEMENTSOF(stale); i++)
                if (unsetenv(stale[i]) < 0)
                        return -errno;

        if (c->user) {
                /* As systemd does for User=. */
                if (setenv("USER", c->user->name, 1) < 0 || setenv("LOGNAME", c->user->name, 1) < 0 ||
                    setenv("HOME", c->user->home, 1) < 0 || setenv("SHELL", c->user->shell, 1) < 0)
                        return -errno;
        }

        if (c->n_fds > 0) {
                int r = setenv_number("LISTEN_FDS", c->n_fds);
                if (r < 0)
                        return r;
                r = setenv_number("LISTEN_PID", (uint64_t) pid);
                if (r < 0)
                        return r;
                if (setenv("LISTEN_FDNAMES", c->fd_names, 1) < 0)
                        return -errno;
        }

        if (c->notify_socket && setenv("NOTIFY_SOCKET", c->notify_socket, 1) < 0)
                return -errno;

        if (c->watchdog_usec > 0) {
                int r = setenv_number("WATCHDOG_USEC", c->watchdog_usec);
                if (r < 0)
                        return r;
                r = setenv_number("WATCHDOG_PID", (uint64_t) pid);
                if (r < 0)
                        return r;
        }

        for (char **e = c->environment; e && *e; e++)
                if (putenv(*e) < 0)
                        return -errno;
        return 0;
}

/* Everything between fork() and execvp(), in the child; never returns. */
_noreturn_ static void child_exec(const ExecConfig *c, pid_t parent) {
        int r;

        r = reset_signals();
        if (r < 0) {
                errno = -r;
                child_fail(EXIT_SIGNAL_MASK, "cannot reset signals");
        }

        /* A session of its own, as a service has: the terminal's ^C reaches
         * only the launcher, which forwards SIGTERM. */
        if (setsid() < 0)
                child_fail(EXIT_SETSID, "setsid");

        r = stdin_from_null();
        if (r < 0) {
                errno = -r;
                child_fail(EXIT_STDIN, "cannot open /dev/null");
        }

        r = install_listen_fds(c->fds, c->n_fds);
        if (r < 0) {
                errno = -r;
                child_fail(EXIT_FDS, "cannot pass the listening sockets");
        }

        r = setup_environment(c);
        if (r < 0) {
                errno = -r;
                child_fail(EXIT_EXEC, "cannot set up the environment");
        }

        if (c->user) {
                if (initgroups(c->user->name, c->user->gid) < 0 || setgid(c->user->gid) < 0)
                        child_fail(EXIT_GROUP, "cannot change to the groups of %s", c->user->name);
                if (setuid(c->user->uid) < 0)
                        child_fail(EXIT_USER, "cannot change to user %s", c->user->name);
        }

        /* If the launcher is killed outright (a test timing out), PROGRAM must
         * not linger. Set after setuid(), which clears it; and the launcher may
         * already be gone by now. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                child_fail(EXIT_EXEC, "prctl");
        if (getppid() != parent)
                _exit(EXIT_FAILURE);

        execvp(c->argv[0], c->argv);
        child_fail(EXIT_EXEC, "cannot execute %s", c->argv[0]);
}

/* Forks and execs PROGRAM; a failure after the fork shows as its exit status. */
int child_spawn(const ExecConfig *c, pid_t *ret_pid) {
        pid_t parent = getpid();
        pid_t pid;

        /* Nothing may sit in stdio buffers, or the child would write it twice. */
        fflush(stdout);
        fflush(stderr);

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_exec(c, parent);

        *ret_pid = pid;
        return 0;
}
