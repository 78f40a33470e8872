/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respond.h"
#include "response.h"
#include "textbuf.h"

int respond_error_page(char *buf, size_t size, int status, const char *date, bool head_only,
                       uint64_t *ret_body_len) {
        TextBuf w = {.buf = buf, .size = size};
        const char *reason = http_status_reason(status);
        char body[512];
        int n;

        n = snprintf(body, sizeof(body),
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, reason, status, reason);
        textbuf_printf(
                &w,
                "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: " SERVER_NAME "\r\n"
                "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
                status, reason, date, n);
        if (!head_only)
                textbuf_put(&w, body, n);
        if (w.overflow)
                return -ENOBUFS;
        *ret_body_len = head_only ? 0 : (uint64_t) n;
        return (int) w.len;
}

/* Headers that describe one connection, not the message (RFC 9110 §7.6.1),
 * and the ones htparser sets itself. By first letter: nine strcasecmp()
 * per header of every response showed in callgrind. */
static bool header_is_ours(const char *name) {
        switch (name[0] | 0x20) {
        case 'c':
                return strcasecmp(name, "Connection") == 0 || strcasecmp(name, "Content-Length") == 0;
        case 'd':
                return strcasecmp(name, "Date") == 0;
        case 'k':
                return strcasecmp(name, "Keep-Alive") == 0;
        case 'p':
                return strcasecmp(name, "Proxy-Connection") == 0;
        case 't':
                return strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "TE") == 0 ||
                       strcasecmp(name, "Trailer") == 0;
        case 'u':
                return strcasecmp(name, "Upgrade") == 0;
        case 'x':
                return strncasecmp(name, "X-Ash-", 6) == 0;
        default:
                return false;
        }
}

/* A Content-Length value: digits only, no overflow; -1 if invalid. */
static int64_t parse_length(const char *v) {
        int64_t n = 0;

        if (!*v)
                return -1;
        for (; *v; v++) {
                if (*v < '0' || *v > '9' || n > (INT64_MAX - 9) / 10)
                        return -1;
                n = n * 10 + (*v - '0');
        }
        return n;
}

int respond_head(char *buf, size_t size, Conn *c, const HttpResponseHead *h) {
        TextBuf w = {.buf = buf, .size = size};
        const char *length = http_response_header(h, "Content-Length");
        const char *reason = h->reason && *h->reason ? h->reason : http_status_reason(h->status);
        bool no_body = c->head_request || h->status < 200 || h->status == 204 || h->status == 304;
        bool server_seen = false;
        /* With a file as the body, its range is the length. */
        int64_t n = c->body_fd >= 0 ? (int64_t) c->body_length : length ? parse_length(length) : -1;

        if (c->duplex) {
                c->framing = FRAMING_DUPLEX;
                c->keep_alive = false;
        } else if (no_body)
                c->framing = FRAMING_NONE;
        else if (n >= 0) {
                c->framing = FRAMING_LENGTH;
                c->resp_remaining = n;
        } else if (c->minor >= 1)
                c->framing = FRAMING_CHUNKED;
        else {
                c->framing = FRAMING_CLOSE;
                c->keep_alive = false;
        }
        /* Draining, or a request body not (yet) all read: the connection
         * ends after this response, and the client is told. */
        if (c->server->draining || !c->body_done)
                c->keep_alive = false;

        textbuf_puts(&w, "HTTP/1.1 ");
        textbuf_put_u64(&w, (uint64_t) h->status);
        textbuf_put(&w, " ", 1);
        textbuf_puts(&w, reason);
        textbuf_puts(&w, "\r\nDate: ");
        textbuf_puts(&w, server_date(c->server));
        textbuf_put(&w, "\r\n", 2);
        for (size_t i = 0; i < h->n_headers; i++) {
                const HttpHeader *hd = &h->headers[i];

                if (header_is_ours(hd->name) && !(c->duplex && strcasecmp(hd->name, "Upgrade") == 0))
                        continue;
                if (strcasecmp(hd->name, "Server") == 0)
                        server_seen = true;
                textbuf_puts(&w, hd->name);
                textbuf_put(&w, ": ", 2);
                textbuf_puts(&w, hd->value);
                textbuf_put(&w, "\r\n", 2);
        }
        if (!server_seen)
                textbuf_puts(&w, "Server: " SERVER_NAME "\r\n");
        /* A HEAD response keeps the length a GET would have had; 204 and
         * 1xx never carry one (RFC 9110 §8.6). */
        if (c->framing == FRAMING_LENGTH ||
            (c->head_request && n >= 0 && h->status >= 200 && h->status != 204)) {
                textbuf_puts(&w, "Content-Length: ");
                textbuf_put_u64(&w, (uint64_t) n);
                textbuf_put(&w, "\r\n", 2);
        }
        if (c->framing == FRAMING_CHUNKED)
                textbuf_puts(&w, "Transfer-Encoding: chunked\r\n");
        if (c->duplex && h->status == 101)
                textbuf_puts(&w, "Connection: Upgrade\r\n");
        else if (!c->keep_alive)
                textbuf_puts(&w, "Connection: close\r\n");
        else if (c->minor == 0)
                textbuf_puts(&w, "Connection: keep-alive\r\n");
        textbuf_put(&w, "\r\n", 2);
        return w.overflow ? -ENOBUFS : (int) w.len;
}
