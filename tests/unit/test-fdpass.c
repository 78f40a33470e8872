/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check-main.h"
#include "fdpass.h"
#include "macro.h"

#define SENTINEL_LEN ((size_t) 4242)
#define SENTINEL_FD  4243

static void seqpacket_pair(int pair[2], int extra_flags) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | extra_flags, 0, pair), 0);
}

/* Sends buf with fds[0..n) attached, bypassing fdpass_send (which sends one
 * fd at most) to play a misbehaving peer. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 64)];
        } control = {};
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

        ck_assert_uint_le(n, 64);
        if (n > 0) {
                msg.msg_control = &control;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n);
        }
        ck_assert_int_eq(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t) len);
}

static int count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* Whether every copy of a pipe's write end is closed: the read end then sees
 * EOF instead of EAGAIN. This is how the tests see that fdpass_recv closed
 * the fds it refused. */
static bool pipe_writers_gone(int read_end) {
        char c;
        ssize_t n = read(read_end, &c, 1);

        ck_assert(n == 0 || (n < 0 && errno == EAGAIN));
        return n == 0;
}

START_TEST(test_round_trip_with_fd) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, file = -EBADF, got = -EBADF;
        int pair[2];
        char buf[64];
        size_t len;
        struct stat st1, st2;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(file, 0);

        ck_assert_int_eq(fdpass_send(a, "hello\0world", 11, file), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), 1);
        ck_assert_uint_eq(len, 11);
        ck_assert_mem_eq(buf, "hello\0world", 11);
        ck_assert_int_ge(got, 0);
        ck_assert_int_ne(got, file);
        ck_assert_int_eq(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

        ck_assert_int_eq(fstat(file, &st1), 0);
        ck_assert_int_eq(fstat(got, &st2), 0);
        ck_assert_uint_eq(st1.st_dev, st2.st_dev);
        ck_assert_uint_eq(st1.st_ino, st2.st_ino);
}
END_TEST

START_TEST(test_no_fd_optional) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];

        ck_assert_int_eq(fdpass_send(a, "abc", 3, -EBADF), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), 1);
        ck_assert_uint_eq(len, 3);
        ck_assert_mem_eq(buf, "abc", 3);
        ck_assert_int_eq(fd, -EBADF);
}
END_TEST

/* htparser reads its response sockets this way: the socket itself stays
 * blocking for the handler at the other end. */
START_TEST(test_dontwait_on_blocking_socket) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];

        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_DONTWAIT, &len, &fd), -EAGAIN);
        ck_assert_int_eq(fdpass_send(a, "abc", 3, -EBADF), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_DONTWAIT, &len, &fd), 1);
        ck_assert_uint_eq(len, 3);
        ck_assert_int_eq(fd, -EBADF);
}
END_TEST

START_TEST(test_no_fd_required) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, got = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];

        ck_assert_int_eq(fdpass_send(a, "abc", 3, -1), 0);
        ck_assert_int_eq(fdpass_send(a, "next", 4, a), 0);

        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &fd), -EBADMSG);
        ck_assert_uint_eq(len, SENTINEL_LEN);
        ck_assert_int_eq(fd, SENTINEL_FD);

        /* The refused datagram is consumed, and only that one. */
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), 1);
        ck_assert_uint_eq(len, 4);
        ck_assert_mem_eq(buf, "next", 4);
        ck_assert_int_ge(got, 0);
}
END_TEST

START_TEST(test_two_fds_closed) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, rd = -EBADF;
        int pair[2], p[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        rd = p[0];

        send_raw(a, "xy", 2, (int[]){p[1], p[1]}, 2);
        p[1] = safe_close(p[1]);
        ck_assert(!pipe_writers_gone(rd));

        int before = count_open_fds();
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), -EBADMSG);
        ck_assert_uint_eq(len, SENTINEL_LEN);
        ck_assert_int_eq(fd, SENTINEL_FD);
        ck_assert_int_eq(count_open_fds(), before);
        ck_assert(pipe_writers_gone(rd));
}
END_TEST

START_TEST(test_truncated_datagram) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, rd = -EBADF;
        int pair[2], p[2], fd = SENTINEL_FD;
        char big[100], buf[10];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        rd = p[0];
        memset(big, 'x', sizeof(big));

        ck_assert_int_eq(fdpass_send(a, big, sizeof(big), p[1]), 0);
        ck_assert_int_eq(fdpass_send(a, "ok", 2, -1), 0);
        p[1] = safe_close(p[1]);

        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), -EMSGSIZE);
        ck_assert_uint_eq(len, SENTINEL_LEN);
        ck_assert_int_eq(fd, SENTINEL_FD);
        ck_assert(pipe_writers_gone(rd));

        /* The rest of the truncated datagram is gone, not read as a new one. */
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), 1);
        ck_assert_uint_eq(len, 2);
        ck_assert_mem_eq(buf, "ok", 2);
        ck_assert_int_eq(fd, -EBADF);
}
END_TEST

START_TEST(test_datagram_exactly_size) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[10];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];

        ck_assert_int_eq(fdpass_send(a, "0123456789", 10, -1), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), 1);
        ck_assert_uint_eq(len, 10);
        ck_assert_mem_eq(buf, "0123456789", 10);
}
END_TEST

START_TEST(test_control_truncated) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, rd = -EBADF;
        int pair[2], p[2], fds[40], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        rd = p[0];

        /* More fds than the receiver's control buffer holds: MSG_CTRUNC. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = p[1];
        send_raw(a, "z", 1, fds, ELEMENTSOF(fds));
        p[1] = safe_close(p[1]);

        int before = count_open_fds();
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), -EMSGSIZE);
        ck_assert_uint_eq(len, SENTINEL_LEN);
        ck_assert_int_eq(fd, SENTINEL_FD);
        ck_assert_int_eq(count_open_fds(), before);
        ck_assert(pipe_writers_gone(rd));
}
END_TEST

START_TEST(test_credentials_ignored) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, got = -EBADF;
        int pair[2], one = 1;
        char buf[16];
        size_t len;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        /* With SO_PASSCRED every datagram carries SCM_CREDENTIALS next to
         * SCM_RIGHTS; they are neither a second fd nor a truncation. */
        ck_assert_int_eq(setsockopt(b, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);

        ck_assert_int_eq(fdpass_send(a, "cred", 4, a), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), 1);
        ck_assert_uint_eq(len, 4);
        ck_assert_int_ge(got, 0);

        ck_assert_int_eq(fdpass_send(a, "nofd", 4, -1), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), -EBADMSG);
}
END_TEST

START_TEST(test_eof) {
        _cleanup_close_ int b = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, 0);
        b = pair[1];
        ck_assert_int_eq(fdpass_send(pair[0], "last", 4, -1), 0);
        safe_close(pair[0]);

        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), 1);
        ck_assert_uint_eq(len, 4);
        len = SENTINEL_LEN;
        fd = SENTINEL_FD;
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &fd), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), 0);
        ck_assert_uint_eq(len, SENTINEL_LEN);
        ck_assert_int_eq(fd, SENTINEL_FD);
}
END_TEST

START_TEST(test_zero_length) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, got = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, SOCK_NONBLOCK);
        a = pair[0];
        b = pair[1];

        /* An empty datagram with a fd is a datagram, not EOF. */
        ck_assert_int_eq(fdpass_send(a, "", 0, a), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), 1);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_ge(got, 0);

        /* An empty datagram without one reads exactly like EOF (documented in
         * fdpass.h): recvmsg returns 0 with no control data in both cases. */
        ck_assert_int_eq(fdpass_send(a, "", 0, -1), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), -EAGAIN);
}
END_TEST

START_TEST(test_recv_eagain) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int pair[2], fd = SENTINEL_FD;
        char buf[16];
        size_t len = SENTINEL_LEN;

        seqpacket_pair(pair, SOCK_NONBLOCK);
        a = pair[0];
        b = pair[1];

        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), 0, &len, &fd), -EAGAIN);
        ck_assert_uint_eq(len, SENTINEL_LEN);
        ck_assert_int_eq(fd, SENTINEL_FD);
}
END_TEST

START_TEST(test_send_epipe) {
        _cleanup_close_ int a = -EBADF;
        int pair[2];

        /* The default action of SIGPIPE kills the test unless MSG_NOSIGNAL. */
        ck_assert(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        seqpacket_pair(pair, 0);
        a = pair[0];
        safe_close(pair[1]);

        ck_assert_int_eq(fdpass_send(a, "x", 1, -1), -EPIPE);
        ck_assert_int_eq(fdpass_send(a, "x", 1, a), -EPIPE);

        /* Stream sockets are the ones that raise SIGPIPE. */
        a = safe_close(a);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        a = pair[0];
        safe_close(pair[1]);
        ck_assert_int_eq(fdpass_send(a, "x", 1, -1), -EPIPE);
        ck_assert_int_eq(fdpass_send(a, "x", 1, a), -EPIPE);
}
END_TEST

START_TEST(test_send_eagain) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int pair[2], r = 0;
        char chunk[1024] = {};
        size_t i;

        seqpacket_pair(pair, SOCK_NONBLOCK);
        a = pair[0];
        b = pair[1];

        for (i = 0; i < 100000; i++) {
                r = fdpass_send(a, chunk, sizeof(chunk), -1);
                if (r < 0)
                        break;
        }
        ck_assert_int_eq(r, -EAGAIN);
        ck_assert_uint_gt(i, 0);
}
END_TEST

START_TEST(test_stream_socket) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, got = -EBADF;
        int pair[2];
        char buf[64];
        size_t len;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        a = pair[0];
        b = pair[1];

        ck_assert_int_eq(fdpass_send(a, "HTTP/1.1 200 OK\r\n\r\n", 19, a), 0);
        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), 1);
        ck_assert_uint_eq(len, 19);
        ck_assert_mem_eq(buf, "HTTP/1.1 200 OK\r\n\r\n", 19);
        ck_assert_int_eq(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}
END_TEST

static atomic_int signals_caught;

static void on_signal(int sig) {
        atomic_fetch_add(&signals_caught, 1);
}

typedef struct Interrupter {
        pthread_t target;
        pid_t target_tid;
        int sock;
        int fd;
} Interrupter;

/* Whether thread tid is blocked in system call nr, from /proc: the kernel
 * reports the number only while the thread sleeps in the call. */
static bool thread_in_syscall(pid_t tid, long nr) {
        char path[64], buf[128], *end;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int) tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = 0;
        return strtol(buf, &end, 10) == nr && end != buf && *end == ' ';
}

/* Waits until the main thread sleeps in recvmsg, interrupts it, and only then
 * sends the datagram it waits for. */
static void *interrupt_then_send(void *userdata) {
        Interrupter *it = userdata;

        while (!thread_in_syscall(it->target_tid, SYS_recvmsg))
                sched_yield();
        pthread_kill(it->target, SIGUSR1);
        while (atomic_load(&signals_caught) == 0)
                sched_yield();
        if (fdpass_send(it->sock, "late", 4, it->fd) < 0)
                abort();
        return NULL;
}

START_TEST(test_recv_eintr) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, got = -EBADF;
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
        int pair[2];
        char buf[16];
        size_t len;
        pthread_t thread;

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        atomic_store(&signals_caught, 0);
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);

        Interrupter it = {.target = pthread_self(), .target_tid = gettid(), .sock = a, .fd = a};
        ck_assert_int_eq(pthread_create(&thread, NULL, interrupt_then_send, &it), 0);

        ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), FDPASS_FD_REQUIRED, &len, &got), 1);
        ck_assert_int_eq(atomic_load(&signals_caught), 1);
        ck_assert_uint_eq(len, 4);
        ck_assert_mem_eq(buf, "late", 4);
        ck_assert_int_ge(got, 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
}
END_TEST

/* Waits until the main thread sleeps in a sendmsg on a full socket,
 * interrupts it, then reads datagrams until the one it was sending. */
static void *interrupt_then_receive(void *userdata) {
        Interrupter *it = userdata;
        char buf[1024];

        while (!thread_in_syscall(it->target_tid, SYS_sendmsg))
                sched_yield();
        pthread_kill(it->target, SIGUSR1);
        while (atomic_load(&signals_caught) == 0)
                sched_yield();

        for (;;) {
                size_t len;
                int fd = -EBADF;

                if (fdpass_recv(it->sock, buf, sizeof(buf), 0, &len, &fd) != 1)
                        abort();
                if (len == 4 && memcmp(buf, "last", 4) == 0) {
                        it->fd = fd;
                        break;
                }
                safe_close(fd);
        }
        return NULL;
}

START_TEST(test_send_eintr) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
        int pair[2];
        pthread_t thread;
        char chunk[512] = {};

        seqpacket_pair(pair, 0);
        a = pair[0];
        b = pair[1];
        atomic_store(&signals_caught, 0);
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
        while (send(a, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
                ;
        ck_assert_int_eq(errno, EAGAIN);

        Interrupter it = {.target = pthread_self(), .target_tid = gettid(), .sock = b, .fd = -EBADF};
        ck_assert_int_eq(pthread_create(&thread, NULL, interrupt_then_receive, &it), 0);

        /* Blocks on the full socket until interrupted, then again until the
         * thread makes room. */
        ck_assert_int_eq(fdpass_send(a, "last", 4, a), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        ck_assert_int_eq(atomic_load(&signals_caught), 1);
        ck_assert_int_ge(it.fd, 0);
        safe_close(it.fd);
}
END_TEST

typedef struct Drainer {
        pthread_t target;
        pid_t target_tid;
        int sock;
        char *data;
        size_t size;
        size_t len;
        int fd;
} Drainer;

/* Waits until the main thread sleeps in a sendmsg that does not fit, interrupts
 * it (so that it returns a short count), then reads the whole stream. */
static void *interrupt_then_drain(void *userdata) {
        Drainer *d = userdata;

        while (!thread_in_syscall(d->target_tid, SYS_sendmsg))
                sched_yield();
        pthread_kill(d->target, SIGUSR1);
        while (atomic_load(&signals_caught) == 0)
                sched_yield();

        for (;;) {
                size_t len;
                int fd = -EBADF;
                int r = fdpass_recv(d->sock, d->data + d->len, d->size - d->len, 0, &len, &fd);
                if (r < 0)
                        abort();
                if (r == 0)
                        break;
                if (fd >= 0) {
                        if (d->fd >= 0)
                                abort();
                        d->fd = fd;
                }
                d->len += len;
        }
        return NULL;
}

START_TEST(test_stream_short_send) {
        _cleanup_close_ int b = -EBADF, file = -EBADF;
        _cleanup_free_ char *out = NULL, *in = NULL;
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
        const size_t size = 4 * 1024 * 1024;
        int pair[2];
        pthread_t thread;
        struct stat st1, st2;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        b = pair[1];
        atomic_store(&signals_caught, 0);
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
        file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(file, 0);
        out = malloc(size);
        in = malloc(size + 1);
        ck_assert_ptr_nonnull(out);
        ck_assert_ptr_nonnull(in);
        for (size_t i = 0; i < size; i++)
                out[i] = (char) (i * 7 + i / 251);

        Drainer d = {.target = pthread_self(),
                     .target_tid = gettid(),
                     .sock = b,
                     .data = in,
                     .size = size + 1,
                     .fd = -EBADF};
        ck_assert_int_eq(pthread_create(&thread, NULL, interrupt_then_drain, &d), 0);

        ck_assert_int_eq(fdpass_send(pair[0], out, size, file), 0);
        safe_close(pair[0]);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);

        ck_assert_int_eq(atomic_load(&signals_caught), 1);
        ck_assert_uint_eq(d.len, size);
        ck_assert(memcmp(in, out, size) == 0);
        ck_assert_int_ge(d.fd, 0);
        ck_assert_int_eq(fstat(file, &st1), 0);
        ck_assert_int_eq(fstat(d.fd, &st2), 0);
        ck_assert_uint_eq(st1.st_ino, st2.st_ino);
        safe_close(d.fd);
}
END_TEST

START_TEST(test_stream_nonblocking_partial) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        _cleanup_free_ char *out = NULL;
        const size_t size = 4 * 1024 * 1024;
        int pair[2];
        char c;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair), 0);
        a = pair[0];
        b = pair[1];
        out = calloc(1, size);
        ck_assert_ptr_nonnull(out);

        /* Part of the message went out: not an EAGAIN the caller may retry. */
        ck_assert_int_eq(fdpass_send(a, out, size, -1), -EIO);
        ck_assert_int_eq(read(b, &c, 1), 1);

        /* A socket with no room at all has sent nothing: a plain EAGAIN. */
        while (fdpass_send(a, out, 1, -1) == 0)
                ;
        ck_assert_int_eq(fdpass_send(a, out, size, -1), -EAGAIN);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("fdpass");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_round_trip_with_fd);
        tcase_add_test(tc, test_no_fd_optional);
        tcase_add_test(tc, test_no_fd_required);
        tcase_add_test(tc, test_dontwait_on_blocking_socket);
        tcase_add_test(tc, test_two_fds_closed);
        tcase_add_test(tc, test_truncated_datagram);
        tcase_add_test(tc, test_datagram_exactly_size);
        tcase_add_test(tc, test_control_truncated);
        tcase_add_test(tc, test_credentials_ignored);
        tcase_add_test(tc, test_eof);
        tcase_add_test(tc, test_zero_length);
        tcase_add_test(tc, test_recv_eagain);
        tcase_add_test(tc, test_send_epipe);
        tcase_add_test(tc, test_send_eagain);
        tcase_add_test(tc, test_stream_socket);
        tcase_add_test(tc, test_recv_eintr);
        tcase_add_test(tc, test_send_eintr);
        tcase_add_test(tc, test_stream_short_send);
        tcase_add_test(tc, test_stream_nonblocking_partial);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
