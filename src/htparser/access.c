/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "decimal.h"
#include "log.h"
#include "messages.h"

/* Copies untrusted text for the MESSAGE line the way Combined Log Format
 * readers expect: quotes, backslashes and anything unprintable as \xHH. */
static void clf_escape(char *out, size_t size, const char *in) {
        size_t o = 0;

        if (!in || !*in)
                in = "-";
        for (; *in && o + 5 < size; in++) {
                unsigned char ch = *in;

                if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
                        o += snprintf(out + o, size - o, "\\x%02X", ch);
                else
                        out[o++] = ch;
        }
        out[o] = 0;
}

/* One journal entry per request: Combined Log Format in MESSAGE, each part
 * in a field of its own. */
void access_log_entry(const Conn *c) {
        Server *s = c->server;
        char addr[INET6_ADDRSTRLEN], port[DECIMAL_MAX], status[DECIMAL_MAX], bytes[DECIMAL_MAX],
                duration[DECIMAL_MAX];
        char method[64], target[1024], referer[512], agent[512];
        uint64_t now;
        time_t t;
        struct tm tm;

        if (c->status >= 500)
                s->stats.status_5xx++;
        else if (c->status >= 400)
                s->stats.status_4xx++;
        if (!s->access_log)
                return;

        sd_event_now(s->event, CLOCK_REALTIME, &now);
        address_format(&c->peer, addr);
        decimal_u64(port, c->peer.port);
        decimal_u64(status, (uint64_t) c->status);
        decimal_u64(bytes, c->bytes_sent);
        decimal_u64(duration, c->started_usec ? now - c->started_usec : 0);
        /* Formatted once per second, not per request. */
        t = c->started_usec / 1000000;
        if (t != s->log_time_t) {
                localtime_r(&t, &tm);
                strftime(s->log_time, sizeof(s->log_time), "%d/%b/%Y:%H:%M:%S %z", &tm);
                s->log_time_t = t;
        }
        clf_escape(method, sizeof(method), c->method);
        clf_escape(target, sizeof(target), c->target);
        clf_escape(referer, sizeof(referer), c->referer);
        clf_escape(agent, sizeof(agent), c->user_agent);

        log_fields(LOG_INFO,
                   (const LogField[]){
                           {"MESSAGE_ID", MESSAGE_ID_ACCESS},
                           {"HTTP_METHOD", c->method ? c->method : ""},
                           {"HTTP_URL", c->target ? c->target : ""},
                           {"HTTP_VERSION", c->method ? (c->minor ? "HTTP/1.1" : "HTTP/1.0") : ""},
                           {"HTTP_STATUS", status},
                           {"HTTP_BYTES", bytes},
                           {"HTTP_DURATION_USEC", duration},
                           {"HTTP_HOST", c->host ? c->host : ""},
                           {"HTTP_REFERER", c->referer ? c->referer : ""},
                           {"HTTP_USER_AGENT", c->user_agent ? c->user_agent : ""},
                           {"REMOTE_ADDR", addr},
                           {"REMOTE_PORT", port},
                           {"TLS", c->tls ? "1" : "0"},
                           {NULL},
                   },
                   "%s - - [%s] \"%s %s HTTP/1.%d\" %d %" PRIu64 " \"%s\" \"%s\"", *addr ? addr : "-",
                   s->log_time, method, target, c->minor, c->status, c->bytes_sent, referer, agent);
}
