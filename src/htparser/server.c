/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "messages.h"
#include "response.h"

/* The Date header value, formatted once per second. */
const char *server_date(Server *s) {
        uint64_t now;
        time_t t;

        sd_event_now(s->event, CLOCK_REALTIME, &now);
        t = now / 1000000;
        if (t != s->date_time) {
                http_date(t, s->date);
                s->date_time = t;
        }
        return s->date;
}

static void server_set_accepting(Server *s, bool on) {
        for (size_t i = 0; i < s->n_listeners; i++)
                sd_event_source_set_enabled(s->listeners[i].source, on ? SD_EVENT_ON : SD_EVENT_OFF);
        s->accepting_paused = !on;
}

/* A connection went: accept again below the limit, finish a drain. */
void server_conn_closed(Server *s) {
        if (s->draining) {
                if (s->n_conns == 0)
                        sd_event_exit(s->event, 0);
                return;
        }
        if (s->accepting_paused && s->n_conns < s->max_conns)
                server_set_accepting(s, true);
}

void server_update_status(Server *s) {
        uint64_t dropped = log_dropped();
        char extra[64] = "";

        /* Access entries journald could not take in time are counted, not
         * waited for: say so where an operator looks. */
        if (dropped > 0)
                snprintf(extra, sizeof(extra), ", %" PRIu64 " log entries dropped", dropped);
        sd_notifyf(false,
                   "STATUS=%s%zu connections, %" PRIu64 " requests, %" PRIu64 " 4xx, %" PRIu64 " 5xx%s",
                   s->draining ? "Draining: " : "", s->n_conns, s->stats.requests, s->stats.status_4xx,
                   s->stats.status_5xx, extra);
}

/* Accepts what is pending on one listener, up to the connection limit. */
int server_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;
        Server *s = l->server;

        for (int i = 0; i < 64; i++) {
                struct sockaddr_storage peer;
                socklen_t len = sizeof(peer);
                int cfd;

                if (s->n_conns >= s->max_conns) {
                        /* Connections wait in the kernel's backlog rather
                         * than cost us file descriptors we do not have. */
                        server_set_accepting(s, false);
                        return 0;
                }
                /* The peer's address comes with it: no getpeername(). */
                cfd = accept4(fd, (struct sockaddr *) &peer, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE) {
                                server_set_accepting(s, false);
                                s->max_conns = s->n_conns > 0 ? s->n_conns : 1;
                        }
                        return 0;
                }
                (void) conn_new(s, cfd, l, &peer, len);
        }
        return 0;
}

/* Stops accepting and closes idle connections; the loop ends when the last
 * connection has finished its exchange. */
void server_drain(Server *s) {
        Conn *c, *next;

        if (s->draining)
                return;
        /* Our copies of the listening sockets go: systemd keeps its own for
         * our successor, and one that systemd closes (a restarted socket
         * unit) must not stay bound in us, or its new bind fails with
         * EADDRINUSE. */
        listen_done(s);
        s->draining = true;
        for (c = s->conns; c; c = next) {
                next = c->next;
                conn_close_if_idle(c);
        }
        if (s->n_conns == 0)
                sd_event_exit(s->event, 0);
}

int server_add_cert(Server *s, const char *cert, const char *key) {
        TlsCertSpec *all;

        all = reallocarray(s->certs, s->n_certs + 1, sizeof(TlsCertSpec));
        if (!all)
                return -ENOMEM;
        s->certs = all;
        all[s->n_certs] = (TlsCertSpec){.cert = strdup(cert), .key = strdup(key)};
        if (!all[s->n_certs].cert || !all[s->n_certs].key)
                return -ENOMEM;
        s->n_certs++;
        return 0;
}

int server_load_tls(Server *s) {
        _cleanup_free_ char *error = NULL;
        TlsConfig *config = NULL;
        int r;

        if (!s->has_tls_listener)
                return 0;
        if (s->n_certs == 0) {
                log_error("A TLS socket needs a certificate: --tls-cert=FILE --tls-key=FILE, "
                          "ssl:cert=FILE,key=FILE, or NAME.pem and NAME.key in the directory "
                          "--tls-credentials loads (/etc/ashd/tls for ashd.service)");
                return -EINVAL;
        }
        r = tls_config_new(s->certs, s->n_certs, &config, &error);
        if (r < 0) {
                log_fields(LOG_ERR,
                           (const LogField[]){{"MESSAGE_ID", MESSAGE_ID_CONFIG_ERROR},
                                              {"CONFIG_FILE", s->certs[0].cert},
                                              {NULL}},
                           "Certificates refused%s: %s", s->tls ? ", keeping the ones in use" : "",
                           error ? error : strerror(-r));
                return r;
        }
        /* Connections made with the old config keep their reference. */
        tls_config_unref(s->tls);
        s->tls = config;
        return 0;
}

_Static_assert(CONN_IN_SIZE == HTTP_HEAD_MAX, "one large buffer kind serves both heads");

void *server_buffer_get(Server *s, BufferKind kind) {
        if (s->pool_len[kind] > 0)
                return s->pool[kind][--s->pool_len[kind]];
        return malloc(kind == BUFFER_LARGE ? CONN_IN_SIZE : CONN_OUT_SIZE);
}

void server_buffer_put(Server *s, BufferKind kind, void *buffer) {
        if (!buffer)
                return;
        /* A burst of connections should not pin its memory for ever. */
        if (s->pool_len[kind] == BUFFER_POOL_MAX) {
                free(buffer);
                return;
        }
        s->pool[kind][s->pool_len[kind]++] = buffer;
}

void server_buffers_free(Server *s) {
        for (int k = 0; k < _BUFFER_KIND_MAX; k++)
                while (s->pool_len[k] > 0)
                        free(s->pool[k][--s->pool_len[k]]);
}
