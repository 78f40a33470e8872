/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "conn.h"
#include "decimal.h"
#include "fdpass.h"
#include "log.h"
#include "messages.h"
#include "request.h"
#include "respond.h"
#include "tls.h"
#include "url.h"

static void conn_process(Conn *c);
static int conn_io(Watch *w, int fd, uint32_t revents, void *userdata);
static int conn_resp_io(Watch *w, int fd, uint32_t revents, void *userdata);
static void conn_read_response(Conn *c);

static void address_from_sockaddr(Address *a, const struct sockaddr_storage *sa) {
        *a = (Address){.family = sa->ss_family};
        if (sa->ss_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
                memcpy(a->addr, &in->sin_addr, 4);
                a->port = ntohs(in->sin_port);
        } else if (sa->ss_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
                memcpy(a->addr, &in6->sin6_addr, 16);
                a->port = ntohs(in6->sin6_port);
        }
}

/* The address as text; "" for a Unix socket. IPv4 by hand: glibc's
 * inet_ntop() goes through sprintf, and this runs for every request. */
void address_format(const Address *a, char buf[static INET6_ADDRSTRLEN]) {
        buf[0] = 0;
        if (a->family == AF_INET) {
                char *p = buf;

                for (int i = 0; i < 4; i++) {
                        if (i > 0)
                                *p++ = '.';
                        p += decimal_u64(p, a->addr[i]);
                }
        } else if (a->family == AF_INET6)
                inet_ntop(a->family, a->addr, buf, INET6_ADDRSTRLEN);
}

static bool address_is_wildcard(const Address *a) {
        static const uint8_t zero[16];

        if (a->family == AF_INET)
                return memcmp(a->addr, zero, 4) == 0;
        if (a->family == AF_INET6)
                return memcmp(a->addr, zero, 16) == 0;
        return true; /* a Unix socket: ask each time (nothing to format anyway) */
}

/* The local address of a connection accepted on l. */
static void conn_local_address(Conn *c, Listener *l) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);

        if (!l->local_looked_up) {
                l->local_looked_up = true;
                if (getsockname(l->fd, (struct sockaddr *) &sa, &len) == 0) {
                        address_from_sockaddr(&l->local, &sa);
                        l->local_fixed = !address_is_wildcard(&l->local);
                }
        }
        if (l->local_fixed) {
                c->local = l->local;
                return;
        }
        len = sizeof(sa);
        if (getsockname(c->fd, (struct sockaddr *) &sa, &len) == 0)
                address_from_sockaddr(&c->local, &sa);
}

int conn_new(Server *s, int fd, Listener *l, const struct sockaddr_storage *peer, socklen_t peer_len) {
        struct sockaddr_storage sa;
        socklen_t len;
        Conn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->server = s;
        c->fd = fd;
        c->resp_fd = -EBADF;
        c->body_fd = -EBADF;
        c->timer_kind = TIMER_NONE;
        c->tls = l->tls;
        c->id = ++s->next_id;
        if (peer && peer_len > 0 && peer_len <= sizeof(*peer))
                address_from_sockaddr(&c->peer, peer);
        else {
                len = sizeof(sa);
                if (getpeername(fd, (struct sockaddr *) &sa, &len) == 0)
                        address_from_sockaddr(&c->peer, &sa);
        }
        /* Responses are written whole: Nagle would only hold back the last
         * segment of each for the client's delayed ACK. */
        if (c->peer.family == AF_INET || c->peer.family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        conn_local_address(c, l);

        if (l->tls) {
                r = tls_conn_new(s->tls, fd, &c->tls_conn);
                if (r < 0) {
                        safe_close(fd);
                        free(c);
                        return r;
                }
        }
        r = watch_add(s, &c->io, fd, EPOLLIN, conn_io, c);
        if (r < 0) {
                tls_conn_free(c->tls_conn);
                safe_close(fd);
                free(c);
                return r;
        }
        c->next = s->conns;
        if (c->next)
                c->next->prev = c;
        s->conns = c;
        s->n_conns++;
        timer_set(c, TIMER_IDLE);
        return 0;
}

/* Done with the response socket: closing it takes it out of the epoll set
 * when nothing else holds it, so no EPOLL_CTL_DEL is spent on it. A forked
 * root handler's child holds a copy of it until its exec: then the entry
 * would outlive the close (and the Conn), and is removed first. */
static void conn_close_resp(Conn *c) {
        if (upstream_forks(c->server->root))
                watch_remove(c->server, &c->resp_io);
        else
                watch_forget(c->server, &c->resp_io);
        c->resp_fd = safe_close(c->resp_fd);
}

static void conn_end_exchange_io(Conn *c) {
        conn_close_resp(c);
        c->body_fd = safe_close(c->body_fd);
}

Conn *conn_free(Conn *c) {
        Server *s;

        if (!c)
                return NULL;
        s = c->server;
        timer_set(c, TIMER_NONE);
        conn_end_exchange_io(c);
        watch_remove(s, &c->io);
        if (c->tls_conn) {
                tls_conn_shutdown(c->tls_conn);
                tls_conn_free(c->tls_conn);
        }
        safe_close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        server_buffer_put(s, BUFFER_LARGE, c->in);
        server_buffer_put(s, BUFFER_LARGE, c->rhead);
        server_buffer_put(s, BUFFER_SMALL, c->out);
        free(c);
        server_conn_closed(s);
        return NULL;
}

/* What the connection waits for, plus what the TLS library waits for on
 * the socket to finish an operation we asked of it. */
/* Closes a connection whose exchange could not finish (the client went or
 * was too slow, the handler stalled): the request still gets its access
 * entry, with 499 (nginx's "client closed") if no response had begun. */
static void conn_abort(Conn *c) {
        if (c->state == CONN_EXCHANGE && c->started_usec > 0 && !c->logged) {
                if (c->status == 0)
                        c->status = 499;
                c->keep_alive = false;
                access_log_entry(c);
                c->logged = true;
        }
        conn_free(c);
}

static void conn_set_events(Conn *c, uint32_t events) {
        (void) watch_set_events(c->server, &c->io, events | c->tls_want);
}

/* After a TLS operation returned -EAGAIN: the library may need the other
 * direction (a read that must write handshake bytes, or the reverse). */
static void conn_tls_blocked(Conn *c, uint32_t natural) {
        uint32_t want = tls_conn_events(c->tls_conn) & ~natural;
        uint32_t events = 0;

        if (!want)
                return;
        c->tls_want = want;
        events = c->io.events;
        (void) watch_set_events(c->server, &c->io, events | want);
}

static ssize_t conn_send(Conn *c, const char *buf, size_t len) {
        ssize_t n;

        if (c->tls_conn) {
                n = tls_conn_write(c->tls_conn, buf, len);
                if (n == -EAGAIN)
                        conn_tls_blocked(c, EPOLLOUT);
                return n;
        }
        /* A head followed by a file goes out in one segment with it. */
        do
                n = send(c->fd, buf, len, MSG_NOSIGNAL | (c->body_fd >= 0 ? MSG_MORE : 0));
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

static ssize_t conn_recv(Conn *c, char *buf, size_t len) {
        ssize_t n;

        if (c->tls_conn) {
                n = tls_conn_read(c->tls_conn, buf, len);
                if (n == -EAGAIN)
                        conn_tls_blocked(c, EPOLLIN);
                return n;
        }
        do
                n = recv(c->fd, buf, len, 0);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

/* Queues bytes for the client. The out buffer holds at most one response
 * head plus one chunk at a time. */
static int conn_out_append(Conn *c, const char *data, size_t len) {
        if (!c->out) {
                c->out = server_buffer_get(c->server, BUFFER_SMALL);
                if (!c->out)
                        return -ENOMEM;
                c->out_pos = c->out_len = 0;
        }
        if (c->out_pos > 0 && c->out_pos == c->out_len)
                c->out_pos = c->out_len = 0;
        if (len > CONN_OUT_SIZE - c->out_len) {
                memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
                c->out_len -= c->out_pos;
                c->out_pos = 0;
                if (len > CONN_OUT_SIZE - c->out_len)
                        return -ENOBUFS;
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        return 0;
}

/* Sends an error response of htparser's own and closes the connection
 * after it: used where the request's framing cannot be trusted. */
static void conn_fail(Conn *c, int status) {
        char buf[1024];
        int n;

        conn_end_exchange_io(c);
        c->status = status;
        c->keep_alive = false;
        n = respond_error_page(buf, sizeof(buf), status, server_date(c->server), c->head_request,
                               &c->bytes_sent);
        c->out_pos = c->out_len = 0;
        if (n < 0 || conn_out_append(c, buf, n) < 0) {
                conn_free(c);
                return;
        }
        if (c->started_usec == 0)
                sd_event_now(c->server->event, CLOCK_REALTIME, &c->started_usec);
        if (!c->logged)
                access_log_entry(c);
        c->logged = true;
        c->state = CONN_CLOSING;
        timer_set(c, TIMER_SEND);
        /* Nothing more is read; a client that keeps sending gets a reset
         * when we close, which is what it asked for. */
        shutdown(c->fd, SHUT_RD);
        conn_set_events(c, EPOLLOUT);
}

/* Writes queued bytes. Returns 1 when all are written, 0 when the socket is
 * full, -errno when the client is gone. */
static int conn_flush(Conn *c) {
        while (c->out_pos < c->out_len) {
                ssize_t n = conn_send(c, c->out + c->out_pos, c->out_len - c->out_pos);
                if (n == -EAGAIN)
                        return 0;
                if (n < 0)
                        return n;
                c->out_pos += n;
        }
        c->out_pos = c->out_len = 0;
        return 1;
}

/* Sends the handler's file range. Returns 1 when all is sent, 0 when the
 * socket is full, -errno when the client is gone. */
static int conn_send_file(Conn *c) {
        while (c->body_length > 0) {
                size_t chunk = c->body_length > (1u << 30) ? (1u << 30) : c->body_length;
                ssize_t n;

                if (c->tls_conn) {
                        n = tls_conn_sendfile(c->tls_conn, c->body_fd, &c->body_offset, chunk);
                        if (n == -EAGAIN)
                                conn_tls_blocked(c, EPOLLOUT);
                } else {
                        n = sendfile(c->fd, c->body_fd, &c->body_offset, chunk);
                        if (n < 0)
                                n = -errno;
                }
                if (n == -EINTR)
                        continue;
                if (n == -EAGAIN)
                        return 0;
                if (n < 0)
                        return n;
                if (n == 0)
                        return -EIO; /* the file shrank under us */
                c->body_length -= n;
                c->bytes_sent += n;
        }
        return 1;
}

/* The exchange is over: log it, and either read the next request or close. */
static void conn_exchange_done(Conn *c) {
        Server *s = c->server;
        size_t rest;

        if (!c->logged)
                access_log_entry(c);
        conn_end_exchange_io(c);
        server_buffer_put(s, BUFFER_LARGE, c->rhead);
        c->rhead = NULL;
        /* They point into the in buffer, which is about to change: nothing
         * of this request may show up in the next one's log entry. */
        c->method = c->target = c->host = c->referer = c->user_agent = NULL;
        c->minor = 1;
        c->status = 0;
        c->bytes_sent = 0;
        c->logged = false;

        /* Body bytes the handler never took make the next request's start
         * unknowable unless they were all read: close rather than guess. */
        if (!c->keep_alive || !c->body_done || s->draining) {
                conn_free(c);
                return;
        }

        rest = c->in_len - c->in_pos;
        if (rest > 0)
                memmove(c->in, c->in + c->in_pos, rest);
        c->in_len = rest;
        c->in_pos = c->head_len = 0;
        c->started_usec = 0;
        c->state = CONN_READ_HEAD;
        if (rest == 0) {
                /* Idle: give the buffers back. */
                server_buffer_put(s, BUFFER_LARGE, c->in);
                c->in = NULL;
                server_buffer_put(s, BUFFER_SMALL, c->out);
                c->out = NULL;
                timer_set(c, TIMER_IDLE);
        } else
                timer_set(c, TIMER_HEAD);
        conn_set_events(c, EPOLLIN);
        if (rest > 0)
                /* A pipelined request is already here. */
                conn_process(c);
}

static void conn_write_ready(Conn *c) {
        int r;

        r = conn_flush(c);
        if (r < 0) {
                conn_abort(c);
                return;
        }
        if (r == 0) {
                conn_set_events(c, EPOLLOUT | (c->state == CONN_EXCHANGE && !c->body_done ? EPOLLIN : 0));
                timer_set(c, TIMER_SEND);
                return;
        }
        if (c->state == CONN_CLOSING) {
                conn_free(c);
                return;
        }
        if (c->state == CONN_EXCHANGE && c->body_fd >= 0) {
                r = conn_send_file(c);
                if (r < 0) {
                        conn_abort(c);
                        return;
                }
                if (r == 0) {
                        conn_set_events(c, EPOLLOUT);
                        timer_set(c, TIMER_SEND);
                        return;
                }
                c->body_fd = safe_close(c->body_fd);
                conn_exchange_done(c);
                return;
        }
        if (c->state == CONN_EXCHANGE) {
                if (c->resp_head_done && c->rhead_len > c->rhead_pos) {
                        conn_read_response(c);
                        return;
                }
                if (c->resp_head_done && c->resp_eof) {
                        conn_exchange_done(c);
                        return;
                }
                /* The client took everything: read more from the handler. */
                conn_set_events(c, c->body_done ? 0 : EPOLLIN);
                if (c->resp_io.active)
                        watch_set_events(c->server, &c->resp_io,
                                         EPOLLIN | (c->body_pending > 0 ? EPOLLOUT : 0));
                timer_set(c, c->body_done ? TIMER_HANDLER : TIMER_BODY);
        }
}

/* Reads from the client into the in buffer. Returns bytes read, 0 at EOF,
 * -EAGAIN, -ENOBUFS when the buffer is full, or another -errno. */
static ssize_t conn_read(Conn *c) {
        ssize_t n;

        if (!c->in) {
                c->in = server_buffer_get(c->server, BUFFER_LARGE);
                if (!c->in)
                        return -ENOMEM;
        }
        if (c->in_len == CONN_IN_SIZE && c->in_pos > c->head_len && c->state == CONN_EXCHANGE) {
                /* Body bytes already forwarded make room; the head stays. */
                memmove(c->in + c->head_len, c->in + c->in_pos, c->in_len - c->in_pos);
                c->in_len -= c->in_pos - c->head_len;
                c->in_pos = c->head_len;
        }
        if (c->in_len == CONN_IN_SIZE)
                return -ENOBUFS;
        n = conn_recv(c, c->in + c->in_len, CONN_IN_SIZE - c->in_len);
        if (n <= 0)
                return n;
        c->in_len += n;
        /* TLS hands out one record per read; what it decrypted beyond it
         * would not wake us up again. */
        while (c->tls_conn && c->in_len < CONN_IN_SIZE && tls_conn_pending(c->tls_conn)) {
                ssize_t m = conn_recv(c, c->in + c->in_len, CONN_IN_SIZE - c->in_len);
                if (m <= 0)
                        break;
                c->in_len += m;
                n += m;
        }
        return n;
}

/* The ashd(7) datagram of a request, written straight from the parsed head
 * into one buffer: no Request, no copy per header. The loop is
 * single-threaded, and upstream_send_datagram() copies what must wait. */
typedef struct Datagram {
        char buf[REQ_DATAGRAM_MAX];
        size_t len;
        size_t n_headers;
        bool overflow;
} Datagram;

static void datagram_put(Datagram *d, const char *s, size_t max) {
        size_t n = strlen(s);

        if (d->overflow || n > max || n + 1 > sizeof(d->buf) - d->len) {
                d->overflow = true;
                return;
        }
        memcpy(d->buf + d->len, s, n + 1);
        d->len += n + 1;
}

/* One header pair, within the limits every handler's decoder enforces. */
static void datagram_header(Datagram *d, const char *name, const char *value) {
        if (++d->n_headers > REQ_HEADERS_MAX)
                d->overflow = true;
        datagram_put(d, name, REQ_NAME_MAX);
        datagram_put(d, value, REQ_VALUE_MAX);
}

/* The X-Ash-* headers that only htparser may set. */
static void datagram_trusted_headers(Datagram *d, Conn *c) {
        char addr[INET6_ADDRSTRLEN], num[DECIMAL_MAX];

        address_format(&c->peer, addr);
        datagram_header(d, "X-Ash-Address", addr);
        decimal_u64(num, c->peer.port);
        datagram_header(d, "X-Ash-Port", num);
        address_format(&c->local, addr);
        datagram_header(d, "X-Ash-Server-Address", addr);
        decimal_u64(num, c->local.port);
        datagram_header(d, "X-Ash-Server-Port", num);
        datagram_header(d, "X-Ash-Protocol", c->tls ? "https" : "http");
        decimal_u64(num, c->id);
        datagram_header(d, "X-Ash-Connection-Id", num);
        /* The zero-copy extension (see conn_take_body_fd). */
        datagram_header(d, "X-Ash-Accept-Body-Fd", "1");
        if (c->tls_conn) {
                const char *name = tls_conn_server_name(c->tls_conn);

                datagram_header(d, "X-Ash-TLS-Protocol", tls_conn_version(c->tls_conn));
                datagram_header(d, "X-Ash-TLS-Cipher", tls_conn_cipher(c->tls_conn));
                if (name)
                        datagram_header(d, "X-Ash-TLS-Server-Name", name);
        }
        /* The client waits for 100 Continue: a handler that wants the body
         * says so by writing an interim "100 Continue" first. */
        if (c->expect_pending)
                datagram_header(d, "X-Ash-Expect", "100-continue");
}

/* Encodes the ashd(7) request for a parsed head into d. Returns 0, or the
 * HTTP status to answer with. */
static int conn_encode_request(Conn *c, const HttpRequestHead *h, Datagram *d) {
        _cleanup_free_ char *rest = NULL;
        bool host_seen = false;

        if (url_rest_from_target(h->target, &rest) < 0)
                return 400;
        /* Not *d = (Datagram){}: that cleared 64 KiB per request, most of
         * htparser's user time (callgrind). */
        d->len = d->n_headers = 0;
        d->overflow = false;
        datagram_put(d, h->method, REQ_METHOD_MAX);
        datagram_put(d, h->target, REQ_URL_MAX);
        datagram_put(d, h->version, REQ_VERSION_MAX);
        datagram_put(d, rest, REQ_URL_MAX);
        for (size_t i = 0; i < h->n_headers; i++) {
                const HttpHeader *hd = &h->headers[i];

                /* Only htparser speaks for itself under X-Ash-. */
                if (strncasecmp(hd->name, REQ_ASH_PREFIX, strlen(REQ_ASH_PREFIX)) == 0)
                        continue;
                /* The body reaches the handler de-chunked and ends at EOF. */
                if (strcasecmp(hd->name, "Transfer-Encoding") == 0)
                        continue;
                if (strcasecmp(hd->name, "Host") == 0) {
                        /* An absolute-form target names the host (RFC 9112 §3.2.2). */
                        if (host_seen)
                                continue;
                        host_seen = true;
                        datagram_header(d, "Host", h->host ? h->host : hd->value);
                        continue;
                }
                datagram_header(d, hd->name, hd->value);
        }
        if (!host_seen && h->host && *h->host)
                datagram_header(d, "Host", h->host);
        datagram_trusted_headers(d, c);
        datagram_put(d, "", 0);
        return d->overflow ? 431 : 0;
}

/* Tells a client that waits with its body (Expect: 100-continue) to send
 * it: when the handler asks for the body with an interim 100 of its own
 * (see X-Ash-Expect), or when it neither asked nor answered in time. Never
 * after the final response head, and never twice. */
static void conn_send_continue(Conn *c) {
        static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

        if (!c->expect_pending || c->resp_head_done)
                return;
        c->expect_pending = false;
        if (conn_out_append(c, msg, sizeof(msg) - 1) < 0)
                return;
        if (conn_flush(c) == 0)
                conn_set_events(c, EPOLLIN | EPOLLOUT);
}

/* Writes pending body bytes to the handler and decodes more. */
static void conn_pump_body(Conn *c) {
        for (;;) {
                if (c->body_pending > 0) {
                        ssize_t n;

                        if (c->body_discard)
                                n = c->body_pending;
                        else {
                                n = send(c->resp_fd, c->in + c->in_pos, c->body_pending,
                                         MSG_NOSIGNAL | MSG_DONTWAIT);
                                if (n < 0) {
                                        if (errno == EINTR)
                                                continue;
                                        if (errno == EAGAIN && c->resp_io.active) {
                                                watch_set_events(c->server, &c->resp_io, EPOLLIN | EPOLLOUT);
                                                conn_set_events(c, c->out_len > c->out_pos ? EPOLLOUT : 0);
                                                return;
                                        }
                                        /* The handler does not want the body: its
                                         * response decides, the rest is dropped. */
                                        c->body_discard = true;
                                        continue;
                                }
                        }
                        c->in_pos += n;
                        c->body_pending -= n;
                        continue;
                }
                if (c->body_done) {
                        /* A protocol switch may follow: the way to the handler
                         * stays open until its head says whether it does. */
                        if (c->upgrade && !c->resp_head_done)
                                return;
                        if (!c->body_sent) {
                                c->body_sent = true;
                                if (c->resp_fd >= 0)
                                        shutdown(c->resp_fd, SHUT_WR);
                                if (c->resp_io.active)
                                        watch_set_events(c->server, &c->resp_io, EPOLLIN);
                        }
                        return;
                }

                /* Take more body out of what was read. */
                size_t avail = c->in_len - c->in_pos;
                if (avail > 0) {
                        if (c->body_chunked) {
                                size_t consumed = 0, produced = 0;
                                int r = http_chunked_decode(&c->chunked, c->in + c->in_pos, avail,
                                                            c->in + c->in_pos, &consumed, &produced);
                                if (r < 0) {
                                        conn_fail(c, r == -E2BIG ? 431 : 400);
                                        return;
                                }
                                /* Decoded bytes sit at in_pos; move the
                                 * undecoded rest right behind them. */
                                memmove(c->in + c->in_pos + produced, c->in + c->in_pos + consumed,
                                        avail - consumed);
                                c->in_len -= consumed - produced;
                                if ((uint64_t) produced > (uint64_t) c->body_remaining) {
                                        conn_fail(c, 413);
                                        return;
                                }
                                c->body_remaining -= produced;
                                c->body_pending = produced;
                                if (r == 1)
                                        c->body_done = true;
                        } else {
                                size_t n = (uint64_t) c->body_remaining < avail ? (size_t) c->body_remaining
                                                                                : avail;
                                c->body_pending = n;
                                c->body_remaining -= n;
                                if (c->body_remaining == 0)
                                        c->body_done = true;
                        }
                        if (c->body_pending > 0 || c->body_done)
                                continue;
                }
                /* Need more from the client. */
                conn_set_events(c, EPOLLIN | (c->out_len > c->out_pos ? EPOLLOUT : 0));
                timer_set(c, c->expect_pending ? TIMER_EXPECT : c->duplex ? TIMER_HANDLER : TIMER_BODY);
                return;
        }
}

/* The zero-copy extension: a handler that saw X-Ash-Accept-Body-Fd may
 * attach an open file to its head with "X-Ash-Body-Fd: OFFSET LENGTH"; that
 * range is the body, sent by us with sendfile(2). Returns 0, or -EBADMSG for
 * a header that does not fit the file it came with. */
static int conn_take_body_fd(Conn *c, const HttpResponseHead *h) {
        const char *range = http_response_header(h, "X-Ash-Body-Fd"), *p;
        uint64_t offset = 0, length = 0;
        struct stat st;

        if (!range) {
                /* A file without the header is not ours to send. */
                c->body_fd = safe_close(c->body_fd);
                return 0;
        }
        /* "OFFSET LENGTH", decimal. The fstat() stays: a handler (a user's,
         * too) must not make us sendfile() from a pipe that blocks. */
        p = decimal_parse_u64(range, &offset);
        if (p && *p == ' ')
                p = decimal_parse_u64(p + 1, &length);
        else
                p = NULL;
        if (c->body_fd < 0 || !p || *p != 0 || fstat(c->body_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            offset > (uint64_t) st.st_size || length > (uint64_t) st.st_size - offset) {
                c->body_fd = safe_close(c->body_fd);
                return -EBADMSG;
        }
        c->body_offset = offset;
        c->body_length = length;
        return 0;
}

/* A small file is read right behind the head and goes out with it in one
 * send(): over plain TCP that costs less than send(MSG_MORE) + sendfile()
 * (measured: 1.5-2.7 µs less of htparser per 1 KiB request; the copy is
 * cheaper than splicing a page), and over TLS without kernel TLS, where the
 * file is read and encrypted anyway, head and body make one record and one
 * write instead of two of each (htparser spent 18 µs per TLS request against
 * nginx's 5). If the file comes up short, the sendfile path finds out and
 * ends the connection. */
static void conn_inline_small_file(Conn *c) {
        size_t room = CONN_OUT_SIZE - c->out_len;
        ssize_t n;

        if (!c->tls_conn && room > CONN_INLINE_PLAIN_MAX)
                room = CONN_INLINE_PLAIN_MAX;
        if (c->body_fd < 0 || c->body_length == 0 || c->body_length > room)
                return;
        do
                n = pread(c->body_fd, c->out + c->out_len, c->body_length, c->body_offset);
        while (n < 0 && errno == EINTR);
        if (n < 0 || (uint64_t) n != c->body_length)
                return;
        c->out_len += n;
        c->bytes_sent += n;
        c->body_length = 0;
        c->body_fd = safe_close(c->body_fd);
}

/* Parses the handler's response head and queues the client's. */
static int conn_start_response(Conn *c) {
        HttpResponseHead h;
        char head[CONN_OUT_SIZE];
        size_t head_len, extra;
        int n, r;

        r = http_response_head_end(c->rhead, c->rhead_len, &head_len);
        if (r < 0)
                return 502;
        if (r == 0)
                return c->resp_eof ? 502 : 0;
        if (http_parse_response_head(c->rhead, head_len, &h) < 0)
                return 502;
        {
                const char *sw = http_response_header(&h, "X-Ash-Switch");
                c->duplex = sw && strcasecmp(sw, "duplex") == 0;
        }
        if (h.status < 200 && !(h.status == 101 && c->duplex)) {
                /* A 100 from the handler means it reads the body now; other
                 * interim responses are dropped (101 is the duplex switch's,
                 * not an interim one). */
                if (h.status == 100)
                        conn_send_continue(c);
                memmove(c->rhead, c->rhead + head_len, c->rhead_len - head_len);
                c->rhead_len -= head_len;
                return conn_start_response(c);
        }

        c->status = h.status;
        c->expect_pending = false;
        if (c->duplex) {
                /* From now on whatever either side sends goes to the other:
                 * bytes after the request head are the new protocol's. */
                c->body_chunked = false;
                c->body_done = c->body_discard = false;
                c->body_remaining = INT64_MAX;
                c->body_fd = safe_close(c->body_fd);
        } else if (c->upgrade && c->body_done && !c->body_sent) {
                c->body_sent = true;
                shutdown(c->resp_fd, SHUT_WR);
        }
        n = conn_take_body_fd(c, &h);
        if (n < 0)
                return 502;
        n = respond_head(head, sizeof(head), c, &h);
        if (n < 0)
                return 502;
        c->resp_head_done = true;
        if (c->body_fd >= 0) {
                if (c->framing == FRAMING_NONE)
                        c->body_fd = safe_close(c->body_fd);
                /* The file is the whole body: nothing to wait for from the handler. */
                c->resp_remaining = 0;
        }
        if (conn_out_append(c, head, n) < 0)
                return 502;

        if (c->duplex)
                conn_set_events(c, EPOLLIN | EPOLLOUT);

        /* Body bytes that came with the head (none when a file is the body). */
        extra = c->body_fd >= 0 ? 0 : c->rhead_len - head_len;
        if (extra > 0) {
                memmove(c->rhead, c->rhead + head_len, extra);
                c->rhead_len = extra;
        } else
                c->rhead_len = 0;
        conn_inline_small_file(c);
        return -1; /* head done */
}

/* Frames body bytes from the handler for the client. */
static int conn_queue_body(Conn *c, const char *data, size_t len) {
        char line[CHUNK_HEADROOM];
        int n, r;

        if (len == 0 || c->framing == FRAMING_NONE)
                return 0;
        if (c->framing == FRAMING_LENGTH) {
                if ((int64_t) len > c->resp_remaining)
                        len = c->resp_remaining; /* the handler lied: send what was promised */
                c->resp_remaining -= len;
        }
        if (c->framing == FRAMING_CHUNKED) {
                n = snprintf(line, sizeof(line), "%zx\r\n", len);
                if ((r = conn_out_append(c, line, n)) < 0)
                        return r;
        }
        if ((r = conn_out_append(c, data, len)) < 0)
                return r;
        if (c->framing == FRAMING_CHUNKED)
                if ((r = conn_out_append(c, "\r\n", 2)) < 0)
                        return r;
        c->bytes_sent += len;
        return 0;
}

/* Whether everything the client will get is queued, though the handler may
 * not have closed its socket yet: HEAD, 204 and 304 need nothing after the
 * head, and a body of announced length ends at its last byte. Finishing
 * here spares keep-alive clients a wait for the handler's close. */
static bool conn_response_complete(const Conn *c) {
        if (c->body_fd >= 0)
                return true; /* the rest is the file, sent from write_ready */
        return c->framing == FRAMING_NONE || (c->framing == FRAMING_LENGTH && c->resp_remaining == 0);
}

/* The handler's response has ended (EOF on the response socket). */
static void conn_response_ended(Conn *c) {
        c->resp_eof = true;
        /* What the handler still writes is not wanted, nor does it get
         * more of the request body. */
        conn_close_resp(c);
        c->body_discard = true;
        if (c->framing == FRAMING_CHUNKED)
                (void) conn_out_append(c, "0\r\n\r\n", 5);
        if (c->framing == FRAMING_LENGTH && c->resp_remaining > 0)
                /* Fewer bytes than promised: the client can only tell by
                 * the connection closing. */
                c->keep_alive = false;
        if (c->framing == FRAMING_CLOSE)
                c->keep_alive = false;
        conn_write_ready(c);
}

/* Reads what the handler wrote. */
static void conn_read_response(Conn *c) {
        char buf[CONN_OUT_SIZE - CHUNK_HEADROOM - 8];
        ssize_t n;
        int r;

        if (!c->resp_head_done) {
                if (!c->rhead) {
                        c->rhead = server_buffer_get(c->server, BUFFER_LARGE);
                        if (!c->rhead) {
                                conn_fail(c, 500);
                                return;
                        }
                }
                {
                        size_t got = 0;
                        int rfd = -EBADF;

                        /* The head may come with the file to send as the
                         * body (the zero-copy extension). */
                        r = fdpass_recv(c->resp_fd, c->rhead + c->rhead_len, HTTP_HEAD_MAX - c->rhead_len,
                                        FDPASS_DONTWAIT, &got, &rfd);
                        if (r == -EAGAIN)
                                return;
                        if (rfd >= 0) {
                                if (c->body_fd < 0)
                                        c->body_fd = rfd;
                                else
                                        safe_close(rfd);
                        }
                        if (r <= 0)
                                c->resp_eof = true;
                        else
                                c->rhead_len += got;
                }
                r = conn_start_response(c);
                if (r > 0) {
                        log_fields(LOG_WARNING,
                                   (const LogField[]){{"HANDLER", c->server->root_name}, {NULL}},
                                   "Handler %s sent no valid response head", c->server->root_name);
                        conn_fail(c, r);
                        return;
                }
                if (r == 0)
                        return;
                /* Body bytes that came with the head are relayed from
                 * conn_write_ready as the client takes them. */
                c->rhead_pos = 0;
                if (c->rhead_len == 0 && (c->resp_eof || conn_response_complete(c))) {
                        conn_response_ended(c);
                        return;
                }
                conn_write_ready(c);
                return;
        }

        /* One read per wake-up, and only when the client has taken the last. */
        if (c->out_len > c->out_pos) {
                if (c->resp_io.active)
                        watch_set_events(c->server, &c->resp_io, c->body_pending > 0 ? EPOLLOUT : 0);
                return;
        }
        if (c->rhead_len > c->rhead_pos) {
                /* Body bytes that came in with the head go first. */
                n = c->rhead_len - c->rhead_pos;
                if ((size_t) n > sizeof(buf))
                        n = sizeof(buf);
                memcpy(buf, c->rhead + c->rhead_pos, n);
                c->rhead_pos += n;
        } else {
                do
                        n = recv(c->resp_fd, buf, sizeof(buf), MSG_DONTWAIT);
                while (n < 0 && errno == EINTR);
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        conn_response_ended(c);
                        return;
                }
        }
        if (conn_queue_body(c, buf, n) < 0) {
                conn_abort(c);
                return;
        }
        if (conn_response_complete(c)) {
                conn_response_ended(c);
                return;
        }
        conn_write_ready(c);
}

static int conn_resp_io(Watch *w, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;

        if (revents & EPOLLOUT) {
                conn_pump_body(c);
                if (c->state != CONN_EXCHANGE)
                        return 0;
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read_response(c);
        return 0;
}

/* Hands a complete, parsed request to the root handler. */
static void conn_start_exchange(Conn *c, HttpRequestHead *h) {
        Server *s = c->server;
        static Datagram datagram;
        _cleanup_close_ int theirs = -EBADF;
        int pair[2], status, r;

        sd_event_now(s->event, CLOCK_REALTIME, &c->started_usec);
        s->stats.requests++;
        c->state = CONN_EXCHANGE;
        c->method = h->method;
        c->target = h->target;
        c->host = h->host;
        c->referer = http_request_header(h, "Referer");
        c->user_agent = http_request_header(h, "User-Agent");
        c->minor = h->minor;
        c->keep_alive = h->keep_alive;
        c->head_request = strcmp(h->method, "HEAD") == 0;
        c->served = true;
        c->body_chunked = h->chunked;
        /* For a chunked body, what --max-body still allows. */
        c->body_remaining = h->chunked ? (int64_t) (s->max_body > INT64_MAX ? INT64_MAX : s->max_body)
                            : h->content_length > 0 ? h->content_length
                                                    : 0;
        c->body_done = !h->chunked && c->body_remaining == 0;
        c->body_sent = c->body_discard = false;
        c->body_pending = 0;
        c->chunked = (HttpChunked){};
        c->resp_head_done = c->resp_eof = false;
        c->rhead_len = 0;
        c->framing = FRAMING_NONE;
        c->resp_remaining = 0;
        c->status = 0;
        c->bytes_sent = 0;
        c->in_pos = c->head_len;
        c->expect_pending = h->expect_continue && !c->body_done && c->in_len == c->in_pos;
        c->upgrade = h->upgrade;
        c->duplex = false;

        /* htparser is no forward proxy: a tunnel request is refused by
         * name rather than as a malformed target. */
        if (strcmp(h->method, "CONNECT") == 0) {
                conn_fail(c, 501);
                return;
        }
        if (h->content_length > 0 && (uint64_t) h->content_length > s->max_body) {
                conn_fail(c, 413);
                return;
        }

        status = conn_encode_request(c, h, &datagram);
        if (status > 0) {
                conn_fail(c, status);
                return;
        }

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
                log_warning("Failed to make a response socket: %m");
                conn_fail(c, 503);
                return;
        }
        /* Our end is used with MSG_DONTWAIT, not O_NONBLOCK: the flag is
         * the open file's, and setting it would cost a call per request. The
         * handler's end stays blocking, as ashd(7) handlers expect. */
        c->resp_fd = pair[0];
        theirs = pair[1];

        r = upstream_send_datagram(s->root, datagram.buf, datagram.len, theirs);
        if (r < 0) {
                const LogField fields[] = {
                        {"MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE},
                        {"HANDLER", s->root_name},
                        {"SOCKET", s->root_name},
                        {NULL},
                };
                if (r == -EPERM)
                        log_fields(
                                LOG_ERR, fields,
                                "Root handler %s refused: its listener runs as uid %u, neither root nor us",
                                s->root_name, (unsigned) upstream_peer_uid(s->root));
                else
                        log_fields(LOG_ERR, fields, "Root handler %s is not available: %s", s->root_name,
                                   strerror(-r));
                conn_fail(c, r == -EMSGSIZE ? 431 : 503);
                return;
        }
        theirs = safe_close(theirs);

        r = watch_add(s, &c->resp_io, c->resp_fd, EPOLLIN, conn_resp_io, c);
        if (r < 0) {
                conn_fail(c, 500);
                return;
        }
        timer_set(c, TIMER_HANDLER);
        /* The client's EPOLLIN stays armed while the handler works: most
         * clients send nothing then, and turning it off and on again cost
         * two epoll_ctl() per request. conn_io() turns it off if they do. */
        conn_pump_body(c);
}

/* Looks for a complete request in the in buffer and starts it. */
static void conn_process(Conn *c) {
        HttpRequestHead h;
        size_t head_len;
        int status = 0, r;

        r = http_request_head_end(c->in, c->in_len, &head_len, &status);
        if (r < 0) {
                conn_fail(c, status);
                return;
        }
        if (r == 0) {
                if (c->in_len > 0)
                        /* Started by the first byte and never restarted:
                         * a head trickled in a byte at a time still has
                         * --head-timeout in all. */
                        if (c->timer_kind != TIMER_HEAD)
                                timer_set(c, TIMER_HEAD);
                return;
        }
        c->head_len = head_len;
        r = http_parse_request_head(c->in, head_len, &h, &status);
        if (r < 0) {
                c->head_request = false;
                conn_fail(c, status);
                return;
        }
        conn_start_exchange(c, &h);
}

static int conn_io(Watch *w, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;
        ssize_t n;

        if (c->tls_want) {
                /* The TLS library waited for this socket event to finish a
                 * read (or write): retry that one. */
                if (c->tls_want & revents & EPOLLOUT)
                        revents = (revents & ~EPOLLOUT) | EPOLLIN;
                else if (c->tls_want & revents & EPOLLIN)
                        revents = (revents & ~EPOLLIN) | EPOLLOUT;
                c->tls_want = 0;
        }
        if (revents & EPOLLOUT) {
                conn_write_ready(c);
                return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        if (c->state == CONN_EXCHANGE && c->body_done && !c->duplex && !(revents & (EPOLLHUP | EPOLLERR))) {
                /* Bytes after the request while it is with the handler (a
                 * pipelined request, or a half close): they wait in the
                 * socket until the exchange is done (see conn_start_exchange). */
                conn_set_events(c, c->io.events & ~EPOLLIN);
                return 0;
        }

        n = conn_read(c);
        if (n == -EAGAIN)
                return 0;
        if (n == -ENOBUFS && c->state == CONN_READ_HEAD) {
                conn_fail(c, 431);
                return 0;
        }
        if (n == -ENOBUFS) {
                conn_set_events(c, 0);
                return 0;
        }
        if (n == 0 && c->duplex && !c->body_done) {
                /* The client is done sending; the handler may still talk. */
                c->body_done = true;
                c->body_sent = true;
                if (c->resp_fd >= 0)
                        shutdown(c->resp_fd, SHUT_WR);
                conn_set_events(c, c->out_len > c->out_pos ? EPOLLOUT : 0);
                return 0;
        }
        if (n <= 0) {
                /* The client closed or failed. A request half sent is lost;
                 * one that is with the handler is abandoned. */
                if (c->state == CONN_EXCHANGE && c->started_usec > 0) {
                }
                conn_abort(c);
                return 0;
        }
        if (c->state == CONN_READ_HEAD) {
                if (c->timer_kind != TIMER_HEAD)
                        timer_set(c, TIMER_HEAD);
                conn_process(c);
        } else if (c->state == CONN_EXCHANGE) {
                /* A client may send its body without waiting (RFC 9110 §10.1.1). */
                c->expect_pending = false;
                timer_set(c, c->duplex ? TIMER_HANDLER : TIMER_BODY);
                conn_pump_body(c);
        }
        return 0;
}

void conn_timeout(Conn *c, TimerKind kind) {
        switch (kind) {
        case TIMER_IDLE:
                conn_free(c);
                break;
        case TIMER_HEAD:
                conn_fail(c, 408);
                break;
        case TIMER_BODY:
                /* After the response has begun, a 408 would land inside it. */
                if (c->resp_head_done)
                        conn_abort(c);
                else
                        conn_fail(c, 408);
                break;
        case TIMER_EXPECT:
                /* The handler does not know the extension: let the body come. */
                conn_send_continue(c);
                timer_set(c, TIMER_BODY);
                break;
        case TIMER_HANDLER:
                if (c->resp_head_done)
                        conn_abort(c);
                else {
                        log_fields(LOG_WARNING,
                                   (const LogField[]){{"HANDLER", c->server->root_name}, {NULL}},
                                   "Handler %s sent no response in time", c->server->root_name);
                        conn_fail(c, 504);
                }
                break;
        default:
                /* A client that does not take its response in time. */
                conn_abort(c);
                break;
        }
}

bool conn_close_if_idle(Conn *c) {
        if (c->state != CONN_READ_HEAD || c->in_len > 0)
                return false;
        /* A client closed between requests retries on a new connection; one
         * whose first request has not arrived yet would see a plain failure,
         * so it gets to send it (within the drain's time). */
        if (!c->served)
                return false;
        conn_free(c);
        return true;
}
