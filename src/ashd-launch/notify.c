/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* The notify socket PROGRAM reports READY=1, STATUS=, WATCHDOG=1 to: an
 * abstract AF_UNIX datagram socket whose messages carry the sender's pid. */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "launch.h"

/* Opens the notify socket at a fresh abstract address and returns that
 * address as NOTIFY_SOCKET spells it ("@ashd-launch/PID/RANDOM"). */
int notify_open(int *ret_fd, char **ret_address) {
        struct sockaddr_un sa = {
                .sun_family = AF_UNIX,
        };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *address = NULL;
        uint64_t random;
        size_t n;
        int one = 1;

        if (getrandom(&random, sizeof(random), 0) != sizeof(random))
                return negative_errno();
        if (asprintf(&address, "@ashd-launch/%d/%016" PRIx64, (int) getpid(), random) < 0)
                return -ENOMEM;
        n = strlen(address);
        if (n > sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        /* The '@' becomes the NUL that marks an abstract name; no NUL at the end. */
        memcpy(sa.sun_path + 1, address + 1, n - 1);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* The sender's pid tells the program's messages from its children's. */
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + n) < 0)
                return -errno;

        *ret_fd = TAKE_FD(fd);
        *ret_address = TAKE_PTR(address);
        return 0;
}

/* Closes every fd that a control message carries. */
static void close_passed_fds(struct cmsghdr *cmsg) {
        size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int fds[NOTIFY_FD_MAX];

        if (n > ELEMENTSOF(fds))
                n = ELEMENTSOF(fds);
        memcpy(fds, CMSG_DATA(cmsg), n * sizeof(int));
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

/* Reads one datagram into buf as a NUL-terminated string and the sender's pid
 * into *ret_pid. Any fds that came with it (FDSTORE=1) are closed: there is
 * no fd store here. Returns the length, -EAGAIN when nothing is queued, and
 * -EMSGSIZE/-EBADMSG for a datagram that was read but must be ignored. */
int notify_receive(int fd, char *buf, size_t size, pid_t *ret_pid) {
        union {
                struct cmsghdr header;
                uint8_t buffer[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * NOTIFY_FD_MAX)];
        } control;
        struct iovec iov = {
                .iov_base = buf,
                .iov_len = size - 1,
        };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        pid_t pid = 0;
        ssize_t n;

        do
                n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;

        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
                if (cmsg->cmsg_level != SOL_SOCKET)
                        continue;
                if (cmsg->cmsg_type == SCM_RIGHTS)
                        close_passed_fds(cmsg);
                else if (cmsg->cmsg_type == SCM_CREDENTIALS &&
                         cmsg->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                        struct ucred cred;
                        memcpy(&cred, CMSG_DATA(cmsg), sizeof(cred));
                        pid = cred.pid;
                }
        }

        /* The kernel already dropped the fds that did not fit. */
        if (mh.msg_flags & MSG_CTRUNC)
                return -EBADMSG;
        if ((size_t) n >= size || (mh.msg_flags & MSG_TRUNC))
                return -EMSGSIZE;
        buf[n] = '\0';
        if (memchr(buf, '\0', n))
                return -EBADMSG;

        *ret_pid = pid;
        return (int) n;
}
