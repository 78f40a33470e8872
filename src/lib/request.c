/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "request.h"

/* Every Request is one allocation: the struct, then (for decoded and
 * duplicated requests) the header array, then the block its strings live in.
 * Headers added later may move the array out to its own allocation. */
typedef struct RequestAlloc {
        Request request;
        ReqHeader headers[];
} RequestAlloc;

/* Spare header slots a decoded request gets beside its own, so that a handler
 * adding a header or two does not have to move the array. */
#define REQ_DECODE_SPARE_HEADERS 4

/* Smallest header array allocated once a request outgrows its inline one. */
#define REQ_HEADERS_MIN_ALLOC 8

/* Whether s points into the block, in which case it is not freed on its own. */
static bool req_in_block(const Request *r, const char *s) {
        uintptr_t p = (uintptr_t) s, b = (uintptr_t) r->block;

        return r->block && p >= b && p < b + r->block_size;
}

static bool req_headers_inline(const Request *r) {
        return r->headers == ((RequestAlloc *) r)->headers;
}

static void req_free_string(const Request *r, char *s) {
        if (s && !req_in_block(r, s))
                free(s);
}

static char *strdup_len(const char *s, size_t len) {
        char *d = malloc(len + 1);

        if (!d)
                return NULL;
        memcpy(d, s, len);
        d[len] = 0;
        return d;
}

/* Copies len bytes of s and a NUL to *p, advancing it; returns the copy. */
static char *block_put(char **p, const char *s, size_t len) {
        char *d = *p;

        memcpy(d, s, len);
        d[len] = 0;
        *p += len + 1;
        return d;
}

/* Validates a string that is about to become part of a request: -EINVAL if
 * it could break the datagram's framing (CR, LF) or is empty where the
 * protocol needs a value, -E2BIG if it is over its limit. */
static int req_check_string(const char *s, size_t max, bool allow_empty, size_t *ret_len) {
        size_t len;

        if (!s)
                return -EINVAL;
        len = strcspn(s, "\r\n");
        if (s[len] != 0)
                return -EINVAL;
        if (len == 0 && !allow_empty)
                return -EINVAL;
        if (len > max)
                return -E2BIG;
        *ret_len = len;
        return 0;
}

int req_new(const char *method, const char *url, const char *version, const char *rest, Request **ret) {
        size_t lm, lu, lv, lr;
        Request *r;
        char *p;
        int k;

        k = req_check_string(method, REQ_METHOD_MAX, false, &lm);
        if (k < 0)
                return k;
        k = req_check_string(url, REQ_URL_MAX, false, &lu);
        if (k < 0)
                return k;
        k = req_check_string(version, REQ_VERSION_MAX, false, &lv);
        if (k < 0)
                return k;
        k = req_check_string(rest, REQ_URL_MAX, true, &lr);
        if (k < 0)
                return k;

        r = malloc(sizeof(RequestAlloc) + lm + lu + lv + lr + 4);
        if (!r)
                return -ENOMEM;
        p = (char *) ((RequestAlloc *) r)->headers;
        *r = (Request){
                .block = p,
                .block_size = lm + lu + lv + lr + 4,
        };
        r->method = block_put(&p, method, lm);
        r->url = block_put(&p, url, lu);
        r->version = block_put(&p, version, lv);
        r->rest = block_put(&p, rest, lr);

        *ret = r;
        return 0;
}

Request *req_free(Request *r) {
        if (!r)
                return NULL;

        req_free_string(r, r->method);
        req_free_string(r, r->url);
        req_free_string(r, r->version);
        req_free_string(r, r->rest);
        for (size_t i = 0; i < r->n_headers; i++) {
                req_free_string(r, r->headers[i].name);
                req_free_string(r, r->headers[i].value);
        }
        if (!req_headers_inline(r))
                free(r->headers);
        free(r);
        return NULL;
}

/* Copies a request into one allocation, whatever state its strings are in. */
int req_dup(const Request *r, Request **ret) {
        size_t lm, lu, lv, lr, total;
        RequestAlloc *a;
        Request *d;
        char *p;

        lm = strlen(r->method);
        lu = strlen(r->url);
        lv = strlen(r->version);
        lr = strlen(r->rest);
        total = lm + lu + lv + lr + 4;
        for (size_t i = 0; i < r->n_headers; i++)
                total += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 2;

        a = malloc(sizeof(RequestAlloc) + r->n_headers * sizeof(ReqHeader) + total);
        if (!a)
                return -ENOMEM;
        d = &a->request;
        p = (char *) (a->headers + r->n_headers);
        *d = (Request){
                .headers = r->n_headers > 0 ? a->headers : NULL,
                .n_headers = r->n_headers,
                .n_allocated = r->n_headers,
                .block = p,
                .block_size = total,
        };
        d->method = block_put(&p, r->method, lm);
        d->url = block_put(&p, r->url, lu);
        d->version = block_put(&p, r->version, lv);
        d->rest = block_put(&p, r->rest, lr);
        for (size_t i = 0; i < r->n_headers; i++) {
                d->headers[i].name = block_put(&p, r->headers[i].name, strlen(r->headers[i].name));
                d->headers[i].value = block_put(&p, r->headers[i].value, strlen(r->headers[i].value));
        }

        *ret = d;
        return 0;
}

/* Sets the rest string. A suffix of a string in the block (a handler
 * stripping a prefix of the decoded rest) is used in place, without a copy. */
int req_set_rest(Request *r, const char *rest) {
        size_t len;
        char *copy;
        int k;

        k = req_check_string(rest, REQ_URL_MAX, true, &len);
        if (k < 0)
                return k;

        if (req_in_block(r, rest))
                copy = (char *) rest;
        else {
                copy = strdup_len(rest, len);
                if (!copy)
                        return -ENOMEM;
        }
        req_free_string(r, r->rest);
        r->rest = copy;
        return 0;
}

const char *req_header_get(const Request *r, const char *name) {
        for (size_t i = 0; i < r->n_headers; i++)
                if (strcasecmp(r->headers[i].name, name) == 0)
                        return r->headers[i].value;
        return NULL;
}

void req_header_get_many(const Request *r, const char *const *names, size_t n, const char **ret_values) {
        size_t lengths[16];

        for (size_t i = 0; i < n; i++)
                ret_values[i] = NULL;
        /* Lengths and first letters (| 0x20 folds the case of letters) rule
         * out almost every pair without a strcasecmp(), and most headers
         * without looking at any name: has_length has bit L set when a name
         * of the batch is L bytes long (L < 64). Names are taken in batches
         * so that their lengths fit on the stack, whatever n is. */
        for (size_t start = 0; start < n; start += ELEMENTSOF(lengths)) {
                size_t m = n - start < ELEMENTSOF(lengths) ? n - start : ELEMENTSOF(lengths);
                uint64_t has_length = 0;

                for (size_t i = 0; i < m; i++) {
                        lengths[i] = strlen(names[start + i]);
                        if (lengths[i] < 64)
                                has_length |= UINT64_C(1) << lengths[i];
                }
                for (size_t j = 0; j < r->n_headers; j++) {
                        size_t len = strlen(r->headers[j].name);

                        if (len < 64 && !(has_length & UINT64_C(1) << len))
                                continue;
                        for (size_t i = 0; i < m; i++)
                                if (lengths[i] == len && !ret_values[start + i] &&
                                    (r->headers[j].name[0] | 0x20) == (names[start + i][0] | 0x20) &&
                                    strcasecmp(r->headers[j].name, names[start + i]) == 0)
                                        ret_values[start + i] = r->headers[j].value;
                }
        }
}

/* Makes room for one more header, moving an inline array out when full. */
static int req_headers_reserve(Request *r) {
        ReqHeader *h;
        size_t n;

        if (r->n_headers >= REQ_HEADERS_MAX)
                return -E2BIG;
        if (r->n_headers < r->n_allocated)
                return 0;

        n = r->n_allocated * 2;
        if (n < REQ_HEADERS_MIN_ALLOC)
                n = REQ_HEADERS_MIN_ALLOC;
        if (n > REQ_HEADERS_MAX)
                n = REQ_HEADERS_MAX;

        if (req_headers_inline(r)) {
                h = malloc(n * sizeof(ReqHeader));
                if (!h)
                        return -ENOMEM;
                memcpy(h, r->headers, r->n_headers * sizeof(ReqHeader));
        } else {
                h = realloc(r->headers, n * sizeof(ReqHeader));
                if (!h)
                        return -ENOMEM;
        }
        r->headers = h;
        r->n_allocated = n;
        return 0;
}

/* Appends a header whose name and value are already validated. */
static int req_header_append(Request *r, const char *name, size_t name_len, const char *value,
                             size_t value_len) {
        _cleanup_free_ char *n = NULL, *v = NULL;
        int k;

        k = req_headers_reserve(r);
        if (k < 0)
                return k;
        n = strdup_len(name, name_len);
        v = strdup_len(value, value_len);
        if (!n || !v)
                return -ENOMEM;
        r->headers[r->n_headers++] = (ReqHeader){TAKE_PTR(n), TAKE_PTR(v)};
        return 0;
}

int req_header_add(Request *r, const char *name, const char *value) {
        size_t ln, lv;
        int k;

        k = req_check_string(name, REQ_NAME_MAX, false, &ln);
        if (k < 0)
                return k;
        k = req_check_string(value, REQ_VALUE_MAX, true, &lv);
        if (k < 0)
                return k;
        return req_header_append(r, name, ln, value, lv);
}

/* Removes, from index start on, every header whose name equals name (or, with
 * prefix, starts with it) case-insensitively, keeping the order of the rest.
 * name may be one of the names being removed, so that one is freed last. */
static size_t req_headers_remove_from(Request *r, size_t start, const char *name, bool prefix) {
        size_t prefix_len = prefix ? strlen(name) : 0, j = start, removed;
        char *deferred = NULL;

        for (size_t i = start; i < r->n_headers; i++) {
                ReqHeader *h = &r->headers[i];
                bool match = prefix ? strncasecmp(h->name, name, prefix_len) == 0
                                    : strcasecmp(h->name, name) == 0;

                if (!match) {
                        r->headers[j++] = *h;
                        continue;
                }
                if (h->name == name)
                        deferred = h->name;
                else
                        req_free_string(r, h->name);
                req_free_string(r, h->value);
        }
        removed = r->n_headers - j;
        r->n_headers = j;
        req_free_string(r, deferred);
        return removed;
}

int req_header_set(Request *r, const char *name, const char *value) {
        _cleanup_free_ char *new_name = NULL, *new_value = NULL;
        ReqHeader *h = NULL;
        size_t ln, lv;
        int k;

        k = req_check_string(name, REQ_NAME_MAX, false, &ln);
        if (k < 0)
                return k;
        k = req_check_string(value, REQ_VALUE_MAX, true, &lv);
        if (k < 0)
                return k;

        for (size_t i = 0; i < r->n_headers; i++)
                if (strcasecmp(r->headers[i].name, name) == 0) {
                        h = &r->headers[i];
                        break;
                }
        if (!h)
                return req_header_append(r, name, ln, value, lv);

        /* Copies first: name or value may point into a header removed below,
         * and a failure must leave the request as it was. */
        new_value = strdup_len(value, lv);
        if (!new_value)
                return -ENOMEM;
        if (!streq(h->name, name)) {
                new_name = strdup_len(name, ln);
                if (!new_name)
                        return -ENOMEM;
        }

        /* h->name survives the removal and matches the same headers as name. */
        req_headers_remove_from(r, h - r->headers + 1, h->name, false);

        req_free_string(r, h->value);
        h->value = TAKE_PTR(new_value);
        if (new_name) {
                req_free_string(r, h->name);
                h->name = TAKE_PTR(new_name);
        }
        return 0;
}

size_t req_header_remove(Request *r, const char *name) {
        return req_headers_remove_from(r, 0, name, false);
}

size_t req_strip_ash_headers(Request *r) {
        return req_headers_remove_from(r, 0, REQ_ASH_PREFIX, true);
}

/* Appends s and its NUL to buf at *pos, checking what decoding would check. */
/* Copies one field. CR and LF are looked for once in the whole datagram
 * at the end (req_encode), not per field: two vectorised scans instead of
 * a strcspn() per string were a tenth of patplex's and dirplex's
 * instructions. A field that does not fit is checked here, so that a CR or
 * LF in it is still the error reported, as before. */
static int req_encode_string(char *buf, size_t *pos, size_t limit, const char *s, size_t max,
                             bool allow_empty) {
        size_t len = strlen(s);

        if (len == 0 && !allow_empty)
                return -EINVAL;
        if (len > max || len >= limit - *pos)
                return s[strcspn(s, "\r\n")] != 0 ? -EINVAL : -EMSGSIZE;
        memcpy(buf + *pos, s, len + 1);
        *pos += len + 1;
        return 0;
}

static bool has_crlf(const char *buf, size_t len) {
        return memchr(buf, '\r', len) || memchr(buf, '\n', len);
}

/* Encodes a request. Besides the documented -EMSGSIZE, a request whose fields
 * were assigned directly with CR, LF or an empty required string gets
 * -EINVAL, so that nothing leaves that a decoder would refuse. */
int req_encode(const Request *r, void *buf, size_t size) {
        size_t limit = size < REQ_DATAGRAM_MAX ? size : REQ_DATAGRAM_MAX, pos = 0;
        int k;

        if (r->n_headers > REQ_HEADERS_MAX)
                return -EMSGSIZE;

        k = req_encode_string(buf, &pos, limit, r->method, REQ_METHOD_MAX, false);
        if (k >= 0)
                k = req_encode_string(buf, &pos, limit, r->url, REQ_URL_MAX, false);
        if (k >= 0)
                k = req_encode_string(buf, &pos, limit, r->version, REQ_VERSION_MAX, false);
        if (k >= 0)
                k = req_encode_string(buf, &pos, limit, r->rest, REQ_URL_MAX, true);
        for (size_t i = 0; k >= 0 && i < r->n_headers; i++) {
                k = req_encode_string(buf, &pos, limit, r->headers[i].name, REQ_NAME_MAX, false);
                if (k >= 0)
                        k = req_encode_string(buf, &pos, limit, r->headers[i].value, REQ_VALUE_MAX, true);
        }
        if (k >= 0 && pos >= limit)
                k = -EMSGSIZE;
        /* A CR or LF in a field copied before the one that failed (or in
         * any, if none did) is the first error, as it was field by field. */
        if (has_crlf(buf, pos))
                return -EINVAL;
        if (k < 0)
                return k;
        ((char *) buf)[pos++] = 0;
        return (int) pos;
}

/* Steps over one NUL-terminated field of a datagram that is known to end in
 * NUL, so the scan cannot run off its end. no_crlf: the datagram is known to
 * hold no CR or LF at all, so the field ends at its NUL. */
static inline int req_decode_field(const char **p, size_t max, bool allow_empty, bool no_crlf) {
        size_t len = no_crlf ? strlen(*p) : strcspn(*p, "\r\n");

        if ((*p)[len] != 0)
                return -EBADMSG;
        if (len == 0 && !allow_empty)
                return -EBADMSG;
        if (len > max)
                return -E2BIG;
        *p += len + 1;
        return 0;
}

int req_decode(const void *buf, size_t size, Request **ret) {
        static const size_t fixed_max[] = {REQ_METHOD_MAX, REQ_URL_MAX, REQ_VERSION_MAX, REQ_URL_MAX};
        const char *start = buf, *end = start + size, *p = start;
        /* Where each field starts, so that the copy needs no second scan. */
        uint32_t offsets[ELEMENTSOF(fixed_max) + 2 * REQ_HEADERS_MAX];
        size_t n_headers = 0, n_fields = 0, n_allocated;
        bool no_crlf;
        RequestAlloc *a;
        Request *r;
        char *q;
        int k;

        if (size > REQ_DATAGRAM_MAX)
                return -E2BIG;
        if (size == 0 || start[size - 1] != 0)
                return -EBADMSG;
        /* Two vectorised scans of the whole datagram instead of a strcspn()
         * per field in the usual case; a datagram with CR or LF goes the
         * slow way, which finds the same first error as ever. */
        no_crlf = !memchr(start, '\r', size) && !memchr(start, '\n', size);

        /* Method, URL and version must not be empty; the rest string may. */
        for (size_t i = 0; i < ELEMENTSOF(fixed_max); i++) {
                if (p == end)
                        return -EBADMSG;
                offsets[n_fields++] = (uint32_t) (p - start);
                k = req_decode_field(&p, fixed_max[i], i == 3, no_crlf);
                if (k < 0)
                        return k;
        }
        for (;;) {
                if (p == end)
                        return -EBADMSG;
                if (*p == 0) {
                        p++;
                        break;
                }
                if (n_headers >= REQ_HEADERS_MAX)
                        return -E2BIG;
                offsets[n_fields++] = (uint32_t) (p - start);
                k = req_decode_field(&p, REQ_NAME_MAX, false, no_crlf);
                if (k < 0)
                        return k;
                if (p == end)
                        return -EBADMSG;
                offsets[n_fields++] = (uint32_t) (p - start);
                k = req_decode_field(&p, REQ_VALUE_MAX, true, no_crlf);
                if (k < 0)
                        return k;
                n_headers++;
        }
        if (p != end)
                return -EBADMSG;

        n_allocated = n_headers + REQ_DECODE_SPARE_HEADERS;
        if (n_allocated > REQ_HEADERS_MAX)
                n_allocated = REQ_HEADERS_MAX;

        a = malloc(sizeof(RequestAlloc) + n_allocated * sizeof(ReqHeader) + size);
        if (!a)
                return -ENOMEM;
        r = &a->request;
        q = (char *) (a->headers + n_allocated);
        memcpy(q, buf, size);
        *r = (Request){
                .headers = a->headers,
                .n_headers = n_headers,
                .n_allocated = n_allocated,
                .block = q,
                .block_size = size,
        };
        r->method = q + offsets[0];
        r->url = q + offsets[1];
        r->version = q + offsets[2];
        r->rest = q + offsets[3];
        for (size_t i = 0; i < n_headers; i++) {
                r->headers[i].name = q + offsets[4 + 2 * i];
                r->headers[i].value = q + offsets[4 + 2 * i + 1];
        }

        *ret = r;
        return 0;
}
