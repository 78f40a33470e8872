/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "macro.h"
#include "tls.h"

/* TLS 1.2 suites: forward secret key exchange and AEAD only (Mozilla's
 * "intermediate" list without DHE). TLS 1.3 keeps OpenSSL's default suites,
 * which are all of that kind. No server preference: every suite here is
 * strong, and the client knows best whether it has AES in hardware. */
#define TLS12_CIPHERS                                                \
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Every context of a config has the same one, so that a session made under
 * one certificate may resume under another. */
#define TLS_SESSION_ID_CONTEXT "ashd"

/* One TLS record's worth of plaintext: with partial writes SSL_write sends at
 * most one record per call anyway. */
#define TLS_SENDFILE_CHUNK (16 * 1024)

/* Reference counts are plain integers: a config and its connections belong
 * to the thread of one event loop. */
struct TlsConfig {
        unsigned n_ref;
        size_t n_ctxs;
        SSL_CTX *ctxs[]; /* [0] is the default */
};

struct TlsConn {
        TlsConfig *config;
        SSL *ssl;
        uint32_t events;
        /* A fatal error happened: no close_notify may follow, and the session
         * must not be kept for resumption. */
        bool failed;
        /* Bytes tls_conn_sendfile offered to an SSL_write that returned
         * -EAGAIN: OpenSSL has sealed them in a record already, and the retry
         * must offer the same bytes again. */
        size_t sendfile_pending;
};

typedef STACK_OF(X509) X509Stack;

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SSL *, SSL_free);

static void x509_stack_freep(X509Stack **s) {
        sk_X509_pop_free(*s, X509_free);
}

/* Sets *ret_error to "FILE: message" and returns r (negative). When even the
 * message cannot be allocated, *ret_error stays untouched. */
_printf_(4, 5) static int config_error(char **ret_error, int r, const char *file, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int k;

        if (!ret_error)
                return r;

        va_start(ap, format);
        k = vasprintf(&message, format, ap);
        va_end(ap);
        if (k < 0)
                return r;

        if (asprintf(ret_error, "%s: %s", file, message) < 0)
                *ret_error = NULL;
        return r;
}

/* The last reason OpenSSL queued, for the end of an error message. */
static const char *openssl_reason(void) {
        const char *s = ERR_reason_error_string(ERR_peek_last_error());

        return s ?: "unknown error";
}

/* Refuses to ask for a pass phrase: there is nobody at a terminal to answer
 * when a service starts, and OpenSSL's default would try. */
static int no_password(char *buf, int size, int rwflag, void *userdata) {
        return -1;
}

/* The file name to open: relative names live in $CREDENTIALS_DIRECTORY when
 * systemd handed credentials over (LoadCredential=). */
static int credential_path(const char *name, char **ret) {
        const char *dir = secure_getenv("CREDENTIALS_DIRECTORY");
        char *p;

        if (name[0] != '/' && dir && dir[0]) {
                if (asprintf(&p, "%s/%s", dir, name) < 0)
                        return -ENOMEM;
        } else {
                p = strdup(name);
                if (!p)
                        return -ENOMEM;
        }

        *ret = p;
        return 0;
}

/* Opens a certificate or key file. A directory opens fine and fails only
 * when read, where OpenSSL would hide why. */
static int open_file(const char *path, FILE **ret, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        struct stat st;
        int r;

        f = fopen(path, "re");
        if (!f) {
                r = negative_errno();
                return config_error(ret_error, r, path, "%s", strerror(-r));
        }
        if (fstat(fileno(f), &st) < 0) {
                r = negative_errno();
                return config_error(ret_error, r, path, "%s", strerror(-r));
        }
        if (S_ISDIR(st.st_mode))
                return config_error(ret_error, -EISDIR, path, "%s", strerror(EISDIR));

        *ret = TAKE_PTR(f);
        return 0;
}

/* Reads the certificate and whatever chain follows it in the same file. */
static int load_certificates(const char *path, X509 **ret_cert, X509Stack **ret_chain, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(x509_stack_freep) X509Stack *chain = NULL;
        int r;

        r = open_file(path, &f, ret_error);
        if (r < 0)
                return r;

        cert = PEM_read_X509(f, NULL, no_password, NULL);
        if (!cert) {
                if (ferror(f))
                        return config_error(ret_error, -EIO, path, "%s", strerror(EIO));
                return config_error(ret_error, -EINVAL, path, "no certificate found");
        }

        chain = sk_X509_new_null();
        if (!chain)
                return -ENOMEM;

        for (;;) {
                _cleanup_(X509_freep) X509 *extra = NULL;

                ERR_clear_error();
                extra = PEM_read_X509(f, NULL, no_password, NULL);
                if (!extra) {
                        /* The only good way to end: no further PEM block. */
                        if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
                                break;
                        return config_error(ret_error, -EINVAL, path, "bad certificate in chain: %s",
                                            openssl_reason());
                }
                if (!sk_X509_push(chain, extra))
                        return -ENOMEM;
                TAKE_PTR(extra);
        }
        ERR_clear_error();

        *ret_cert = TAKE_PTR(cert);
        *ret_chain = TAKE_PTR(chain);
        return 0;
}

/* Reads the private key, which must not be encrypted. */
static int load_key(const char *path, EVP_PKEY **ret, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        EVP_PKEY *key;
        int r;

        r = open_file(path, &f, ret_error);
        if (r < 0)
                return r;

        key = PEM_read_PrivateKey(f, NULL, no_password, NULL);
        if (!key) {
                if (ferror(f))
                        return config_error(ret_error, -EIO, path, "%s", strerror(EIO));
                /* What no_password's refusal leaves behind. */
                if (ERR_GET_LIB(ERR_peek_last_error()) == ERR_LIB_PEM &&
                    ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_BAD_PASSWORD_READ)
                        return config_error(ret_error, -EINVAL, path,
                                            "private key is encrypted (not supported)");
                return config_error(ret_error, -EINVAL, path, "no private key found");
        }

        *ret = key;
        return 0;
}

/* Chooses the protocol for ALPN. RFC 7301 §3.2: a server that supports none
 * of the protocols a client offers answers with a fatal
 * no_application_protocol alert, rather than carry on and have the client
 * speak something else. HTTP/1.0 is ours to speak as well. A client that
 * offers no ALPN at all never gets here and speaks HTTP/1.x as ever. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *userdata) {
        static const char *const supported[] = {"http/1.1", "http/1.0"};

        for (size_t i = 0; i < ELEMENTSOF(supported); i++) {
                size_t want = strlen(supported[i]);

                for (unsigned pos = 0; pos < inlen;) {
                        unsigned len = in[pos];

                        if (len > inlen - pos - 1)
                                break;
                        if (len == want && memcmp(in + pos + 1, supported[i], len) == 0) {
                                *out = in + pos + 1;
                                *outlen = (unsigned char) len;
                                return SSL_TLSEXT_ERR_OK;
                        }
                        pos += 1 + len;
                }
        }

        return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Switches a connection to the context whose certificate names the host the
 * client asked for (subjectAltName DNS entries only, wildcards for one
 * label); the default context stays for no name or an unknown one. Sessions
 * and tickets stay with the default context (OpenSSL's session_ctx), so
 * they resume whichever certificate was chosen. */
static int servername_select(SSL *ssl, int *alert, void *userdata) {
        const unsigned flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
        TlsConfig *c = userdata;
        const char *name;

        name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        if (!name)
                return SSL_TLSEXT_ERR_OK;

        for (size_t i = 0; i < c->n_ctxs; i++) {
                if (X509_check_host(SSL_CTX_get0_certificate(c->ctxs[i]), name, 0, flags, NULL) != 1)
                        continue;
                if (i > 0 && !SSL_set_SSL_CTX(ssl, c->ctxs[i])) {
                        *alert = SSL_AD_INTERNAL_ERROR;
                        return SSL_TLSEXT_ERR_ALERT_FATAL;
                }
                break;
        }

        /* Acknowledged even when unknown: the default certificate answers,
         * and for TLS 1.2 the name is then kept in the session. */
        return SSL_TLSEXT_ERR_OK;
}

/* Makes the context of one certificate with the settings all of them share.
 * Settings a handshake reads from the context it was switched to (ALPN) must
 * be on every context, not only the default. */
static int ctx_new(const char *cert_path, const char *key_path, SSL_CTX **ret, char **ret_error) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(x509_stack_freep) X509Stack *chain = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        int r;

        r = load_certificates(cert_path, &cert, &chain, ret_error);
        if (r < 0)
                return r;
        r = load_key(key_path, &key, ret_error);
        if (r < 0)
                return r;
        if (X509_check_private_key(cert, key) != 1)
                return config_error(ret_error, -EINVAL, key_path, "does not match %s", cert_path);

        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx)
                return -ENOMEM;

        if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
            !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
            !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
            !SSL_CTX_set_session_id_context(ctx, (const unsigned char *) TLS_SESSION_ID_CONTEXT,
                                            strlen(TLS_SESSION_ID_CONTEXT)))
                return -ENOMEM;

        /* At least 112-bit security (RSA keys of 2048 bits and up), as
         * Debian's openssl.cnf has it, whatever the system's config says;
         * a stricter one stays. */
        if (SSL_CTX_get_security_level(ctx) < 2)
                SSL_CTX_set_security_level(ctx, 2);

        /* Kernel TLS where the kernel has it; no renegotiation (a client could
         * make us do handshakes at will); a client that closes without
         * close_notify reads as EOF, because HTTP/1.1 clients routinely do
         * that and the HTTP framing detects a truncated body by itself. */
        SSL_CTX_set_options(ctx,
                            SSL_OP_ENABLE_KTLS | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
        /* Idle keep-alive connections give their 2×16 KiB record buffers
         * back; writes return after each record so that the event loop
         * decides what comes next, and may retry from a moved buffer. */
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);

        /* Takes its own references to cert, key and chain. */
        if (SSL_CTX_use_cert_and_key(ctx, cert, key, chain, 1) != 1)
                return config_error(ret_error, -EINVAL, cert_path, "certificate refused: %s",
                                    openssl_reason());

        *ret = TAKE_PTR(ctx);
        return 0;
}

/* Loads every certificate and key as documented in tls.h. */
int tls_config_new(const TlsCertSpec *specs, size_t n, TlsConfig **ret, char **ret_error) {
        _cleanup_(tls_config_unrefp) TlsConfig *c = NULL;
        int r;

        if (!specs || n == 0 || n > (SIZE_MAX - sizeof(TlsConfig)) / sizeof(SSL_CTX *) || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(TlsConfig) + n * sizeof(SSL_CTX *));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;

        ERR_clear_error();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cert_path = NULL, *key_path = NULL;

                if (!specs[i].cert || !specs[i].key)
                        return -EINVAL;

                r = credential_path(specs[i].cert, &cert_path);
                if (r < 0)
                        return r;
                r = credential_path(specs[i].key, &key_path);
                if (r < 0)
                        return r;

                r = ctx_new(cert_path, key_path, &c->ctxs[i], ret_error);
                if (r < 0) {
                        ERR_clear_error();
                        return r;
                }
                c->n_ctxs++;
        }

        /* Only the default context sees the ClientHello's name. The callback
         * holds no reference: every connection holds one on the config. */
        SSL_CTX_set_tlsext_servername_callback(c->ctxs[0], servername_select);
        SSL_CTX_set_tlsext_servername_arg(c->ctxs[0], c);

        ERR_clear_error();
        *ret = TAKE_PTR(c);
        return 0;
}

TlsConfig *tls_config_ref(TlsConfig *c) {
        if (c)
                c->n_ref++;
        return c;
}

/* Drops a reference; the last one frees the contexts. OpenSSL keeps its own
 * count on each context, so connections still using one keep it alive. */
TlsConfig *tls_config_unref(TlsConfig *c) {
        if (!c || --c->n_ref > 0)
                return NULL;

        for (size_t i = 0; i < c->n_ctxs; i++)
                SSL_CTX_free(c->ctxs[i]);
        free(c);
        return NULL;
}

/* Wraps fd (which stays the caller's to close) in a server-side
 * connection. */
int tls_conn_new(TlsConfig *config, int fd, TlsConn **ret) {
        _cleanup_(SSL_freep) SSL *ssl = NULL;
        TlsConn *t;

        if (!config || fd < 0 || !ret)
                return -EINVAL;

        ERR_clear_error();
        ssl = SSL_new(config->ctxs[0]);
        if (!ssl)
                return -ENOMEM;
        if (SSL_set_fd(ssl, fd) != 1) {
                ERR_clear_error();
                return -ENOMEM;
        }
        SSL_set_accept_state(ssl);

        t = calloc(1, sizeof(TlsConn));
        if (!t)
                return -ENOMEM;
        t->ssl = TAKE_PTR(ssl);
        t->config = tls_config_ref(config);

        *ret = t;
        return 0;
}

/* Frees the connection without sending anything. */
TlsConn *tls_conn_free(TlsConn *t) {
        if (!t)
                return NULL;

        /* SSL_free drops the session from the cache unless close_notify went
         * out. Since TLS 1.1 (RFC 5246 §7.2.1) a connection that merely ended
         * without one may be resumed, and keep-alive clients end that way
         * all the time: only a failed connection loses its session. */
        if (!t->failed)
                SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
        SSL_free(t->ssl);
        tls_config_unref(t->config);
        free(t);
        return NULL;
}

/* Turns a failed SSL_*_ex call into -errno, given errno as the call left it,
 * and remembers what an -EAGAIN waits for. */
static int conn_error(TlsConn *t, int r, int saved_errno, bool reading) {
        switch (SSL_get_error(t->ssl, r)) {
        case SSL_ERROR_WANT_READ:
                t->events = EPOLLIN;
                return -EAGAIN;
        case SSL_ERROR_WANT_WRITE:
                t->events = EPOLLOUT;
                return -EAGAIN;
        case SSL_ERROR_ZERO_RETURN:
                /* close_notify, or an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF). A
                 * write can only get here when it was not allowed to go on. */
                return reading ? 0 : -EPIPE;
        case SSL_ERROR_SYSCALL:
                t->failed = true;
                /* errno 0: an EOF that OpenSSL takes for an abort, as in the
                 * middle of the handshake. */
                return saved_errno > 0 ? -saved_errno : -ECONNRESET;
        default:
                t->failed = true;
                return -EPROTO;
        }
}

/* Reads decrypted bytes, running the handshake first if it is not done. */
ssize_t tls_conn_read(TlsConn *t, void *buf, size_t len) {
        size_t n;
        int r;

        if (len == 0)
                return 0;

        ERR_clear_error();
        errno = 0;
        r = SSL_read_ex(t->ssl, buf, MIN(len, (size_t) SSIZE_MAX), &n);
        if (r <= 0)
                return conn_error(t, r, errno, true);
        return (ssize_t) n;
}

/* Writes at most one record's worth (partial writes). After -EAGAIN the
 * caller must offer the same bytes again (OpenSSL has sealed them). */
ssize_t tls_conn_write(TlsConn *t, const void *buf, size_t len) {
        size_t n;
        int r;

        if (len == 0)
                return 0;

        ERR_clear_error();
        errno = 0;
        r = SSL_write_ex(t->ssl, buf, MIN(len, (size_t) SSIZE_MAX), &n);
        if (r <= 0)
                return conn_error(t, r, errno, false);
        return (ssize_t) n;
}

/* The kernel TLS path: the file goes from the page cache to the socket
 * without a copy through user space. */
static ssize_t sendfile_ktls(TlsConn *t, int fd, off_t *offset, size_t len) {
        ossl_ssize_t n;

        ERR_clear_error();
        errno = 0;
        n = SSL_sendfile(t->ssl, fd, *offset, MIN(len, (size_t) SSIZE_MAX), 0);
        if (n < 0)
                return conn_error(t, -1, errno, false);
        /* sendfile(2) at the end of the file: shorter than the range. */
        if (n == 0)
                return -EIO;

        *offset += n;
        return n;
}

/* Sends a file range as documented in tls.h. On the path through user space
 * an -EAGAIN leaves a sealed record behind: the next call reads the same
 * range again and offers exactly as many bytes (SSL_write's retry rule), so
 * the caller just calls again with the same offset. */
ssize_t tls_conn_sendfile(TlsConn *t, int fd, off_t *offset, size_t len) {
        uint8_t buf[TLS_SENDFILE_CHUNK];
        size_t want, n;
        ssize_t k;
        int r;

        if (!offset || *offset < 0)
                return -EINVAL;
        if (t->sendfile_pending > 0) {
                /* Fewer bytes than were sealed cannot be sent any more. */
                if (len < t->sendfile_pending)
                        return -EINVAL;
                want = t->sendfile_pending;
        } else {
                if (len == 0)
                        return 0;
                if (BIO_get_ktls_send(SSL_get_wbio(t->ssl)))
                        return sendfile_ktls(t, fd, offset, len);
                want = MIN(len, sizeof(buf));
        }

        do
                k = pread(fd, buf, want, *offset);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        /* The file is shorter than the range (or shrank under a sealed
         * record): the response cannot be completed. */
        if (k == 0 || (t->sendfile_pending > 0 && (size_t) k < want))
                return -EIO;

        ERR_clear_error();
        errno = 0;
        r = SSL_write_ex(t->ssl, buf, (size_t) k, &n);
        if (r <= 0) {
                r = conn_error(t, r, errno, false);
                t->sendfile_pending = r == -EAGAIN ? (size_t) k : 0;
                return r;
        }

        t->sendfile_pending = 0;
        *offset += (off_t) n;
        return (ssize_t) n;
}

bool tls_conn_pending(TlsConn *t) {
        /* Decrypted bytes only. SSL_has_pending would also count a record
         * that arrived in part, which no read can return yet, and an event
         * loop trusting it would spin. Without read-ahead no whole record
         * waits undecrypted. */
        return SSL_pending(t->ssl) > 0;
}

uint32_t tls_conn_events(TlsConn *t) {
        return t->events;
}

/* Queues close_notify and sends what the socket takes now. After a fatal
 * error none may be sent, and during the handshake there is none to send. */
void tls_conn_shutdown(TlsConn *t) {
        if (t->failed || !SSL_is_init_finished(t->ssl))
                return;

        ERR_clear_error();
        (void) SSL_shutdown(t->ssl);
        ERR_clear_error();
}

const char *tls_conn_version(TlsConn *t) {
        return SSL_get_version(t->ssl);
}

const char *tls_conn_cipher(TlsConn *t) {
        const SSL_CIPHER *cipher = SSL_get_current_cipher(t->ssl);

        return cipher ? SSL_CIPHER_get_name(cipher) : NULL;
}

const char *tls_conn_server_name(TlsConn *t) {
        return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

bool tls_conn_resumed(TlsConn *t) {
        return SSL_session_reused(t->ssl) == 1;
}

bool tls_conn_ktls_send(TlsConn *t) {
        return BIO_get_ktls_send(SSL_get_wbio(t->ssl)) != 0;
}
