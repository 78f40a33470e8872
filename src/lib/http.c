/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/param.h>

#include "http.h"
#include "macro.h"

/* Every byte of a head is classified by one lookup in char_class: these are
 * the classes, as bits, so that one table serves every scanner. */
enum {
        C_TOKEN = 1 << 0,  /* tchar (RFC 9110 §5.6.2) */
        C_VALUE = 1 << 1,  /* field-vchar, SP, HTAB or obs-text: a field value byte */
        C_TARGET = 1 << 2, /* request-target byte: above SP, not DEL (obs-text let through, as nginx does) */
        C_HOST = 1 << 3,   /* reg-name byte: unreserved, sub-delims, '%' (RFC 3986 §3.2.2) */
        C_HEX = 1 << 4,
        C_STOP = 1 << 5,   /* NUL, CR, LF: where the head scanner has to look closer */
        C_QDTEXT = 1 << 6, /* quoted-string text (RFC 9110 §5.6.4) */
};

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_HEX(c)   (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_TCHAR(c)                                                                                         \
        (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||              \
         (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || \
         (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_VALUE(c)  ((c) == '\t' || ((c) >= ' ' && (c) != 0x7f))
#define IS_TARGET(c) ((c) > ' ' && (c) != 0x7f)
#define IS_HOST(c)                                                                                          \
        (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' ||              \
         (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' || (c) == '*' || \
         (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=' || (c) == '%')
#define IS_STOP(c)   ((c) == 0 || (c) == '\r' || (c) == '\n')
#define IS_QDTEXT(c) (IS_VALUE(c) && (c) != '"' && (c) != '\\')

#define CLASS(c)                                                                                     \
        ((IS_TCHAR(c) ? C_TOKEN : 0) | (IS_VALUE(c) ? C_VALUE : 0) | (IS_TARGET(c) ? C_TARGET : 0) | \
         (IS_HOST(c) ? C_HOST : 0) | (IS_HEX(c) ? C_HEX : 0) | (IS_STOP(c) ? C_STOP : 0) |           \
         (IS_QDTEXT(c) ? C_QDTEXT : 0))
#define CLASS4(c)  CLASS(c), CLASS((c) + 1), CLASS((c) + 2), CLASS((c) + 3)
#define CLASS16(c) CLASS4(c), CLASS4((c) + 4), CLASS4((c) + 8), CLASS4((c) + 12)
#define CLASS64(c) CLASS16(c), CLASS16((c) + 16), CLASS16((c) + 32), CLASS16((c) + 48)

static const uint8_t char_class[256] = {CLASS64(0), CLASS64(64), CLASS64(128), CLASS64(192)};

#define CLS(c) char_class[(unsigned char) (c)]

/* Empty lines a client may send before its request line (RFC 9112 §2.2),
 * left over from the body of a previous request; more is not a sloppy
 * client but junk. */
#define LEADING_EMPTY_LINES_MAX 8

static inline bool is_ows(char c) {
        return c == ' ' || c == '\t';
}

/* Eight bytes at a time, for the loops that see every byte of every head:
 * whether any byte of x is below n (n <= 128), the classic borrow trick. It
 * is exact as a yes or no, which is all the callers ask. */
#define BYTES_ONES  UINT64_C(0x0101010101010101)
#define BYTES_HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t load8(const char *p) {
        uint64_t x;

        memcpy(&x, p, sizeof(x));
        return x;
}

static inline bool bytes_any_below(uint64_t x, unsigned n) {
        return ((x - BYTES_ONES * n) & ~x & BYTES_HIGHS) != 0;
}

/* Whether the eight bytes at p are all field value bytes other than HTAB:
 * no control character, no DEL. */
static inline bool bytes_all_value(const char *p) {
        uint64_t x = load8(p);

        return !bytes_any_below(x, ' ') && !bytes_any_below(x ^ (BYTES_ONES * 0x7f), 1);
}

/* Whether s[0..len) is lower[0..len), which is in lower case, ignoring ASCII
 * case. s may be shorter: its NUL differs from every byte of lower. Inline,
 * where strncasecmp would spend more on its locale than on comparing. */
static inline bool ascii_case_eq(const char *s, const char *lower, size_t len) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c >= 'A' && c <= 'Z')
                        c += 'a' - 'A';
                if (c != (unsigned char) lower[i])
                        return false;
        }
        return true;
}

/* The first byte in [p, end) that is NUL, CR or LF, or end. Words without a
 * byte up to CR are skipped whole; the table decides about the others. */
static const char *find_stop(const char *p, const char *end) {
        for (;;) {
                const char *word_end;

                while (end - p >= 8 && !bytes_any_below(load8(p), '\r' + 1))
                        p += 8;
                word_end = end - p >= 8 ? p + 8 : end;
                for (; p < word_end; p++)
                        if (CLS(*p) & C_STOP)
                                return p;
                if (p == end)
                        return end;
        }
}

/* Finds the end of a request head. There is no state between calls: the
 * caller passes the whole buffer again when more has arrived, and the limits
 * bound each rescan to HTTP_HEAD_MAX bytes. */
int http_request_head_end(const char *buf, size_t len, size_t *ret_head_len, int *ret_status) {
        const char *end = buf + MIN(len, (size_t) HTTP_HEAD_MAX);
        const char *line = buf, *p = buf;
        bool in_request_line = true; /* still before the end of the request line */
        unsigned n_empty = 0;

        for (;;) {
                const char *limit = end, *next;
                bool cut = false;

                /* The request line is held to its own, smaller limit, so
                 * that a long one earns 414 as soon as it is too long. */
                if (in_request_line && (size_t) (end - line) > HTTP_REQUEST_LINE_MAX) {
                        limit = line + HTTP_REQUEST_LINE_MAX + 1;
                        cut = true;
                }

                p = find_stop(p, limit);
                if (p == limit) {
                        if (cut) {
                                *ret_status = 414;
                                return -EBADMSG;
                        }
                        break;
                }

                if (*p == '\n')
                        next = p + 1;
                else if (*p == '\r') {
                        if (p + 1 == end)
                                break; /* a CR LF may still be on its way */
                        if (p[1] != '\n') {
                                *ret_status = 400;
                                return -EBADMSG;
                        }
                        next = p + 2;
                } else {
                        *ret_status = 400;
                        return -EBADMSG;
                }

                if (p == line) {
                        if (!in_request_line) {
                                *ret_head_len = (size_t) (next - buf);
                                return 1;
                        }
                        if (++n_empty > LEADING_EMPTY_LINES_MAX) {
                                *ret_status = 400;
                                return -EBADMSG;
                        }
                } else
                        in_request_line = false;

                line = p = next;
        }

        if (len >= HTTP_HEAD_MAX) {
                /* The empty line, if it ever comes, ends past the limit. */
                *ret_status = 431;
                return -EBADMSG;
        }
        return 0;
}

/* At p, where a line's content ends: the start of the next line if p holds
 * CRLF or LF, else NULL. The caller guarantees that the buffer ends in LF,
 * so p[1] exists whenever p[0] is CR. */
static char *skip_line_end(char *p) {
        if (p[0] == '\n')
                return p + 1;
        if (p[0] == '\r' && p[1] == '\n')
                return p + 2;
        return NULL;
}

/* The next element of a comma-separated list (RFC 9110 §5.6.1) at *s, without
 * its surrounding whitespace; empty elements are skipped, as the list syntax
 * asks of a recipient. False at the end of the list. */
static bool list_next(const char **s, const char **ret_element, size_t *ret_len) {
        const char *p = *s, *start, *e;

        for (;;) {
                while (is_ows(*p))
                        p++;
                if (*p != ',')
                        break;
                p++;
        }
        if (!*p)
                return false;

        start = p;
        for (;;) {
                /* A comma inside a quoted string (a parameter value) does
                 * not end the element. */
                p += strcspn(p, ",\"");
                if (*p != '"')
                        break;
                for (p++; *p && *p != '"'; p++)
                        if (*p == '\\' && p[1])
                                p++;
                if (*p)
                        p++;
        }
        for (e = p; e > start && is_ows(e[-1]); e--)
                ;

        *s = *p ? p + 1 : p;
        *ret_element = start;
        *ret_len = (size_t) (e - start);
        return true;
}

bool http_list_has_token(const char *value, const char *token) {
        size_t token_len = strlen(token), len;
        const char *element;

        while (list_next(&value, &element, &len))
                if (len == token_len && strncasecmp(element, token, len) == 0)
                        return true;
        return false;
}

bool http_is_token(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!(CLS(s[i]) & C_TOKEN))
                        return false;
        return true;
}

/* Parses a Content-Length value: digits only, at most INT64_MAX, and a list
 * of one repeated number counts as that number (RFC 9110 §8.6). */
static int content_length_parse(const char *s, int64_t *ret) {
        int64_t value = -1;

        for (;;) {
                int64_t n = 0;

                while (is_ows(*s))
                        s++;
                if (!IS_DIGIT(*s))
                        return -EBADMSG;
                for (; IS_DIGIT(*s); s++) {
                        int digit = *s - '0';

                        if (n > (INT64_MAX - digit) / 10)
                                return -EBADMSG;
                        n = n * 10 + digit;
                }
                if (value >= 0 && n != value)
                        return -EBADMSG;
                value = n;

                while (is_ows(*s))
                        s++;
                if (!*s)
                        break;
                if (*s++ != ',')
                        return -EBADMSG;
        }

        *ret = value;
        return 0;
}

/* What all Transfer-Encoding field lines of a request say together. */
typedef struct TransferCodings {
        unsigned n;
        unsigned n_chunked;
        bool last_plain_chunked; /* the last coding is chunked, without parameters */
        bool invalid;
} TransferCodings;

/* Adds one Transfer-Encoding value to t. Codings are tokens with optional
 * parameters; parameters are not parsed, since any coding that has them is
 * refused anyway. */
static void transfer_codings_add(TransferCodings *t, const char *value) {
        const char *element;
        size_t len;

        while (list_next(&value, &element, &len)) {
                size_t n = 0;
                bool chunked, params;

                while (n < len && (CLS(element[n]) & C_TOKEN))
                        n++;
                chunked = n == 7 && ascii_case_eq(element, "chunked", 7);

                while (n < len && is_ows(element[n]))
                        n++;
                params = n < len && element[n] == ';';
                if (n == 0 || (n < len && !params)) {
                        t->invalid = true;
                        return;
                }

                t->n++;
                if (chunked)
                        t->n_chunked++;
                t->last_plain_chunked = chunked && !params;
        }
}

/* Bits for what Connection field lines list. */
enum {
        CONNECTION_CLOSE = 1 << 0,
        CONNECTION_KEEP_ALIVE = 1 << 1,
        CONNECTION_UPGRADE = 1 << 2,
};

static unsigned connection_options(const char *value) {
        const char *element;
        unsigned flags = 0;
        size_t len;

        while (list_next(&value, &element, &len)) {
                if (len == 5 && ascii_case_eq(element, "close", 5))
                        flags |= CONNECTION_CLOSE;
                else if (len == 10 && ascii_case_eq(element, "keep-alive", 10))
                        flags |= CONNECTION_KEEP_ALIVE;
                else if (len == 7 && ascii_case_eq(element, "upgrade", 7))
                        flags |= CONNECTION_UPGRADE;
        }
        return flags;
}

/* Whether s[0..len) is an authority without userinfo (RFC 3986 §3.2): a
 * non-empty reg-name or IPv4 address, or an IPv6 address in brackets, then
 * optionally ':' and a port of 1 to 5 digits up to 65535. Zone identifiers
 * and IPvFuture are refused; no client has a reason to send them. */
static bool authority_valid(const char *s, size_t len, bool need_port) {
        const char *p = s, *end = s + len;
        unsigned port = 0;
        size_t digits = 0;

        if (p < end && *p == '[') {
                const char *bracket = memchr(p, ']', len);
                char address[INET6_ADDRSTRLEN];
                struct in6_addr in6;
                size_t n;

                if (!bracket)
                        return false;
                n = (size_t) (bracket - p - 1);
                if (n == 0 || n >= sizeof(address))
                        return false;
                memcpy(address, p + 1, n);
                address[n] = 0;
                if (inet_pton(AF_INET6, address, &in6) != 1)
                        return false;
                p = bracket + 1;
        } else {
                const char *host = p;

                while (p < end && (CLS(*p) & C_HOST)) {
                        if (*p == '%') {
                                if (end - p < 3 || !(CLS(p[1]) & C_HEX) || !(CLS(p[2]) & C_HEX))
                                        return false;
                                p += 3;
                        } else
                                p++;
                }
                if (p == host)
                        return false;
        }

        if (p == end)
                return !need_port;
        if (*p++ != ':')
                return false;
        for (; p < end && IS_DIGIT(*p); p++) {
                if (++digits > 5)
                        return false;
                port = port * 10 + (unsigned) (*p - '0');
        }
        return p == end && digits > 0 && port <= 65535;
}

/* The authority of an absolute-form target ("http://" or "https://", RFC 9112
 * §3.2.2), or NULL if target is not one. */
static char *absolute_form_authority(char *target, size_t *ret_len) {
        char *p;

        if (ascii_case_eq(target, "http://", 7))
                p = target + 7;
        else if (ascii_case_eq(target, "https://", 8))
                p = target + 8;
        else
                return NULL;

        *ret_len = strcspn(p, "/?#");
        return p;
}

/* Sets *ret_status and returns -EBADMSG, for the many ways a request fails. */
static int bad(int *ret_status, int status) {
        *ret_status = status;
        return -EBADMSG;
}

/* What the request line and the field lines of a head say, gathered in one
 * pass for the checks that need all of it. */
typedef struct RequestScan {
        char *method, *target, *version;
        int minor;
        HttpHeader *headers; /* HTTP_HEADERS_MAX of them */
        size_t n_headers;
        const char *host;
        size_t n_host, host_index;
        int64_t content_length;
        bool has_transfer_encoding, expect_continue, has_upgrade;
        TransferCodings codings;
        unsigned connection;
} RequestScan;

/* Parses "method SP request-target SP HTTP-version" and its line end at *p,
 * with single spaces: anything looser is how requests get split. Returns 0
 * or the status to refuse the request with. */
static int request_line_parse(RequestScan *s, char **p, char *end) {
        char *q = *p, *next;

        s->method = q;
        while (CLS(*q) & C_TOKEN)
                q++;
        if (q == s->method || *q != ' ')
                return 400;
        *q++ = 0;

        s->target = q;
        while (CLS(*q) & C_TARGET)
                q++;
        if (q == s->target || *q != ' ')
                return 400;
        *q++ = 0;

        s->version = q;
        if (end - q < 9 || memcmp(q, "HTTP/", 5) != 0 || !IS_DIGIT(q[5]) || q[6] != '.' || !IS_DIGIT(q[7]))
                return 400;
        next = skip_line_end(q + 8);
        if (!next)
                return 400;
        if ((size_t) (q + 8 - s->method) > HTTP_REQUEST_LINE_MAX)
                return 414;
        if (q[5] != '1' || (q[7] != '0' && q[7] != '1'))
                return 505;
        s->minor = q[7] - '0';
        q[8] = 0;
        *p = next;
        return 0;
}

/* Takes note of what a field says about framing, the connection and the
 * host. Returns 0, or 400 for a bad Content-Length. */
static int field_note(RequestScan *s, const char *name, size_t name_len, const char *value,
                      size_t value_len) {
        int64_t n;

        /* By length first: most fields are none of these. */
        switch (name_len) {
        case 4:
                if (ascii_case_eq(name, "host", 4)) {
                        s->n_host++;
                        s->host = value;
                        s->host_index = s->n_headers;
                }
                break;
        case 6:
                if (ascii_case_eq(name, "expect", 6) && value_len == 12 &&
                    ascii_case_eq(value, "100-continue", 12))
                        s->expect_continue = true;
                break;
        case 7:
                if (ascii_case_eq(name, "upgrade", 7))
                        s->has_upgrade = true;
                break;
        case 10:
                if (ascii_case_eq(name, "connection", 10))
                        s->connection |= connection_options(value);
                break;
        case 14:
                if (ascii_case_eq(name, "content-length", 14)) {
                        if (content_length_parse(value, &n) < 0 ||
                            (s->content_length >= 0 && n != s->content_length))
                                return 400;
                        s->content_length = n;
                }
                break;
        case 17:
                if (ascii_case_eq(name, "transfer-encoding", 17)) {
                        s->has_transfer_encoding = true;
                        transfer_codings_add(&s->codings, value);
                }
                break;
        }
        return 0;
}

/* Parses the field lines at *p up to and including the empty line that ends
 * the head. Returns 0 or the status to refuse the request with. */
static int field_lines_parse(RequestScan *s, char **p, char *end) {
        char *q = *p, *next;

        for (;;) {
                char *name, *value, *value_end;
                size_t name_len;
                int r;

                if (q == end)
                        return 400; /* no empty line */
                next = skip_line_end(q);
                if (next)
                        break;
                if (s->n_headers == HTTP_HEADERS_MAX)
                        return 431;

                /* A line starting with whitespace (obs-fold, or whitespace
                 * after the request line), whitespace before the colon and
                 * control characters all end here. */
                name = q;
                while (CLS(*q) & C_TOKEN)
                        q++;
                if (q == name || *q != ':')
                        return 400;
                name_len = (size_t) (q - name);
                *q++ = 0;

                while (is_ows(*q))
                        q++;
                value = q;
                while (end - q >= 8 && bytes_all_value(q))
                        q += 8;
                while (CLS(*q) & C_VALUE)
                        q++;
                next = skip_line_end(q);
                if (!next)
                        return 400;
                for (value_end = q; value_end > value && is_ows(value_end[-1]); value_end--)
                        ;
                *value_end = 0;

                r = field_note(s, name, name_len, value, (size_t) (value_end - value));
                if (r > 0)
                        return r;
                s->headers[s->n_headers++] = (HttpHeader){.name = name, .value = value};
                q = next;
        }

        *p = next;
        return 0;
}

/* The checks that need the whole head: framing (RFC 9112 §6.1, §6.3), Host
 * (§3.2) and the form of the target (§3.2.1-4). Sets *ret_authority to the
 * authority of an absolute-form target. Returns 0 or the status to refuse
 * the request with. */
static int request_check(RequestScan *s, char **ret_authority, size_t *ret_authority_len) {
        /* Only a lone chunked is decoded: codings before it would reach
         * the handler still applied. */
        if (s->has_transfer_encoding) {
                if (s->minor == 0 || s->content_length >= 0 || s->codings.invalid || s->codings.n == 0 ||
                    s->codings.n_chunked > 1)
                        return 400;
                if (s->codings.n != 1 || !s->codings.last_plain_chunked)
                        return 501;
        }

        /* Several Host lines are refused in any version. */
        if (s->n_host > 1 || (s->minor == 1 && s->n_host == 0))
                return 400;
        if (s->host && *s->host && !authority_valid(s->host, strlen(s->host), false))
                return 400;

        *ret_authority = NULL;
        if (s->target[0] == '/') {
                if (streq(s->method, "CONNECT"))
                        return 400;
        } else if (streq(s->target, "*")) {
                if (!streq(s->method, "OPTIONS"))
                        return 400;
        } else if (streq(s->method, "CONNECT")) {
                /* authority-form; htparser refuses CONNECT itself. */
                if (!authority_valid(s->target, strlen(s->target), true))
                        return 400;
        } else {
                char *authority = absolute_form_authority(s->target, ret_authority_len);

                if (!authority || !authority_valid(authority, *ret_authority_len, false))
                        return 400;
                *ret_authority = authority;
        }
        return 0;
}

/* Makes the authority of an absolute-form target the host, which overrides
 * Host (RFC 9112 §3.2.2). To make it a string in buf like the others, the
 * target is rewritten in place to origin-form: the bytes of the scheme make
 * room for the authority's NUL and a '/' the path may lack. The Host line
 * follows, so that headers forwarded as they are name the same host. */
static void target_to_origin_form(RequestScan *s, char *authority, size_t authority_len) {
        char *host = s->target, *path = authority + authority_len, *origin = host + authority_len + 1;
        size_t path_len = strlen(path);
        bool slash = *path == '/';

        memmove(host, authority, authority_len);
        host[authority_len] = 0;
        if (!slash)
                origin[0] = '/';
        memmove(origin + !slash, path, path_len + 1);
        s->target = origin;
        s->host = host;
        if (s->n_host > 0)
                s->headers[s->host_index].value = host;
}

/* Parses a request head: the request line, then the field lines, then the
 * checks that need all of them. *ret is written only once all passed. */
int http_parse_request_head(char *buf, size_t len, HttpRequestHead *ret, int *ret_status) {
        HttpHeader headers[HTTP_HEADERS_MAX];
        RequestScan s = {.headers = headers, .content_length = -1};
        char *p = buf, *end = buf + len, *next, *authority = NULL;
        size_t authority_len = 0;
        int r;

        if (len > HTTP_HEAD_MAX)
                return bad(ret_status, 431);
        /* Every scan below stops at the final LF at the latest, so none of
         * them needs to check for the end of the buffer. */
        if (len == 0 || buf[len - 1] != '\n')
                return bad(ret_status, 400);

        for (unsigned n_empty = 0; p < end && (next = skip_line_end(p)); n_empty++) {
                if (n_empty == LEADING_EMPTY_LINES_MAX)
                        return bad(ret_status, 400);
                p = next;
        }
        if (p == end)
                return bad(ret_status, 400);

        r = request_line_parse(&s, &p, end);
        if (r == 0)
                r = field_lines_parse(&s, &p, end);
        if (r == 0 && p != end)
                r = 400;
        if (r == 0)
                r = request_check(&s, &authority, &authority_len);
        if (r > 0)
                return bad(ret_status, r);
        if (authority)
                target_to_origin_form(&s, authority, authority_len);

        ret->method = s.method;
        ret->target = s.target;
        ret->version = s.version;
        ret->minor = s.minor;
        memcpy(ret->headers, headers, s.n_headers * sizeof(HttpHeader));
        ret->n_headers = s.n_headers;
        ret->content_length = s.content_length;
        ret->chunked = s.has_transfer_encoding;
        if (s.minor == 1)
                ret->keep_alive = !(s.connection & CONNECTION_CLOSE);
        else
                ret->keep_alive =
                        (s.connection & (CONNECTION_KEEP_ALIVE | CONNECTION_CLOSE)) == CONNECTION_KEEP_ALIVE;
        ret->expect_continue = s.minor == 1 && s.expect_continue;
        ret->upgrade = s.has_upgrade && (s.connection & CONNECTION_UPGRADE);
        ret->host = s.host;
        return 0;
}

const char *http_request_header(const HttpRequestHead *h, const char *name) {
        for (size_t i = 0; i < h->n_headers; i++)
                if (strcasecmp(h->headers[i].name, name) == 0)
                        return h->headers[i].value;
        return NULL;
}

/* The decoder's states; the zero state is the start of a chunk-size line,
 * where a zeroed HttpChunked begins. */
enum {
        CHUNK_SIZE_START,      /* the first hex digit of a chunk size */
        CHUNK_SIZE,            /* more hex digits */
        CHUNK_SIZE_BWS,        /* whitespace after the size: ';' or the line end */
        CHUNK_EXT_NAME_START,  /* after ';' */
        CHUNK_EXT_NAME,        /* in an extension name */
        CHUNK_EXT_NAME_BWS,    /* after a name: '=', ';' or the line end */
        CHUNK_EXT_VALUE_START, /* after '=' */
        CHUNK_EXT_VALUE,       /* in a token value */
        CHUNK_EXT_QUOTED,      /* in a quoted-string value */
        CHUNK_EXT_QUOTED_PAIR, /* after a backslash in a quoted string */
        CHUNK_EXT_VALUE_BWS,   /* after a value: ';' or the line end */
        CHUNK_SIZE_LF,         /* a CR ended the size line: LF must follow */
        CHUNK_DATA,
        CHUNK_DATA_CR, /* after the data: CR, then */
        CHUNK_DATA_LF, /* LF, nothing else */
        CHUNK_TRAILER_START,
        CHUNK_TRAILER_NAME,
        CHUNK_TRAILER_VALUE,
        CHUNK_TRAILER_LF, /* a CR ended a trailer line */
        CHUNK_END_LF,     /* a CR ended the final empty line */
        CHUNK_DONE,
        CHUNK_FAILED,
};

/* Decodes a chunked body one state at a time, except for chunk data, which
 * is moved in one piece. The size line accepts a bare LF, like a head; after
 * data only CRLF is accepted, since a lenient end of data is where two
 * parsers most easily disagree about where the next chunk begins. Chunk
 * extensions are checked against their grammar (RFC 9112 §7.1.1) and then
 * dropped, and so are trailer fields. */
int http_chunked_decode(HttpChunked *c, const char *in, size_t in_len, char *out, size_t *ret_consumed,
                        size_t *ret_produced) {
        int state = c->state, r = -EBADMSG;
        uint64_t remaining = c->remaining;
        size_t line_len = c->line_len, trailer_bytes = c->trailer_bytes, i = 0, produced = 0;

        if (state == CHUNK_FAILED)
                return -EBADMSG;

        while (i < in_len && state != CHUNK_DONE) {
                unsigned char ch;
                int digit;

                if (state == CHUNK_DATA) {
                        size_t n = MIN((uint64_t) (in_len - i), remaining);

                        memmove(out + produced, in + i, n);
                        produced += n;
                        i += n;
                        remaining -= n;
                        if (remaining == 0)
                                state = CHUNK_DATA_CR;
                        continue;
                }

                ch = (unsigned char) in[i++];
                if (state < CHUNK_SIZE_LF || (state >= CHUNK_TRAILER_START && state < CHUNK_TRAILER_LF)) {
                        /* Bytes of a size or trailer line, before its end. */
                        if (ch != '\r' && ch != '\n' && ++line_len > HTTP_CHUNK_LINE_MAX)
                                goto fail;
                }
                if (state >= CHUNK_TRAILER_START && ++trailer_bytes > HTTP_TRAILERS_MAX) {
                        r = -E2BIG;
                        goto fail;
                }

                switch (state) {
                case CHUNK_SIZE_START:
                case CHUNK_SIZE:
                        if (IS_HEX(ch)) {
                                digit = IS_DIGIT(ch) ? ch - '0' : (ch | 0x20) - 'a' + 10;
                                if (remaining > (uint64_t) (INT64_MAX - digit) / 16)
                                        goto fail;
                                remaining = remaining * 16 + (uint64_t) digit;
                                state = CHUNK_SIZE;
                                break;
                        }
                        if (state == CHUNK_SIZE_START)
                                goto fail;
                        state = CHUNK_SIZE_BWS;
                        goto after_word;
                case CHUNK_EXT_NAME:
                        if (CLS(ch) & C_TOKEN)
                                break;
                        state = CHUNK_EXT_NAME_BWS;
                        goto after_word;
                case CHUNK_EXT_VALUE:
                        if (CLS(ch) & C_TOKEN)
                                break;
                        state = CHUNK_EXT_VALUE_BWS;
                        goto after_word;
                case CHUNK_SIZE_BWS:
                case CHUNK_EXT_NAME_BWS:
                case CHUNK_EXT_VALUE_BWS:
                after_word:
                        if (is_ows((char) ch))
                                ;
                        else if (ch == ';')
                                state = CHUNK_EXT_NAME_START;
                        else if (ch == '=' && state == CHUNK_EXT_NAME_BWS)
                                state = CHUNK_EXT_VALUE_START;
                        else if (ch == '\r')
                                state = CHUNK_SIZE_LF;
                        else if (ch == '\n')
                                goto size_line_end;
                        else
                                goto fail;
                        break;
                case CHUNK_EXT_NAME_START:
                        if (CLS(ch) & C_TOKEN)
                                state = CHUNK_EXT_NAME;
                        else if (!is_ows((char) ch))
                                goto fail;
                        break;
                case CHUNK_EXT_VALUE_START:
                        if (is_ows((char) ch))
                                ;
                        else if (ch == '"')
                                state = CHUNK_EXT_QUOTED;
                        else if (CLS(ch) & C_TOKEN)
                                state = CHUNK_EXT_VALUE;
                        else
                                goto fail;
                        break;
                case CHUNK_EXT_QUOTED:
                        if (ch == '"')
                                state = CHUNK_EXT_VALUE_BWS;
                        else if (ch == '\\')
                                state = CHUNK_EXT_QUOTED_PAIR;
                        else if (!(CLS(ch) & C_QDTEXT))
                                goto fail;
                        break;
                case CHUNK_EXT_QUOTED_PAIR:
                        if (!(CLS(ch) & C_VALUE))
                                goto fail;
                        state = CHUNK_EXT_QUOTED;
                        break;
                case CHUNK_SIZE_LF:
                        if (ch != '\n')
                                goto fail;
                size_line_end:
                        line_len = 0;
                        state = remaining > 0 ? CHUNK_DATA : CHUNK_TRAILER_START;
                        break;
                case CHUNK_DATA_CR:
                        if (ch != '\r')
                                goto fail;
                        state = CHUNK_DATA_LF;
                        break;
                case CHUNK_DATA_LF:
                        if (ch != '\n')
                                goto fail;
                        state = CHUNK_SIZE_START;
                        break;
                case CHUNK_TRAILER_START:
                        if (ch == '\r')
                                state = CHUNK_END_LF;
                        else if (ch == '\n')
                                state = CHUNK_DONE;
                        else if (CLS(ch) & C_TOKEN)
                                state = CHUNK_TRAILER_NAME;
                        else
                                goto fail; /* obs-fold, or no name */
                        break;
                case CHUNK_TRAILER_NAME:
                        if (ch == ':')
                                state = CHUNK_TRAILER_VALUE;
                        else if (!(CLS(ch) & C_TOKEN))
                                goto fail;
                        break;
                case CHUNK_TRAILER_VALUE:
                        if (ch == '\r')
                                state = CHUNK_TRAILER_LF;
                        else if (ch == '\n') {
                                line_len = 0;
                                state = CHUNK_TRAILER_START;
                        } else if (!(CLS(ch) & C_VALUE))
                                goto fail;
                        break;
                case CHUNK_TRAILER_LF:
                        if (ch != '\n')
                                goto fail;
                        line_len = 0;
                        state = CHUNK_TRAILER_START;
                        break;
                case CHUNK_END_LF:
                        if (ch != '\n')
                                goto fail;
                        state = CHUNK_DONE;
                        break;
                default: /* CHUNK_FAILED, or a state nobody set */
                        goto fail;
                }
        }

        c->state = state;
        c->remaining = remaining;
        c->line_len = line_len;
        c->trailer_bytes = trailer_bytes;
        c->done = state == CHUNK_DONE;
        *ret_consumed = i;
        *ret_produced = produced;
        return c->done;

fail:
        /* Whatever follows a framing error cannot be trusted: stay failed. */
        c->state = CHUNK_FAILED;
        return r;
}

/* Looks for the empty line that ends a handler's response head. */
int http_response_head_end(const char *buf, size_t len, size_t *ret_head_len) {
        const char *line = buf, *end = buf + MIN(len, (size_t) HTTP_HEAD_MAX), *lf;

        while ((lf = memchr(line, '\n', (size_t) (end - line)))) {
                if (lf == line || (lf == line + 1 && line[0] == '\r')) {
                        *ret_head_len = (size_t) (lf + 1 - buf);
                        return 1;
                }
                line = lf + 1;
        }
        return len >= HTTP_HEAD_MAX ? -E2BIG : 0;
}

/* Parses "NNN[ reason]", as in a status line after the version and in a CGI
 * Status field, in place. A reason with control characters in it is
 * dropped rather than passed on to a client. */
static int status_parse(char *s, int *ret_status, char **ret_reason) {
        char *reason, *e;

        if (!IS_DIGIT(s[0]) || !IS_DIGIT(s[1]) || !IS_DIGIT(s[2]) || s[0] == '0')
                return -EBADMSG;
        if (s[3] != 0 && s[3] != ' ')
                return -EBADMSG;

        reason = s[3] ? s + 4 : s + 3;
        while (is_ows(*reason))
                reason++;
        for (e = reason; CLS(*e) & C_VALUE; e++)
                ;
        if (*e)
                reason = e = s + strlen(s); /* "" */
        while (e > reason && is_ows(e[-1]))
                e--;
        *e = 0;

        *ret_status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
        *ret_reason = reason;
        return 0;
}

/* Parses a response head leniently, line by line: what is not a valid field
 * line (no colon, an invalid name, obs-fold, control characters in the
 * value) is dropped instead of failing the response, since the handler that
 * wrote it is trusted but not necessarily careful. A CGI Status field is
 * taken as the status and not kept as a header; a CGI head without one but
 * with a Location is a client redirect, 302 (RFC 3875 §6.2.3). A head with
 * more than HTTP_HEADERS_MAX valid fields is -E2BIG. */
int http_parse_response_head(char *buf, size_t len, HttpResponseHead *ret) {
        HttpHeader headers[HTTP_HEADERS_MAX];
        char *p = buf, *end = buf + len, *reason = NULL;
        size_t n_headers = 0;
        bool has_location = false, status_line = false;
        int status = 0, minor = 1, r;

        if (len == 0 || buf[len - 1] != '\n')
                return -EBADMSG;

        while (p < end) {
                char *lf = memchr(p, '\n', (size_t) (end - p)), *e = lf, *name, *value;
                size_t name_len;

                if (e > p && e[-1] == '\r')
                        e--;
                *e = 0;
                if (e == p)
                        break; /* the empty line */

                if (p == buf && strncmp(p, "HTTP/", 5) == 0) {
                        if (strncmp(p + 5, "1.", 2) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
                                return -EBADMSG;
                        minor = p[7] - '0';
                        r = status_parse(p + 9, &status, &reason);
                        if (r < 0)
                                return r;
                        status_line = true;
                        p = lf + 1;
                        continue;
                }

                name = p;
                while (CLS(*p) & C_TOKEN)
                        p++;
                if (p == name || *p != ':')
                        goto drop;
                name_len = (size_t) (p - name);
                *p++ = 0;
                while (is_ows(*p))
                        p++;
                value = p;
                while (CLS(*p) & C_VALUE)
                        p++;
                if (p != e)
                        goto drop; /* a control character: the line cannot be passed on */
                while (p > value && is_ows(p[-1]))
                        p--;
                *p = 0;

                if (!status_line && name_len == 6 && ascii_case_eq(name, "status", 6)) {
                        /* The first one counts; none is a header to pass on. */
                        if (!reason) {
                                r = status_parse(value, &status, &reason);
                                if (r < 0)
                                        return r;
                        }
                        goto drop;
                }
                if (name_len == 8 && ascii_case_eq(name, "location", 8))
                        has_location = true;

                if (n_headers == HTTP_HEADERS_MAX)
                        return -E2BIG;
                headers[n_headers++] = (HttpHeader){.name = name, .value = value};
        drop:
                p = lf + 1;
        }

        if (!reason) {
                if (!has_location)
                        return -EBADMSG;
                status = 302;
                reason = buf + len - 1;
                *reason = 0;
        }

        ret->status = status;
        ret->reason = reason;
        ret->minor = minor;
        memcpy(ret->headers, headers, n_headers * sizeof(HttpHeader));
        ret->n_headers = n_headers;
        return 0;
}

const char *http_response_header(const HttpResponseHead *h, const char *name) {
        for (size_t i = 0; i < h->n_headers; i++)
                if (strcasecmp(h->headers[i].name, name) == 0)
                        return h->headers[i].value;
        return NULL;
}
