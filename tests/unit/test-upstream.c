/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* The upstream client against real sockets and a real exec child. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "check-main.h"
#include "fdpass.h"
#include "upstream.h"

static char dir[64];
static char path[128];

static void setup(void) {
        strcpy(dir, "/tmp/ashd-test-upstream-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/sock", dir);
        signal(SIGPIPE, SIG_IGN);
}

static void teardown(void) {
        unlink(path);
        rmdir(dir);
}

static int listen_at(const char *p, bool do_listen) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, p);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        if (do_listen)
                ck_assert_int_eq(listen(fd, 16), 0);
        return fd;
}

static Request *make_request(const char *url) {
        Request *r = NULL;

        ck_assert_int_eq(req_new("GET", url, "HTTP/1.1", url + 1, &r), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "example.org"), 0);
        return r;
}

/* Receives one request on conn and returns its URL (static buffer) and fd. */
static const char *receive(int conn, int *ret_fd) {
        static char buf[REQ_DATAGRAM_MAX];
        static char url[256];
        _cleanup_(req_freep) Request *r = NULL;
        size_t len;

        ck_assert_int_eq(fdpass_recv(conn, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, ret_fd), 1);
        ck_assert_int_eq(req_decode(buf, len, &r), 0);
        snprintf(url, sizeof(url), "%s", r->url);
        return url;
}

static void pair(int sv[2]) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

START_TEST(test_missing_socket) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_(req_freep) Request *r = make_request("/a");
        int sv[2];

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, UPSTREAM_UID_ANY, &u), 0);
        ck_assert_str_eq(upstream_name(u), path);
        pair(sv);
        ck_assert_int_eq(upstream_send(u, r, sv[1]), -ENOENT);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_not_listening) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_(req_freep) Request *r = make_request("/a");
        _cleanup_close_ int l = listen_at(path, false);
        int sv[2];

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, UPSTREAM_UID_ANY, &u), 0);
        pair(sv);
        ck_assert_int_eq(upstream_send(u, r, sv[1]), -ECONNREFUSED);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* A listener of another uid: when the tests run as root, listen() is called
 * with the effective uid of nobody (SO_PEERCRED reports the listener's). */
#define NOBODY_UID 65534

START_TEST(test_wrong_listener_uid) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_(req_freep) Request *r = make_request("/a");
        _cleanup_close_ int l = listen_at(path, false);
        uid_t listener = getuid();
        int sv[2];

        if (listener == 0) {
                ck_assert_int_eq(seteuid(NOBODY_UID), 0);
                listener = NOBODY_UID;
        }
        ck_assert_int_eq(listen(l, 16), 0);
        if (getuid() == 0)
                ck_assert_int_eq(seteuid(0), 0);

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, listener + 4242, &u), 0);
        ck_assert_uint_eq(upstream_peer_uid(u), UPSTREAM_UID_ANY);
        pair(sv);
        ck_assert_int_eq(upstream_send(u, r, sv[1]), -EPERM);
        ck_assert_uint_eq(upstream_peer_uid(u), listener);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_root_listener_always_admitted) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_(req_freep) Request *r = make_request("/a");
        _cleanup_close_ int l = listen_at(path, true);
        int sv[2];

        if (getuid() != 0)
                return; /* only root can make a root listener */
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, 4242, &u), 0);
        pair(sv);
        ck_assert_int_eq(upstream_send(u, r, sv[1]), 0);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_send_and_reconnect) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_(req_freep) Request *r1 = make_request("/one");
        _cleanup_(req_freep) Request *r2 = make_request("/two");
        _cleanup_close_ int l = listen_at(path, true);
        int sv[2], conn, fd;
        char buf[8];

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, getuid(), &u), 0);
        pair(sv);
        ck_assert_int_eq(upstream_send(u, r1, sv[1]), 0);
        conn = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        ck_assert_int_ge(conn, 0);
        ck_assert_str_eq(receive(conn, &fd), "/one");
        /* The fd that arrived is the response socket we sent. */
        ck_assert_int_eq(write(fd, "hi", 2), 2);
        ck_assert_int_eq(read(sv[0], buf, sizeof(buf)), 2);
        close(fd);

        /* The handler restarts: its connection closes; the next request goes
         * to a new connection without error. */
        close(conn);
        ck_assert_int_eq(upstream_send(u, r2, sv[1]), 0);
        conn = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        ck_assert_int_ge(conn, 0);
        ck_assert_str_eq(receive(conn, &fd), "/two");
        close(fd);
        close(conn);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* Sends n requests "/0".."/n-1" into an upstream whose handler does not read. */
static void send_many(Upstream *u, int n, int resp) {
        for (int i = 0; i < n; i++) {
                char url[32];
                _cleanup_(req_freep) Request *r = NULL;

                snprintf(url, sizeof(url), "/%d", i);
                r = make_request(url);
                ck_assert_int_eq(upstream_send(u, r, resp), 0);
        }
}

START_TEST(test_queue_keeps_order) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_close_ int l = listen_at(path, true);
        const int n = 1000;
        int sv[2], conn, fd;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, UPSTREAM_UID_ANY, &u), 0);
        pair(sv);
        /* More than a receive queue holds: the rest waits in the upstream,
         * and upstream_send() never blocks. */
        send_many(u, n, sv[1]);
        conn = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        ck_assert_int_ge(conn, 0);

        for (int i = 0; i < n;) {
                char want[32];
                int r;

                snprintf(want, sizeof(want), "/%d", i);
                static char buf[REQ_DATAGRAM_MAX];
                size_t len;
                r = fdpass_recv(conn, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &fd);
                if (r == -EAGAIN) {
                        /* Let the upstream flush what it queued. */
                        ck_assert_int_ge(sd_event_run(e, 1000000), 1);
                        continue;
                }
                ck_assert_int_eq(r, 1);
                _cleanup_(req_freep) Request *req = NULL;
                ck_assert_int_eq(req_decode(buf, len, &req), 0);
                ck_assert_str_eq(req->url, want);
                close(fd);
                i++;
        }
        close(conn);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_queue_bounded) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        _cleanup_close_ int l = listen_at(path, true);
        _cleanup_(req_freep) Request *r = make_request("/x");
        int sv[2], i, res = 0;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, UPSTREAM_UID_ANY, &u), 0);
        pair(sv);
        for (i = 0; i < UPSTREAM_QUEUE_MAX + 2048; i++) {
                res = upstream_send(u, r, sv[1]);
                if (res < 0)
                        break;
        }
        ck_assert_int_eq(res, -ENOBUFS);
        ck_assert_int_le(i, UPSTREAM_QUEUE_MAX + 1024);
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_queue_answered_503_when_gone) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        enum { N = 1000 };
        static int ours[N];
        int l = listen_at(path, true);
        int conn, answered = 0;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_socket(e, path, UPSTREAM_UID_ANY, &u), 0);
        /* More requests than the socket buffer holds, each with its own
         * response socket: the ones that did not fit wait in the client. */
        for (int i = 0; i < N; i++) {
                _cleanup_(req_freep) Request *r = make_request("/x");
                int sv[2];

                pair(sv);
                ck_assert_int_eq(upstream_send(u, r, sv[1]), 0);
                close(sv[1]);
                ours[i] = sv[0];
        }
        conn = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        ck_assert_int_ge(conn, 0);
        /* The handler dies and nothing listens any more: requests it had
         * received are lost with it (their sockets close: a 502 for
         * htparser), those still queued in the client are answered 503. */
        close(conn);
        close(l);
        unlink(path);
        ck_assert_int_ge(sd_event_run(e, 1000000), 1);
        for (int i = 0; i < N; i++) {
                char buf[4096];
                ssize_t n = recv(ours[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);

                if (n < 0)
                        ck_abort_msg("request %d neither answered nor closed: %s", i, strerror(errno));
                if (n > 0) {
                        buf[n] = 0;
                        if (!strstr(buf, "HTTP/1.1 503 "))
                                ck_abort_msg("request %d: unexpected answer %s", i, buf);
                        answered++;
                }
                close(ours[i]);
        }
        ck_assert_int_gt(answered, 0);
}
END_TEST

/* A stdin-style persistent handler written in Python: it answers one
 * request with its pid and exits. */
static char *const python_child[] = {
        "python3",
        "-c",
        "import os, socket\n"
        "s = socket.socket(fileno=0)\n"
        "msg, fds, flags, addr = socket.recv_fds(s, 65536, 4)\n"
        "os.write(fds[0], b'pid %d\\n' % os.getpid())\n",
        NULL,
};

static pid_t exec_roundtrip(sd_event *e, Upstream *u) {
        _cleanup_(req_freep) Request *r = make_request("/x");
        char buf[64] = {0};
        int sv[2];
        pid_t pid = 0;
        ssize_t n;

        pair(sv);
        ck_assert_int_eq(upstream_send(u, r, sv[1]), 0);
        close(sv[1]);
        n = read(sv[0], buf, sizeof(buf) - 1);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(sscanf(buf, "pid %d", &pid), 1);
        close(sv[0]);
        return pid;
}

START_TEST(test_exec_child_restarted) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(upstream_freep) Upstream *u = NULL;
        pid_t first, second;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(upstream_new_exec(e, python_child, &u), 0);
        ck_assert_str_eq(upstream_name(u), "python3");
        first = exec_roundtrip(e, u);
        /* Run the loop until it has reaped the child (its /proc entry is
         * gone), then the next request starts a new one. */
        for (;;) {
                char proc[64];

                snprintf(proc, sizeof(proc), "/proc/%d", (int) first);
                if (access(proc, F_OK) < 0)
                        break;
                ck_assert_int_ge(sd_event_run(e, 100000), 0);
        }
        second = exec_roundtrip(e, u);
        ck_assert_int_gt(second, 0);
        ck_assert_int_ne(first, second);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("upstream");
        TCase *tc = tcase_create("upstream");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 20);
        tcase_add_test(tc, test_missing_socket);
        tcase_add_test(tc, test_not_listening);
        tcase_add_test(tc, test_wrong_listener_uid);
        tcase_add_test(tc, test_root_listener_always_admitted);
        tcase_add_test(tc, test_send_and_reconnect);
        tcase_add_test(tc, test_queue_keeps_order);
        tcase_add_test(tc, test_queue_bounded);
        tcase_add_test(tc, test_queue_answered_503_when_gone);
        tcase_add_test(tc, test_exec_child_restarted);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
