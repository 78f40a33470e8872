/* SPDX-License-Identifier: MIT */
#pragma once

/* TLS for htparser with OpenSSL 3: a set of certificates chosen by SNI,
 * TLS 1.2 and 1.3 only, ALPN http/1.1, session resumption; and non-blocking
 * connections with the read/write/sendfile calls of an event loop. A
 * TlsConfig is reference counted so that a reload can replace it while
 * connections made with the old one finish with it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct TlsCertSpec {
        /* Files. A relative name is looked up in $CREDENTIALS_DIRECTORY
         * (systemd LoadCredential=) when that is set, else in the current
         * directory. The certificate file may hold the chain. */
        const char *cert;
        const char *key;
} TlsCertSpec;

typedef struct TlsConfig TlsConfig;
typedef struct TlsConn TlsConn;

/* Loads every certificate; the first is the default for clients without
 * SNI or with a name no certificate matches; others are chosen by their
 * subjectAltName DNS entries (wildcards "*.example.org" match one label).
 * Fails with -errno and *ret_error (allocated) naming the file and what was
 * wrong: unreadable, not a certificate, key not matching the certificate. */
int tls_config_new(const TlsCertSpec *specs, size_t n, TlsConfig **ret, char **ret_error);
TlsConfig *tls_config_ref(TlsConfig *c);
TlsConfig *tls_config_unref(TlsConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TlsConfig *, tls_config_unref);

/* A server-side connection on a connected non-blocking socket; takes a
 * reference on config. The handshake happens within the first reads. The fd
 * stays the caller's to close. OpenSSL writes to it with write(2), not
 * send(MSG_NOSIGNAL): the program must ignore SIGPIPE. */
int tls_conn_new(TlsConfig *config, int fd, TlsConn **ret);
TlsConn *tls_conn_free(TlsConn *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(TlsConn *, tls_conn_free);

/* Each returns bytes (> 0), 0 at EOF with or without close_notify (read
 * only), -EAGAIN when the socket must become readable or writable first (see
 * tls_conn_events), or -EPROTO / -ECONNRESET / -EPIPE for a failed
 * connection. A write that returned -EAGAIN has its bytes sealed in a record
 * already: call it again with the same bytes (the buffer may move) and at
 * least the same length. */
ssize_t tls_conn_read(TlsConn *t, void *buf, size_t len);
ssize_t tls_conn_write(TlsConn *t, const void *buf, size_t len);
/* Sends len bytes of file fd from offset (which advances): SSL_sendfile when
 * the kernel TLS transmit path is on for this connection, else pread and
 * write through the library. After -EAGAIN, call again from the same offset
 * with at least the same len. */
ssize_t tls_conn_sendfile(TlsConn *t, int fd, off_t *offset, size_t len);
/* Whether bytes are buffered inside the library that a read would return
 * without the socket becoming readable. */
bool tls_conn_pending(TlsConn *t);
/* EPOLLIN and/or EPOLLOUT: what the last call that returned -EAGAIN waits
 * for. */
uint32_t tls_conn_events(TlsConn *t);
/* Sends close_notify (best effort, never blocks). */
void tls_conn_shutdown(TlsConn *t);

/* After the handshake: the protocol ("TLSv1.3"), cipher name, the SNI name
 * the client sent (NULL if none), whether the session was resumed, and
 * whether kernel TLS carries the transmit side. */
const char *tls_conn_version(TlsConn *t);
const char *tls_conn_cipher(TlsConn *t);
const char *tls_conn_server_name(TlsConn *t);
bool tls_conn_resumed(TlsConn *t);
bool tls_conn_ktls_send(TlsConn *t);
