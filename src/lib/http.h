/* SPDX-License-Identifier: MIT */
#pragma once

/* HTTP/1.x message syntax (RFC 9112, RFC 9110): pure functions over buffers,
 * shared by htparser (strict, for what clients send) and handlers that read
 * response heads (lenient, for what handlers write). Nothing here does I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Named limits on what a client controls, with the status each one earns. */
#define HTTP_REQUEST_LINE_MAX 8192  /* 414 URI Too Long */
#define HTTP_HEAD_MAX         32768 /* 431 Request Header Fields Too Large (whole head) */
#define HTTP_HEADERS_MAX      100   /* 431 */
#define HTTP_CHUNK_LINE_MAX   4096  /* a chunk-size line with extensions, or one trailer line: 400 */
#define HTTP_TRAILERS_MAX     8192  /* all trailer bytes together: 431 */

typedef struct HttpHeader {
        char *name;  /* NUL-terminated, pointing into the parsed buffer */
        char *value; /* leading and trailing whitespace removed */
} HttpHeader;

typedef struct HttpRequestHead {
        char *method;
        char *target;  /* as sent: origin-, authority- or asterisk-form; absolute-form is
                        * rewritten in place to origin-form, its authority going to host */
        char *version; /* "HTTP/1.0" or "HTTP/1.1" */
        int minor;     /* 0 or 1 */
        HttpHeader headers[HTTP_HEADERS_MAX];
        size_t n_headers;

        /* What the framing and connection headers say, checked for the
         * smuggling cases (RFC 9112 §6.1, §6.3). */
        int64_t content_length; /* -1: none */
        bool chunked;           /* Transfer-Encoding ends in chunked */
        bool keep_alive;        /* by version and Connection */
        bool expect_continue;   /* Expect: 100-continue */
        bool upgrade;           /* Connection: upgrade with an Upgrade header */
        const char *host;       /* the Host header's value, or the authority of an absolute-form target
                                 * (RFC 9112 §3.2.2), which the Host line's value is then set to */
} HttpRequestHead;

/* Looks for the end of a head (an empty line: CRLF CRLF, or bare LF
 * endings) in buf[0..len). Returns 1 with *ret_head_len (bytes including the
 * empty line), 0 if more is needed, or -EBADMSG with *ret_status 414 if the
 * request line is already longer than HTTP_REQUEST_LINE_MAX, 431 if the head
 * is longer than HTTP_HEAD_MAX, 400 for a NUL or bare CR. Leading empty lines
 * before a request line are allowed (RFC 9112 §2.2) and counted in the head. */
int http_request_head_end(const char *buf, size_t len, size_t *ret_head_len, int *ret_status);

/* Parses a complete request head (as delimited by http_request_head_end) in
 * place: strings in *ret point into buf, which is modified. Returns 0, or
 * -EBADMSG with *ret_status: 400 (syntax: method not a token, space before a
 * colon, obs-fold, bare CR, control characters, bad or conflicting
 * Content-Length, Content-Length with Transfer-Encoding, HTTP/1.1 without
 * exactly one Host, invalid Host), 414, 431 (too many headers), 501
 * (Transfer-Encoding other than a final chunked in HTTP/1.1; 400 for 1.0),
 * 505 (a version other than 1.0 and 1.1). */
int http_parse_request_head(char *buf, size_t len, HttpRequestHead *ret, int *ret_status);

/* The first header of that name (case-insensitive), or NULL. */
const char *http_request_header(const HttpRequestHead *h, const char *name);

/* Whether a comma-separated header value (Connection, Transfer-Encoding)
 * lists token, case-insensitively. */
bool http_list_has_token(const char *value, const char *token);

bool http_is_token(const char *s, size_t len);

/* Incremental chunked body decoder (RFC 9112 §7.1): chunk extensions are
 * skipped, trailers read and dropped. */
typedef struct HttpChunked {
        int state;
        uint64_t remaining; /* bytes left in the current chunk */
        size_t line_len;    /* bytes of the current size or trailer line */
        size_t trailer_bytes;
        bool done;
} HttpChunked;

/* Decodes in[0..in_len) into out (which may be in; it needs room for
 * in_len bytes). Returns 1 when the body is complete (the final chunk and
 * trailers consumed: bytes after them belong to the next request), 0 when
 * more input is needed, -EBADMSG for malformed input (bad hex, size overflow,
 * missing CRLF after data, a line over HTTP_CHUNK_LINE_MAX), -E2BIG for
 * trailers over HTTP_TRAILERS_MAX. *ret_consumed and *ret_produced are set
 * in every case that is not an error. */
int http_chunked_decode(HttpChunked *c, const char *in, size_t in_len, char *out, size_t *ret_consumed,
                        size_t *ret_produced);

typedef struct HttpResponseHead {
        int status;
        char *reason; /* may be empty */
        int minor;    /* version the handler wrote */
        HttpHeader headers[HTTP_HEADERS_MAX];
        size_t n_headers;
} HttpResponseHead;

/* Like http_request_head_end, for a response head written by a handler:
 * bare LF accepted, HTTP_HEAD_MAX applies (-E2BIG). Returns 1, 0 or -errno. */
int http_response_head_end(const char *buf, size_t len, size_t *ret_head_len);

/* Parses a handler's response head leniently, in place: "HTTP/1.x NNN
 * [reason]" with bare-LF lines, a missing reason phrase, whitespace around
 * values; header lines without a colon or with an invalid name are dropped.
 * A CGI-style head (no status line, a "Status: NNN reason" header) is
 * accepted too. -EBADMSG if there is no usable status (not 100..999),
 * -E2BIG for more than HTTP_HEADERS_MAX fields. */
int http_parse_response_head(char *buf, size_t len, HttpResponseHead *ret);

const char *http_response_header(const HttpResponseHead *h, const char *name);
