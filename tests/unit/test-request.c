/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check-main.h"
#include "request.h"

/* A literal datagram with its embedded NULs, and its length without the
 * NUL that C adds. */
#define DG(s) s, sizeof(s) - 1

static Request *const SENTINEL = (Request *) (uintptr_t) 0x1;

/* A malloc'd string of n copies of c. */
static char *rep(char c, size_t n) {
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        s[n] = 0;
        return s;
}

/* Appends s and its NUL to a datagram being built. */
static void put(char *buf, size_t *pos, const char *s) {
        size_t len = strlen(s) + 1;

        memcpy(buf + *pos, s, len);
        *pos += len;
}

static bool in_block(const Request *r, const char *s) {
        return s >= r->block && s < r->block + r->block_size;
}

static void assert_same_request(const Request *a, const Request *b) {
        ck_assert_str_eq(a->method, b->method);
        ck_assert_str_eq(a->url, b->url);
        ck_assert_str_eq(a->version, b->version);
        ck_assert_str_eq(a->rest, b->rest);
        ck_assert_uint_eq(a->n_headers, b->n_headers);
        for (size_t i = 0; i < a->n_headers; i++) {
                ck_assert_str_eq(a->headers[i].name, b->headers[i].name);
                ck_assert_str_eq(a->headers[i].value, b->headers[i].value);
        }
}

static Request *decode_ok(const void *buf, size_t size) {
        Request *r = NULL;

        ck_assert_int_eq(req_decode(buf, size, &r), 0);
        ck_assert_ptr_nonnull(r);
        return r;
}

static void assert_decode_fails(const void *buf, size_t size, int error) {
        Request *r = SENTINEL;

        ck_assert_int_eq(req_decode(buf, size, &r), error);
        ck_assert_ptr_eq(r, SENTINEL);
}

START_TEST(test_new_basic) {
        _cleanup_(req_freep) Request *r = NULL;

        ck_assert_int_eq(req_new("GET", "/a/b?q=1", "HTTP/1.1", "a/b", &r), 0);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->url, "/a/b?q=1");
        ck_assert_str_eq(r->version, "HTTP/1.1");
        ck_assert_str_eq(r->rest, "a/b");
        ck_assert_uint_eq(r->n_headers, 0);
        ck_assert_ptr_null(req_header_get(r, "Host"));
        r = req_free(r);
        ck_assert_ptr_null(r);

        /* The rest string, and only it, may be empty. */
        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.0", "", &r), 0);
        ck_assert_str_eq(r->rest, "");
}
END_TEST

START_TEST(test_new_invalid) {
        static const char *const bad[] = {"", "A\rB", "A\nB", "AB\r", "\nAB"};
        Request *r = SENTINEL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(req_new(bad[i], "/", "HTTP/1.1", "", &r), -EINVAL);
                ck_assert_int_eq(req_new("GET", bad[i], "HTTP/1.1", "", &r), -EINVAL);
                ck_assert_int_eq(req_new("GET", "/", bad[i], "", &r), -EINVAL);
                if (i > 0)
                        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", bad[i], &r), -EINVAL);
        }
        ck_assert_ptr_eq(r, SENTINEL);
}
END_TEST

START_TEST(test_new_limits) {
        _cleanup_free_ char *m = rep('M', REQ_METHOD_MAX + 1), *v = rep('V', REQ_VERSION_MAX + 1),
                            *u = rep('u', REQ_URL_MAX + 1);
        Request *r = SENTINEL;

        ck_assert_int_eq(req_new(m, "/", "HTTP/1.1", "", &r), -E2BIG);
        ck_assert_int_eq(req_new("GET", u, "HTTP/1.1", "", &r), -E2BIG);
        ck_assert_int_eq(req_new("GET", "/", v, "", &r), -E2BIG);
        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", u, &r), -E2BIG);
        ck_assert_ptr_eq(r, SENTINEL);

        m[REQ_METHOD_MAX] = v[REQ_VERSION_MAX] = u[REQ_URL_MAX] = 0;
        ck_assert_int_eq(req_new(m, u, v, u, &r), 0);
        ck_assert_str_eq(r->method, m);
        ck_assert_str_eq(r->url, u);
        ck_assert_str_eq(r->version, v);
        ck_assert_str_eq(r->rest, u);
        req_free(r);
}
END_TEST

/* The bytes on the wire are those of the original ashd. */
START_TEST(test_encode_format) {
        static const char expected[] = "POST\0/x/y?z\0HTTP/1.1\0x/y\0"
                                       "Host\0example.org\0Cookie\0a=1\0Empty\0\0Cookie\0b=2\0\0";
        _cleanup_(req_freep) Request *r = NULL;
        char buf[256];

        ck_assert_int_eq(req_new("POST", "/x/y?z", "HTTP/1.1", "x/y", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "example.org"), 0);
        ck_assert_int_eq(req_header_add(r, "Cookie", "a=1"), 0);
        ck_assert_int_eq(req_header_add(r, "Empty", ""), 0);
        ck_assert_int_eq(req_header_add(r, "Cookie", "b=2"), 0);

        ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), sizeof(expected) - 1);
        ck_assert_mem_eq(buf, expected, sizeof(expected) - 1);

        /* No headers: rest then the lone terminator. */
        req_header_remove(r, "Host");
        req_header_remove(r, "Cookie");
        req_header_remove(r, "Empty");
        ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), 26);
        ck_assert_mem_eq(buf, "POST\0/x/y?z\0HTTP/1.1\0x/y\0\0", 26);
}
END_TEST

START_TEST(test_roundtrip) {
        _cleanup_(req_freep) Request *r = NULL, *d = NULL;
        char buf[512];
        int n;

        ck_assert_int_eq(req_new("GET", "/~alice/x.html?a=b", "HTTP/1.0", "~alice/x.html", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "example.org"), 0);
        ck_assert_int_eq(req_header_add(r, "Accept", "*/*"), 0);
        ck_assert_int_eq(req_header_add(r, "X-Dup", "one"), 0);
        ck_assert_int_eq(req_header_add(r, "x-dup", ""), 0);
        ck_assert_int_eq(req_header_add(r, "X-DUP", "three"), 0);

        n = req_encode(r, buf, sizeof(buf));
        ck_assert_int_gt(n, 0);
        d = decode_ok(buf, n);
        /* The decoded request owns a copy: the input buffer can be reused. */
        memset(buf, 'Z', sizeof(buf));

        assert_same_request(r, d);
        ck_assert_str_eq(d->headers[2].value, "one");
        ck_assert_str_eq(d->headers[3].name, "x-dup");
        ck_assert_str_eq(d->headers[4].value, "three");

        /* One copy of the datagram backs every string. */
        ck_assert_uint_eq(d->block_size, (size_t) n);
        ck_assert(in_block(d, d->method) && in_block(d, d->url) && in_block(d, d->version) &&
                  in_block(d, d->rest));
        for (size_t i = 0; i < d->n_headers; i++)
                ck_assert(in_block(d, d->headers[i].name) && in_block(d, d->headers[i].value));
}
END_TEST

START_TEST(test_decode_valid_minimal) {
        _cleanup_(req_freep) Request *r = NULL, *s = NULL;

        r = decode_ok(DG("GET\0/\0HTTP/1.1\0\0\0"));
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->url, "/");
        ck_assert_str_eq(r->version, "HTTP/1.1");
        ck_assert_str_eq(r->rest, "");
        ck_assert_uint_eq(r->n_headers, 0);

        s = decode_ok(DG("GET\0/\0HTTP/1.1\0r\0Empty\0\0\0"));
        ck_assert_uint_eq(s->n_headers, 1);
        ck_assert_str_eq(s->headers[0].name, "Empty");
        ck_assert_str_eq(s->headers[0].value, "");
}
END_TEST

START_TEST(test_decode_malformed) {
        static const struct {
                const char *data;
                size_t size;
        } cases[] = {
                {DG("")},
                {DG("GET")},
                {DG("GET\0")},
                {DG("GET\0/\0")},
                {DG("GET\0/\0HTTP/1.1\0")},
                /* missing final terminator */
                {DG("GET\0/\0HTTP/1.1\0r\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0Host\0x\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0Host\0\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0Host\0x")},
                /* a name without value */
                {DG("GET\0/\0HTTP/1.1\0r\0Host\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0A\0a\0Host\0")},
                /* bytes after the terminator */
                {DG("GET\0/\0HTTP/1.1\0r\0\0x")},
                {DG("GET\0/\0HTTP/1.1\0r\0\0\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0\0x\0y\0\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0A\0a\0\0\0")},
                /* CR or LF in each field */
                {DG("G\rT\0/\0HTTP/1.1\0r\0\0")},
                {DG("GET\0/\n\0HTTP/1.1\0r\0\0")},
                {DG("GET\0/\0HTTP/1.1\r\0r\0\0")},
                {DG("GET\0/\0HTTP/1.1\0\nr\0\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0Ho\rst\0x\0\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0Host\0x\r\n\0\0")},
                {DG("GET\0/\0HTTP/1.1\0r\0Host\0x\0Y\0\n\0\0")},
                /* empty method, URL or version */
                {DG("\0/\0HTTP/1.1\0r\0\0")},
                {DG("GET\0\0HTTP/1.1\0r\0\0")},
                {DG("GET\0/\0\0r\0\0")},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_decode_fails(cases[i].data, cases[i].size, -EBADMSG);
}
END_TEST

/* Decodes a request whose field at index field is n bytes long, and checks
 * that n == max passes and n == max + 1 fails with -E2BIG. */
static void check_decode_field_limit(unsigned field, size_t max) {
        for (size_t n = max; n <= max + 1; n++) {
                _cleanup_free_ char *buf = malloc(REQ_DATAGRAM_MAX), *s = rep('a', n);
                const char *f[6] = {"GET", "/", "HTTP/1.1", "r", "Name", "value"};
                size_t pos = 0;

                f[field] = s;
                for (size_t i = 0; i < ELEMENTSOF(f); i++)
                        put(buf, &pos, f[i]);
                put(buf, &pos, "");

                if (n == max) {
                        _cleanup_(req_freep) Request *r = decode_ok(buf, pos);
                        const char *got[6] = {r->method,          r->url,
                                              r->version,         r->rest,
                                              r->headers[0].name, r->headers[0].value};
                        ck_assert_str_eq(got[field], s);
                } else
                        assert_decode_fails(buf, pos, -E2BIG);
        }
}

START_TEST(test_decode_field_limits) {
        check_decode_field_limit(0, REQ_METHOD_MAX);
        check_decode_field_limit(1, REQ_URL_MAX);
        check_decode_field_limit(2, REQ_VERSION_MAX);
        check_decode_field_limit(3, REQ_URL_MAX);
        check_decode_field_limit(4, REQ_NAME_MAX);
        check_decode_field_limit(5, REQ_VALUE_MAX);
}
END_TEST

/* The first error in the datagram's order wins, whether or not it holds a
 * CR or LF somewhere (decoding scans for those once, up front). */
START_TEST(test_decode_first_error_wins) {
        _cleanup_free_ char *long_method = rep('M', REQ_METHOD_MAX + 1),
                            *long_name = rep('N', REQ_NAME_MAX + 1);
        char buf[1024];
        size_t pos = 0;

        put(buf, &pos, long_method);
        put(buf, &pos, "/");
        put(buf, &pos, "HTTP/1.1");
        put(buf, &pos, "");
        put(buf, &pos, "Host");
        put(buf, &pos, "a\rb");
        buf[pos] = 0;
        assert_decode_fails(buf, pos + 1, -E2BIG);

        pos = 0;
        put(buf, &pos, "GET");
        put(buf, &pos, "/\n");
        put(buf, &pos, "HTTP/1.1");
        put(buf, &pos, "");
        put(buf, &pos, long_name);
        put(buf, &pos, "v");
        buf[pos] = 0;
        assert_decode_fails(buf, pos + 1, -EBADMSG);

        /* Without CR or LF anywhere, the limits still hold per field. */
        pos = 0;
        put(buf, &pos, "GET");
        put(buf, &pos, "/");
        put(buf, &pos, "HTTP/1.1");
        put(buf, &pos, "");
        put(buf, &pos, long_name);
        put(buf, &pos, "v");
        buf[pos] = 0;
        assert_decode_fails(buf, pos + 1, -E2BIG);
}
END_TEST

START_TEST(test_decode_header_count_limit) {
        char buf[4096];
        size_t pos = 0;

        put(buf, &pos, "GET");
        put(buf, &pos, "/");
        put(buf, &pos, "HTTP/1.1");
        put(buf, &pos, "");
        for (unsigned i = 0; i < REQ_HEADERS_MAX; i++) {
                put(buf, &pos, "H");
                put(buf, &pos, "v");
        }
        buf[pos] = 0;
        {
                _cleanup_(req_freep) Request *r = decode_ok(buf, pos + 1);
                ck_assert_uint_eq(r->n_headers, REQ_HEADERS_MAX);
        }
        put(buf, &pos, "H");
        put(buf, &pos, "v");
        buf[pos] = 0;
        assert_decode_fails(buf, pos + 1, -E2BIG);
}
END_TEST

/* Builds a valid datagram of exactly size bytes in buf: fixed fields, then
 * headers with long values, the last one padded to fit. */
static void build_datagram_of_size(char *buf, size_t size) {
        size_t pos = 0;

        put(buf, &pos, "GET");
        put(buf, &pos, "/");
        put(buf, &pos, "HTTP/1.1");
        put(buf, &pos, "");
        for (;;) {
                /* name "H" + NUL + value + NUL, then the final NUL */
                size_t room = size - pos - 1 - 2 - 1;
                size_t n = room < REQ_VALUE_MAX ? room : REQ_VALUE_MAX;

                buf[pos++] = 'H';
                buf[pos++] = 0;
                memset(buf + pos, 'v', n);
                pos += n;
                buf[pos++] = 0;
                if (pos == size - 1)
                        break;
        }
        buf[pos] = 0;
}

START_TEST(test_decode_size_limit) {
        _cleanup_free_ char *buf = malloc(REQ_DATAGRAM_MAX + 1);
        _cleanup_(req_freep) Request *r = NULL;
        char out[REQ_DATAGRAM_MAX];

        build_datagram_of_size(buf, REQ_DATAGRAM_MAX);
        r = decode_ok(buf, REQ_DATAGRAM_MAX);
        ck_assert_uint_eq(r->block_size, REQ_DATAGRAM_MAX);
        ck_assert_int_eq(req_encode(r, out, sizeof(out)), REQ_DATAGRAM_MAX);
        ck_assert_mem_eq(out, buf, REQ_DATAGRAM_MAX);

        build_datagram_of_size(buf, REQ_DATAGRAM_MAX + 1);
        assert_decode_fails(buf, REQ_DATAGRAM_MAX + 1, -E2BIG);
}
END_TEST

START_TEST(test_encode_size_limits) {
        _cleanup_free_ char *buf = malloc(REQ_DATAGRAM_MAX + 16), *out = malloc(REQ_DATAGRAM_MAX + 16);
        _cleanup_(req_freep) Request *r = NULL;
        char small[64];
        int n;

        /* Exactly the buffer's size fits; anything less does not. */
        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "x"), 0);
        n = req_encode(r, small, sizeof(small));
        ck_assert_int_eq(n, 24);
        ck_assert_int_eq(req_encode(r, small, n), n);
        for (int size = 0; size < n; size++)
                ck_assert_int_eq(req_encode(r, small, size), -EMSGSIZE);
        r = req_free(r);

        /* REQ_DATAGRAM_MAX holds even when the buffer is larger. */
        build_datagram_of_size(buf, REQ_DATAGRAM_MAX);
        r = decode_ok(buf, REQ_DATAGRAM_MAX);
        ck_assert_int_eq(req_encode(r, out, REQ_DATAGRAM_MAX + 16), REQ_DATAGRAM_MAX);
        ck_assert_int_eq(req_set_rest(r, "x"), 0);
        ck_assert_int_eq(req_encode(r, out, REQ_DATAGRAM_MAX + 16), -EMSGSIZE);
}
END_TEST

/* Sets *field to value, checks what encoding says, and puts the old one back
 * so that req_free() sees only strings the request owns. */
static void check_encode_field(Request *r, char **field, char *value, int expected) {
        char buf[REQ_DATAGRAM_MAX];
        char *saved = *field;

        *field = value;
        ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), expected);
        *field = saved;
}

/* Fields assigned directly, bypassing the setters, are still checked. */
START_TEST(test_encode_field_limits) {
        _cleanup_free_ char *m = rep('M', REQ_METHOD_MAX + 1), *v = rep('V', REQ_VERSION_MAX + 1),
                            *u = rep('u', REQ_URL_MAX + 1), *n = rep('N', REQ_NAME_MAX + 1),
                            *val = rep('v', REQ_VALUE_MAX + 1);
        _cleanup_(req_freep) Request *r = NULL;
        ReqHeader *many;
        char buf[4096];

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "x"), 0);

        check_encode_field(r, &r->method, m, -EMSGSIZE);
        check_encode_field(r, &r->url, u, -EMSGSIZE);
        check_encode_field(r, &r->version, v, -EMSGSIZE);
        check_encode_field(r, &r->rest, u, -EMSGSIZE);
        check_encode_field(r, &r->headers[0].name, n, -EMSGSIZE);
        check_encode_field(r, &r->headers[0].value, val, -EMSGSIZE);

        m[REQ_METHOD_MAX] = v[REQ_VERSION_MAX] = u[REQ_URL_MAX] = n[REQ_NAME_MAX] = val[REQ_VALUE_MAX] = 0;
        check_encode_field(r, &r->method, m, 24 + REQ_METHOD_MAX - 3);
        check_encode_field(r, &r->url, u, 24 + REQ_URL_MAX - 1);
        check_encode_field(r, &r->version, v, 24 + REQ_VERSION_MAX - 8);
        check_encode_field(r, &r->rest, u, 24 + REQ_URL_MAX - 0);
        check_encode_field(r, &r->headers[0].name, n, 24 + REQ_NAME_MAX - 4);
        check_encode_field(r, &r->headers[0].value, val, 24 + REQ_VALUE_MAX - 1);

        /* What a decoder would refuse is not sent either. */
        check_encode_field(r, &r->method, "", -EINVAL);
        check_encode_field(r, &r->url, "", -EINVAL);
        check_encode_field(r, &r->version, "", -EINVAL);
        check_encode_field(r, &r->headers[0].name, "", -EINVAL);
        check_encode_field(r, &r->rest, "a\rb", -EINVAL);
        check_encode_field(r, &r->headers[0].value, "a\nb", -EINVAL);
        check_encode_field(r, &r->rest, "", 24);

        /* The first field at fault decides: a CR before a field too large
         * is -EINVAL, one after it -EMSGSIZE, one in it -EINVAL. */
        {
                char *saved_rest = r->rest, *saved_value = r->headers[0].value;
                _cleanup_free_ char *big_cr = rep('u', REQ_URL_MAX + 1);

                r->rest = (char *) "a\rb";
                r->headers[0].value = val;
                val[REQ_VALUE_MAX] = 'v';
                ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), -EINVAL);
                r->rest = u;
                u[REQ_URL_MAX] = 'u';
                r->headers[0].value = (char *) "a\nb";
                ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), -EMSGSIZE);
                big_cr[10] = '\n';
                r->rest = big_cr;
                ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), -EINVAL);
                r->rest = saved_rest;
                r->headers[0].value = saved_value;
        }

        /* The header count, with an array built by hand past the limit. */
        many = calloc(REQ_HEADERS_MAX + 1, sizeof(ReqHeader));
        ck_assert_ptr_nonnull(many);
        for (size_t i = 0; i <= REQ_HEADERS_MAX; i++)
                many[i] = r->headers[0];
        {
                ReqHeader *saved = r->headers;
                size_t saved_n = r->n_headers;

                r->headers = many;
                r->n_headers = REQ_HEADERS_MAX + 1;
                ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), -EMSGSIZE);
                r->n_headers = REQ_HEADERS_MAX;
                ck_assert_int_eq(req_encode(r, buf, sizeof(buf)), 16 + 1 + REQ_HEADERS_MAX * 7);
                r->headers = saved;
                r->n_headers = saved_n;
        }
        free(many);
}
END_TEST

START_TEST(test_header_get) {
        _cleanup_(req_freep) Request *r = NULL;

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Content-Type", "text/plain"), 0);
        ck_assert_int_eq(req_header_add(r, "Accept", "a"), 0);
        ck_assert_int_eq(req_header_add(r, "ACCEPT", "b"), 0);

        ck_assert_str_eq(req_header_get(r, "Content-Type"), "text/plain");
        ck_assert_str_eq(req_header_get(r, "content-type"), "text/plain");
        ck_assert_str_eq(req_header_get(r, "CONTENT-TYPE"), "text/plain");
        ck_assert_str_eq(req_header_get(r, "accept"), "a");
        ck_assert_ptr_null(req_header_get(r, "Content"));
        ck_assert_ptr_null(req_header_get(r, "Content-Type2"));
        ck_assert_ptr_null(req_header_get(r, "Host"));
}
END_TEST

START_TEST(test_header_get_many) {
        static const char *const names[] = {"accept", "Host", "Content-Type", "X-Absent", "content-type"};
        _cleanup_(req_freep) Request *r = NULL;
        const char *values[ELEMENTSOF(names)];

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Content-Type", "text/plain"), 0);
        ck_assert_int_eq(req_header_add(r, "Accept", "a"), 0);
        ck_assert_int_eq(req_header_add(r, "ACCEPT", "b"), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "h"), 0);
        ck_assert_int_eq(req_header_add(r, "Content", "c"), 0);

        req_header_get_many(r, names, ELEMENTSOF(names), values);
        ck_assert_str_eq(values[0], "a");
        ck_assert_str_eq(values[1], "h");
        ck_assert_str_eq(values[2], "text/plain");
        ck_assert_ptr_null(values[3]);
        ck_assert_str_eq(values[4], "text/plain");

        /* Nothing asked, nothing written. */
        req_header_get_many(r, names, 0, NULL);
}
END_TEST

/* More names than one batch, and names of 64 bytes and more (beyond the
 * length bitmap): always the same answer as req_header_get(). */
START_TEST(test_header_get_many_agrees_with_get) {
        _cleanup_(req_freep) Request *r = NULL;
        char names_buf[40][100];
        const char *names[40], *values[40];

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                /* Lengths from 1 to 79; every third name is a header. */
                memset(names_buf[i], 'a' + i % 26, 2 * i + 1);
                names_buf[i][2 * i + 1] = 0;
                names[i] = names_buf[i];
                if (i % 3 == 0) {
                        char value[16];

                        snprintf(value, sizeof(value), "v%zu", i);
                        ck_assert_int_eq(req_header_add(r, names_buf[i], value), 0);
                }
        }
        ck_assert_int_eq(req_header_add(r, names_buf[39], "second"), 0);

        req_header_get_many(r, names, ELEMENTSOF(names), values);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const char *want = req_header_get(r, names[i]);

                if (!want)
                        ck_assert_ptr_null(values[i]);
                else
                        ck_assert_str_eq(values[i], want);
                ck_assert_int_eq(values[i] != NULL, i % 3 == 0);
        }
}
END_TEST

START_TEST(test_header_add_invalid) {
        _cleanup_free_ char *n = rep('N', REQ_NAME_MAX + 1), *v = rep('v', REQ_VALUE_MAX + 1);
        _cleanup_(req_freep) Request *r = NULL;
        char name[16];

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "", "x"), -EINVAL);
        ck_assert_int_eq(req_header_add(r, "A\rB", "x"), -EINVAL);
        ck_assert_int_eq(req_header_add(r, "A\nB", "x"), -EINVAL);
        ck_assert_int_eq(req_header_add(r, "A", "x\r"), -EINVAL);
        ck_assert_int_eq(req_header_add(r, "A", "\nx"), -EINVAL);
        ck_assert_int_eq(req_header_add(r, n, "x"), -E2BIG);
        ck_assert_int_eq(req_header_add(r, "A", v), -E2BIG);
        ck_assert_int_eq(req_header_set(r, "", "x"), -EINVAL);
        ck_assert_int_eq(req_header_set(r, "A\r", "x"), -EINVAL);
        ck_assert_int_eq(req_header_set(r, "A", "x\n"), -EINVAL);
        ck_assert_int_eq(req_header_set(r, n, "x"), -E2BIG);
        ck_assert_int_eq(req_header_set(r, "A", v), -E2BIG);
        ck_assert_uint_eq(r->n_headers, 0);

        n[REQ_NAME_MAX] = v[REQ_VALUE_MAX] = 0;
        ck_assert_int_eq(req_header_add(r, n, v), 0);
        ck_assert_str_eq(req_header_get(r, n), v);

        /* The header count limit, reached through add and then set. */
        for (unsigned i = 1; i < REQ_HEADERS_MAX; i++) {
                snprintf(name, sizeof(name), "H%u", i);
                ck_assert_int_eq(req_header_add(r, name, "x"), 0);
        }
        ck_assert_uint_eq(r->n_headers, REQ_HEADERS_MAX);
        ck_assert_int_eq(req_header_add(r, "H1", "again"), -E2BIG);
        ck_assert_int_eq(req_header_set(r, "New", "x"), -E2BIG);
        ck_assert_uint_eq(r->n_headers, REQ_HEADERS_MAX);
        /* Replacing needs no room. */
        ck_assert_int_eq(req_header_set(r, "H1", "y"), 0);
        ck_assert_str_eq(req_header_get(r, "H1"), "y");
}
END_TEST

START_TEST(test_header_set) {
        _cleanup_(req_freep) Request *r = NULL;

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "A", "1"), 0);
        ck_assert_int_eq(req_header_add(r, "Cookie", "c1"), 0);
        ck_assert_int_eq(req_header_add(r, "B", "2"), 0);
        ck_assert_int_eq(req_header_add(r, "COOKIE", "c2"), 0);
        ck_assert_int_eq(req_header_add(r, "cookie", "c3"), 0);
        ck_assert_int_eq(req_header_add(r, "C", "3"), 0);

        /* The first keeps its place, the others go, the rest keep order. */
        ck_assert_int_eq(req_header_set(r, "Cookie", "new"), 0);
        ck_assert_uint_eq(r->n_headers, 4);
        ck_assert_str_eq(r->headers[0].name, "A");
        ck_assert_str_eq(r->headers[1].name, "Cookie");
        ck_assert_str_eq(r->headers[1].value, "new");
        ck_assert_str_eq(r->headers[2].name, "B");
        ck_assert_str_eq(r->headers[3].name, "C");

        /* Matched case-insensitively; the header takes the name as given. */
        ck_assert_int_eq(req_header_set(r, "b", "two"), 0);
        ck_assert_uint_eq(r->n_headers, 4);
        ck_assert_str_eq(r->headers[2].name, "b");
        ck_assert_str_eq(r->headers[2].value, "two");

        /* Absent: appended. */
        ck_assert_int_eq(req_header_set(r, "D", "4"), 0);
        ck_assert_uint_eq(r->n_headers, 5);
        ck_assert_str_eq(r->headers[4].name, "D");
        ck_assert_str_eq(r->headers[4].value, "4");

        /* Name and value may be the request's own strings. */
        ck_assert_int_eq(req_header_add(r, "d", "5"), 0);
        ck_assert_int_eq(req_header_set(r, r->headers[5].name, r->headers[5].value), 0);
        ck_assert_uint_eq(r->n_headers, 5);
        ck_assert_str_eq(r->headers[4].name, "d");
        ck_assert_str_eq(r->headers[4].value, "5");
        ck_assert_int_eq(req_header_set(r, r->headers[0].name, r->headers[0].value), 0);
        ck_assert_str_eq(req_header_get(r, "A"), "1");
}
END_TEST

START_TEST(test_header_remove) {
        _cleanup_(req_freep) Request *r = NULL;

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(req_header_add(r, "X", "1"), 0);
        ck_assert_int_eq(req_header_add(r, "A", "a"), 0);
        ck_assert_int_eq(req_header_add(r, "x", "2"), 0);
        ck_assert_int_eq(req_header_add(r, "B", "b"), 0);
        ck_assert_int_eq(req_header_add(r, "X", "3"), 0);

        ck_assert_uint_eq(req_header_remove(r, "Y"), 0);
        ck_assert_uint_eq(r->n_headers, 5);
        ck_assert_uint_eq(req_header_remove(r, "x"), 3);
        ck_assert_uint_eq(r->n_headers, 2);
        ck_assert_str_eq(r->headers[0].name, "A");
        ck_assert_str_eq(r->headers[1].name, "B");
        ck_assert_ptr_null(req_header_get(r, "X"));

        /* The name may be one of those removed (freed last). */
        ck_assert_int_eq(req_header_add(r, "a", "again"), 0);
        ck_assert_uint_eq(req_header_remove(r, r->headers[0].name), 2);
        ck_assert_uint_eq(r->n_headers, 1);
        ck_assert_str_eq(r->headers[0].name, "B");
}
END_TEST

START_TEST(test_strip_ash_headers) {
        static const char *const names[] = {"X-Ash-Address", "Host",    "x-ash-port", "X-Ash",
                                            "X-ASH-",        "X-Ashes", "A",          "X-Ash-Protocol"};
        _cleanup_(req_freep) Request *r = NULL;

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ck_assert_int_eq(req_header_add(r, names[i], "v"), 0);

        ck_assert_uint_eq(req_strip_ash_headers(r), 4);
        ck_assert_uint_eq(r->n_headers, 4);
        ck_assert_str_eq(r->headers[0].name, "Host");
        ck_assert_str_eq(r->headers[1].name, "X-Ash");
        ck_assert_str_eq(r->headers[2].name, "X-Ashes");
        ck_assert_str_eq(r->headers[3].name, "A");
        ck_assert_uint_eq(req_strip_ash_headers(r), 0);
}
END_TEST

START_TEST(test_set_rest) {
        _cleanup_free_ char *u = rep('u', REQ_URL_MAX + 1);
        _cleanup_(req_freep) Request *r = NULL;
        char *old;

        ck_assert_int_eq(req_new("GET", "/a/b/c", "HTTP/1.1", "a/b/c", &r), 0);
        ck_assert_int_eq(req_set_rest(r, "x\ry"), -EINVAL);
        ck_assert_int_eq(req_set_rest(r, "x\n"), -EINVAL);
        ck_assert_int_eq(req_set_rest(r, u), -E2BIG);
        ck_assert_str_eq(r->rest, "a/b/c");

        u[REQ_URL_MAX] = 0;
        ck_assert_int_eq(req_set_rest(r, u), 0);
        ck_assert_str_eq(r->rest, u);
        ck_assert_int_eq(req_set_rest(r, ""), 0);
        ck_assert_str_eq(r->rest, "");

        /* A suffix of the request's own rest string, allocated or not. */
        ck_assert_int_eq(req_set_rest(r, "dir/file"), 0);
        ck_assert_int_eq(req_set_rest(r, r->rest + 4), 0);
        ck_assert_str_eq(r->rest, "file");
        r = req_free(r);

        /* Stripping a prefix of a decoded rest string costs no copy. */
        r = decode_ok(DG("GET\0/~alice/dir/f\0HTTP/1.1\0~alice/dir/f\0Host\0h\0\0"));
        old = r->rest;
        ck_assert_int_eq(req_set_rest(r, r->rest + 7), 0);
        ck_assert_ptr_eq(r->rest, old + 7);
        ck_assert_str_eq(r->rest, "dir/f");
        ck_assert_int_eq(req_set_rest(r, "other"), 0);
        ck_assert(!in_block(r, r->rest));
        ck_assert_str_eq(r->rest, "other");
}
END_TEST

/* Every string of a decoded request replaced, removed or added, then freed:
 * under the sanitizers this proves in-block strings are never freed and
 * replaced ones are never leaked. */
START_TEST(test_decoded_modify_free) {
        _cleanup_(req_freep) Request *r = NULL, *d = NULL;
        char buf[2048], name[16];
        int n;

        r = decode_ok(DG("GET\0/x\0HTTP/1.1\0x\0Host\0h\0X-Ash-A\0a\0Cookie\0c1\0Cookie\0c2\0B\0b\0\0"));
        ck_assert_int_eq(req_set_rest(r, "y"), 0);
        ck_assert_int_eq(req_set_rest(r, "z"), 0);
        ck_assert_int_eq(req_header_set(r, "host", "h2"), 0);
        ck_assert_int_eq(req_header_set(r, "Host", "h3"), 0);
        ck_assert_int_eq(req_header_set(r, "Cookie", "c"), 0);
        ck_assert_uint_eq(req_strip_ash_headers(r), 1);
        ck_assert_uint_eq(req_header_remove(r, "B"), 1);
        /* Past the spare room, so the array leaves the block. */
        for (unsigned i = 0; i < 20; i++) {
                snprintf(name, sizeof(name), "N%u", i);
                ck_assert_int_eq(req_header_add(r, name, name), 0);
        }
        ck_assert_uint_eq(req_header_remove(r, "N3"), 1);
        ck_assert_int_eq(req_header_set(r, "N4", "four"), 0);

        ck_assert_uint_eq(r->n_headers, 21);
        ck_assert_str_eq(r->rest, "z");
        ck_assert_str_eq(r->headers[0].name, "Host");
        ck_assert_str_eq(r->headers[0].value, "h3");
        ck_assert_str_eq(r->headers[1].name, "Cookie");
        ck_assert_str_eq(r->headers[1].value, "c");
        ck_assert_str_eq(r->headers[2].name, "N0");
        ck_assert_str_eq(req_header_get(r, "N4"), "four");
        ck_assert_str_eq(r->headers[20].name, "N19");

        n = req_encode(r, buf, sizeof(buf));
        ck_assert_int_gt(n, 0);
        d = decode_ok(buf, n);
        assert_same_request(r, d);
}
END_TEST

START_TEST(test_dup) {
        _cleanup_(req_freep) Request *r = NULL, *d = NULL, *e = NULL, *f = NULL;

        ck_assert_int_eq(req_new("GET", "/a", "HTTP/1.1", "a", &r), 0);
        ck_assert_int_eq(req_dup(r, &d), 0);
        assert_same_request(r, d);
        d = req_free(d);

        ck_assert_int_eq(req_header_add(r, "A", "1"), 0);
        ck_assert_int_eq(req_header_add(r, "B", "2"), 0);
        ck_assert_int_eq(req_header_add(r, "a", "3"), 0);
        ck_assert_int_eq(req_set_rest(r, "changed"), 0);
        ck_assert_int_eq(req_dup(r, &d), 0);
        assert_same_request(r, d);

        /* The copy is independent of the original, both ways. */
        ck_assert_int_eq(req_header_set(d, "A", "x"), 0);
        ck_assert_int_eq(req_set_rest(d, "d"), 0);
        ck_assert_int_eq(req_header_add(d, "C", "c"), 0);
        ck_assert_str_eq(req_header_get(r, "A"), "1");
        ck_assert_uint_eq(r->n_headers, 3);
        ck_assert_str_eq(r->rest, "changed");
        ck_assert_uint_eq(d->n_headers, 3);
        ck_assert_str_eq(req_header_get(d, "A"), "x");
        ck_assert_str_eq(d->rest, "d");

        /* A duplicate of a decoded request outlives it. */
        e = decode_ok(DG("PUT\0/p\0HTTP/1.0\0p\0K\0v\0\0"));
        ck_assert_int_eq(req_dup(e, &f), 0);
        e = req_free(e);
        ck_assert_str_eq(f->method, "PUT");
        ck_assert_str_eq(req_header_get(f, "k"), "v");
}
END_TEST

/* Growth from no headers through reallocation up to the limit. */
START_TEST(test_many_headers_roundtrip) {
        _cleanup_(req_freep) Request *r = NULL, *d = NULL;
        char buf[8192], name[16], value[16];
        int n;

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        for (unsigned i = 0; i < REQ_HEADERS_MAX; i++) {
                snprintf(name, sizeof(name), "Name-%u", i);
                snprintf(value, sizeof(value), "value %u", i);
                ck_assert_int_eq(req_header_add(r, name, value), 0);
        }
        n = req_encode(r, buf, sizeof(buf));
        ck_assert_int_gt(n, 0);
        d = decode_ok(buf, n);
        assert_same_request(r, d);
        ck_assert_str_eq(req_header_get(d, "name-127"), "value 127");

        /* A full decoded request refuses more, and still frees cleanly. */
        ck_assert_int_eq(req_header_add(d, "More", "x"), -E2BIG);
        ck_assert_uint_eq(req_header_remove(d, "Name-0"), 1);
        ck_assert_int_eq(req_header_add(d, "More", "x"), 0);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("request");
        TCase *tc = tcase_create("request");

        tcase_add_test(tc, test_new_basic);
        tcase_add_test(tc, test_new_invalid);
        tcase_add_test(tc, test_new_limits);
        tcase_add_test(tc, test_encode_format);
        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_decode_valid_minimal);
        tcase_add_test(tc, test_decode_malformed);
        tcase_add_test(tc, test_decode_field_limits);
        tcase_add_test(tc, test_decode_first_error_wins);
        tcase_add_test(tc, test_decode_header_count_limit);
        tcase_add_test(tc, test_decode_size_limit);
        tcase_add_test(tc, test_encode_size_limits);
        tcase_add_test(tc, test_encode_field_limits);
        tcase_add_test(tc, test_header_get);
        tcase_add_test(tc, test_header_get_many);
        tcase_add_test(tc, test_header_get_many_agrees_with_get);
        tcase_add_test(tc, test_header_add_invalid);
        tcase_add_test(tc, test_header_set);
        tcase_add_test(tc, test_header_remove);
        tcase_add_test(tc, test_strip_ash_headers);
        tcase_add_test(tc, test_set_rest);
        tcase_add_test(tc, test_decoded_modify_free);
        tcase_add_test(tc, test_dup);
        tcase_add_test(tc, test_many_headers_roundtrip);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
