/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "decimal.h"
#include "macro.h"
#include "request.h"
#include "response.h"

/* Reason phrases as RFC 9110 names them, with the common extensions. */
const char *http_status_reason(int status) {
        switch (status) {
        case 100:
                return "Continue";
        case 101:
                return "Switching Protocols";
        case 103:
                return "Early Hints";
        case 200:
                return "OK";
        case 201:
                return "Created";
        case 202:
                return "Accepted";
        case 203:
                return "Non-Authoritative Information";
        case 204:
                return "No Content";
        case 205:
                return "Reset Content";
        case 206:
                return "Partial Content";
        case 300:
                return "Multiple Choices";
        case 301:
                return "Moved Permanently";
        case 302:
                return "Found";
        case 303:
                return "See Other";
        case 304:
                return "Not Modified";
        case 305:
                return "Use Proxy";
        case 306:
                return "Unused";
        case 307:
                return "Temporary Redirect";
        case 308:
                return "Permanent Redirect";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 402:
                return "Payment Required";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 406:
                return "Not Acceptable";
        case 407:
                return "Proxy Authentication Required";
        case 408:
                return "Request Timeout";
        case 409:
                return "Conflict";
        case 410:
                return "Gone";
        case 411:
                return "Length Required";
        case 412:
                return "Precondition Failed";
        case 413:
                return "Content Too Large";
        case 414:
                return "URI Too Long";
        case 415:
                return "Unsupported Media Type";
        case 416:
                return "Range Not Satisfiable";
        case 417:
                return "Expectation Failed";
        case 418:
                return "I'm a teapot";
        case 421:
                return "Misdirected Request";
        case 422:
                return "Unprocessable Content";
        case 425:
                return "Too Early";
        case 426:
                return "Upgrade Required";
        case 428:
                return "Precondition Required";
        case 429:
                return "Too Many Requests";
        case 431:
                return "Request Header Fields Too Large";
        case 451:
                return "Unavailable For Legal Reasons";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        case 505:
                return "HTTP Version Not Supported";
        case 511:
                return "Network Authentication Required";
        default:
                return "Unknown";
        }
}

static char *put_digits(char *p, unsigned v, size_t width) {
        for (size_t i = width; i > 0; i--) {
                p[i - 1] = (char) ('0' + v % 10);
                v /= 10;
        }
        return p + width;
}

/* Formats an IMF-fixdate by hand: strftime's %a and %b follow the locale.
 * Times that gmtime_r cannot represent in four digits become the epoch. */
void http_date(time_t t, char buf[static 30]) {
        static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        struct tm tm;
        char *p = buf;

        if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
                t = 0;
                gmtime_r(&t, &tm);
        }

        memcpy(p, days[tm.tm_wday], 3);
        p += 3;
        *p++ = ',';
        *p++ = ' ';
        p = put_digits(p, (unsigned) tm.tm_mday, 2);
        *p++ = ' ';
        memcpy(p, months[tm.tm_mon], 3);
        p += 3;
        *p++ = ' ';
        p = put_digits(p, (unsigned) (tm.tm_year + 1900), 4);
        *p++ = ' ';
        p = put_digits(p, (unsigned) tm.tm_hour, 2);
        *p++ = ':';
        p = put_digits(p, (unsigned) tm.tm_min, 2);
        *p++ = ':';
        p = put_digits(p, (unsigned) tm.tm_sec, 2);
        memcpy(p, " GMT", 5);
}

/* Output that is either measured (buf NULL) or written, so that one render
 * function both sizes the single buffer and fills it. */
typedef struct Out {
        char *buf;
        size_t len;
} Out;

static void out_put(Out *o, const char *s, size_t n) {
        if (o->buf)
                memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void out_puts(Out *o, const char *s) {
        out_put(o, s, strlen(s));
}

static void out_number(Out *o, size_t v) {
        char digits[DECIMAL_MAX];

        out_put(o, digits, decimal_u64(digits, v));
}

/* Writes s with the five characters that matter in HTML text and in quoted
 * attributes replaced by entities. */
static void out_html(Out *o, const char *s) {
        for (;;) {
                size_t plain = strcspn(s, "&<>\"'");

                out_put(o, s, plain);
                s += plain;
                switch (*s) {
                case 0:
                        return;
                case '&':
                        out_puts(o, "&amp;");
                        break;
                case '<':
                        out_puts(o, "&lt;");
                        break;
                case '>':
                        out_puts(o, "&gt;");
                        break;
                case '"':
                        out_puts(o, "&quot;");
                        break;
                case '\'':
                        out_puts(o, "&#39;");
                        break;
                }
                s++;
        }
}

/* The small HTML page: reason as title and heading, then message or link. */
static void render_body(Out *o, const char *reason, const char *message, const char *location) {
        out_puts(o, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
        out_html(o, reason);
        out_puts(o, "</title></head>\n<body><h1>");
        out_html(o, reason);
        out_puts(o, "</h1>\n");
        if (message) {
                out_puts(o, "<p>");
                out_html(o, message);
                out_puts(o, "</p>\n");
        }
        if (location) {
                out_puts(o, "<p>See <a href=\"");
                out_html(o, location);
                out_puts(o, "\">");
                out_html(o, location);
                out_puts(o, "</a>.</p>\n");
        }
        out_puts(o, "</body></html>\n");
}

/* The response head; body_len is only used when a body follows. */
static void render_head(Out *o, int status, const char *reason, const char *date, const char *location,
                        bool body, size_t body_len) {
        char code[3];

        put_digits(code, (unsigned) status, 3);
        out_puts(o, "HTTP/1.1 ");
        out_put(o, code, 3);
        out_puts(o, " ");
        out_puts(o, reason);
        out_puts(o, "\r\nDate: ");
        out_puts(o, date);
        out_puts(o, "\r\n");
        if (location) {
                out_puts(o, "Location: ");
                out_puts(o, location);
                out_puts(o, "\r\n");
        }
        if (body) {
                out_puts(o, "Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
                out_number(o, body_len);
                out_puts(o, "\r\n");
        }
        out_puts(o, "\r\n");
}

/* Writes all of buf. send() with MSG_NOSIGNAL, so that a client gone away is
 * -EPIPE rather than a signal; write() for a response fd that is no socket. */
static int write_all(int fd, const char *buf, size_t len) {
        bool socket = true;

        while (len > 0) {
                ssize_t n = socket ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOTSOCK && socket) {
                                socket = false;
                                continue;
                        }
                        return -errno;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Statuses whose responses never carry a body (RFC 9110 §6.4.1): for them
 * only the head is written, without Content-Type and Content-Length. */
static bool status_has_body(int status) {
        return status >= 200 && status != 204 && status != 304;
}

/* Renders the whole response into one buffer (the stack one for the usual
 * small page) and writes it with as few calls as the socket allows. */
static int response_write(int fd, int status, const char *message, const char *location) {
        _cleanup_free_ char *allocated = NULL;
        char stack[2048], date[30];
        const char *reason;
        bool body;
        Out measure = {}, out = {};

        if (status < 100 || status > 999)
                return -EINVAL;

        reason = http_status_reason(status);
        body = status_has_body(status);
        http_date(time(NULL), date);

        if (body)
                render_body(&measure, reason, message, location);
        size_t body_len = measure.len;
        render_head(&measure, status, reason, date, location, body, body_len);

        if (measure.len <= sizeof(stack))
                out.buf = stack;
        else {
                out.buf = allocated = malloc(measure.len);
                if (!allocated)
                        return -ENOMEM;
        }

        render_head(&out, status, reason, date, location, body, body_len);
        if (body)
                render_body(&out, reason, message, location);

        return write_all(fd, out.buf, out.len);
}

int response_simple(int fd, int status, const char *message) {
        return response_write(fd, status, message, NULL);
}

/* A redirect whose Location is refused if it could end the header early. */
int response_redirect(int fd, int status, const char *location) {
        if (!location)
                return -EINVAL;
        for (const char *p = location; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return -EINVAL;

        return response_write(fd, status, NULL, location);
}

int response_continue(int fd, const Request *r) {
        static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
        const char *expect = req_header_get(r, "X-Ash-Expect");
        size_t done = 0;

        if (!expect || strcasecmp(expect, "100-continue") != 0)
                return 0;
        while (done < sizeof(msg) - 1) {
                ssize_t n = send(fd, msg + done, sizeof(msg) - 1 - done, MSG_NOSIGNAL);
                if (n < 0 && errno == ENOTSOCK)
                        n = write(fd, msg + done, sizeof(msg) - 1 - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += n;
        }
        return 1;
}
