/* SPDX-License-Identifier: MIT */
#pragma once

/* One client connection and the request exchange it is in. */

#include "htparser.h"
#include "tls.h"

typedef enum ConnState {
        CONN_READ_HEAD, /* waiting for (the rest of) a request head */
        CONN_EXCHANGE,  /* a request is with the handler */
        CONN_CLOSING,   /* writing the last bytes, then close */
} ConnState;

typedef enum RespFraming {
        FRAMING_NONE,    /* no body (HEAD, 1xx, 204, 304) */
        FRAMING_LENGTH,  /* Content-Length from the handler */
        FRAMING_CHUNKED, /* chunked by us for an HTTP/1.1 client */
        FRAMING_CLOSE,   /* delimited by closing the connection */
        FRAMING_DUPLEX,  /* after X-Ash-Switch: duplex, raw bytes both ways until either side closes */
} RespFraming;

struct Conn {
        Server *server;
        Conn *prev, *next;
        Conn *timer_prev, *timer_next;
        TimerKind timer_kind;
        uint64_t deadline;

        int fd;
        Watch io;
        uint64_t id;
        Address peer, local;
        bool tls;
        TlsConn *tls_conn;
        uint32_t tls_want; /* events the TLS library waits for besides ours */
        ConnState state;
        bool served; /* an exchange has started on it */

        /* Request bytes: the head stays at the start while its exchange
         * runs (the access log and the datagram point into it); body and
         * pipelined bytes follow. */
        char *in;
        size_t in_len, head_len, in_pos;

        /* The current exchange. */
        int resp_fd; /* our end of the response socket */
        Watch resp_io;
        uint64_t started_usec;
        const char *method, *target, *host, *referer, *user_agent;
        int minor;
        bool keep_alive;
        bool head_request;
        bool expect_pending;
        bool logged;  /* the access entry of this exchange is written */
        bool upgrade; /* the request asked for a protocol switch */
        bool duplex; /* and the handler switched: raw relay both ways */ /* the client waits for 100 Continue
                                                                            before its body */

        /* Request body toward the handler. */
        bool body_chunked;
        bool body_done;         /* all body bytes read from the client */
        bool body_sent;         /* ... and written to the handler (or dropped) */
        bool body_discard;      /* the handler stopped reading: drop the rest */
        int64_t body_remaining; /* Content-Length bytes still to read */
        size_t body_pending;    /* decoded bytes at in + in_pos ready to write */
        HttpChunked chunked;

        /* Response from the handler. */
        char *rhead; /* its head while it arrives */
        size_t rhead_len, rhead_pos;
        bool resp_head_done;
        bool resp_eof;
        RespFraming framing;
        int64_t resp_remaining;
        int status;
        uint64_t bytes_sent; /* body bytes sent to the client */
        int body_fd;         /* a file the handler gave as the body */
        off_t body_offset;
        uint64_t body_length;

        /* Bytes on their way to the client. */
        char *out;
        size_t out_pos, out_len;
};
