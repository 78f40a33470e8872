/* SPDX-License-Identifier: MIT */

/* libFuzzer target for the HTTP/1.x parsers: the input is a request head (or
 * anything at all), found with http_request_head_end and parsed with
 * http_parse_request_head, and also a chunked body decoded in two pieces and
 * a handler's response head. Checks the invariants the callers rely on:
 * results only on success, statuses only from the documented set, strings
 * inside the buffer, and decoding that does not depend on how input is cut.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/lib \
 *         tests/fuzz/fuzz-request-head.c src/lib/http.c -o fuzz-request-head
 *   ./fuzz-request-head -max_len=4096 tests/fuzz/corpus/request-head */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define CHECK(x)                                                                              \
        do {                                                                                  \
                if (!(x)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
                        abort();                                                              \
                }                                                                             \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether s is a NUL-terminated string lying wholly in buf[0..len). */
static bool in_buffer(const char *s, const char *buf, size_t len) {
        return s >= buf && s < buf + len && memchr(s, 0, (size_t) (buf + len - s));
}

static bool is_token(const char *s) {
        return http_is_token(s, strlen(s));
}

/* A field value as the parsers hand it out: no control characters but HTAB,
 * no whitespace at either end. */
static bool value_clean(const char *s) {
        size_t len = strlen(s);

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if ((c < ' ' && c != '\t') || c == 0x7f)
                        return false;
        }
        return len == 0 || (s[0] != ' ' && s[0] != '\t' && s[len - 1] != ' ' && s[len - 1] != '\t');
}

static void check_request(char *buf, size_t len) {
        HttpRequestHead *h = malloc(sizeof(*h));
        int status = 0, r;

        CHECK(h);
        memset(h, 0xa5, sizeof(*h));
        r = http_parse_request_head(buf, len, h, &status);
        if (r < 0) {
                CHECK(r == -EBADMSG);
                CHECK(status == 400 || status == 414 || status == 431 || status == 501 || status == 505);
                free(h);
                return;
        }

        CHECK(r == 0 && status == 0);
        CHECK(in_buffer(h->method, buf, len) && is_token(h->method));
        CHECK(in_buffer(h->target, buf, len) && h->target[0] != 0);
        CHECK(strlen(h->method) + strlen(h->target) + 10 <= HTTP_REQUEST_LINE_MAX);
        CHECK(in_buffer(h->version, buf, len));
        CHECK((h->minor == 0 && strcmp(h->version, "HTTP/1.0") == 0) ||
              (h->minor == 1 && strcmp(h->version, "HTTP/1.1") == 0));
        CHECK(h->n_headers <= HTTP_HEADERS_MAX);
        for (size_t i = 0; i < h->n_headers; i++) {
                CHECK(in_buffer(h->headers[i].name, buf, len) && is_token(h->headers[i].name));
                CHECK(in_buffer(h->headers[i].value, buf, len));
                CHECK(value_clean(h->headers[i].value));
        }
        CHECK(h->content_length >= -1);
        CHECK(!(h->chunked && h->content_length >= 0));
        CHECK(!h->chunked || h->minor == 1);
        CHECK(!h->expect_continue || h->minor == 1);
        if (h->host)
                CHECK(in_buffer(h->host, buf, len));
        CHECK(h->target[0] == '/' || strcmp(h->target, "*") == 0 || strcmp(h->method, "CONNECT") == 0);
        CHECK(h->minor == 0 || h->host);
        free(h);
}

static void check_head_end(char *buf, size_t size) {
        size_t head_len = SIZE_MAX, prefix_len = SIZE_MAX, half = size / 2;
        int status = 0, prefix_status = 0, r, prefix_r;

        r = http_request_head_end(buf, size, &head_len, &status);
        prefix_r = http_request_head_end(buf, half, &prefix_len, &prefix_status);

        if (r < 0) {
                CHECK(r == -EBADMSG && head_len == SIZE_MAX);
                CHECK(status == 400 || status == 414 || status == 431);
                /* An error in part of the input is the same error in all. */
                CHECK(prefix_r <= 0);
                if (prefix_r < 0)
                        CHECK(prefix_status == status);
                return;
        }
        CHECK(status == 0);
        if (r == 0) {
                CHECK(head_len == SIZE_MAX && size < HTTP_HEAD_MAX);
                CHECK(prefix_r == 0);
                return;
        }

        CHECK(r == 1 && head_len > 0 && head_len <= size && head_len <= HTTP_HEAD_MAX);
        CHECK(buf[head_len - 1] == '\n');
        /* Found as early as possible, and the same in any longer prefix. */
        if (half < head_len)
                CHECK(prefix_r == 0);
        else
                CHECK(prefix_r == 1 && prefix_len == head_len);
        prefix_status = 0;
        CHECK(http_request_head_end(buf, head_len - 1, &prefix_len, &prefix_status) == 0);

        check_request(buf, head_len);
}

/* Decodes in[0..len) as a chunked body in two calls cut at split, into out. */
static int chunked_two_pieces(const char *in, size_t len, size_t split, char *out, size_t *ret_consumed,
                              size_t *ret_produced) {
        HttpChunked c = {};
        size_t consumed = SIZE_MAX, produced = SIZE_MAX, consumed2 = SIZE_MAX, produced2 = SIZE_MAX;
        int r;

        r = http_chunked_decode(&c, in, split, out, &consumed, &produced);
        if (r < 0) {
                CHECK(consumed == SIZE_MAX && produced == SIZE_MAX);
                return r;
        }
        CHECK(consumed <= split && produced <= consumed);
        CHECK(c.done == (r == 1));
        if (r == 1) {
                *ret_consumed = consumed;
                *ret_produced = produced;
                return r;
        }
        CHECK(consumed == split);

        r = http_chunked_decode(&c, in + split, len - split, out + produced, &consumed2, &produced2);
        if (r < 0)
                return r;
        CHECK(consumed2 <= len - split && produced2 <= consumed2);
        CHECK(c.done == (r == 1));
        CHECK(r == 1 || consumed2 == len - split);
        *ret_consumed = consumed + consumed2;
        *ret_produced = produced + produced2;
        return r;
}

static void check_chunked(const char *data, size_t size) {
        char *in = malloc(size + 1), *out = malloc(size + 1);
        size_t split = size ? (unsigned char) data[0] % (size + 1) : 0;
        size_t consumed = SIZE_MAX, produced = SIZE_MAX, consumed2 = SIZE_MAX, produced2 = SIZE_MAX;
        HttpChunked c = {};
        int r, r2;

        CHECK(in && out);
        memcpy(in, data, size);

        /* All at once, in place, against two pieces into another buffer. */
        r = http_chunked_decode(&c, in, size, in, &consumed, &produced);
        r2 = chunked_two_pieces(data, size, split, out, &consumed2, &produced2);
        CHECK(r == r2);
        CHECK(r == 1 || r == 0 || r == -EBADMSG || r == -E2BIG);
        if (r >= 0) {
                CHECK(consumed == consumed2 && produced == produced2);
                CHECK(memcmp(in, out, produced) == 0);
                CHECK(r == 1 || consumed == size);
        }
        free(in);
        free(out);
}

static void check_response(const char *data, size_t size) {
        char *buf = malloc(size + 1);
        HttpResponseHead *h = malloc(sizeof(*h));
        size_t head_len = SIZE_MAX;
        int r;

        CHECK(buf && h);
        memcpy(buf, data, size);
        r = http_response_head_end(buf, size, &head_len);
        CHECK(r == 1 || r == 0 || r == -E2BIG);
        if (r == 1) {
                CHECK(head_len > 0 && head_len <= size && head_len <= HTTP_HEAD_MAX);
                r = http_parse_response_head(buf, head_len, h);
                CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
                if (r == 0) {
                        CHECK(h->status >= 100 && h->status <= 999);
                        CHECK(h->minor == 0 || h->minor == 1);
                        CHECK(in_buffer(h->reason, buf, head_len) && value_clean(h->reason));
                        CHECK(h->n_headers <= HTTP_HEADERS_MAX);
                        for (size_t i = 0; i < h->n_headers; i++) {
                                CHECK(in_buffer(h->headers[i].name, buf, head_len));
                                CHECK(is_token(h->headers[i].name));
                                CHECK(in_buffer(h->headers[i].value, buf, head_len));
                                CHECK(value_clean(h->headers[i].value));
                        }
                }
        }
        free(buf);
        free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf = malloc(size + 1);

        CHECK(buf);
        memcpy(buf, data, size);
        check_head_end(buf, size);

        /* The parser on its own must cope with any buffer, not only heads
         * that http_request_head_end found. */
        memcpy(buf, data, size);
        check_request(buf, size);
        free(buf);

        check_chunked((const char *) data, size);
        check_response((const char *) data, size);
        return 0;
}
