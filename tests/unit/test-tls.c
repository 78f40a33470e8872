/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "check-main.h"
#include "macro.h"
#include "tls.h"

extern char **environ;

#define RECORD_MAX 16384

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_SESSION *, SSL_SESSION_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);

/* Made once by the unchecked fixture, in the parent of every forked test. */
static char tmpdir[] = "/tmp/test-tls-XXXXXX";

/* Certificates for the tests, all made fresh: a (a.test and *.wild.test),
 * b (b.test), cn (a subject name and no subjectAltName), a leaf signed by a
 * CA with the chain in chain.pem, weak (RSA 1024, below the security
 * level), combined (the key inside the certificate file), an encrypted key,
 * a chain with a broken second block, and a file that is no certificate. */
static const char make_certificates[] =
        "set -e\n"
        "req() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \"$@\"; }\n"
        "req -subj /CN=a.test -addext subjectAltName=DNS:a.test,DNS:*.wild.test -keyout a.key -out a.pem\n"
        "req -subj /CN=b.test -addext subjectAltName=DNS:b.test -keyout b.key -out b.pem\n"
        "req -subj /CN=cn.test -keyout cn.key -out cn.pem\n"
        "req -subj '/CN=Test CA' -keyout ca.key -out ca.pem\n"
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=chain.test"
        " -addext subjectAltName=DNS:chain.test -keyout chain.key -out chain.csr\n"
        "openssl x509 -req -in chain.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -copy_extensions copy -out leaf.pem\n"
        "cat leaf.pem ca.pem >chain.pem\n"
        "openssl req -x509 -newkey rsa:1024 -nodes -days 2 -subj /CN=weak.test"
        " -keyout weak.key -out weak.pem\n"
        "cat a.pem a.key >combined.pem\n"
        "cp a.key combined.key\n"
        "openssl pkey -in a.key -aes256 -passout pass:secret -out encrypted.key\n"
        "printf '%s\\n' '-----BEGIN CERTIFICATE-----' bm90IGEgY2VydA== '-----END CERTIFICATE-----'"
        " | cat a.pem - >badchain.pem\n"
        "cp a.key badchain.key\n"
        "echo 'this is not a certificate' >garbage.pem\n";

static void setup(void) {
        char *cmd;

        /* The socket BIO writes with write(2): a closed peer raises SIGPIPE,
         * which a server ignores (documented for tls.h's users). */
        signal(SIGPIPE, SIG_IGN);

        if (!mkdtemp(tmpdir) || asprintf(&cmd, "cd %s && { %s } >log 2>&1", tmpdir, make_certificates) < 0)
                abort();
        if (system(cmd) != 0) {
                fprintf(stderr, "making test certificates in %s failed\n", tmpdir);
                abort();
        }
        free(cmd);
}

static void teardown(void) {
        char *cmd;

        if (asprintf(&cmd, "rm -rf %s", tmpdir) >= 0 && system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", tmpdir);
        free(cmd);
}

static char *tmp_path(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
        return p;
}

static char *read_text(const char *name) {
        _cleanup_free_ char *path = tmp_path(name);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *s = NULL;
        size_t size = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(getdelim(&s, &size, '\0', f), 0);
        return s;
}

static uint8_t pattern(size_t i) {
        return (uint8_t) ((i * 2654435761u) >> 11);
}

/* Writes size bytes of pattern() to a new file and opens it for reading. */
static int make_file(const char *name, size_t size) {
        _cleanup_free_ char *path = tmp_path(name);
        _cleanup_free_ uint8_t *data = malloc(size);
        _cleanup_close_ int w = -EBADF;
        int fd;

        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < size; i++)
                data[i] = pattern(i);
        w = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(w, 0);
        ck_assert_int_eq(write(w, data, size), (ssize_t) size);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        return fd;
}

/* Loads a config from the named certificates ("a" for a.pem and a.key) in
 * the test directory; the first is the default. */
_sentinel_ static TlsConfig *load(const char *first, ...) {
        TlsCertSpec specs[8];
        char *paths[16];
        size_t n = 0;
        TlsConfig *config = NULL;
        char *error = NULL;
        va_list ap;

        va_start(ap, first);
        for (const char *name = first; name; name = va_arg(ap, const char *)) {
                ck_assert_uint_lt(n, ELEMENTSOF(specs));
                ck_assert_int_ge(asprintf(&paths[2 * n], "%s/%s.pem", tmpdir, name), 0);
                ck_assert_int_ge(asprintf(&paths[2 * n + 1], "%s/%s.key", tmpdir, name), 0);
                specs[n] = (TlsCertSpec){.cert = paths[2 * n], .key = paths[2 * n + 1]};
                n++;
        }
        va_end(ap);

        ck_assert_msg(tls_config_new(specs, n, &config, &error) == 0, "%s", error);
        ck_assert_ptr_null(error);
        for (size_t i = 0; i < 2 * n; i++)
                free(paths[i]);
        return config;
}

static X509 *read_cert(const char *name) {
        _cleanup_free_ char *path = tmp_path(name);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        X509 *x;

        ck_assert_ptr_nonnull(f);
        x = PEM_read_X509(f, NULL, NULL, NULL);
        ck_assert_ptr_nonnull(x);
        return x;
}

/* A client context for versions min..max (0: no limit), with partial writes
 * so that the tests' loops see what got out. */
static SSL_CTX *client_ctx_new(int min_version, int max_version) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

        ck_assert_ptr_nonnull(ctx);
        ck_assert_int_eq(SSL_CTX_set_min_proto_version(ctx, min_version), 1);
        ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        return ctx;
}

/* Both ends of one connection over a non-blocking socketpair, in this
 * thread: the tests step one side, then the other. */
typedef struct Peer {
        TlsConn *server;
        SSL *client;
        int server_fd;
        int client_fd;
} Peer;

#define PEER_NULL ((Peer){.server_fd = -EBADF, .client_fd = -EBADF})

static void peer_open(Peer *p, TlsConfig *config, SSL_CTX *client_ctx, const char *server_name) {
        int pair[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
        *p = (Peer){.server_fd = pair[0], .client_fd = pair[1]};
        ck_assert_int_eq(tls_conn_new(config, p->server_fd, &p->server), 0);
        p->client = SSL_new(client_ctx);
        ck_assert_ptr_nonnull(p->client);
        ck_assert_int_eq(SSL_set_fd(p->client, p->client_fd), 1);
        SSL_set_connect_state(p->client);
        if (server_name)
                ck_assert_int_eq(SSL_set_tlsext_host_name(p->client, server_name), 1);
}

static void peer_close(Peer *p) {
        p->server = tls_conn_free(p->server);
        /* Else SSL_free marks the client's session not resumable, which
         * the resumption tests use after this. */
        if (p->client)
                SSL_set_shutdown(p->client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(p->client);
        p->client = NULL;
        p->server_fd = safe_close(p->server_fd);
        p->client_fd = safe_close(p->client_fd);
}

static bool ssl_wants(int error) {
        return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

typedef struct Handshake {
        bool client_ok;
        int client_reason; /* ERR_GET_REASON of what failed the client */
        ssize_t server;    /* the server's first result other than -EAGAIN */
} Handshake;

/* Runs the handshake: the client steps SSL_do_handshake, the server
 * tls_conn_read, which has nothing to return yet and so says -EAGAIN (for
 * EPOLLIN) while all goes well. The error queue is the thread's, shared by
 * both ends: each end's error is read right after its own call. */
static Handshake handshake(Peer *p) {
        Handshake h = {.server = -EAGAIN};
        char buf[16];

        for (unsigned round = 0; round < 16; round++) {
                int c, e;

                ERR_clear_error();
                c = SSL_do_handshake(p->client);
                e = SSL_get_error(p->client, c);
                if (c != 1 && !ssl_wants(e))
                        h.client_reason = ERR_GET_REASON(ERR_peek_error());

                if (h.server == -EAGAIN) {
                        h.server = tls_conn_read(p->server, buf, sizeof(buf));
                        if (h.server == -EAGAIN)
                                ck_assert_uint_eq(tls_conn_events(p->server), EPOLLIN);
                }

                if (c == 1 || !ssl_wants(e)) {
                        h.client_ok = c == 1;
                        return h;
                }
        }
        ck_abort_msg("handshake stalled");
        return h;
}

static void handshake_ok(Peer *p) {
        Handshake h = handshake(p);

        ck_assert_msg(h.client_ok, "client failed: %s",
                      ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, h.client_reason)));
        ck_assert_int_eq(h.server, -EAGAIN);
}

/* The client sends data; the server reads until it has all of it. */
static void client_send(Peer *p, const void *data, size_t len) {
        _cleanup_free_ uint8_t *got = malloc(len);
        size_t sent = 0, received = 0;
        unsigned idle = 0;

        ck_assert_ptr_nonnull(got);
        while (received < len) {
                bool progress = false;
                ssize_t k;

                if (sent < len) {
                        size_t n;
                        int r;

                        ERR_clear_error();
                        r = SSL_write_ex(p->client, (const uint8_t *) data + sent, len - sent, &n);
                        if (r == 1) {
                                sent += n;
                                progress = true;
                        } else
                                ck_assert(ssl_wants(SSL_get_error(p->client, r)));
                }

                k = tls_conn_read(p->server, got + received, len - received);
                if (k > 0) {
                        received += (size_t) k;
                        progress = true;
                } else
                        ck_assert_int_eq(k, -EAGAIN);

                idle = progress ? 0 : idle + 1;
                ck_assert_uint_lt(idle, 16);
        }
        ck_assert(memcmp(got, data, len) == 0);
}

/* The server sends data with tls_conn_write, retrying the same bytes after
 * -EAGAIN; the client reads. Returns the largest single write. */
static size_t server_send(Peer *p, const void *data, size_t len) {
        _cleanup_free_ uint8_t *got = malloc(len);
        size_t sent = 0, received = 0, largest = 0;
        unsigned idle = 0;

        ck_assert_ptr_nonnull(got);
        while (received < len) {
                bool progress = false;

                if (sent < len) {
                        ssize_t k = tls_conn_write(p->server, (const uint8_t *) data + sent, len - sent);
                        if (k > 0) {
                                sent += (size_t) k;
                                largest = MAX(largest, (size_t) k);
                                progress = true;
                        } else {
                                ck_assert_int_eq(k, -EAGAIN);
                                ck_assert_uint_eq(tls_conn_events(p->server), EPOLLOUT);
                        }
                }

                size_t n;
                int r;

                ERR_clear_error();
                r = SSL_read_ex(p->client, got + received, len - received, &n);
                if (r == 1) {
                        received += n;
                        progress = true;
                } else
                        ck_assert(ssl_wants(SSL_get_error(p->client, r)));

                idle = progress ? 0 : idle + 1;
                ck_assert_uint_lt(idle, 16);
        }
        ck_assert(memcmp(got, data, len) == 0);
        return largest;
}

/* One short message each way: the server's handshake is done for sure, and
 * a TLS 1.3 client has read the session tickets that came first. */
static void ping_pong(Peer *p) {
        client_send(p, "ping", 4);
        server_send(p, "pong", 4);
}

static bool served_cert_is(Peer *p, const char *pem) {
        _cleanup_(X509_freep) X509 *expected = read_cert(pem);
        X509 *got = SSL_get0_peer_certificate(p->client);

        ck_assert_ptr_nonnull(got);
        return X509_cmp(got, expected) == 0;
}

START_TEST(test_tls13_round_trip) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_free_ uint8_t *data = malloc(300000);
        Peer p = PEER_NULL;

        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < 300000; i++)
                data[i] = pattern(i * 3);

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        client_send(&p, data, 300000);
        /* Partial writes: one record per call, whatever the length. */
        ck_assert_uint_eq(server_send(&p, data, 300000), RECORD_MAX);

        ck_assert_str_eq(tls_conn_version(p.server), "TLSv1.3");
        ck_assert_str_eq(tls_conn_cipher(p.server), SSL_get_cipher_name(p.client));
        ck_assert_ptr_null(tls_conn_server_name(p.server));
        ck_assert(!tls_conn_resumed(p.server));
        ck_assert(!tls_conn_ktls_send(p.server));
        peer_close(&p);
}
END_TEST

START_TEST(test_tls12_round_trip) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, TLS1_2_VERSION);
        Peer p = PEER_NULL;

        peer_open(&p, config, cctx, "a.test");
        handshake_ok(&p);
        ping_pong(&p);
        client_send(&p, "GET / HTTP/1.1\r\n\r\n", 18);

        ck_assert_str_eq(tls_conn_version(p.server), "TLSv1.2");
        ck_assert_str_eq(tls_conn_cipher(p.server), SSL_get_cipher_name(p.client));
        ck_assert_msg(strncmp(tls_conn_cipher(p.server), "ECDHE-", 6) == 0, "%s", tls_conn_cipher(p.server));
        ck_assert_str_eq(tls_conn_server_name(p.server), "a.test");
        ck_assert(!tls_conn_resumed(p.server));
        peer_close(&p);
}
END_TEST

START_TEST(test_old_versions_refused) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        static const int versions[] = {TLS1_VERSION, TLS1_1_VERSION};

        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(versions[i], versions[i]);
                Peer p = PEER_NULL;
                Handshake h;

                /* Level 0 lets this client offer the old versions at all, so
                 * the refusal below is the server's. */
                SSL_CTX_set_security_level(cctx, 0);
                ck_assert_int_eq(SSL_CTX_set_cipher_list(cctx, "ALL:@SECLEVEL=0"), 1);

                peer_open(&p, config, cctx, NULL);
                h = handshake(&p);
                ck_assert(!h.client_ok);
                ck_assert_int_eq(h.server, -EPROTO);
                ck_assert_int_eq(h.client_reason, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
                peer_close(&p);
        }
}
END_TEST

START_TEST(test_tls12_weak_ciphers_refused) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        /* CBC with ECDHE, and AES-GCM without forward secrecy: both
         * acceptable to OpenSSL's defaults, neither to ours. */
        static const char *const ciphers[] = {"ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA",
                                              "AES128-GCM-SHA256"};

        for (size_t i = 0; i < ELEMENTSOF(ciphers); i++) {
                _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, TLS1_2_VERSION);
                Peer p = PEER_NULL;
                Handshake h;

                ck_assert_int_eq(SSL_CTX_set_cipher_list(cctx, ciphers[i]), 1);
                peer_open(&p, config, cctx, NULL);
                h = handshake(&p);
                ck_assert_msg(!h.client_ok, "%s accepted", ciphers[i]);
                ck_assert_int_eq(h.server, -EPROTO);
                ck_assert_int_eq(h.client_reason, SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE);
                peer_close(&p);
        }
}
END_TEST

START_TEST(test_sni) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        static const struct {
                const char *name;
                const char *cert;
        } cases[] = {
                {NULL, "b.pem"},
                {"a.test", "a.pem"},
                {"A.Test", "a.pem"},
                {"b.test", "b.pem"},
                {"c.test", "b.pem"},
                {"x.wild.test", "a.pem"},
                {"y.x.wild.test", "b.pem"},
                {"wild.test", "b.pem"},
                {"xwild.test", "b.pem"},
        };
        static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};

        for (size_t v = 0; v < ELEMENTSOF(versions); v++)
                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, versions[v]);
                        Peer p = PEER_NULL;

                        peer_open(&p, config, cctx, cases[i].name);
                        handshake_ok(&p);
                        ping_pong(&p);
                        ck_assert_msg(served_cert_is(&p, cases[i].cert), "%s: not %s", cases[i].name,
                                      cases[i].cert);
                        if (cases[i].name)
                                ck_assert_str_eq(tls_conn_server_name(p.server), cases[i].name);
                        else
                                ck_assert_ptr_null(tls_conn_server_name(p.server));
                        peer_close(&p);
                }
}
END_TEST

START_TEST(test_sni_ignores_subject) {
        /* cn.pem names cn.test in its subject only: not a name to choose it
         * by, as tls.h promises subjectAltName entries. */
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "cn", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;

        peer_open(&p, config, cctx, "cn.test");
        handshake_ok(&p);
        ck_assert(served_cert_is(&p, "b.pem"));
        peer_close(&p);
}
END_TEST

START_TEST(test_chain) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("chain", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_free_ char *ca = tmp_path("ca.pem");
        Peer p = PEER_NULL;

        ck_assert_int_eq(SSL_CTX_load_verify_locations(cctx, ca, NULL), 1);
        SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
        peer_open(&p, config, cctx, "chain.test");
        ck_assert_int_eq(SSL_set1_host(p.client, "chain.test"), 1);
        handshake_ok(&p);
        ck_assert_int_eq(SSL_get_verify_result(p.client), X509_V_OK);
        /* The leaf and the CA that followed it in the file. */
        ck_assert_int_eq(sk_X509_num(SSL_get_peer_cert_chain(p.client)), 2);
        peer_close(&p);
}
END_TEST

/* Runs a handshake with the client asking for name and offering protos
 * (ALPN wire format, or NULL for none); returns the protocol chosen, "" for none, NULL if the
 * handshake failed (with the alert the client got checked). */
static char *alpn_try(TlsConfig *config, const char *name, const char *protos, size_t len) {
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        const unsigned char *selected;
        unsigned selected_len;
        Handshake h;
        char *s = NULL;

        peer_open(&p, config, cctx, name);
        if (protos)
                ck_assert_int_eq(SSL_set_alpn_protos(p.client, (const unsigned char *) protos, len), 0);
        h = handshake(&p);
        if (h.client_ok) {
                ck_assert_int_eq(h.server, -EAGAIN);
                SSL_get0_alpn_selected(p.client, &selected, &selected_len);
                s = selected ? strndup((const char *) selected, selected_len) : strdup("");
        } else {
                ck_assert_int_eq(h.server, -EPROTO);
                ck_assert_int_eq(h.client_reason, SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
        }
        peer_close(&p);
        return s;
}

#define ALPN(s) s, sizeof(s) - 1

START_TEST(test_alpn) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        static const char *const names[] = {NULL, "a.test"};
        static const struct {
                const char *protos;
                size_t len;
                const char *expected;
        } cases[] = {
                {ALPN("\x02h2\x08http/1.1"), "http/1.1"},
                {ALPN("\x08http/1.0\x08http/1.1"), "http/1.1"},
                {ALPN("\x08http/1.0"), "http/1.0"},
                {ALPN("\x08spdy/3.1\x08http/1.0\x02h2"), "http/1.0"},
                {ALPN("\x02h2"), NULL},
                {ALPN("\x02h3\x06http/1"), NULL},
                {NULL, 0, ""},
        };

        /* The same under the default certificate and one SNI chose. */
        for (size_t n = 0; n < ELEMENTSOF(names); n++)
                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        _cleanup_free_ char *got = alpn_try(config, names[n], cases[i].protos, cases[i].len);

                        if (cases[i].expected)
                                ck_assert_pstr_eq(got, cases[i].expected);
                        else
                                ck_assert_msg(!got, "case %zu: %s accepted", i, got);
                }
}
END_TEST

/* Connects twice with the same client context, the second time offering the
 * session of the first; returns whether the server resumed it. With
 * close_notify false, the first connection just ends. */
static bool resumes(TlsConfig *config, SSL_CTX *cctx, const char *name, bool close_notify) {
        _cleanup_(SSL_SESSION_freep) SSL_SESSION *session = NULL;
        Peer p = PEER_NULL;
        bool resumed;

        peer_open(&p, config, cctx, name);
        handshake_ok(&p);
        ping_pong(&p);
        ck_assert(!tls_conn_resumed(p.server));
        session = SSL_get1_session(p.client);
        ck_assert_ptr_nonnull(session);
        ck_assert(SSL_SESSION_is_resumable(session));
        if (close_notify)
                tls_conn_shutdown(p.server);
        peer_close(&p);

        peer_open(&p, config, cctx, name);
        ck_assert_int_eq(SSL_set_session(p.client, session), 1);
        handshake_ok(&p);
        ping_pong(&p);
        resumed = tls_conn_resumed(p.server);
        ck_assert_int_eq(SSL_session_reused(p.client), resumed);
        if (name)
                ck_assert_str_eq(tls_conn_server_name(p.server), name);
        peer_close(&p);
        return resumed;
}

START_TEST(test_resume_tls13) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(TLS1_3_VERSION, 0);

        ck_assert(resumes(config, cctx, NULL, false));
        /* Under the certificate that SNI chose, not the default. */
        ck_assert(resumes(config, cctx, "a.test", false));
        ck_assert(resumes(config, cctx, "x.wild.test", true));
}
END_TEST

START_TEST(test_resume_tls12_ticket) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, TLS1_2_VERSION);

        ck_assert(resumes(config, cctx, NULL, false));
        ck_assert(resumes(config, cctx, "a.test", true));
}
END_TEST

START_TEST(test_resume_tls12_session_cache) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, TLS1_2_VERSION);

        /* No tickets: the server's session cache does it. A connection that
         * ended without close_notify keeps its session too. */
        SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
        ck_assert(resumes(config, cctx, "a.test", false));
        ck_assert(resumes(config, cctx, NULL, false));
        ck_assert(resumes(config, cctx, "b.test", true));
}
END_TEST

START_TEST(test_no_resumption_across_configs) {
        _cleanup_(tls_config_unrefp) TlsConfig *one = load("a", NULL);
        _cleanup_(tls_config_unrefp) TlsConfig *two = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_(SSL_SESSION_freep) SSL_SESSION *session = NULL;
        Peer p = PEER_NULL;

        /* Each config has its own ticket keys: after a reload, sessions of
         * the old certificates do not come back. */
        peer_open(&p, one, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        session = SSL_get1_session(p.client);
        peer_close(&p);

        peer_open(&p, two, cctx, NULL);
        ck_assert_int_eq(SSL_set_session(p.client, session), 1);
        handshake_ok(&p);
        ping_pong(&p);
        ck_assert(!tls_conn_resumed(p.server));
        peer_close(&p);
}
END_TEST

/* Expects tls_config_new to fail with r and the message "FILE: what", FILE
 * being the test directory's file; ret stays untouched. */
static void config_fails(const char *cert, const char *key, int r, const char *file, const char *what) {
        _cleanup_free_ char *cert_path = tmp_path(cert), *key_path = tmp_path(key), *a = tmp_path("a.pem"),
                            *ak = tmp_path("a.key"), *file_path = tmp_path(file), *expected = NULL;
        _cleanup_free_ char *error = NULL;
        TlsConfig *sentinel = (TlsConfig *) &r, *config = sentinel;
        /* A good certificate first: the failure must free it again. */
        TlsCertSpec specs[] = {{.cert = a, .key = ak}, {.cert = cert_path, .key = key_path}};

        ck_assert_int_ge(asprintf(&expected, "%s: %s", file_path, what), 0);
        ck_assert_int_eq(tls_config_new(specs, 2, &config, &error), r);
        ck_assert_ptr_eq(config, sentinel);
        ck_assert_pstr_eq(error, expected);
}

START_TEST(test_config_bad_certificate) {
        _cleanup_free_ char *error = NULL, *path = tmp_path("badchain.pem");
        TlsConfig *config = NULL;

        config_fails("garbage.pem", "a.key", -EINVAL, "garbage.pem", "no certificate found");
        config_fails("a.key", "a.key", -EINVAL, "a.key", "no certificate found");
        config_fails("missing.pem", "a.key", -ENOENT, "missing.pem", "No such file or directory");
        config_fails(".", "a.key", -EISDIR, ".", "Is a directory");
        config_fails("weak.pem", "weak.key", -EINVAL, "weak.pem", "certificate refused: ee key too small");

        /* The reason comes from OpenSSL's decoder: only the start is ours. */
        TlsCertSpec spec = {.cert = path, .key = "badchain.key"};
        ck_assert_int_eq(chdir(tmpdir), 0);
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), -EINVAL);
        ck_assert_ptr_null(config);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strncmp(error, path, strlen(path)) == 0 &&
                              strncmp(error + strlen(path), ": bad certificate in chain: ", 28) == 0,
                      "%s", error);

        /* A key after the certificate is no chain certificate. */
        tls_config_unref(load("combined", NULL));
}
END_TEST

START_TEST(test_config_bad_key) {
        _cleanup_free_ char *a = tmp_path("a.pem");
        _cleanup_free_ char *what = NULL;

        ck_assert_int_ge(asprintf(&what, "does not match %s", a), 0);
        config_fails("a.pem", "b.key", -EINVAL, "b.key", what);
        config_fails("a.pem", "missing.key", -ENOENT, "missing.key", "No such file or directory");
        config_fails("a.pem", "a.pem", -EINVAL, "a.pem", "no private key found");
        config_fails("a.pem", "garbage.pem", -EINVAL, "garbage.pem", "no private key found");
        /* Refused without asking for a pass phrase. */
        config_fails("a.pem", "encrypted.key", -EINVAL, "encrypted.key",
                     "private key is encrypted (not supported)");
}
END_TEST

START_TEST(test_config_invalid) {
        TlsCertSpec spec = {.cert = "a.pem", .key = NULL};
        TlsConfig *config = NULL;
        char *error = NULL;

        ck_assert_int_eq(tls_config_new(&spec, 0, &config, &error), -EINVAL);
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), -EINVAL);
        ck_assert_ptr_null(config);
        ck_assert_ptr_null(error);
}
END_TEST

START_TEST(test_credentials_directory) {
        _cleanup_free_ char *abs = tmp_path("b.pem"), *expected = NULL;
        TlsConfig *config = NULL;
        char *error = NULL;

        ck_assert_int_eq(chdir("/"), 0);
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);

        TlsCertSpec spec = {.cert = "a.pem", .key = "a.key"};
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), 0);
        config = tls_config_unref(config);

        /* Absolute names are taken as they are. */
        spec = (TlsCertSpec){.cert = abs, .key = "b.key"};
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), 0);
        config = tls_config_unref(config);

        /* The error names the file where it was looked for. */
        spec = (TlsCertSpec){.cert = "nope.pem", .key = "a.key"};
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), -ENOENT);
        ck_assert_int_ge(asprintf(&expected, "%s/nope.pem: No such file or directory", tmpdir), 0);
        ck_assert_str_eq(error, expected);
        free(error);
        error = NULL;

        /* Without it, relative to the working directory. */
        ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
        spec = (TlsCertSpec){.cert = "a.pem", .key = "a.key"};
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), -ENOENT);
        ck_assert_str_eq(error, "a.pem: No such file or directory");
        free(error);
        error = NULL;
        ck_assert_int_eq(chdir(tmpdir), 0);
        ck_assert_int_eq(tls_config_new(&spec, 1, &config, &error), 0);
        ck_assert_ptr_null(error);
        tls_config_unref(config);
}
END_TEST

typedef struct SendStats {
        unsigned calls;
        unsigned eagain;
        size_t largest;
} SendStats;

/* Sends [start, start + len) of fd with tls_conn_sendfile while the client
 * reads at most client_chunk bytes a round, and checks every byte. The
 * server calls again only when poll says the socket takes more, as an event
 * loop would; right after the first -EAGAIN it tries to shrink the offer. */
static SendStats sendfile_through(Peer *p, int fd, off_t start, size_t len, size_t client_chunk) {
        _cleanup_free_ uint8_t *got = malloc(len);
        const off_t end = start + (off_t) len;
        off_t offset = start;
        size_t received = 0;
        bool blocked = false, tried_short = false;
        SendStats stats = {};

        ck_assert_ptr_nonnull(got);
        for (unsigned rounds = 0; received < len; rounds++) {
                struct pollfd pfd = {.fd = p->server_fd, .events = POLLOUT};
                size_t n;
                int r;

                ck_assert_uint_lt(rounds, 10000000);
                if (offset < end && (!blocked || poll(&pfd, 1, 0) == 1)) {
                        off_t before = offset;
                        ssize_t k = tls_conn_sendfile(p->server, fd, &offset, (size_t) (end - offset));

                        stats.calls++;
                        if (k == -EAGAIN) {
                                ck_assert_int_eq(offset, before);
                                ck_assert_uint_eq(tls_conn_events(p->server), EPOLLOUT);
                                ck_assert_int_eq(poll(&pfd, 1, 0), 0);
                                stats.eagain++;
                                blocked = true;
                                if (!tried_short && end - offset > 1) {
                                        /* Bytes sealed in a record cannot be
                                         * taken back. */
                                        ck_assert_int_eq(tls_conn_sendfile(p->server, fd, &offset, 1),
                                                         -EINVAL);
                                        ck_assert_int_eq(offset, before);
                                        tried_short = true;
                                }
                        } else {
                                ck_assert_int_gt(k, 0);
                                ck_assert_int_eq(offset, before + k);
                                stats.largest = MAX(stats.largest, (size_t) k);
                                blocked = false;
                        }
                }

                ERR_clear_error();
                r = SSL_read_ex(p->client, got + received, MIN(client_chunk, len - received), &n);
                if (r == 1)
                        received += n;
                else
                        ck_assert(ssl_wants(SSL_get_error(p->client, r)));
        }

        ck_assert_int_eq(offset, end);
        for (size_t i = 0; i < len; i++)
                if (got[i] != pattern((size_t) start + i))
                        ck_abort_msg("byte %zu differs", i);
        return stats;
}

START_TEST(test_sendfile_slow_reader) {
        const size_t size = 1024 * 1024 + 3 * 12345;
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_close_ int fd = make_file("body", size);
        Peer p = PEER_NULL;
        int sndbuf = 4096;
        SendStats stats;

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        /* Less room than one record: every record meets a full socket. */
        ck_assert_int_eq(setsockopt(p.server_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);

        stats = sendfile_through(&p, fd, 12345, 1024 * 1024, 1000);
        ck_assert_uint_ge(stats.eagain, 64);
        ck_assert_uint_eq(stats.largest, RECORD_MAX);

        /* The connection goes on as ever afterwards. */
        ping_pong(&p);
        peer_close(&p);
}
END_TEST

START_TEST(test_sendfile_partial_records) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_close_ int fd = make_file("body", 100000);
        Peer p = PEER_NULL;
        SendStats stats;

        /* Records of 512 bytes: a 16 KiB read goes out in part, and the
         * offset advances by what did. */
        ck_assert_int_eq(SSL_CTX_set_tlsext_max_fragment_length(cctx, TLSEXT_max_fragment_length_512), 1);
        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);

        stats = sendfile_through(&p, fd, 7, 99990, 100000);
        ck_assert_uint_eq(stats.largest, 512);
        ck_assert_uint_ge(stats.calls, 99990 / 512);
        peer_close(&p);
}
END_TEST

START_TEST(test_sendfile_short_file) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_close_ int fd = make_file("body", 1000);
        Peer p = PEER_NULL;
        char buf[1000];
        off_t offset = 600;
        size_t n;

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);

        ck_assert_int_eq(tls_conn_sendfile(p.server, fd, &offset, 0), 0);
        ck_assert_int_eq(tls_conn_sendfile(p.server, fd, &offset, 1000), 400);
        ck_assert_int_eq(offset, 1000);
        /* The range goes beyond the end of the file. */
        ck_assert_int_eq(tls_conn_sendfile(p.server, fd, &offset, 600), -EIO);
        ck_assert_int_eq(offset, 1000);

        ck_assert_int_eq(SSL_read_ex(p.client, buf, sizeof(buf), &n), 1);
        ck_assert_uint_eq(n, 400);
        for (size_t i = 0; i < n; i++)
                ck_assert_uint_eq((uint8_t) buf[i], pattern(600 + i));
        peer_close(&p);
}
END_TEST

START_TEST(test_conn_outlives_config) {
        TlsConfig *config = load("b", "a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;

        ck_assert_ptr_eq(tls_config_ref(config), config);
        ck_assert_ptr_null(tls_config_unref(config));

        peer_open(&p, config, cctx, "a.test");
        /* The last reference besides the connection's. */
        ck_assert_ptr_null(tls_config_unref(config));

        /* SNI reads the config during the handshake: a use after free
         * under SANITIZE=1 if the connection held no reference. */
        handshake_ok(&p);
        ping_pong(&p);
        ck_assert(served_cert_is(&p, "a.pem"));
        /* Frees the config, or LeakSanitizer reports it. */
        peer_close(&p);
}
END_TEST

START_TEST(test_eof_without_close_notify) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        /* As HTTP/1.1 clients often leave: no close_notify. An EOF. */
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), 0);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), 0);
        peer_close(&p);
}
END_TEST

START_TEST(test_eof_with_close_notify) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        client_send(&p, "last", 4);
        ck_assert_int_eq(SSL_shutdown(p.client), 0);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), 0);
        /* Our side may still answer: TLS closes each direction alone. */
        server_send(&p, "bye", 3);
        peer_close(&p);
}
END_TEST

START_TEST(test_eof_in_record) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        /* The header of a 64-byte application data record, 10 bytes of it,
         * then EOF. OpenSSL 3.0 with SSL_OP_IGNORE_UNEXPECTED_EOF reads this
         * as EOF too (documented in tls.c): the HTTP framing above notices
         * a request cut short. */
        ck_assert_int_eq(write(p.client_fd,
                               "\x17\x03\x03\x00\x40"
                               "0123456789",
                               15),
                         15);
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), 0);
        peer_close(&p);
}
END_TEST

START_TEST(test_eof_in_handshake) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];

        /* Connected and gone without a byte (a port check): EOF. */
        peer_open(&p, config, cctx, NULL);
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), 0);
        peer_close(&p);

        /* Gone after the server answered the ClientHello: a failed
         * handshake. */
        peer_open(&p, config, cctx, NULL);
        ck_assert_int_eq(SSL_do_handshake(p.client), -1);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -EAGAIN);
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -ECONNRESET);
        peer_close(&p);
}
END_TEST

START_TEST(test_garbage) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];

        peer_open(&p, config, cctx, NULL);
        /* Plain HTTP on the TLS port. */
        ck_assert_int_eq(write(p.client_fd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -EPROTO);
        /* No close_notify after a fatal error; nothing breaks either. */
        tls_conn_shutdown(p.server);
        peer_close(&p);
}
END_TEST

START_TEST(test_reset) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        /* Closing a socket with unread bytes resets the connection. */
        ck_assert_int_eq(tls_conn_write(p.server, "unread", 6), 6);
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -ECONNRESET);
        peer_close(&p);
}
END_TEST

START_TEST(test_write_to_closed) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_close_ int fd = make_file("body", 100);
        Peer p = PEER_NULL;
        off_t offset = 0;

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_write(p.server, "anyone?", 7), -EPIPE);
        peer_close(&p);

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        p.client_fd = safe_close(p.client_fd);
        ck_assert_int_eq(tls_conn_sendfile(p.server, fd, &offset, 100), -EPIPE);
        ck_assert_int_eq(offset, 0);
        peer_close(&p);
}
END_TEST

START_TEST(test_pending) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[100];
        size_t n;

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);
        ck_assert(!tls_conn_pending(p.server));

        /* One record of 100 bytes, read in two parts: the rest waits inside
         * the library, the socket has nothing. */
        ck_assert_int_eq(SSL_write_ex(p.client,
                                      "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv"
                                      "wxyz0123456789abcdefghijklmnopq",
                                      100, &n),
                         1);
        ck_assert_int_eq(tls_conn_read(p.server, buf, 10), 10);
        ck_assert(tls_conn_pending(p.server));
        struct pollfd pfd = {.fd = p.server_fd, .events = POLLIN};
        ck_assert_int_eq(poll(&pfd, 1, 0), 0);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), 90);
        ck_assert_mem_eq(buf, "abcdefghij", 10);
        ck_assert(!tls_conn_pending(p.server));
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -EAGAIN);
        ck_assert_uint_eq(tls_conn_events(p.server), EPOLLIN);

        /* A record that arrived in part is no pending data. */
        ck_assert_int_eq(write(p.client_fd,
                               "\x17\x03\x03\x00\x40"
                               "0123456789",
                               15),
                         15);
        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -EAGAIN);
        ck_assert(!tls_conn_pending(p.server));
        peer_close(&p);
}
END_TEST

START_TEST(test_events) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        _cleanup_free_ char *chunk = calloc(1, RECORD_MAX);
        Peer p = PEER_NULL;
        struct pollfd pfd;
        char buf[RECORD_MAX];
        ssize_t k;
        size_t n;

        peer_open(&p, config, cctx, NULL);
        handshake_ok(&p);
        ping_pong(&p);

        ck_assert_int_eq(tls_conn_read(p.server, buf, sizeof(buf)), -EAGAIN);
        ck_assert_uint_eq(tls_conn_events(p.server), EPOLLIN);

        while ((k = tls_conn_write(p.server, chunk, RECORD_MAX)) > 0)
                ;
        ck_assert_int_eq(k, -EAGAIN);
        ck_assert_uint_eq(tls_conn_events(p.server), EPOLLOUT);
        pfd = (struct pollfd){.fd = p.server_fd, .events = POLLOUT};
        ck_assert_int_eq(poll(&pfd, 1, 0), 0);

        /* The client drains the socket: writable again, and the retry of the
         * same bytes completes. */
        while (SSL_read_ex(p.client, buf, sizeof(buf), &n) == 1)
                ;
        ck_assert_int_eq(poll(&pfd, 1, 0), 1);
        ck_assert_int_eq(tls_conn_write(p.server, chunk, RECORD_MAX), RECORD_MAX);

        /* Nothing to do is done at once. */
        ck_assert_int_eq(tls_conn_write(p.server, chunk, 0), 0);
        ck_assert_int_eq(tls_conn_read(p.server, buf, 0), 0);
        peer_close(&p);
}
END_TEST

START_TEST(test_shutdown) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("a", NULL);
        _cleanup_(SSL_CTX_freep) SSL_CTX *cctx = client_ctx_new(0, 0);
        Peer p = PEER_NULL;
        char buf[16];
        size_t n;
        int r;

        peer_open(&p, config, cctx, NULL);
        /* Before the handshake there is nothing to close. */
        tls_conn_shutdown(p.server);
        ck_assert_int_eq(recv(p.client_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK), -1);
        ck_assert_int_eq(errno, EAGAIN);

        handshake_ok(&p);
        ping_pong(&p);
        tls_conn_shutdown(p.server);
        ERR_clear_error();
        r = SSL_read_ex(p.client, buf, sizeof(buf), &n);
        ck_assert_int_eq(SSL_get_error(p.client, r), SSL_ERROR_ZERO_RETURN);
        peer_close(&p);
}
END_TEST

static int tcp_listener(uint16_t *ret_port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 8), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

static void wait_fd(int fd, uint32_t events) {
        struct pollfd pfd = {
                .fd = fd,
                .events = (short) ((events & EPOLLIN ? POLLIN : 0) | (events & EPOLLOUT ? POLLOUT : 0)),
        };

        ck_assert_msg(poll(&pfd, 1, 20000) == 1, "peer did not answer");
}

static pid_t spawn(char *const argv[], const char *in, const char *out) {
        _cleanup_free_ char *in_path = in ? tmp_path(in) : NULL, *out_path = tmp_path(out), *err_path = NULL;
        posix_spawn_file_actions_t actions;
        pid_t pid;

        ck_assert_int_ge(asprintf(&err_path, "%s.err", out_path), 0);
        ck_assert_int_eq(posix_spawn_file_actions_init(&actions), 0);
        posix_spawn_file_actions_addopen(&actions, 0, in_path ?: "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_int_eq(posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        return pid;
}

static void wait_success(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client failed: %d", status);
}

typedef struct Served {
        char version[16];
        char server_name[64];
        bool resumed;
        bool ktls_send;
} Served;

/* Accepts one connection and answers one request on it, as htparser would:
 * the body is [offset, offset + len) of body_fd through tls_conn_sendfile,
 * then close_notify, then a lingering close (wait for the client's EOF so
 * that no unread bytes turn the close into a reset). */
static Served serve_one(TlsConfig *config, int listen_fd, int body_fd, off_t offset, size_t len) {
        _cleanup_(tls_conn_freep) TlsConn *t = NULL;
        _cleanup_close_ int fd = -EBADF;
        char head[4096], header[128];
        const off_t end = offset + (off_t) len;
        size_t got = 0;
        int header_len;
        Served served = {};

        wait_fd(listen_fd, EPOLLIN);
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tls_conn_new(config, fd, &t), 0);

        while (!memmem(head, got, "\r\n\r\n", 4)) {
                ssize_t k = tls_conn_read(t, head + got, sizeof(head) - got);

                if (k == -EAGAIN) {
                        wait_fd(fd, tls_conn_events(t));
                        continue;
                }
                ck_assert_int_gt(k, 0);
                got += (size_t) k;
                ck_assert_uint_lt(got, sizeof(head));
        }

        header_len = snprintf(header, sizeof(header),
                              "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
        for (int done = 0; done < header_len;) {
                ssize_t k = tls_conn_write(t, header + done, (size_t) (header_len - done));

                if (k == -EAGAIN) {
                        wait_fd(fd, tls_conn_events(t));
                        continue;
                }
                ck_assert_int_gt(k, 0);
                done += (int) k;
        }
        while (offset < end) {
                ssize_t k = tls_conn_sendfile(t, body_fd, &offset, (size_t) (end - offset));

                if (k == -EAGAIN) {
                        wait_fd(fd, tls_conn_events(t));
                        continue;
                }
                ck_assert_int_gt(k, 0);
        }

        snprintf(served.version, sizeof(served.version), "%s", tls_conn_version(t));
        snprintf(served.server_name, sizeof(served.server_name), "%s", tls_conn_server_name(t) ?: "");
        served.resumed = tls_conn_resumed(t);
        served.ktls_send = tls_conn_ktls_send(t);

        tls_conn_shutdown(t);
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        for (;;) {
                char buf[4096];
                ssize_t k = read(fd, buf, sizeof(buf));

                if (k > 0)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        wait_fd(fd, EPOLLIN);
                        continue;
                }
                break;
        }
        return served;
}

START_TEST(test_curl) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        _cleanup_close_ int listen_fd = -EBADF, body = make_file("body", 300000);
        _cleanup_free_ char *ca = tmp_path("a.pem"), *out = tmp_path("out"), *resolve = NULL, *url = NULL;
        _cleanup_free_ char *written = NULL;
        _cleanup_close_ int out_fd = -EBADF;
        _cleanup_free_ uint8_t *data = malloc(300000);
        uint16_t port;
        Served served;
        pid_t pid;

        listen_fd = tcp_listener(&port);
        ck_assert_int_ge(asprintf(&resolve, "a.test:%u:127.0.0.1", port), 0);
        ck_assert_int_ge(asprintf(&url, "https://a.test:%u/", port), 0);
        /* curl offers h2 and http/1.1, checks a.test against the certificate
         * SNI chose, and reports what it got. */
        char *argv[] = {
                "curl",  "-sS", "--cacert", ca,   "--resolve",
                resolve, "-o",  out,        "-w", "%{http_version} %{ssl_verify_result} %{size_download}",
                url,     NULL};
        pid = spawn(argv, NULL, "curl.txt");
        served = serve_one(config, listen_fd, body, 1234, 250000);
        wait_success(pid);

        written = read_text("curl.txt");
        ck_assert_str_eq(written, "1.1 0 250000");
        ck_assert_str_eq(served.version, "TLSv1.3");
        ck_assert_str_eq(served.server_name, "a.test");
        ck_assert(!served.resumed);

        out_fd = open(out, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(out_fd, 0);
        ck_assert_ptr_nonnull(data);
        ck_assert_int_eq(read(out_fd, data, 300000), 250000);
        for (size_t i = 0; i < 250000; i++)
                ck_assert_uint_eq(data[i], pattern(1234 + i));
}
END_TEST

START_TEST(test_openssl_s_client) {
        _cleanup_(tls_config_unrefp) TlsConfig *config = load("b", "a", NULL);
        _cleanup_close_ int body = make_file("body", 100);
        _cleanup_free_ char *request = tmp_path("request"), *session = tmp_path("session");
        static const struct {
                const char *option;
                const char *version;
        } versions[] = {{"-tls1_2", "TLSv1.2"}, {"-tls1_3", "TLSv1.3"}};
        _cleanup_fclose_ FILE *f = fopen(request, "we");

        ck_assert_ptr_nonnull(f);
        fputs("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", f);
        f = (fclose(f), NULL);

        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                _cleanup_close_ int listen_fd = -EBADF;
                _cleanup_free_ char *connect = NULL, *expected = NULL, *first = NULL, *second = NULL;
                uint16_t port;
                Served served;
                pid_t pid;

                listen_fd = tcp_listener(&port);
                ck_assert_int_ge(asprintf(&connect, "127.0.0.1:%u", port), 0);

                char *argv1[] = {"openssl",
                                 "s_client",
                                 "-connect",
                                 connect,
                                 "-servername",
                                 "x.wild.test",
                                 (char *) versions[i].option,
                                 "-ign_eof",
                                 "-sess_out",
                                 session,
                                 NULL};
                pid = spawn(argv1, "request", "s_client.txt");
                served = serve_one(config, listen_fd, body, 0, 100);
                wait_success(pid);
                ck_assert_str_eq(served.version, versions[i].version);
                ck_assert_str_eq(served.server_name, "x.wild.test");
                ck_assert(!served.resumed);
                first = read_text("s_client.txt");
                ck_assert_ptr_nonnull(strstr(first, "subject=CN = a.test"));
                ck_assert_ptr_nonnull(strstr(first, "HTTP/1.1 200 OK"));

                char *argv2[] = {"openssl",
                                 "s_client",
                                 "-connect",
                                 connect,
                                 "-servername",
                                 "x.wild.test",
                                 (char *) versions[i].option,
                                 "-ign_eof",
                                 "-sess_in",
                                 session,
                                 NULL};
                pid = spawn(argv2, "request", "s_client.txt");
                served = serve_one(config, listen_fd, body, 0, 100);
                wait_success(pid);
                ck_assert(served.resumed);
                second = read_text("s_client.txt");
                ck_assert_int_ge(asprintf(&expected, "Reused, %s", versions[i].version), 0);
                ck_assert_msg(strstr(second, expected), "%s", second);
        }
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("tls");
        TCase *tc = tcase_create("core");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_tls13_round_trip);
        tcase_add_test(tc, test_tls12_round_trip);
        tcase_add_test(tc, test_old_versions_refused);
        tcase_add_test(tc, test_tls12_weak_ciphers_refused);
        tcase_add_test(tc, test_sni);
        tcase_add_test(tc, test_sni_ignores_subject);
        tcase_add_test(tc, test_chain);
        tcase_add_test(tc, test_alpn);
        tcase_add_test(tc, test_resume_tls13);
        tcase_add_test(tc, test_resume_tls12_ticket);
        tcase_add_test(tc, test_resume_tls12_session_cache);
        tcase_add_test(tc, test_no_resumption_across_configs);
        tcase_add_test(tc, test_config_bad_certificate);
        tcase_add_test(tc, test_config_bad_key);
        tcase_add_test(tc, test_config_invalid);
        tcase_add_test(tc, test_credentials_directory);
        tcase_add_test(tc, test_sendfile_slow_reader);
        tcase_add_test(tc, test_sendfile_partial_records);
        tcase_add_test(tc, test_sendfile_short_file);
        tcase_add_test(tc, test_conn_outlives_config);
        tcase_add_test(tc, test_eof_without_close_notify);
        tcase_add_test(tc, test_eof_with_close_notify);
        tcase_add_test(tc, test_eof_in_record);
        tcase_add_test(tc, test_eof_in_handshake);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_reset);
        tcase_add_test(tc, test_write_to_closed);
        tcase_add_test(tc, test_pending);
        tcase_add_test(tc, test_events);
        tcase_add_test(tc, test_shutdown);
        tcase_add_test(tc, test_curl);
        tcase_add_test(tc, test_openssl_s_client);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
