/* SPDX-License-Identifier: MIT */
#pragma once

/* One datagram with (at most) one file descriptor over a Unix socket: the one
 * place where SCM_RIGHTS is handled. Sockets are expected to be SEQPACKET for
 * requests; a stream socket works for a response head with an attached file. */

#include <stddef.h>

typedef enum FdpassFlags {
        FDPASS_FD_REQUIRED = 1 << 0, /* a datagram without a fd is refused */
        FDPASS_DONTWAIT = 1 << 1,    /* -EAGAIN rather than wait, on a blocking socket too */
} FdpassFlags;

/* Sends buf with fd attached (fd < 0: none), MSG_NOSIGNAL, EINTR retried.
 * Returns 0, or -errno (-EAGAIN on a full non-blocking socket, -EPIPE or
 * -ECONNRESET when the peer is gone). A datagram is sent whole or not at all;
 * on a non-blocking stream socket, a message that only partly fits is -EIO
 * (part of it went out, so the stream is unusable). */
int fdpass_send(int sock, const void *buf, size_t len, int fd);

/* Receives one datagram of at most size bytes into buf. Returns 1 with
 * *ret_len and *ret_fd (-EBADF if none came and none was required) set, 0 at
 * EOF, -EMSGSIZE for a truncated datagram (MSG_TRUNC/MSG_CTRUNC), -EBADMSG for
 * a datagram with more than one fd or without a required one, other -errno
 * (-EAGAIN on an empty non-blocking socket). The fd is CLOEXEC; fds that came
 * with a refused datagram are closed. EINTR is retried. A zero-length
 * datagram without a fd cannot be told from EOF and is reported as EOF. */
int fdpass_recv(int sock, void *buf, size_t size, FdpassFlags flags, size_t *ret_len, int *ret_fd);
