/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "fdpass.h"
#include "response.h"
#include "upstream.h"

/* A datagram that could not be sent yet, with its own copy of the fd. */
/* Datagrams queued in every upstream of the process: a draining handler
 * leaves only once they are delivered (upstream_queued()). */
static size_t queued_total;

typedef struct Pending {
        char *data;
        size_t size;
        int fd;
} Pending;

struct Upstream {
        sd_event *event;
        char *path;  /* socket target */
        char **argv; /* exec target */
        uid_t expected_uid;
        uid_t peer_uid;

        int fd;
        sd_event_source *io;
        pid_t pid;
        sd_event_source *child;

        /* A ring of datagrams waiting for the socket to drain, sent in order
         * before anything newer. */
        Pending *queue;
        size_t queue_head, queue_len, queue_size;
};

/* Requests are encoded here just before they are sent: the programs are
 * single-threaded and the datagram is copied if it has to wait. */
static char encode_buffer[REQ_DATAGRAM_MAX];

static void upstream_disconnect(Upstream *u) {
        u->io = sd_event_source_disable_unref(u->io);
        u->fd = safe_close(u->fd);
}

static void pending_clear(Pending *p) {
        free(p->data);
        safe_close(p->fd);
        *p = (Pending){.fd = -EBADF};
}

/* Answers every queued request 503: their target is gone and will not come
 * back in time, and the client deserves more than a closed socket. */
static void upstream_fail_queue(Upstream *u) {
        while (u->queue_len > 0) {
                Pending *p = &u->queue[u->queue_head];

                /* Never block the loop on a client's socket: the page is small
                 * enough for any empty socket buffer, and the sender has
                 * passed this end on, so its flags are ours to set. */
                (void) fcntl(p->fd, F_SETFL, O_NONBLOCK);
                (void) response_simple(p->fd, 503, "The handler of this request is not available.");
                pending_clear(p);
                u->queue_head = (u->queue_head + 1) % u->queue_size;
                u->queue_len--;
                queued_total--;
        }
}

static int upstream_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int upstream_watch(Upstream *u) {
        int r;

        r = sd_event_add_io(u->event, &u->io, u->fd,
                            EPOLLIN | EPOLLRDHUP | (u->queue_len > 0 ? EPOLLOUT : 0), upstream_io, u);
        if (r < 0)
                upstream_disconnect(u);
        return r;
}

static int upstream_connect_socket(Upstream *u) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct ucred cred;
        socklen_t len = sizeof(cred);
        size_t n = strlen(u->path);

        if (n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, u->path, n + 1);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;

        /* For a connected Unix socket this is who called listen(): PID 1 for
         * a system socket unit, the user's manager for a user unit. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        u->peer_uid = cred.uid;
        /* Root may listen anywhere: it could impersonate anyone anyway. */
        if (u->expected_uid != UPSTREAM_UID_ANY && cred.uid != u->expected_uid && cred.uid != 0)
                return -EPERM;

        u->fd = TAKE_FD(fd);
        return upstream_watch(u);
}

/* Hands a child that is no longer ours to the event loop, which reaps it
 * when it exits, so that no zombie is left behind. */
static void upstream_orphan_child(Upstream *u) {
        if (!u->child)
                return;
        sd_event_source_set_userdata(u->child, NULL);
        /* The loop takes a reference of its own; ours goes. */
        (void) sd_event_source_set_floating(u->child, true);
        sd_event_source_unref(u->child);
        u->child = NULL;
        u->pid = 0;
}

static int upstream_child_exited(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Upstream *u = userdata;

        if (!u) {
                /* An orphan, reaped now: the loop drops its reference, and the
                 * source goes when its dispatch ends. */
                (void) sd_event_source_set_floating(s, false);
                return 0;
        }
        u->child = sd_event_source_disable_unref(u->child);
        u->pid = 0;
        upstream_disconnect(u);
        /* What it had not taken yet goes to its successor. */
        if (u->queue_len > 0)
                (void) upstream_io(NULL, -EBADF, EPOLLOUT, u);
        return 0;
}

static int upstream_start_child(Upstream *u) {
        _cleanup_close_ int ours = -EBADF, theirs = -EBADF;
        int pair[2];
        sigset_t mask;
        pid_t pid;
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        ours = pair[0];
        theirs = pair[1];
        if (fcntl(ours, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigemptyset(&mask);
                sigprocmask(SIG_SETMASK, &mask, NULL);
                signal(SIGPIPE, SIG_DFL);
                /* The child is not the service's main process: what systemd
                 * handed us is not for it (the programs are single-threaded,
                 * so unsetenv after fork is safe). */
                unsetenv("NOTIFY_SOCKET");
                unsetenv("WATCHDOG_USEC");
                unsetenv("WATCHDOG_PID");
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("LISTEN_FDNAMES");
                if (theirs == STDIN_FILENO ? fcntl(theirs, F_SETFD, 0) < 0 : dup2(theirs, STDIN_FILENO) < 0)
                        _exit(127);
                execvp(u->argv[0], u->argv);
                _exit(127);
        }

        u->pid = pid;
        r = sd_event_add_child(u->event, &u->child, pid, WEXITED, upstream_child_exited, u);
        if (r < 0) {
                /* Without a way to see it die we cannot use it. */
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                u->pid = 0;
                return r;
        }
        u->fd = TAKE_FD(ours);
        return upstream_watch(u);
}

static int upstream_ensure(Upstream *u) {
        if (u->fd >= 0)
                return 0;
        if (u->path)
                return upstream_connect_socket(u);
        /* A child not reaped yet closed its end, or we would still have
         * ours: start the next one now and let the loop reap the old one. */
        upstream_orphan_child(u);
        return upstream_start_child(u);
}

static bool error_is_gone(int r) {
        return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -ECONNREFUSED;
}

/* Sends queued datagrams while the socket takes them. */
static int upstream_flush(Upstream *u) {
        bool retried = false;
        int r;

        while (u->queue_len > 0) {
                Pending *p = &u->queue[u->queue_head];

                r = upstream_ensure(u);
                if (r < 0)
                        return r;
                r = fdpass_send(u->fd, p->data, p->size, p->fd);
                if (r == -EAGAIN)
                        break;
                if (error_is_gone(r) && !retried) {
                        /* Not delivered, so it is safe to resend once to a
                         * fresh connection. */
                        upstream_disconnect(u);
                        retried = true;
                        continue;
                }
                if (r < 0)
                        return r;
                retried = false;
                pending_clear(p);
                u->queue_head = (u->queue_head + 1) % u->queue_size;
                u->queue_len--;
                queued_total--;
        }
        if (u->io)
                return sd_event_source_set_io_events(u->io, EPOLLIN | EPOLLRDHUP |
                                                                    (u->queue_len > 0 ? EPOLLOUT : 0));
        return 0;
}

static int upstream_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Upstream *u = userdata;
        int r;

        if (revents & EPOLLIN) {
                /* Handlers never write to us; read and drop whatever came so
                 * that the source does not spin, and notice EOF. */
                char buf[256];
                size_t len;
                int rfd = -EBADF;

                r = fdpass_recv(u->fd, buf, sizeof(buf), 0, &len, &rfd);
                safe_close(rfd);
                if (r == 0 || (r < 0 && r != -EAGAIN && r != -EMSGSIZE && r != -EBADMSG))
                        revents |= EPOLLHUP;
        }
        if (revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
                /* The handler went away (restart, idle exit): what is still
                 * queued was never sent and goes to its next instance. */
                upstream_disconnect(u);

        if (u->queue_len > 0) {
                r = upstream_flush(u);
                if (r < 0) {
                        upstream_disconnect(u);
                        upstream_fail_queue(u);
                }
        }
        return 0;
}

static int upstream_enqueue(Upstream *u, const void *datagram, size_t size, int resp_fd) {
        _cleanup_free_ char *data = NULL;
        Pending *p;
        int fd;

        if (u->queue_len >= UPSTREAM_QUEUE_MAX)
                return -ENOBUFS;
        if (u->queue_len == u->queue_size) {
                size_t n = u->queue_size ? u->queue_size * 2 : 16;
                Pending *q = calloc(n, sizeof(Pending));

                if (!q)
                        return -ENOMEM;
                for (size_t i = 0; i < u->queue_len; i++)
                        q[i] = u->queue[(u->queue_head + i) % u->queue_size];
                free(u->queue);
                u->queue = q;
                u->queue_size = n;
                u->queue_head = 0;
        }

        data = malloc(size);
        if (!data)
                return -ENOMEM;
        memcpy(data, datagram, size);
        fd = fcntl(resp_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;

        p = &u->queue[(u->queue_head + u->queue_len) % u->queue_size];
        *p = (Pending){.data = TAKE_PTR(data), .size = size, .fd = fd};
        u->queue_len++;
        queued_total++;
        if (u->io)
                return sd_event_source_set_io_events(u->io, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
        return 0;
}

int upstream_send_datagram(Upstream *u, const void *datagram, size_t size, int resp_fd) {
        int r;

        if (size > REQ_DATAGRAM_MAX)
                return -EMSGSIZE;
        /* Keep the order: nothing overtakes what is already waiting. */
        if (u->queue_len > 0)
                return upstream_enqueue(u, datagram, size, resp_fd);

        for (int attempt = 0; attempt < 2; attempt++) {
                r = upstream_ensure(u);
                if (r < 0)
                        return r;
                r = fdpass_send(u->fd, datagram, size, resp_fd);
                if (r == 0)
                        return 0;
                if (r == -EAGAIN)
                        return upstream_enqueue(u, datagram, size, resp_fd);
                if (!error_is_gone(r))
                        return r;
                /* The handler restarted or exited since we last sent; the
                 * datagram was not delivered, so it goes to the new one. */
                upstream_disconnect(u);
        }
        return r;
}

int upstream_send(Upstream *u, const Request *req, int resp_fd) {
        int n;

        n = req_encode(req, encode_buffer, sizeof(encode_buffer));
        if (n < 0)
                return n;
        return upstream_send_datagram(u, encode_buffer, n, resp_fd);
}

static int upstream_alloc(sd_event *event, Upstream **ret) {
        Upstream *u;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->event = sd_event_ref(event);
        u->fd = -EBADF;
        u->expected_uid = UPSTREAM_UID_ANY;
        u->peer_uid = UPSTREAM_UID_ANY;
        *ret = u;
        return 0;
}

int upstream_new_socket(sd_event *event, const char *path, uid_t expected_uid, Upstream **ret) {
        _cleanup_(upstream_freep) Upstream *u = NULL;
        int r;

        if (!event || !path || !*path || !ret)
                return -EINVAL;
        r = upstream_alloc(event, &u);
        if (r < 0)
                return r;
        u->path = strdup(path);
        if (!u->path)
                return -ENOMEM;
        u->expected_uid = expected_uid;
        *ret = TAKE_PTR(u);
        return 0;
}

int upstream_new_exec(sd_event *event, char *const *argv, Upstream **ret) {
        _cleanup_(upstream_freep) Upstream *u = NULL;
        sigset_t mask;
        size_t n = 0;
        int r;

        if (!event || !argv || !argv[0] || !ret)
                return -EINVAL;
        r = upstream_alloc(event, &u);
        if (r < 0)
                return r;
        while (argv[n])
                n++;
        u->argv = calloc(n + 1, sizeof(char *));
        if (!u->argv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                u->argv[i] = strdup(argv[i]);
                if (!u->argv[i])
                        return -ENOMEM;
        }

        /* sd-event sees children die only through a blocked SIGCHLD. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        *ret = TAKE_PTR(u);
        return 0;
}

Upstream *upstream_free(Upstream *u) {
        if (!u)
                return NULL;
        upstream_disconnect(u);
        upstream_fail_queue(u);
        free(u->queue);
        /* Closing its socket tells an exec child to finish; it is not killed,
         * so requests it holds still get their answers. */
        upstream_orphan_child(u);
        free(u->path);
        strv_free(u->argv);
        sd_event_unref(u->event);
        free(u);
        return NULL;
}

size_t upstream_queued(void) {
        return queued_total;
}

const char *upstream_name(const Upstream *u) {
        return u->path ? u->path : u->argv[0];
}

uid_t upstream_peer_uid(const Upstream *u) {
        return u->peer_uid;
}

bool upstream_forks(const Upstream *u) {
        return u->argv != NULL;
}
