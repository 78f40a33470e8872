/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "fdpass.h"
#include "macro.h"

/* Room for more fds than we ever accept, so that a peer sending several gets
 * them all installed and closed here rather than half-dropped by the kernel. */
#define FDPASS_MAX_FDS 16

/* Control buffer, aligned for struct cmsghdr. Credentials get room too, so a
 * socket with SO_PASSCRED set does not make every datagram look truncated. */
typedef union FdpassControl {
        struct cmsghdr cmsghdr;
        uint8_t buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
} FdpassControl;

/* Sends one message with at most one fd attached, as documented in fdpass.h. */
int fdpass_send(int sock, const void *buf, size_t len, int fd) {
        FdpassControl control = {};
        struct iovec iov = {
                .iov_base = (void *) buf,
                .iov_len = len,
        };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };
        ssize_t n;

        if (fd >= 0) {
                struct cmsghdr *cmsg;

                msg.msg_control = &control;
                msg.msg_controllen = CMSG_SPACE(sizeof(int));
                cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        }

        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;

        /* Only a stream socket sends part of a message. The fd went with the
         * first byte; the rest follows as plain bytes. */
        for (size_t done = (size_t) n; done < len; done += (size_t) n) {
                do
                        n = send(sock, (const uint8_t *) buf + done, len - done, MSG_NOSIGNAL);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        /* Part of the message is out: a retry would repeat it, so
                         * the caller must not take this for a plain EAGAIN. */
                        return errno == EAGAIN ? -EIO : -errno;
        }

        return 0;
}

/* Closes every fd that came in SCM_RIGHTS messages of msg. */
static void close_received_fds(struct msghdr *msg) {
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;

                size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        safe_close(fd);
                }
        }
}

/* Receives one datagram and at most one fd, closing whatever fds it refuses.
 * A zero-length datagram without control data reads exactly like EOF on a
 * SEQPACKET socket (recvmsg returns 0 either way), so it is reported as EOF:
 * senders must not send empty datagrams without a fd. */
int fdpass_recv(int sock, void *buf, size_t size, FdpassFlags flags, size_t *ret_len, int *ret_fd) {
        FdpassControl control;
        struct iovec iov = {
                .iov_base = buf,
                .iov_len = size,
        };
        struct msghdr msg;
        size_t nfds = 0;
        int fd = -EBADF;
        ssize_t n;

        do {
                /* recvmsg rewrites these, so each attempt starts afresh. */
                msg = (struct msghdr){
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (flags & FDPASS_DONTWAIT ? MSG_DONTWAIT : 0));
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;

        if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                close_received_fds(&msg);
                return -EMSGSIZE;
        }

        /* Anything other than SCM_RIGHTS (credentials, say) carries no fd and
         * is ignored. */
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;

                size_t k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                if (k > 0 && nfds == 0)
                        memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
                nfds += k;
        }

        if (n == 0 && msg.msg_controllen == 0)
                return 0;

        if (nfds > 1 || (nfds == 0 && (flags & FDPASS_FD_REQUIRED))) {
                close_received_fds(&msg);
                return -EBADMSG;
        }

        *ret_len = (size_t) n;
        *ret_fd = fd;
        return 1;
}
