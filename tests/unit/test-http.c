/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/param.h>

#include "check-main.h"
#include "http.h"
#include "macro.h"

/* Room for the largest heads the tests build, and a little over. */
static char buffer[HTTP_HEAD_MAX + 4096];
static HttpRequestHead head;

/* Parses the request head s[0..len) from a copy in buffer into head; returns
 * 0, the status it failed with, or -1 if the result breaks the API's rules.
 * No ck_assert here, since loops call it thousands of times. */
static int parse_quiet(const char *s, size_t len) {
        int status = 4242, r;

        if (len > sizeof(buffer))
                return -1;
        memcpy(buffer, s, len);
        r = http_parse_request_head(buffer, len, &head, &status);
        if (r == 0)
                return status == 4242 ? 0 : -1;
        return r == -EBADMSG ? status : -1;
}

static int parse_len(const char *s, size_t len) {
        int r = parse_quiet(s, len);

        ck_assert_int_ne(r, -1);
        return r;
}

static int parse(const char *s) {
        return parse_len(s, strlen(s));
}

#define assert_ok(s)           ck_assert_msg(parse(s) == 0, "refused: \"%s\"", s)
#define assert_status(s, code) ck_assert_msg(parse(s) == (code), "not %d: \"%s\"", (code), s)

/* A request line and Host, so that a test shows only the fields it is about. */
#define GET11 "GET / HTTP/1.1\r\nHost: example.com\r\n"
#define GET10 "GET / HTTP/1.0\r\n"

/* http_request_head_end, with the status as a negative result; INT_MIN if
 * the result breaks the API's rules. No ck_assert, as for parse_quiet. */
static int head_end(const char *s, size_t len, size_t *ret_head_len) {
        int status = 4242, r;

        r = http_request_head_end(s, len, ret_head_len, &status);
        if (r >= 0)
                return status == 4242 ? r : INT_MIN;
        return r == -EBADMSG ? -status : INT_MIN;
}

/* Fills a new string of n bytes with c; the tests build limit-sized lines. */
static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        s[n] = 0;
        return s;
}

START_TEST(test_head_end_simple) {
        const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        size_t len = 4242, full = strlen(s) - 4;

        ck_assert_int_eq(head_end(s, strlen(s), &len), 1);
        ck_assert_uint_eq(len, full);
        ck_assert_int_eq(head_end(s, full, &len), 1);
        ck_assert_uint_eq(len, full);

        /* Every shorter prefix needs more, and leaves the result alone. */
        size_t bad = SIZE_MAX;
        for (size_t i = 0; i < full; i++) {
                size_t l = 4242;
                if (head_end(s, i, &l) != 0 || l != 4242)
                        bad = i;
        }
        ck_assert_uint_eq(bad, SIZE_MAX);
}
END_TEST

START_TEST(test_head_end_line_endings) {
        size_t len;

        ck_assert_int_eq(head_end("GET / HTTP/1.0\n\n", 16, &len), 1);
        ck_assert_uint_eq(len, 16);
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r\n\n", 17, &len), 1);
        ck_assert_uint_eq(len, 17);
        ck_assert_int_eq(head_end("GET / HTTP/1.0\nA: b\n\r\nx", 23, &len), 1);
        ck_assert_uint_eq(len, 22);
        /* A CR at the end may be the start of a CRLF. */
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r\n\r", 17, &len), 0);
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r", 15, &len), 0);
}
END_TEST

START_TEST(test_head_end_bad_bytes) {
        size_t len = 4242;

        ck_assert_int_eq(head_end("GET /\0 HTTP/1.0\r\n\r\n", 19, &len), -400);
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r\nA: \0\r\n\r\n", 24, &len), -400);
        ck_assert_int_eq(head_end("\0", 1, &len), -400);
        /* A NUL in the body is none of the head's business. */
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r\n\r\n\0", 19, &len), 1);
        ck_assert_uint_eq(len, 18);

        /* A bare CR, once the byte after it is known. */
        len = 4242;
        ck_assert_int_eq(head_end("GET / HTTP/1.0\rX", 16, &len), -400);
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r\nA: b\rc\r\n\r\n", 26, &len), -400);
        ck_assert_int_eq(head_end("GET / HTTP/1.0\r\n\r\r\n", 19, &len), -400);
        ck_assert_int_eq(head_end("\r\r\n", 3, &len), -400);
        ck_assert_uint_eq(len, 4242);
}
END_TEST

START_TEST(test_head_end_leading_empty_lines) {
        char s[64];
        size_t len;

        /* Eight are skipped and counted in the head. */
        strcpy(s, "\r\n\n\r\n\n\r\n\n\r\n\nGET / HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(head_end(s, strlen(s), &len), 1);
        ck_assert_uint_eq(len, strlen(s));
        /* A ninth is too many. */
        strcpy(s, "\n\r\n\n\r\n\n\r\n\n\r\n\nGET / HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(head_end(s, strlen(s), &len), -400);
        /* Empty lines alone are not a head. */
        ck_assert_int_eq(head_end("\r\n\r\n", 4, &len), 0);
        ck_assert_int_eq(head_end("\n\n\n\n\n\n\n\n", 8, &len), 0);
        ck_assert_int_eq(head_end("\n\n\n\n\n\n\n\n\n", 9, &len), -400);
}
END_TEST

START_TEST(test_head_end_request_line_limit) {
        _cleanup_free_ char *s = malloc(HTTP_REQUEST_LINE_MAX + 64);
        const size_t prefix = 4; /* "GET " */
        size_t line, len;

        ck_assert_ptr_nonnull(s);

        /* A request line of exactly HTTP_REQUEST_LINE_MAX bytes. */
        line = HTTP_REQUEST_LINE_MAX;
        memcpy(s, "GET /", 5);
        memset(s + 5, 'a', line - prefix - 1 - 9);
        memcpy(s + line - 9, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
        ck_assert_int_eq(head_end(s, line + 13, &len), 1);
        ck_assert_uint_eq(len, line + 13);
        ck_assert_int_eq(parse_len(s, line + 13), 0);
        ck_assert_uint_eq(strlen(head.target), line - prefix - 9);
        /* With the LF not there yet, and with a CR not followed by anything. */
        ck_assert_int_eq(head_end(s, line, &len), 0);
        ck_assert_int_eq(head_end(s, line + 1, &len), 0);

        /* One byte more: 414 as soon as that byte is in, without an LF. */
        memcpy(s, "GET /", 5);
        memset(s + 5, 'a', line + 1 - 5);
        ck_assert_int_eq(head_end(s, line, &len), 0);
        ck_assert_int_eq(head_end(s, line + 1, &len), -414);
        memcpy(s + line + 1 - 9, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
        ck_assert_int_eq(head_end(s, line + 14, &len), -414);
        ck_assert_int_eq(parse_len(s, line + 14), 414);
        /* The same with a bare LF: the limit is on the line, not its end. */
        memcpy(s + line + 1 - 9, " HTTP/1.1\nHost: a\n\n", 19);
        ck_assert_int_eq(head_end(s, line + 11, &len), -414);

        /* Leading empty lines are not part of the request line. */
        memcpy(s, "\r\n\r\nGET /", 9);
        memset(s + 9, 'a', line + 4 - 9 - 9);
        memcpy(s + line + 4 - 9, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
        ck_assert_int_eq(head_end(s, line + 17, &len), 1);
        ck_assert_uint_eq(len, line + 17);
        ck_assert_int_eq(parse_len(s, line + 17), 0);
        ck_assert_uint_eq(strlen(head.target), line - prefix - 9);
}
END_TEST

/* A head of exactly n bytes: a request line and "X: aaa…" lines of at most
 * 1000 bytes each, then the empty line. */
static char *head_of_size(size_t n, bool complete) {
        char *s = repeat('a', n);
        size_t p = 0;

        p += (size_t) sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\n");
        while (n - p - 2 > 1000 + 6) {
                memcpy(s + p, "X: ", 3);
                p += 1000;
                memcpy(s + p - 2, "\r\n", 2);
        }
        memcpy(s + p, "X: ", 3);
        memcpy(s + n - 4, "\r\n\r\n", 4);
        if (!complete)
                memcpy(s + n - 4, "aaaa", 4);
        return s;
}

START_TEST(test_head_end_head_limit) {
        _cleanup_free_ char *exact = head_of_size(HTTP_HEAD_MAX, true);
        _cleanup_free_ char *over = head_of_size(HTTP_HEAD_MAX + 1, true);
        _cleanup_free_ char *open = head_of_size(HTTP_HEAD_MAX + 100, false);
        size_t len;

        ck_assert_int_eq(head_end(exact, HTTP_HEAD_MAX, &len), 1);
        ck_assert_uint_eq(len, HTTP_HEAD_MAX);
        ck_assert_int_eq(parse_len(exact, HTTP_HEAD_MAX), 0);
        ck_assert_int_eq(head_end(exact, HTTP_HEAD_MAX - 1, &len), 0);

        /* One byte over: known as soon as HTTP_HEAD_MAX bytes are in. */
        ck_assert_int_eq(head_end(over, HTTP_HEAD_MAX - 1, &len), 0);
        ck_assert_int_eq(head_end(over, HTTP_HEAD_MAX, &len), -431);
        ck_assert_int_eq(head_end(over, HTTP_HEAD_MAX + 1, &len), -431);
        ck_assert_int_eq(parse_len(over, HTTP_HEAD_MAX + 1), 431);

        ck_assert_int_eq(head_end(open, HTTP_HEAD_MAX - 1, &len), 0);
        ck_assert_int_eq(head_end(open, HTTP_HEAD_MAX, &len), -431);
        ck_assert_int_eq(head_end(open, HTTP_HEAD_MAX + 100, &len), -431);
}
END_TEST

START_TEST(test_parse_simple) {
        static const char s[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                                "Host: example.com:8080\r\n"
                                "User-Agent:curl/8\r\n"
                                "Accept: \t */* \t\r\n"
                                "X-Empty:\r\n"
                                "X-Blank:   \r\n"
                                "X-Inner: a  b\tc\r\n"
                                "X-Obs-Text: caf\xc3\xa9\r\n"
                                "\r\n";

        ck_assert_int_eq(parse(s), 0);
        ck_assert_str_eq(head.method, "GET");
        ck_assert_str_eq(head.target, "/index.html?q=1");
        ck_assert_str_eq(head.version, "HTTP/1.1");
        ck_assert_int_eq(head.minor, 1);
        ck_assert_uint_eq(head.n_headers, 7);
        ck_assert_str_eq(head.headers[0].name, "Host");
        ck_assert_str_eq(head.headers[0].value, "example.com:8080");
        ck_assert_str_eq(head.headers[1].name, "User-Agent");
        ck_assert_str_eq(head.headers[1].value, "curl/8");
        ck_assert_str_eq(head.headers[2].value, "*/*");
        ck_assert_str_eq(head.headers[3].value, "");
        ck_assert_str_eq(head.headers[4].value, "");
        ck_assert_str_eq(head.headers[5].value, "a  b\tc");
        ck_assert_str_eq(head.headers[6].value, "caf\xc3\xa9");
        ck_assert_int_eq(head.content_length, -1);
        ck_assert(!head.chunked);
        ck_assert(head.keep_alive);
        ck_assert(!head.expect_continue);
        ck_assert(!head.upgrade);
        ck_assert_str_eq(head.host, "example.com:8080");
        ck_assert_ptr_eq(head.host, head.headers[0].value);

        /* The strings live in the buffer. */
        ck_assert(head.method == buffer && head.target > buffer &&
                  head.headers[6].value < buffer + sizeof(s));

        ck_assert_str_eq(http_request_header(&head, "user-agent"), "curl/8");
        ck_assert_str_eq(http_request_header(&head, "HOST"), "example.com:8080");
        ck_assert_ptr_null(http_request_header(&head, "Cookie"));
        ck_assert_ptr_null(http_request_header(&head, "User"));
}
END_TEST

START_TEST(test_parse_bare_lf_and_leading_lines) {
        ck_assert_int_eq(parse("GET / HTTP/1.1\nHost: a\n\n"), 0);
        ck_assert_str_eq(head.version, "HTTP/1.1");
        ck_assert_str_eq(head.host, "a");
        ck_assert_int_eq(parse("\r\n\nGET / HTTP/1.0\r\nA: b\n\r\n"), 0);
        ck_assert_str_eq(head.method, "GET");
        ck_assert_str_eq(head.headers[0].value, "b");
        assert_ok("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        assert_status("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n", 400);
        assert_status("\r\n\r\n", 400);
        assert_status("\n", 400);
        /* Nothing past len is read (ASan builds check this one). */
        _cleanup_free_ char *lines = malloc(4);
        HttpRequestHead *h = malloc(sizeof(HttpRequestHead));
        int status = 0;
        ck_assert(lines && h);
        memcpy(lines, "\r\n\r\n", 4);
        ck_assert_int_eq(http_parse_request_head(lines, 4, h, &status), -EBADMSG);
        ck_assert_int_eq(status, 400);
        free(h);
        ck_assert_int_eq(parse_len("GET / HTTP/1.0\r\n\r\n", 16), 400);

        /* Only a complete head, and nothing after it. */
        ck_assert_int_eq(parse_len("", 0), 400);
        assert_status("GET / HTTP/1.0\r\n", 400);
        assert_status("GET / HTTP/1.0\r\nA: b\r\n", 400);
        assert_status("GET / HTTP/1.0\r\n\r\nX", 400);
        assert_status("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n", 400);
}
END_TEST

START_TEST(test_parse_request_line) {
        assert_ok(GET10 "\r\n");
        assert_ok("get / HTTP/1.0\r\n\r\n");
        assert_ok("M-SEARCH!#$%&'*+.^_`|~09 / HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(parse("PROPFIND /a%20b/c;p=1?x=/y HTTP/1.0\r\n\r\n"), 0);
        ck_assert_str_eq(head.method, "PROPFIND");
        ck_assert_str_eq(head.target, "/a%20b/c;p=1?x=/y");

        /* Method: a token. */
        assert_status(" / HTTP/1.0\r\n\r\n", 400);
        assert_status("G@T / HTTP/1.0\r\n\r\n", 400);
        assert_status("GE\x01T / HTTP/1.0\r\n\r\n", 400);
        assert_status("G\"T / HTTP/1.0\r\n\r\n", 400);
        assert_status("GET(1) / HTTP/1.0\r\n\r\n", 400);
        assert_status("G\xc3\x89T / HTTP/1.0\r\n\r\n", 400);

        /* Exactly single spaces. */
        assert_status("GET  / HTTP/1.0\r\n\r\n", 400);
        assert_status("GET /  HTTP/1.0\r\n\r\n", 400);
        assert_status("GET\t/ HTTP/1.0\r\n\r\n", 400);
        assert_status("GET /\tHTTP/1.0\r\n\r\n", 400);
        assert_status("GET / HTTP/1.0 \r\n\r\n", 400);
        assert_status("GET / HTTP/1.0\t\r\n\r\n", 400);
        assert_status(" GET / HTTP/1.0\r\n\r\n", 400);
        assert_status("GET /\r\n\r\n", 400);
        assert_status("GET / \r\n\r\n", 400);
        assert_status("GET\r\n\r\n", 400);
        assert_status("GET /a b HTTP/1.0\r\n\r\n", 400);
        assert_status("GET / HTTP/1.0 extra\r\n\r\n", 400);
}
END_TEST

START_TEST(test_parse_target_bytes) {
        char s[64];

        /* Raw UTF-8 and every other byte above 0x7f gets through... */
        ck_assert_int_eq(parse("GET /caf\xc3\xa9\x80\xff HTTP/1.0\r\n\r\n"), 0);
        ck_assert_str_eq(head.target, "/caf\xc3\xa9\x80\xff");
        assert_ok("GET /a#frag HTTP/1.0\r\n\r\n");

        /* ...no control character, DEL or NUL does. */
        for (int c = 0; c < 0x20; c++) {
                if (c == ' ' || c == '\n' || c == '\r')
                        continue;
                memcpy(s, "GET /a? HTTP/1.0\r\n\r\n", 20);
                s[6] = (char) c;
                ck_assert_msg(parse_len(s, 20) == 400, "target byte %#x accepted", c);
        }
        memcpy(s, "GET /a\x7f HTTP/1.0\r\n\r\n", 20);
        ck_assert_int_eq(parse_len(s, 20), 400);
        assert_status("GET /a\rb HTTP/1.0\r\n\r\n", 400);
        assert_status("GET /a\r HTTP/1.0\r\n\r\n", 400);
        ck_assert_int_eq(parse_len("GET /\0 HTTP/1.0\r\n\r\n", 19), 400);
}
END_TEST

START_TEST(test_parse_version) {
        ck_assert_int_eq(parse(GET10 "\r\n"), 0);
        ck_assert_int_eq(head.minor, 0);
        ck_assert_str_eq(head.version, "HTTP/1.0");

        assert_status("GET / HTTP/1.2\r\n\r\n", 505);
        assert_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
        assert_status("GET / HTTP/0.9\r\n\r\n", 505);
        assert_status("GET / HTTP/9.9\r\n\r\n", 505);
        assert_status("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
        assert_status("GET / HTTP/1.10\r\n\r\n", 400);
        assert_status("GET / HTTP/11.1\r\n\r\n", 400);
        assert_status("GET / HTTP/1\r\n\r\n", 400);
        assert_status("GET / HTTP/2\r\n\r\n", 400);
        assert_status("GET / HTTP/1.x\r\n\r\n", 400);
        assert_status("GET / HTTPS/1.1\r\n\r\n", 400);
        assert_status("GET / HTTP/1,1\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\rX\r\n\r\n", 400);
        assert_status("GET / \r\n\r\n", 400);
        /* A version error comes with the request line, before the fields. */
        assert_status("GET / HTTP/3.0\r\nBad Name: x\r\n\r\n", 505);
}
END_TEST

START_TEST(test_parse_field_syntax) {
        /* The name is a token, right before the colon. */
        assert_status(GET11 "Transfer-Encoding : chunked\r\n\r\n", 400);
        assert_status(GET11 "X-A\t: b\r\n\r\n", 400);
        assert_status(GET11 "X A: b\r\n\r\n", 400);
        assert_status(GET11 ": b\r\n\r\n", 400);
        assert_status(GET11 "NoColon\r\n\r\n", 400);
        assert_status(GET11 "\x0bTransfer-Encoding: chunked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding\x0b: chunked\r\n\r\n", 400);
        assert_status(GET11 "X-\xc3\xa9: b\r\n\r\n", 400);
        assert_status(GET11 "X(1): b\r\n\r\n", 400);
        assert_status(GET11 "X@: b\r\n\r\n", 400);

        /* obs-fold, and whitespace before the first field line. */
        assert_status(GET11 "X-A: b\r\n c\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\r\n\tc\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: \r\n chunked\r\n\r\n", 400);
        assert_status(GET11 " \r\n\r\n", 400);

        /* Values: no control characters but HTAB. */
        assert_ok(GET11 "X-A: \tb\tc\t\r\n\r\n");
        assert_status(GET11 "X-A: b\x01\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\x7f\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\x1b[0m\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\rc\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\r\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\x0b\r\n\r\n", 400);
        assert_status(GET11 "X-A: b\x0c\r\n\r\n", 400);
        ck_assert_int_eq(parse_len(GET11 "X-A: b\0c\r\n\r\n", strlen(GET11) + 12), 400);
        ck_assert_int_eq(parse_len(GET11 "X-\0: b\r\n\r\n", strlen(GET11) + 10), 400);
        ck_assert_int_eq(parse_len(GET11 "\0\r\n\r\n", strlen(GET11) + 5), 400);
        assert_status(GET11 "\r\r\n", 400);
}
END_TEST

/* Every byte value at every offset of a long value, so that word-at-a-time
 * scanning is checked at each position within a word. */
START_TEST(test_parse_value_bytes_everywhere) {
        const size_t prefix = strlen(GET11 "X: "), value_len = 40;
        char s[256];
        int wrong = -1, wrong_offset = -1;

        memcpy(s, GET11 "X: ", prefix);
        for (int c = 0; c < 256; c++) {
                bool valid = c == '\t' || (c >= ' ' && c != 0x7f);

                if (c == '\r' || c == '\n')
                        continue;
                for (size_t offset = 1; offset + 1 < value_len; offset++) {
                        memset(s + prefix, 'v', value_len);
                        s[prefix + offset] = (char) c;
                        memcpy(s + prefix + value_len, "\r\n\r\n", 4);
                        if ((parse_quiet(s, prefix + value_len + 4) == 0) != valid) {
                                wrong = c;
                                wrong_offset = (int) offset;
                        } else if (valid && (strlen(head.headers[1].value) != value_len ||
                                             head.headers[1].value[offset] != (char) c)) {
                                wrong = c;
                                wrong_offset = (int) offset;
                        }
                }
        }
        ck_assert_msg(wrong == -1, "byte %#x at %d", wrong, wrong_offset);
}
END_TEST

/* The same for the scan that looks for the end of a head. */
START_TEST(test_head_end_bytes_everywhere) {
        char s[128];
        int wrong = -1, wrong_offset = -1;

        for (int c = 0; c < 256; c++) {
                int expected = c == 0 || c == '\r' ? -400 : 0;

                if (c == '\n')
                        continue;
                for (size_t offset = 0; offset < 40; offset++) {
                        size_t len;

                        memcpy(s, "GET /", 5);
                        memset(s + 5, 'a', 60);
                        s[5 + offset] = (char) c;
                        s[5 + 60] = 'x'; /* so that a CR is known to be bare */
                        if (head_end(s, 66, &len) != expected) {
                                wrong = c;
                                wrong_offset = (int) offset;
                        }
                }
        }
        ck_assert_msg(wrong == -1, "byte %#x at %d", wrong, wrong_offset);
}
END_TEST

START_TEST(test_parse_headers_limit) {
        static char s[HTTP_HEAD_MAX];
        size_t p;

        p = (size_t) sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 1; i < HTTP_HEADERS_MAX; i++)
                p += (size_t) sprintf(s + p, "X-%d: %d\r\n", i, i);
        strcpy(s + p, "\r\n");
        ck_assert_int_eq(parse(s), 0);
        ck_assert_uint_eq(head.n_headers, HTTP_HEADERS_MAX);
        ck_assert_str_eq(head.headers[HTTP_HEADERS_MAX - 1].name, "X-99");
        ck_assert_str_eq(head.headers[HTTP_HEADERS_MAX - 1].value, "99");

        strcpy(s + p, "X-Last: 1\r\n\r\n");
        ck_assert_int_eq(parse(s), 431);
}
END_TEST

START_TEST(test_parse_untouched_on_failure) {
        HttpRequestHead before;
        char s[] = GET11 "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        int status = 4242;

        memset(&head, 0xa5, sizeof(head));
        memcpy(&before, &head, sizeof(head));
        ck_assert_int_eq(http_parse_request_head(s, strlen(s), &head, &status), -EBADMSG);
        ck_assert_int_eq(status, 400);
        ck_assert(memcmp(&before, &head, sizeof(head)) == 0);
}
END_TEST

START_TEST(test_content_length) {
        ck_assert_int_eq(parse(GET11 "Content-Length: 42\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 42);
        ck_assert(!head.chunked);
        ck_assert_int_eq(parse(GET11 "content-length:0\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 0);
        ck_assert_int_eq(parse(GET11 "Content-Length: 007\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 7);
        ck_assert_int_eq(parse(GET11 "Content-Length: 9223372036854775807\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, INT64_MAX);

        /* The same value repeated, in a list or on several lines, is one. */
        ck_assert_int_eq(parse(GET11 "Content-Length: 5, 5\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 5);
        ck_assert_int_eq(parse(GET11 "Content-Length: 5,5 ,\t5\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 5);
        ck_assert_int_eq(parse(GET11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 5);
        ck_assert_int_eq(parse(GET11 "Content-Length: 5\r\nContent-Length: 05, 5\r\n\r\n"), 0);
        ck_assert_int_eq(head.content_length, 5);

        assert_status(GET11 "Content-Length: 5, 6\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 0\r\nContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 5\r\nContent-Length: 5, 6\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 9223372036854775808\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 18446744073709551616\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 99999999999999999999999\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: -1\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: +1\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 0x10\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 1 2\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 1.0\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 1e3\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: \r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 5,\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: ,5\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 5,,5\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: \xd9\xa5\r\n\r\n", 400);
        assert_status(GET11 "Content-Length : 5\r\n\r\n", 400);
}
END_TEST

START_TEST(test_transfer_encoding) {
        ck_assert_int_eq(parse(GET11 "Transfer-Encoding: chunked\r\n\r\n"), 0);
        ck_assert(head.chunked);
        ck_assert_int_eq(head.content_length, -1);
        ck_assert_int_eq(parse(GET11 "transfer-encoding:CHUNKED \r\n\r\n"), 0);
        ck_assert(head.chunked);
        ck_assert_int_eq(parse(GET11 "Transfer-Encoding: Chunked\r\n\r\n"), 0);
        ck_assert(head.chunked);
        /* Empty list elements are nothing (RFC 9110 §5.6.1). */
        ck_assert_int_eq(parse(GET11 "Transfer-Encoding: , chunked,\r\n\r\n"), 0);
        ck_assert(head.chunked);

        /* Anything but a lone chunked: not implemented, in HTTP/1.1. */
        assert_status(GET11 "Transfer-Encoding: identity\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: gzip\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunked, identity\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunked ; a=\"b,c\"\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: xchunked\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunkedx\r\n\r\n", 501);
        assert_status(GET11 "Transfer-Encoding: chunk\r\n\r\n", 501);

        /* Malformed: chunked twice, codings that are not tokens, nothing. */
        assert_status(GET11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: gzip, chunked, chunked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: chu nked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: ;chunked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: \xc3\xa9\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding:\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: ,\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: chunked\x0b\r\n\r\n", 400);

        /* HTTP/1.0 has no Transfer-Encoding: faulty framing (RFC 9112 §6.1). */
        assert_status(GET10 "Transfer-Encoding: chunked\r\n\r\n", 400);
        assert_status(GET10 "Transfer-Encoding: gzip\r\n\r\n", 400);
}
END_TEST

START_TEST(test_smuggling_pairs) {
        /* Content-Length with Transfer-Encoding, in either order. */
        assert_status(GET11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400);
        assert_status(GET11 "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
        assert_status(GET10 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);

        /* Spellings that another parser might read as one of them. */
        assert_status(GET11 "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "Content-Length : 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        assert_status(GET11 " Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "X: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "\x0bTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
        assert_ok(GET11 "Transfer_Encoding: chunked\r\n\r\n");
        assert_status(GET11 "Transfer-Encoding: chunked\rContent-Length: 5\r\n\r\n", 400);
        assert_status(GET11 "Transfer-Encoding: chunked\r\r\nContent-Length: 5\r\n\r\n", 400);
        ck_assert_int_eq(parse(GET11 "Transfer-Encoding: chunked\nContent-Length: 5\n\n"), 400);
        ck_assert_int_eq(parse_len(GET11 "Transfer-Encoding: chunked\0\r\n\r\n", strlen(GET11) + 31), 400);
}
END_TEST

START_TEST(test_host) {
        static const char *const valid[] = {
                "example.com",
                "EXAMPLE.com.",
                "example.com:8080",
                "example.com:0",
                "example.com:65535",
                "127.0.0.1",
                "127.0.0.1:80",
                "[::1]",
                "[::1]:8080",
                "[2001:db8::ff00:42:8329]",
                "[::ffff:192.0.2.1]:443",
                "xn--bcher-kva.example",
                "a%20b",
                "under_score-and~tilde",
                "sub!$&'()*+,;=delims",
                "localhost",
        };
        static const char *const invalid[] = {
                "user@example.com",
                "user:pw@example.com",
                "example.com/",
                "example.com/path",
                "exa mple.com",
                "exa\tmple.com",
                "example.com:",
                "example.com:http",
                "example.com:80:80",
                "example.com:123456",
                "example.com:65536",
                "example.com:-1",
                ":80",
                "[::1",
                "::1",
                "[::1]x",
                "[::1]:",
                "[zz::1]",
                "[]",
                "[::1%25eth0]",
                "[v1.fe]",
                "a%2",
                "a%zz",
                "a%",
                "ex\"ample",
                "ex<ample>",
                "example.com?",
                "example.com#",
                "\xc3\xa9xample.com",
                "a\\b",
        };
        char s[512];

        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", valid[i]);
                ck_assert_msg(parse(s) == 0, "Host %s refused", valid[i]);
                ck_assert_str_eq(head.host, valid[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", invalid[i]);
                ck_assert_msg(parse(s) == 400, "Host %s accepted", invalid[i]);
                snprintf(s, sizeof(s), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", invalid[i]);
                ck_assert_msg(parse(s) == 400, "Host %s accepted in HTTP/1.0", invalid[i]);
        }

        /* Empty, as sent with a target that has no authority (RFC 9112 §3.2). */
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0);
        ck_assert_str_eq(head.host, "");
        ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost:  \r\n\r\n"), 0);
        ck_assert_str_eq(head.host, "");

        /* Exactly one in HTTP/1.1; none or one in HTTP/1.0. */
        assert_status("GET / HTTP/1.1\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\nHost: a\r\nhost:\r\n\r\n", 400);
        assert_status("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400);
        ck_assert_int_eq(parse(GET10 "\r\n"), 0);
        ck_assert_ptr_null(head.host);
        ck_assert_int_eq(parse(GET10 "hOsT: a.b\r\n\r\n"), 0);
        ck_assert_str_eq(head.host, "a.b");
        assert_status(GET10 "Host: a\r\nHost: b\r\n\r\n", 400);
}
END_TEST

/* An absolute-form target, its expected origin-form rewrite and host. */
static void assert_absolute(const char *target, const char *origin, const char *host) {
        char s[1024];

        snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, host);
        ck_assert_msg(parse(s) == 0, "%s refused", target);
        ck_assert_str_eq(head.target, origin);
        ck_assert_str_eq(head.host, host);
        ck_assert_str_eq(head.method, "GET");
        ck_assert_str_eq(head.version, "HTTP/1.1");
        ck_assert_ptr_eq(head.headers[0].value, head.host);
}

START_TEST(test_absolute_form) {
        ck_assert_int_eq(
                parse("GET http://example.com/path?q=1 HTTP/1.1\r\nHost: other.org\r\nX: y\r\n\r\n"), 0);
        ck_assert_str_eq(head.target, "/path?q=1");
        ck_assert_str_eq(head.host, "example.com");
        /* Strings in the buffer, like all others. */
        ck_assert(head.host >= buffer && head.host < buffer + 64);
        ck_assert(head.target > head.host && head.target < buffer + 64);
        /* The Host line says what the request says. */
        ck_assert_str_eq(http_request_header(&head, "Host"), "example.com");
        ck_assert_str_eq(head.headers[1].value, "y");

        assert_absolute("https://example.com:8443/", "/", "example.com:8443");
        assert_absolute("HTTP://Example.com", "/", "Example.com");
        assert_absolute("hTTpS://a", "/", "a");
        assert_absolute("http://[::1]:81?x", "/?x", "[::1]:81");
        assert_absolute("http://a.b#f", "/#f", "a.b");
        assert_absolute("http://a.b//x/../y?q=http://c/", "//x/../y?q=http://c/", "a.b");
        assert_absolute("https://a.b/%20", "/%20", "a.b");

        /* Any valid Host, even an empty one, is ignored (RFC 9112 §3.2.2). */
        ck_assert_int_eq(parse("GET http://a.b/c HTTP/1.1\r\nHost:\r\n\r\n"), 0);
        ck_assert_str_eq(head.host, "a.b");
        ck_assert_str_eq(head.target, "/c");
        ck_assert_str_eq(head.headers[0].value, "a.b");

        /* HTTP/1.0 needs no Host: the host comes from the target alone. */
        ck_assert_int_eq(parse("GET http://example.com:80/x HTTP/1.0\r\n\r\n"), 0);
        ck_assert_str_eq(head.host, "example.com:80");
        ck_assert_str_eq(head.target, "/x");
        ck_assert_uint_eq(head.n_headers, 0);
        ck_assert_int_eq(parse("GET http://e HTTP/1.0\n\n"), 0);
        ck_assert_str_eq(head.host, "e");
        ck_assert_str_eq(head.target, "/");
        ck_assert_str_eq(head.version, "HTTP/1.0");

        /* Still one Host line in HTTP/1.1, and a valid one. */
        assert_status("GET http://a.b/ HTTP/1.1\r\n\r\n", 400);
        assert_status("GET http://a.b/ HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
        assert_status("GET http://a.b/ HTTP/1.1\r\nHost: a.b\r\nHost: a.b\r\n\r\n", 400);

        assert_status("GET http:///path HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http:// HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http://?q HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http://user@a.b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http://a.b:99999/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http://a.b:/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http://a\xc3\xa9/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http:/a.b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET http:a.b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET ftp://a.b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET httpx://a.b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET a.b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("GET index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        /* Origin-form stays as sent, even when it looks like an authority. */
        ck_assert_int_eq(parse("GET //a.b/ HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        ck_assert_str_eq(head.target, "//a.b/");
        ck_assert_str_eq(head.host, "x");
}
END_TEST

START_TEST(test_asterisk_and_authority_form) {
        ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
        ck_assert_str_eq(head.target, "*");
        ck_assert_str_eq(head.host, "a");
        assert_ok("OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_status("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        assert_status("options * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        assert_status("OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        assert_status("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        assert_status("CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n", 400);

        /* authority-form, for CONNECT only; htparser refuses CONNECT later. */
        ck_assert_int_eq(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 0);
        ck_assert_str_eq(head.method, "CONNECT");
        ck_assert_str_eq(head.target, "example.com:443");
        assert_ok("CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_status("CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("CONNECT example.com: HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("CONNECT u@example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("CONNECT http://example.com:443/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        assert_status("CONNECT example.com:443 HTTP/1.1\r\n\r\n", 400);
        assert_status("GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}
END_TEST

START_TEST(test_keep_alive) {
        static const struct {
                const char *head;
                bool keep_alive;
        } table[] = {
                {GET11 "\r\n", true},
                {GET11 "Connection: close\r\n\r\n", false},
                {GET11 "Connection: Close\r\n\r\n", false},
                {GET11 "Connection: keep-alive\r\n\r\n", true},
                {GET11 "Connection: keep-alive, close\r\n\r\n", false},
                {GET11 "Connection: TE, close\r\n\r\n", false},
                {GET11 "Connection: upgrade\r\nConnection: close\r\n\r\n", false},
                {GET11 "Connection: closed\r\n\r\n", true},
                {GET11 "Connection: \"close\"\r\n\r\n", true},
                {GET11 "X-Connection: close\r\n\r\n", true},
                {GET10 "\r\n", false},
                {GET10 "Connection: keep-alive\r\n\r\n", true},
                {GET10 "Connection: Keep-Alive\r\n\r\n", true},
                {GET10 "Connection: foo,,  keep-alive ,\r\n\r\n", true},
                {GET10 "Connection: keep-alive\r\nConnection: close\r\n\r\n", false},
                {GET10 "Connection: close\r\n\r\n", false},
                {GET10 "Connection: keep-alives\r\n\r\n", false},
                {GET10 "Keep-Alive: timeout=5\r\n\r\n", false},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                ck_assert_msg(parse(table[i].head) == 0, "refused: %s", table[i].head);
                ck_assert_msg(head.keep_alive == table[i].keep_alive, "keep_alive wrong: %s", table[i].head);
        }
}
END_TEST

START_TEST(test_expect_and_upgrade) {
        ck_assert_int_eq(parse(GET11 "Expect: 100-continue\r\n\r\n"), 0);
        ck_assert(head.expect_continue);
        ck_assert_int_eq(parse(GET11 "expect:100-Continue \r\n\r\n"), 0);
        ck_assert(head.expect_continue);
        ck_assert_int_eq(parse(GET11 "Expect: 100-continue-x\r\n\r\n"), 0);
        ck_assert(!head.expect_continue);
        ck_assert_int_eq(parse(GET11 "Expect: 200-ok\r\n\r\n"), 0);
        ck_assert(!head.expect_continue);
        ck_assert_int_eq(parse(GET10 "Expect: 100-continue\r\n\r\n"), 0);
        ck_assert(!head.expect_continue);

        ck_assert_int_eq(parse(GET11 "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), 0);
        ck_assert(head.upgrade);
        ck_assert(head.keep_alive);
        ck_assert_int_eq(parse(GET11 "Upgrade: h2c\r\nConnection: keep-alive, upgrade\r\n\r\n"), 0);
        ck_assert(head.upgrade);
        ck_assert_int_eq(parse(GET11 "Connection: upgrade\r\n\r\n"), 0);
        ck_assert(!head.upgrade);
        ck_assert_int_eq(parse(GET11 "Upgrade: websocket\r\n\r\n"), 0);
        ck_assert(!head.upgrade);
        ck_assert_int_eq(parse(GET11 "Upgrade: websocket\r\nConnection: upgraded\r\n\r\n"), 0);
        ck_assert(!head.upgrade);
}
END_TEST

START_TEST(test_list_has_token) {
        ck_assert(http_list_has_token("close", "close"));
        ck_assert(http_list_has_token("Close", "close"));
        ck_assert(http_list_has_token(" close\t", "close"));
        ck_assert(http_list_has_token("keep-alive, close", "close"));
        ck_assert(http_list_has_token("a,close,b", "close"));
        ck_assert(http_list_has_token(",,close,,", "close"));
        ck_assert(http_list_has_token("a , CLOSE , b", "close"));
        ck_assert(!http_list_has_token("", "close"));
        ck_assert(!http_list_has_token(",", "close"));
        ck_assert(!http_list_has_token("closed", "close"));
        ck_assert(!http_list_has_token("clos", "close"));
        ck_assert(!http_list_has_token("clo se", "close"));
        ck_assert(!http_list_has_token("close-ish, x", "close"));
        ck_assert(!http_list_has_token("\"close\"", "close"));
        /* Commas in quoted strings separate nothing. */
        ck_assert(!http_list_has_token("a=\"x,close\", b", "close"));
        ck_assert(!http_list_has_token("a=\"x\\\",close\", b", "close"));
        ck_assert(http_list_has_token("a=\"x\\\",y\", close", "close"));
        ck_assert(!http_list_has_token("\"a, close", "close"));
}
END_TEST

START_TEST(test_is_token) {
        ck_assert(http_is_token("GET", 3));
        ck_assert(http_is_token("!#$%&'*+-.^_`|~09azAZ", 21));
        ck_assert(http_is_token("GET /", 3));
        ck_assert(!http_is_token("", 0));
        ck_assert(!http_is_token("GET /", 4));
        ck_assert(!http_is_token("a\0b", 3));

        /* Exactly the tchar set of RFC 9110 §5.6.2. */
        int wrong = -1;
        for (int c = 0; c < 256; c++) {
                char ch = (char) c;
                bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                             (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
                if (http_is_token(&ch, 1) != tchar)
                        wrong = c;
        }
        ck_assert_int_eq(wrong, -1);
}
END_TEST

/* Decodes in[0..len) fed in pieces cut at split (0: all at once, or
 * SIZE_MAX: one byte at a time); returns what the last call returned, the
 * body in out and everything consumed. */
static int decode(const char *in, size_t len, size_t split, char *out, size_t *ret_out_len,
                  size_t *ret_consumed) {
        HttpChunked c = {};
        size_t consumed = 0, produced = 0;
        int r = 0;

        while (consumed < len) {
                size_t n_in, n_consumed = 4242, n_produced = 4242;

                if (split == SIZE_MAX)
                        n_in = 1;
                else if (consumed < split)
                        n_in = split - consumed;
                else
                        n_in = len - consumed;
                n_in = MIN(n_in, len - consumed);
                r = http_chunked_decode(&c, in + consumed, n_in, out + produced, &n_consumed, &n_produced);
                if (r < 0) {
                        /* Nothing set on errors. */
                        if (n_consumed != 4242 || n_produced != 4242)
                                return -EIO;
                        return r;
                }
                if (n_consumed > n_in || n_produced > n_consumed)
                        return -EIO;
                consumed += n_consumed;
                produced += n_produced;
                if (r == 1) {
                        if (!c.done)
                                return -EIO;
                        break;
                }
                if (n_consumed != n_in || c.done)
                        return -EIO; /* a decoder that needs more takes all it gets */
        }
        *ret_out_len = produced;
        *ret_consumed = consumed;
        return r;
}

/* Asserts that in decodes to body, followed by rest, at every split. */
static void assert_chunked(const char *in, const char *body, const char *rest) {
        size_t len = strlen(in), body_len = strlen(body), out_len, consumed;
        char out[16384];
        int r;

        ck_assert_uint_lt(len, sizeof(out));
        r = decode(in, len, 0, out, &out_len, &consumed);
        ck_assert_msg(r == 1, "\"%s\": %d", in, r);
        ck_assert_uint_eq(out_len, body_len);
        ck_assert_mem_eq(out, body, body_len);
        ck_assert_uint_eq(consumed, len - strlen(rest));

        /* Every split point (of long inputs: near both ends and a sample in
         * between, to stay quick), and byte by byte: the same body, the
         * same end. */
        size_t bad = 0;
        for (size_t split = 1; split <= len; split++) {
                if (len > 1024 && split > 64 && split < len - 64 && split % 37 != 0)
                        continue;
                r = decode(in, len, split, out, &out_len, &consumed);
                if (r != 1 || out_len != body_len || memcmp(out, body, body_len) != 0 ||
                    consumed != len - strlen(rest))
                        bad = split;
        }
        ck_assert_msg(bad == 0, "\"%s\" split at %zu", in, bad);
        r = decode(in, len, SIZE_MAX, out, &out_len, &consumed);
        ck_assert_int_eq(r, 1);
        ck_assert_uint_eq(out_len, body_len);
        ck_assert_mem_eq(out, body, body_len);
}

/* Asserts that in is refused with error, however it is split. */
static void assert_chunked_fails(const char *in, int error) {
        size_t len = strlen(in), out_len, consumed, bad = SIZE_MAX;
        char out[16384];
        int r;

        ck_assert_uint_lt(len, sizeof(out));
        r = decode(in, len, 0, out, &out_len, &consumed);
        ck_assert_msg(r == error, "\"%s\": %d", in, r);
        for (size_t split = 1; split <= len; split++) {
                if (len > 1024 && split > 64 && split < len - 64 && split % 37 != 0)
                        continue;
                if (decode(in, len, split, out, &out_len, &consumed) != error)
                        bad = split;
        }
        ck_assert_msg(bad == SIZE_MAX, "\"%s\" split at %zu", in, bad);
}

/* Asserts that in is a correct prefix: all taken, more needed. */
static void assert_chunked_incomplete(const char *in, size_t expected_body_len) {
        size_t len = strlen(in), out_len = 4242, consumed = 4242;
        char out[4096];

        ck_assert_msg(decode(in, len, 0, out, &out_len, &consumed) == 0, "\"%s\" not incomplete", in);
        ck_assert_uint_eq(consumed, len);
        ck_assert_uint_eq(out_len, expected_body_len);
}

START_TEST(test_chunked_sample) {
        assert_chunked("4\r\nWiki\r\n"
                       "5;name=val\r\npedia\r\n"
                       "E ; q=\"a;b\\\"c\" ;x\r\n in\r\n\r\nchunks.\r\n"
                       "0\r\n"
                       "Trailer: x\r\n"
                       "\r\n"
                       "GET / HTTP/1.1\r\n",
                       "Wikipedia in\r\n\r\nchunks.", "GET / HTTP/1.1\r\n");
        assert_chunked("0\r\n\r\n", "", "");
        assert_chunked("0\n\nX", "", "X");
        assert_chunked("1\r\na\r\n0\r\n\r\n\r\n", "a", "\r\n");
}
END_TEST

START_TEST(test_chunked_sizes) {
        assert_chunked("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789", "");
        assert_chunked("1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n",
                       "0123456789012345678901234567890", "");
        assert_chunked("0001\r\nx\r\n00000000000000000000000000000000\r\n\r\n", "x", "");
        assert_chunked("f\r\n0123456789abcde\r\n0\r\n\r\n", "0123456789abcde", "");

        /* Sizes up to INT64_MAX, however many leading zeros. */
        assert_chunked_incomplete("7fffffffffffffff\r\n", 0);
        assert_chunked_incomplete("00000000000000007FFFFFFFFFFFFFFF\r\nabc", 3);
        assert_chunked_fails("8000000000000000\r\n", -EBADMSG);
        assert_chunked_fails("ffffffffffffffff\r\n", -EBADMSG);
        assert_chunked_fails("10000000000000000\r\n", -EBADMSG); /* 2^64 */
        assert_chunked_fails("100000000000000000000000000000000\r\n", -EBADMSG);
        assert_chunked_fails("00000000000000010000000000000000\r\n", -EBADMSG);
}
END_TEST

START_TEST(test_chunked_smuggling) {
        assert_chunked_fails("0x5\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("+5\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("-5\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails(" 5\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("5 5\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("1 0\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("5\t5\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("5_0\r\nhello\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("g\r\n", -EBADMSG);
        assert_chunked_fails("\r\n", -EBADMSG);
        assert_chunked_fails("\n", -EBADMSG);
        assert_chunked_fails(";a\r\n", -EBADMSG);

        /* Data ends with CRLF, exactly where the size says. */
        assert_chunked_fails("3\r\nabcX\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3\r\nabc\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3\r\nabc\r0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3\r\nabc0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3\r\nab\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3\r\nabc\r\n\r\n0\r\n\r\n", -EBADMSG);

        /* A bare CR, or a NUL, in a size line. */
        assert_chunked_fails("3\rabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3\r\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a\rb\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\r\n\r\n", -EBADMSG);

        /* A size line ending in a bare LF is taken, like a head line. */
        assert_chunked("3\nabc\r\n0\n\n", "abc", "");
        assert_chunked("3;a=b\nabc\r\n0;c\nX: y\n\n", "abc", "");

        /* A chunk longer than what has arrived waits for the rest. */
        assert_chunked_incomplete("10\r\nabc", 3);
        assert_chunked_incomplete("3\r\nabc", 3);
        assert_chunked_incomplete("3\r\nabc\r", 3);
        assert_chunked_incomplete("3\r\nabc\r\n", 3);
        assert_chunked_incomplete("3\r\nabc\r\n0", 3);
        assert_chunked_incomplete("3\r\nabc\r\n0\r\n", 3);
        assert_chunked_incomplete("3\r\nabc\r\n0\r\nX: y\r\n", 3);
        assert_chunked_incomplete("3\r\nabc\r\n0\r\n\r", 3);
        assert_chunked_incomplete("", 0);
}
END_TEST

START_TEST(test_chunked_extensions) {
        assert_chunked("3;a\r\nabc\r\n0\r\n\r\n", "abc", "");
        assert_chunked("3;a=b;c=\"d\"\r\nabc\r\n0;last\r\n\r\n", "abc", "");
        assert_chunked("3 \t; a = b ; c\t=\t\"d e\\\\ \\\"\" \r\nabc\r\n0\r\n\r\n", "abc", "");
        assert_chunked("3;a=\"\"\r\nabc\r\n0\r\n\r\n", "abc", "");
        assert_chunked("3;a=\"caf\xc3\xa9\"\r\nabc\r\n0\r\n\r\n", "abc", "");
        /* Whitespace after the size alone is tolerated. */
        assert_chunked("3 \r\nabc\r\n0\t\r\n\r\n", "abc", "");

        assert_chunked_fails("3;\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;;a\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;=b\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a b\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=b c\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=b=c\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=\"b\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=\"b\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=\"b\"c\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=\"\\\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=\"\x01\"\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a\x7f\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a@\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a=b@\r\nabc\r\n0\r\n\r\n", -EBADMSG);
        assert_chunked_fails("3;a\x0b\r\nabc\r\n0\r\n\r\n", -EBADMSG);
}
END_TEST

START_TEST(test_chunked_line_limit) {
        static char in[3 * 3100];
        size_t n;

        /* A size line of exactly HTTP_CHUNK_LINE_MAX bytes without its CRLF. */
        n = (size_t) sprintf(in, "3;a=");
        memset(in + n, 'b', HTTP_CHUNK_LINE_MAX - n);
        strcpy(in + HTTP_CHUNK_LINE_MAX, "\r\nabc\r\n0\r\n\r\n");
        assert_chunked(in, "abc", "");
        /* One more. */
        memset(in + n, 'b', HTTP_CHUNK_LINE_MAX + 1 - n);
        strcpy(in + HTTP_CHUNK_LINE_MAX + 1, "\r\nabc\r\n0\r\n\r\n");
        assert_chunked_fails(in, -EBADMSG);
        /* The limit is per line. */
        n = 0;
        for (int chunk = 0; chunk < 3; chunk++) {
                n += (size_t) sprintf(in + n, "1;a=");
                memset(in + n, 'b', 3000);
                n += 3000;
                n += (size_t) sprintf(in + n, chunk == 1 ? "\nx\r\n" : "\r\nx\r\n");
        }
        strcpy(in + n, "0\r\n\r\n");
        assert_chunked(in, "xxx", "");
        /* Leading zeros count too. */
        memset(in, '0', HTTP_CHUNK_LINE_MAX);
        strcpy(in + HTTP_CHUNK_LINE_MAX, "\r\n\r\n");
        assert_chunked(in, "", "");
        memset(in, '0', HTTP_CHUNK_LINE_MAX + 1);
        strcpy(in + HTTP_CHUNK_LINE_MAX + 1, "\r\n\r\n");
        assert_chunked_fails(in, -EBADMSG);

        /* A trailer line of exactly HTTP_CHUNK_LINE_MAX bytes, and one more. */
        n = (size_t) sprintf(in, "0\r\nX: ");
        memset(in + n, 'v', HTTP_CHUNK_LINE_MAX - 3);
        strcpy(in + n + HTTP_CHUNK_LINE_MAX - 3, "\r\n\r\n");
        assert_chunked(in, "", "");
        memset(in + n, 'v', HTTP_CHUNK_LINE_MAX - 2);
        strcpy(in + n + HTTP_CHUNK_LINE_MAX - 2, "\r\n\r\n");
        assert_chunked_fails(in, -EBADMSG);
}
END_TEST

START_TEST(test_chunked_trailers) {
        static char in[HTTP_TRAILERS_MAX + 256];
        size_t n, trailers;

        assert_chunked("0\r\nA: b\r\nC-D:\te f \r\n\r\nX", "", "X");
        assert_chunked("0\nA: b\nC:\n\nX", "", "X");
        assert_chunked("0\r\nA: b\n\r\n", "", "");

        assert_chunked_fails("0\r\nA: b\r\n c\r\n\r\n", -EBADMSG); /* obs-fold */
        assert_chunked_fails("0\r\n A: b\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\nNoColon\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\nA : b\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\n: b\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\nA: b\rc\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\nA: b\x01\r\n\r\n", -EBADMSG);
        assert_chunked_fails("0\r\nA: b\r\n\rX", -EBADMSG);

        /* The line limit is per line: several lines together may be longer. */
        for (int crlf = 0; crlf < 2; crlf++) {
                n = (size_t) sprintf(in, "0\r\n");
                for (int line = 0; line < 3; line++) {
                        memcpy(in + n, "X: ", 3);
                        memset(in + n + 3, 'v', 2000);
                        n += 2003;
                        n += (size_t) sprintf(in + n, crlf ? "\r\n" : "\n");
                }
                strcpy(in + n, "\r\n");
                assert_chunked(in, "", "");
        }

        /* HTTP_TRAILERS_MAX bytes of trailers, with their line ends and the
         * final empty line, and one more. */
        n = (size_t) sprintf(in, "0\r\n");
        for (trailers = 0; trailers + 2 + 1002 <= HTTP_TRAILERS_MAX; trailers += 1002) {
                memcpy(in + n + trailers, "X: ", 3);
                memset(in + n + trailers + 3, 'v', 997);
                memcpy(in + n + trailers + 1000, "\r\n", 2);
        }
        size_t left = HTTP_TRAILERS_MAX - 2 - trailers;
        ck_assert_uint_gt(left, 4);
        memcpy(in + n + trailers, "Y: ", 3);
        memset(in + n + trailers + 3, 'v', left - 5);
        strcpy(in + n + trailers + left - 2, "\r\n\r\nNEXT");
        assert_chunked(in, "", "NEXT");
        memset(in + n + trailers + 3, 'v', left - 4);
        strcpy(in + n + trailers + left - 1, "\r\n\r\nNEXT");
        assert_chunked_fails(in, -E2BIG);
}
END_TEST

START_TEST(test_chunked_in_place_and_after_end) {
        char in[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET";
        HttpChunked c = {};
        size_t consumed = 4242, produced = 4242;

        ck_assert_int_eq(http_chunked_decode(&c, in, strlen(in), in, &consumed, &produced), 1);
        ck_assert_uint_eq(consumed, strlen(in) - 3);
        ck_assert_uint_eq(produced, 11);
        ck_assert_mem_eq(in, "hello world", 11);
        ck_assert(c.done);

        /* Done stays done, and takes nothing more. */
        ck_assert_int_eq(http_chunked_decode(&c, "GET", 3, in, &consumed, &produced), 1);
        ck_assert_uint_eq(consumed, 0);
        ck_assert_uint_eq(produced, 0);
        ck_assert_int_eq(http_chunked_decode(&c, "", 0, in, &consumed, &produced), 1);

        /* A failed decoder stays failed, and sets nothing. */
        HttpChunked f = {};
        consumed = produced = 4242;
        ck_assert_int_eq(http_chunked_decode(&f, "3\r\nabcX", 7, in, &consumed, &produced), -EBADMSG);
        ck_assert_uint_eq(consumed, 4242);
        ck_assert_uint_eq(produced, 4242);
        ck_assert_int_eq(http_chunked_decode(&f, "0\r\n\r\n", 5, in, &consumed, &produced), -EBADMSG);
        ck_assert_int_eq(http_chunked_decode(&f, "", 0, in, &consumed, &produced), -EBADMSG);
        ck_assert(!f.done);
}
END_TEST

START_TEST(test_chunked_large) {
        /* A big chunk in several reads, moved in place. */
        static char in[70000], body[65536];
        size_t n, consumed, produced, total_in = 0, total_out = 0;
        HttpChunked c = {};
        int r = 0;

        for (size_t i = 0; i < sizeof(body); i++)
                body[i] = (char) (i * 7);
        n = (size_t) sprintf(in, "10000\r\n");
        memcpy(in + n, body, sizeof(body));
        n += sizeof(body);
        n += (size_t) sprintf(in + n, "\r\n0\r\n\r\n");

        while (total_in < n && r == 0) {
                size_t piece = MIN((size_t) 1000, n - total_in);
                r = http_chunked_decode(&c, in + total_in, piece, in + total_out, &consumed, &produced);
                if (r < 0)
                        break;
                total_in += consumed;
                total_out += produced;
        }
        ck_assert_int_eq(r, 1);
        ck_assert_uint_eq(total_in, n);
        ck_assert_uint_eq(total_out, sizeof(body));
        ck_assert(memcmp(in, body, sizeof(body)) == 0);
}
END_TEST

static HttpResponseHead response;
static char response_buffer[HTTP_HEAD_MAX + 4096];

/* Parses the response head s from a copy into response. */
static int parse_response(const char *s) {
        size_t len = strlen(s);

        ck_assert_uint_le(len, sizeof(response_buffer));
        memcpy(response_buffer, s, len);
        return http_parse_response_head(response_buffer, len, &response);
}

START_TEST(test_response_head_end) {
        size_t len = 4242;

        ck_assert_int_eq(http_response_head_end("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody", 29, &len), 1);
        ck_assert_uint_eq(len, 25);
        ck_assert_int_eq(http_response_head_end("Status: 200\n\nbody", 17, &len), 1);
        ck_assert_uint_eq(len, 13);
        ck_assert_int_eq(http_response_head_end("A: b\r\n\nbody", 11, &len), 1);
        ck_assert_uint_eq(len, 7);

        len = 4242;
        ck_assert_int_eq(http_response_head_end("HTTP/1.1 200 OK\r\nA: b\r\n\r", 24, &len), 0);
        ck_assert_int_eq(http_response_head_end("HTTP/1.1 200 OK\r\n", 17, &len), 0);
        ck_assert_int_eq(http_response_head_end("", 0, &len), 0);
        ck_assert_uint_eq(len, 4242);

        _cleanup_free_ char *exact = head_of_size(HTTP_HEAD_MAX, true);
        _cleanup_free_ char *over = head_of_size(HTTP_HEAD_MAX + 1, true);
        ck_assert_int_eq(http_response_head_end(exact, HTTP_HEAD_MAX, &len), 1);
        ck_assert_uint_eq(len, HTTP_HEAD_MAX);
        ck_assert_int_eq(http_response_head_end(over, HTTP_HEAD_MAX - 1, &len), 0);
        ck_assert_int_eq(http_response_head_end(over, HTTP_HEAD_MAX, &len), -E2BIG);
        ck_assert_int_eq(http_response_head_end(over, HTTP_HEAD_MAX + 1, &len), -E2BIG);
}
END_TEST

START_TEST(test_response_status_line) {
        ck_assert_int_eq(parse_response("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"), 0);
        ck_assert_int_eq(response.status, 200);
        ck_assert_str_eq(response.reason, "OK");
        ck_assert_int_eq(response.minor, 1);
        ck_assert_uint_eq(response.n_headers, 1);
        ck_assert_str_eq(http_response_header(&response, "content-type"), "text/html");
        ck_assert_ptr_null(http_response_header(&response, "Location"));

        ck_assert_int_eq(parse_response("HTTP/1.0 404\n\n"), 0);
        ck_assert_int_eq(response.status, 404);
        ck_assert_str_eq(response.reason, "");
        ck_assert_int_eq(response.minor, 0);
        ck_assert_uint_eq(response.n_headers, 0);
        ck_assert_int_eq(parse_response("HTTP/1.1 204 \r\n\r\n"), 0);
        ck_assert_str_eq(response.reason, "");
        ck_assert_int_eq(parse_response("HTTP/1.1 500  Internal  Error \r\n\r\n"), 0);
        ck_assert_str_eq(response.reason, "Internal  Error");
        ck_assert_int_eq(parse_response("HTTP/1.1 999 Odd\n\n"), 0);
        ck_assert_int_eq(response.status, 999);
        ck_assert_int_eq(parse_response("HTTP/1.1 100 Continue\n\n"), 0);
        ck_assert_int_eq(response.status, 100);
        /* A reason that could not be passed on is dropped, not the status. */
        ck_assert_int_eq(parse_response("HTTP/1.1 200 O\rK\r\n\r\n"), 0);
        ck_assert_int_eq(response.status, 200);
        ck_assert_str_eq(response.reason, "");
        /* With a status line, Status is an ordinary field. */
        ck_assert_int_eq(parse_response("HTTP/1.1 200 OK\nStatus: 404 No\n\n"), 0);
        ck_assert_int_eq(response.status, 200);
        ck_assert_str_eq(http_response_header(&response, "Status"), "404 No");

        ck_assert_int_eq(parse_response("HTTP/1.1 20 OK\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.1 2000 OK\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.1 099 OK\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.1 abc\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.1  200 OK\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.1\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/2 200\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.2 200\r\n\r\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("HTTP/1.1 200"), -EBADMSG);
        ck_assert_int_eq(parse_response(""), -EBADMSG);
        ck_assert_int_eq(parse_response("\r\n"), -EBADMSG);
}
END_TEST

START_TEST(test_response_cgi) {
        ck_assert_int_eq(parse_response("Status: 404 Not Found\nContent-Type: text/plain\n\n"), 0);
        ck_assert_int_eq(response.status, 404);
        ck_assert_str_eq(response.reason, "Not Found");
        ck_assert_int_eq(response.minor, 1);
        /* Status is taken, not passed on. */
        ck_assert_uint_eq(response.n_headers, 1);
        ck_assert_str_eq(response.headers[0].name, "Content-Type");
        ck_assert_ptr_null(http_response_header(&response, "Status"));

        ck_assert_int_eq(parse_response("Content-Type: text/plain\r\nstatus:200\r\n\r\n"), 0);
        ck_assert_int_eq(response.status, 200);
        ck_assert_str_eq(response.reason, "");
        ck_assert_int_eq(parse_response("Status: 201 A\nStatus: 500 B\nX: y\n\n"), 0);
        ck_assert_int_eq(response.status, 201);
        ck_assert_str_eq(response.reason, "A");
        ck_assert_uint_eq(response.n_headers, 1);

        /* A client redirect (RFC 3875 §6.2.3). */
        ck_assert_int_eq(parse_response("Location: http://example.com/\n\n"), 0);
        ck_assert_int_eq(response.status, 302);
        ck_assert_str_eq(response.reason, "");
        ck_assert_str_eq(http_response_header(&response, "Location"), "http://example.com/");
        ck_assert_int_eq(parse_response("Location: /x\r\nStatus: 301 Moved\r\n\r\n"), 0);
        ck_assert_int_eq(response.status, 301);
        ck_assert_str_eq(response.reason, "Moved");

        /* Only those exact names. */
        ck_assert_int_eq(parse_response("Statusx: 404 No\nLocationx: /\nLocation: /y\n\n"), 0);
        ck_assert_int_eq(response.status, 302);
        ck_assert_uint_eq(response.n_headers, 3);
        ck_assert_int_eq(parse_response("Statusx: 404 No\nLocationx: /\n\n"), -EBADMSG);

        ck_assert_int_eq(parse_response("Content-Type: text/plain\n\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("Status: abc\nLocation: /\n\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("Status: 42\n\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("Status: 1000\n\n"), -EBADMSG);
        ck_assert_int_eq(parse_response("Status:\n\n"), -EBADMSG);
}
END_TEST

START_TEST(test_response_dropped_lines) {
        ck_assert_int_eq(parse_response("HTTP/1.1 200 OK\r\n"
                                        "Good: 1\r\n"
                                        "NoColon\r\n"
                                        "Bad Name: x\r\n"
                                        "Bad : x\r\n"
                                        ": x\r\n"
                                        " folded\r\n"
                                        "\tfolded: too\r\n"
                                        "Ctl: a\x01\r\n"
                                        "Cr: a\rb\r\n"
                                        "Trim:  \t v a l \t \r\n"
                                        "Empty:\r\n"
                                        "Utf: caf\xc3\xa9\n"
                                        "\r\n"),
                         0);
        ck_assert_uint_eq(response.n_headers, 4);
        ck_assert_str_eq(response.headers[0].name, "Good");
        ck_assert_str_eq(response.headers[0].value, "1");
        ck_assert_str_eq(response.headers[1].name, "Trim");
        ck_assert_str_eq(response.headers[1].value, "v a l");
        ck_assert_str_eq(response.headers[2].value, "");
        ck_assert_str_eq(response.headers[3].value, "caf\xc3\xa9");

        /* A dropped line does not end the head. */
        ck_assert_int_eq(parse_response("garbage\nLocation: /x\n\n"), 0);
        ck_assert_int_eq(response.status, 302);
}
END_TEST

START_TEST(test_response_headers_limit) {
        static char s[HTTP_HEAD_MAX];
        size_t p;

        p = (size_t) sprintf(s, "HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < HTTP_HEADERS_MAX; i++)
                p += (size_t) sprintf(s + p, "X-%d: %d\r\n", i, i);
        strcpy(s + p, "\r\n");
        ck_assert_int_eq(parse_response(s), 0);
        ck_assert_uint_eq(response.n_headers, HTTP_HEADERS_MAX);

        strcpy(s + p, "X-Last: 1\r\n\r\n");
        ck_assert_int_eq(parse_response(s), -E2BIG);
        /* Dropped lines do not count. */
        strcpy(s + p, "Bad Line\r\n\r\n");
        ck_assert_int_eq(parse_response(s), 0);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("http");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_head_end_simple);
        tcase_add_test(tc, test_head_end_line_endings);
        tcase_add_test(tc, test_head_end_bad_bytes);
        tcase_add_test(tc, test_head_end_leading_empty_lines);
        tcase_add_test(tc, test_head_end_request_line_limit);
        tcase_add_test(tc, test_head_end_head_limit);
        tcase_add_test(tc, test_parse_simple);
        tcase_add_test(tc, test_parse_bare_lf_and_leading_lines);
        tcase_add_test(tc, test_parse_request_line);
        tcase_add_test(tc, test_parse_target_bytes);
        tcase_add_test(tc, test_parse_version);
        tcase_add_test(tc, test_parse_field_syntax);
        tcase_add_test(tc, test_parse_value_bytes_everywhere);
        tcase_add_test(tc, test_head_end_bytes_everywhere);
        tcase_add_test(tc, test_parse_headers_limit);
        tcase_add_test(tc, test_parse_untouched_on_failure);
        tcase_add_test(tc, test_content_length);
        tcase_add_test(tc, test_transfer_encoding);
        tcase_add_test(tc, test_smuggling_pairs);
        tcase_add_test(tc, test_host);
        tcase_add_test(tc, test_absolute_form);
        tcase_add_test(tc, test_asterisk_and_authority_form);
        tcase_add_test(tc, test_keep_alive);
        tcase_add_test(tc, test_expect_and_upgrade);
        tcase_add_test(tc, test_list_has_token);
        tcase_add_test(tc, test_is_token);
        tcase_add_test(tc, test_chunked_sample);
        tcase_add_test(tc, test_chunked_sizes);
        tcase_add_test(tc, test_chunked_smuggling);
        tcase_add_test(tc, test_chunked_extensions);
        tcase_add_test(tc, test_chunked_line_limit);
        tcase_add_test(tc, test_chunked_trailers);
        tcase_add_test(tc, test_chunked_in_place_and_after_end);
        tcase_add_test(tc, test_chunked_large);
        tcase_add_test(tc, test_response_head_end);
        tcase_add_test(tc, test_response_status_line);
        tcase_add_test(tc, test_response_cgi);
        tcase_add_test(tc, test_response_dropped_lines);
        tcase_add_test(tc, test_response_headers_limit);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
