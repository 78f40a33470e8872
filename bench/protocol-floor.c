/* SPDX-License-Identifier: MIT */
/* The floor under the static-file chain (bench/RESULTS.md): the system
 * calls the ashd(7) protocol itself makes for one request through
 * htparser -> patplex -> dirplex -> sendfile, run in one process so that no
 * wake-up or HTTP work is counted: the response socketpair, the request
 * datagram with it through three hops (SEQPACKET, SCM_RIGHTS, recvmsg +
 * sendmsg + close at each), shutdown() for the end of the body, its epoll
 * registration, the file descriptor sent back on the response socket, and
 * every close. 17 calls. Prints microseconds per request; make bench runs
 * it on the servers' CPU. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static int sendfd(int s, const char *buf, size_t len, int fd) {
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int))];
        } c;
        struct iovec iov = {(void *) buf, len};
        struct msghdr m = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof(int));
        return sendmsg(s, &m, MSG_NOSIGNAL);
}
static int recvfd(int s, char *buf, size_t len) {
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int))];
        } c;
        struct iovec iov = {buf, len};
        struct msghdr m = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)};
        int fd;
        if (recvmsg(s, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) < 0 || !CMSG_FIRSTHDR(&m))
                return -1;
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
        return fd;
}
int main(void) {
        int hop[3][2], N = 100000, ep = epoll_create1(0), file = open("/proc/self/exe", O_RDONLY);
        char dg[600], buf[1024];
        struct timespec a, b;
        memset(dg, 'x', sizeof(dg));
        for (int i = 0; i < 3; i++)
                if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, hop[i]) < 0) {
                        perror("protocol-floor: socketpair");
                        return 1;
                }
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < N; i++) {
                int p[2], fd, f;
                struct epoll_event ev = {.events = EPOLLIN};
                socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p); /* htparser */
                sendfd(hop[0][0], dg, sizeof(dg), p[1]);
                close(p[1]);
                epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
                shutdown(p[0], SHUT_WR);
                for (int h = 0; h < 3; h++) { /* patplex, dirplex, sendfile */
                        fd = recvfd(hop[h][1], buf, sizeof(buf));
                        if (fd < 0) {
                                perror("protocol-floor: recvmsg");
                                return 1;
                        }
                        if (h < 2) {
                                sendfd(hop[h + 1][0], dg, sizeof(dg), fd);
                                close(fd);
                        }
                }
                sendfd(fd, "HTTP/1.1 200 OK\r\n\r\n", 19, file); /* sendfile's head + file */
                close(fd);
                f = recvfd(p[0], buf, sizeof(buf)); /* htparser */
                if (f < 0) {
                        perror("protocol-floor: recvmsg");
                        return 1;
                }
                close(f);
                close(p[0]);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / N / 1000);
        return 0;
}
