/* SPDX-License-Identifier: MIT */
#pragma once

/* htparser: the HTTP/1.x front. It accepts client connections, parses each
 * request, hands it to the root handler with a fresh response socket, feeds
 * the request body into that socket and relays what the handler writes back,
 * framed for the client. It knows nothing about files or sites. */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>

#include "http.h"
#include "tls.h"
#include "upstream.h"

#define SERVER_NAME "ashd"

/* Buffers: allocated when a connection needs them and released when it goes
 * idle, so that an idle keep-alive connection costs only its Conn. */
#define CONN_IN_SIZE  HTTP_HEAD_MAX /* request head, then body bytes */
#define CONN_OUT_SIZE (16 * 1024)   /* response bytes on their way to the client */
/* Files up to this size go out copied behind their head over plain TCP,
 * larger ones with sendfile() (conn.c, conn_inline_small_file). */
#define CONN_INLINE_PLAIN_MAX (8 * 1024)
#define CHUNK_HEADROOM        18 /* room for a chunk-size line before data */

typedef enum TimerKind {
        TIMER_IDLE,    /* keep-alive, waiting for a request */
        TIMER_HEAD,    /* a request head has begun to arrive */
        TIMER_BODY,    /* request body progress */
        TIMER_HANDLER, /* waiting for the handler's response head */
        TIMER_SEND,    /* the client is slow to take the response */
        TIMER_EXPECT,  /* Expect: 100-continue, neither 100 nor a response from the handler yet */
        _TIMER_MAX,
        TIMER_NONE = -1,
} TimerKind;

typedef struct Server Server;

/* Buffers are reused across requests and connections rather than
 * allocated for each: BUFFER_LARGE holds a request or response head
 * (CONN_IN_SIZE, HTTP_HEAD_MAX), BUFFER_SMALL the bytes on their way out. */
typedef enum BufferKind {
        BUFFER_LARGE,
        BUFFER_SMALL,
        _BUFFER_KIND_MAX,
} BufferKind;
#define BUFFER_POOL_MAX 64 /* free buffers kept per kind; more are freed */
typedef struct Conn Conn;

/* A file descriptor in the poller's epoll set (poller.c). */
#define POLLER_BATCH 256
typedef struct Watch Watch;
typedef int (*watch_fn)(Watch *w, int fd, uint32_t revents, void *userdata);
struct Watch {
        int fd;
        uint32_t events;
        bool active;
        watch_fn callback;
        void *userdata;
};

/* Connections waiting in one state, in the order their deadlines expire:
 * every connection in a list got the same timeout, so appending keeps the
 * list sorted and one timer per list is enough. */
typedef struct TimerList {
        Conn *first, *last;
        uint64_t timeout_usec;
        sd_event_source *source;
} TimerList;

typedef struct Address {
        sa_family_t family;
        in_port_t port; /* host order */
        uint8_t addr[16];
} Address;

typedef struct Listener {
        Server *server;
        int fd;
        bool tls;
        char *name;
        sd_event_source *source;
        /* Its bound address when that is every connection's local address
         * (not a wildcard): no getsockname() per connection then. */
        bool local_looked_up, local_fixed;
        Address local;
} Listener;

typedef struct Stats {
        uint64_t requests;
        uint64_t status_4xx;
        uint64_t status_5xx;
} Stats;

struct Server {
        sd_event *event;
        /* poller.c: the connections' own epoll set, one sd-event source */
        int poll_fd;
        sd_event_source *poll_source;
        struct epoll_event *poll_batch;
        size_t poll_batch_len;
        Upstream *root;
        char *root_name;
        Listener *listeners;
        size_t n_listeners;
        Conn *conns;
        size_t n_conns;
        size_t max_conns;
        bool accepting_paused;
        bool draining;
        bool access_log;
        TimerList timers[_TIMER_MAX];
        uint64_t next_id;
        uint64_t max_body;
        uint64_t drain_usec;
        /* TLS: every certificate named on the command line, loaded into
         * one config (SNI chooses); a reload loads them again. */
        TlsCertSpec *certs;
        size_t n_certs;
        bool has_tls_listener;
        TlsConfig *tls;
        Stats stats;
        void *pool[_BUFFER_KIND_MAX][BUFFER_POOL_MAX];
        size_t pool_len[_BUFFER_KIND_MAX];
        char date[30];     /* cached IMF-fixdate */
        char log_time[40]; /* cached Common Log Format time */
        time_t log_time_t;
        time_t date_time;
};

/* poller.c */
int poller_init(Server *s);
void poller_done(Server *s);
int watch_add(Server *s, Watch *w, int fd, uint32_t events, watch_fn callback, void *userdata);
int watch_set_events(Server *s, Watch *w, uint32_t events);
void watch_remove(Server *s, Watch *w);
/* Forgets w without telling epoll: only right before closing its fd. */
void watch_forget(Server *s, Watch *w);

/* server.c */
const char *server_date(Server *s);
void server_conn_closed(Server *s);
void server_update_status(Server *s);
void *server_buffer_get(Server *s, BufferKind kind);
void server_buffer_put(Server *s, BufferKind kind, void *buffer);
void server_buffers_free(Server *s);
int server_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata);
void server_drain(Server *s);
int server_add_cert(Server *s, const char *cert, const char *key);

/* credentials.c: adds each PREFIX_NAME.pem in $CREDENTIALS_DIRECTORY with
 * its PREFIX_NAME.key; returns how many, or -errno (logged). */
int server_add_credential_certs(Server *s, const char *prefix);
/* (Re)loads the certificates; on failure logs and keeps the old ones. */
int server_load_tls(Server *s);

/* timer.c */
int timers_init(Server *s, const uint64_t timeouts_usec[_TIMER_MAX]);
void timers_done(Server *s);
void timer_set(Conn *c, TimerKind kind);

/* conn.c */
void address_format(const Address *a, char buf[static INET6_ADDRSTRLEN]);
int conn_new(Server *s, int fd, Listener *l, const struct sockaddr_storage *peer, socklen_t peer_len);
Conn *conn_free(Conn *c);
void conn_timeout(Conn *c, TimerKind kind);
/* Closes an idle keep-alive connection now (draining). Returns whether it was idle. */
bool conn_close_if_idle(Conn *c);

/* access.c */
void access_log_entry(const Conn *c);
