/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "fdpass.h"
#include "handler.h"
#include "log.h"
#include "messages.h"
#include "upstream.h"

#define HANDLER_RECHECK_USEC 10000

typedef struct Connection Connection;
typedef struct Listener Listener;

struct Connection {
        Handler *handler;
        int fd;
        bool is_stdin;
        sd_event_source *source;
        Connection *prev, *next;
};

struct Listener {
        Handler *handler;
        int fd;
        const char *name; /* in Handler.names */
        sd_event_source *source;
};

struct Handler {
        sd_event *event;
        handler_request_fn on_request;
        void *userdata;
        uid_t own_uid;
        uid_t upstream_uid; /* (uid_t) -1: none */
        Listener *listeners;
        size_t n_listeners;
        char **names;
        Connection *connections;
        size_t n_connections;
        /* Idle exit: the time of the last request, work still held by the
         * program, and whether the drain before exiting has begun. */
        uint64_t idle_exit_usec;
        uint64_t last_request;
        unsigned holds;
        bool draining;
        sd_event_source *idle_timer;
        sd_event_source *recheck; /* while a drain waits for upstream queues */
        /* One receive buffer for every connection: the loop is single-threaded
         * and a request is decoded out of it before the next read. */
        char buffer[REQ_DATAGRAM_MAX];
};

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;
        if (c->handler) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        c->handler->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                c->handler->n_connections--;
        }
        sd_event_source_disable_unref(c->source);
        safe_close(c->fd);
        free(c);
        return NULL;
}

/* Receives, decodes and dispatches one datagram. Returns 1 when one was
 * handled (or discarded), 0 when there is none now, -errno when the
 * connection is finished. */
static int connection_receive_one(Connection *c) {
        Handler *h = c->handler;
        _cleanup_close_ int resp_fd = -EBADF;
        _cleanup_(req_freep) Request *req = NULL;
        size_t len;
        int r;

        r = fdpass_recv(c->fd, h->buffer, sizeof(h->buffer), FDPASS_FD_REQUIRED, &len, &resp_fd);
        if (r == -EAGAIN)
                return 0;
        if (r == 0)
                return -EPIPE;
        if (r == -EMSGSIZE || r == -EBADMSG) {
                log_fields(LOG_WARNING, NULL, "Discarded a request datagram: %s",
                           r == -EMSGSIZE ? "larger than the protocol allows"
                                          : "it did not carry exactly one file descriptor");
                return 1;
        }
        if (r < 0)
                return r;

        r = req_decode(h->buffer, len, &req);
        if (r < 0) {
                log_fields(LOG_WARNING, NULL, "Discarded a malformed request datagram: %s", strerror(-r));
                return 1;
        }

        (void) sd_event_now(h->event, CLOCK_MONOTONIC, &h->last_request);
        h->on_request(h, TAKE_PTR(req), TAKE_FD(resp_fd), h->userdata);
        return 1;
}

static void handler_drain(Handler *h, const char *why);

/* Ends the loop once a drain is complete: every upstream connection read to
 * its end and no work held. */
static int handler_recheck(sd_event_source *s, uint64_t usec, void *userdata);

static void handler_maybe_done(Handler *h) {
        uint64_t now;

        if (!h->draining || h->n_connections > 0 || h->holds > 0)
                return;
        /* Requests passed on but still queued toward a handler that has not
         * taken them yet (a child just started) would be answered 503 when
         * the upstreams are freed: look again shortly. */
        if (upstream_queued() > 0) {
                if (!h->recheck && sd_event_now(h->event, CLOCK_MONOTONIC, &now) >= 0)
                        (void) sd_event_add_time(h->event, &h->recheck, CLOCK_MONOTONIC,
                                                 now + HANDLER_RECHECK_USEC, 0, handler_recheck, h);
                return;
        }
        (void) sd_event_exit(h->event, 0);
}

static int handler_recheck(sd_event_source *s, uint64_t usec, void *userdata) {
        Handler *h = userdata;

        h->recheck = sd_event_source_disable_unref(h->recheck);
        handler_maybe_done(h);
        return 0;
}

static int connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        Handler *h = c->handler;
        bool is_stdin = c->is_stdin;
        int r = 0;

        for (unsigned i = 0; i < HANDLER_BATCH; i++) {
                r = connection_receive_one(c);
                if (r <= 0)
                        break;
        }
        /* Datagrams are read before a hang-up is believed, so that nothing
         * the upstream sent before closing is lost. */
        if (r == 0 && (revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))
                r = -EPIPE;
        if (r >= 0)
                return 0;

        if (r != -EPIPE && r != -ECONNRESET)
                log_fields(LOG_WARNING, NULL, "Upstream connection failed: %s", strerror(-r));
        connection_free(c);
        if (is_stdin)
                /* ashd style: the parent closing our stdin means we are done,
                 * once what we hold is finished. */
                handler_drain(h, "Upstream closed, exiting");
        handler_maybe_done(h);
        return 0;
}

static int connection_add(Handler *h, int fd, bool is_stdin) {
        Connection *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = fd;
        c->is_stdin = is_stdin;

        r = sd_event_add_io(h->event, &c->source, fd, EPOLLIN, connection_io, c);
        if (r < 0) {
                c->fd = -EBADF; /* the caller still owns fd */
                free(c);
                return r;
        }
        c->handler = h;
        c->next = h->connections;
        if (c->next)
                c->next->prev = c;
        h->connections = c;
        h->n_connections++;
        return 0;
}

/* Whether a peer of that uid may send us requests. */
static bool handler_peer_allowed(const Handler *h, uid_t uid) {
        return uid == 0 || uid == h->own_uid || (h->upstream_uid != (uid_t) -1 && uid == h->upstream_uid);
}

static int listener_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;
        Handler *h = l->handler;

        for (unsigned i = 0; i < HANDLER_BATCH; i++) {
                _cleanup_close_ int cfd = -EBADF;
                struct ucred cred;
                socklen_t len = sizeof(cred);
                int r;

                cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        /* EMFILE and the like: try again on the next wake-up
                         * rather than giving up the listener. */
                        log_fields(LOG_ERR, NULL, "Failed to accept an upstream connection on %s: %s",
                                   l->name, strerror(errno));
                        return 0;
                }

                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                        log_fields(LOG_ERR, NULL, "Failed to read peer credentials on %s: %s", l->name,
                                   strerror(errno));
                        continue;
                }
                if (!handler_peer_allowed(h, cred.uid)) {
                        char uid[32], pid[32];

                        snprintf(uid, sizeof(uid), "%u", (unsigned) cred.uid);
                        snprintf(pid, sizeof(pid), "%d", (int) cred.pid);
                        log_fields(LOG_WARNING,
                                   (const LogField[]){
                                           {"MESSAGE_ID", MESSAGE_ID_PEER_REFUSED},
                                           {"PEER_UID", uid},
                                           {"PEER_PID", pid},
                                           {"SOCKET", l->name},
                                           {NULL},
                                   },
                                   "Refused upstream connection on %s from uid %s (pid %s)", l->name, uid,
                                   pid);
                        continue;
                }

                r = connection_add(h, cfd, false);
                if (r < 0) {
                        log_fields(LOG_ERR, NULL, "Failed to watch an upstream connection: %s",
                                   strerror(-r));
                        continue;
                }
                TAKE_FD(cfd);
        }
        return 0;
}

/* Resolves the upstream user option to a uid, (uid_t) -1 for none. */
static uid_t upstream_uid_from_option(const char *user) {
        struct passwd *pw;
        char *end;
        unsigned long n;

        if (!user)
                user = HANDLER_UPSTREAM_USER_DEFAULT;
        if (!*user)
                return (uid_t) -1;
        errno = 0;
        n = strtoul(user, &end, 10);
        if (!*end && errno == 0 && n < (uid_t) -1)
                return (uid_t) n;
        pw = getpwnam(user);
        return pw ? pw->pw_uid : (uid_t) -1;
}

/* Whether fd 0 is a connected SEQPACKET socket, the ashd way of being forked. */
static bool stdin_is_upstream(void) {
        struct stat st;
        int type = 0, listening = 0;
        socklen_t len = sizeof(type);

        if (fstat(STDIN_FILENO, &st) < 0 || !S_ISSOCK(st.st_mode))
                return false;
        if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
                return false;
        len = sizeof(listening);
        if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || listening)
                return false;
        return true;
}

static int handler_add_listeners(Handler *h) {
        int n, r;

        n = sd_listen_fds_with_names(true, &h->names);
        if (n <= 0)
                return n;

        h->listeners = calloc(n, sizeof(Listener));
        if (!h->listeners) {
                for (int i = 0; i < n; i++)
                        safe_close(SD_LISTEN_FDS_START + i);
                return -ENOMEM;
        }
        /* Take every fd first so that none leaks whatever fails below. */
        for (int i = 0; i < n; i++)
                h->listeners[h->n_listeners++] = (Listener){
                        .handler = h,
                        .fd = SD_LISTEN_FDS_START + i,
                        .name = h->names && h->names[i] ? h->names[i] : "unknown",
                };
        for (size_t i = 0; i < h->n_listeners; i++) {
                Listener *l = &h->listeners[i];

                r = sd_is_socket_unix(l->fd, SOCK_SEQPACKET, 1, NULL, 0);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EINVAL;
                /* Whatever the passer did, accept() must never block the loop:
                 * a peer may give up between the wake-up and the call. */
                if (fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK) < 0)
                        return -errno;
                r = sd_event_add_io(h->event, &l->source, l->fd, EPOLLIN, listener_io, l);
                if (r < 0)
                        return r;
        }
        return (int) h->n_listeners;
}

int handler_new(sd_event *event, const HandlerOptions *options, Handler **ret) {
        _cleanup_(handler_freep) Handler *h = NULL;
        int r;

        if (!event || !options || !options->on_request || !ret)
                return -EINVAL;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->on_request = options->on_request;
        h->userdata = options->userdata;
        h->own_uid = geteuid();
        h->upstream_uid = upstream_uid_from_option(options->upstream_user);

        r = handler_add_listeners(h);
        if (r < 0)
                return r;

        if (stdin_is_upstream()) {
                /* Reads are batched until EAGAIN: a blocking fd 0 would stop
                 * the whole loop in the read after the last request. */
                if (fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK) < 0)
                        return -errno;
                r = connection_add(h, STDIN_FILENO, true);
                if (r < 0)
                        return r;
        }

        if (h->n_listeners == 0 && h->n_connections == 0)
                return -ENOENT;

        *ret = TAKE_PTR(h);
        return 0;
}

Handler *handler_free(Handler *h) {
        if (!h)
                return NULL;
        while (h->connections)
                connection_free(h->connections);
        for (size_t i = 0; i < h->n_listeners; i++) {
                sd_event_source_disable_unref(h->listeners[i].source);
                safe_close(h->listeners[i].fd);
        }
        free(h->listeners);
        strv_free(h->names);
        sd_event_source_disable_unref(h->idle_timer);
        sd_event_source_disable_unref(h->recheck);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

void handler_stop_accepting(Handler *h) {
        for (size_t i = 0; i < h->n_listeners; i++)
                sd_event_source_set_enabled(h->listeners[i].source, SD_EVENT_OFF);
}

size_t handler_connections(const Handler *h) {
        return h->n_connections;
}

char *const *handler_listen_names(const Handler *h, size_t *ret_n) {
        if (ret_n)
                *ret_n = h->n_listeners;
        return h->names;
}

/* SIGTERM (systemctl stop or restart) drains as an idle exit does: no new
 * work, everything already sent to us served. A second signal, or SIGINT,
 * ends at once. */
static int handler_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Handler *h = userdata;

        if (si->ssi_signo == SIGTERM && !h->draining) {
                handler_drain(h, "Stopping: serving what was sent, taking nothing new");
                return 0;
        }
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int handler_run(const HandlerOptions *options, handler_setup_fn setup) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(handler_freep) Handler *h = NULL;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_errno(LOG_ERR, -errno, "Failed to block signals: %m"), 1;
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&event);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to allocate the event loop: %m"), 1;
        if (setup && setup(event, options->userdata) < 0)
                return 1;

        r = handler_new(event, options, &h);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the handler: %m"), 1;
        if ((r = sd_event_add_signal(event, NULL, SIGTERM, handler_on_signal, h)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, handler_on_signal, h)) < 0)
                return log_errno(LOG_ERR, r, "Failed to watch signals: %m"), 1;
        if (options->idle_exit_usec > 0 && (r = handler_set_idle_exit(h, options->idle_exit_usec)) < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the idle timer: %m"), 1;
        if (options->ret_handler)
                *options->ret_handler = h;

        (void) sd_notify(false, "READY=1\nSTATUS=Serving");
        r = sd_event_loop(event);
        (void) sd_notify(false, "STOPPING=1");
        return r < 0 ? 1 : r;
}

void handler_wait_children(uint64_t timeout_usec) {
        struct timespec now, left;
        uint64_t deadline, t;
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        clock_gettime(CLOCK_MONOTONIC, &now);
        deadline = (uint64_t) now.tv_sec * 1000000ULL + now.tv_nsec / 1000 + timeout_usec;
        for (;;) {
                pid_t pid = waitpid(-1, NULL, WNOHANG);

                if (pid > 0 || (pid < 0 && errno == EINTR))
                        continue;
                if (pid < 0)
                        return; /* ECHILD: none left */
                clock_gettime(CLOCK_MONOTONIC, &now);
                t = (uint64_t) now.tv_sec * 1000000ULL + now.tv_nsec / 1000;
                if (t >= deadline) {
                        log_fields(LOG_WARNING, NULL, "Children still running after %llu s, leaving them",
                                   (unsigned long long) (timeout_usec / 1000000ULL));
                        return;
                }
                left = (struct timespec){.tv_sec = (deadline - t) / 1000000ULL,
                                         .tv_nsec = (deadline - t) % 1000000ULL * 1000};
                /* A child that exits between waitpid() and here leaves its
                 * SIGCHLD pending (it is blocked), so nothing is missed. */
                (void) sigtimedwait(&mask, NULL, &left);
        }
}

void handler_hold(Handler *h) {
        h->holds++;
}

void handler_release(Handler *h) {
        assert(h->holds > 0);
        h->holds--;
        handler_maybe_done(h);
}

/* Idle for long enough: stop taking new work without losing any. After
 * shutdown(SHUT_RD) an upstream's next datagram fails with EPIPE, which
 * its client takes as "reconnect and resend" (reaching our successor
 * through the listening socket systemd keeps), while what it already sent
 * is still read and served here before the connection ends. */
static void handler_drain(Handler *h, const char *why) {
        if (h->draining)
                return;
        log_fields(LOG_INFO, NULL, "%s", why);
        h->draining = true;
        handler_stop_accepting(h);
        for (Connection *c = h->connections; c; c = c->next)
                (void) shutdown(c->fd, SHUT_RD);
        handler_maybe_done(h);
}

static int handler_idle_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Handler *h = userdata;
        uint64_t due = h->last_request + h->idle_exit_usec, next;

        if (h->holds == 0 && usec >= due) {
                handler_drain(h, "Idle, exiting");
                return 0;
        }
        /* A request came meanwhile (look again when the quiet could be long
         * enough), or work is still held (look again a period later). */
        next = usec >= due ? usec + h->idle_exit_usec : due;
        if (sd_event_source_set_time(s, next) < 0)
                return 0;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int handler_set_idle_exit(Handler *h, uint64_t usec) {
        int r;

        h->idle_exit_usec = usec;
        h->idle_timer = sd_event_source_disable_unref(h->idle_timer);
        if (usec == 0)
                return 0;
        r = sd_event_now(h->event, CLOCK_MONOTONIC, &h->last_request);
        if (r < 0)
                return r;
        return sd_event_add_time(h->event, &h->idle_timer, CLOCK_MONOTONIC, h->last_request + usec,
                                 usec / 20, handler_idle_check, h);
}

int handler_parse_idle_exit(const char *s, uint64_t *ret_usec) {
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno || end == s || *end || !(d > 0) || d > 86400.0 * 365)
                return -EINVAL;
        *ret_usec = (uint64_t) (d * 1e6);
        return 0;
}
