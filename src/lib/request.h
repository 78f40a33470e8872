/* SPDX-License-Identifier: MIT */
#pragma once

/* The ashd(7) request: method, URL, HTTP version, rest string and ordered
 * headers, and its datagram form. A datagram is a sequence of NUL-terminated
 * strings: method, URL, version, rest, then name/value pairs, ended by one
 * empty string. Exactly one file descriptor, the response socket, travels
 * beside it (see fdpass.h). */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Named limits. Every one of them is enforced when decoding, so a handler can
 * trust a decoded request to be within them, and when encoding, so a sender
 * learns at once that a request cannot travel. */
#define REQ_DATAGRAM_MAX (64 * 1024) /* whole datagram, terminators included */
#define REQ_HEADERS_MAX  128         /* header pairs */
#define REQ_METHOD_MAX   32          /* bytes in the method */
#define REQ_VERSION_MAX  16          /* bytes in "HTTP/1.1" and the like */
#define REQ_URL_MAX      16384       /* bytes in the URL and in the rest string */
#define REQ_NAME_MAX     256         /* bytes in one header name */
#define REQ_VALUE_MAX    16384       /* bytes in one header value */

/* Headers whose name starts with this are set by htparser only. */
#define REQ_ASH_PREFIX "X-Ash-"

typedef struct ReqHeader {
        char *name;
        char *value;
} ReqHeader;

typedef struct Request {
        char *method;
        char *url;
        char *version;
        char *rest;
        ReqHeader *headers;
        size_t n_headers;
        size_t n_allocated;
        /* A decoded request points into this one copy of its datagram; a
         * string is freed separately exactly when it lies outside it. */
        char *block;
        size_t block_size;
} Request;

#define REQ_HEADER_FOREACH(h, r) for (ReqHeader *h = (r)->headers; h < (r)->headers + (r)->n_headers; h++)

/* A new request with no headers. Fails with -EINVAL if a part is empty (the
 * rest string may be empty) or contains CR, LF or NUL, -E2BIG over a limit. */
int req_new(const char *method, const char *url, const char *version, const char *rest, Request **ret);
Request *req_free(Request *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Request *, req_free);
int req_dup(const Request *r, Request **ret);

int req_set_rest(Request *r, const char *rest);

/* First value of the header, compared case-insensitively, or NULL. */
const char *req_header_get(const Request *r, const char *name);
/* The first value of each of n headers in one pass over the request, into
 * ret_values[i] for names[i] (NULL for one that is absent): for a handler
 * that reads many headers of every request, where n calls of
 * req_header_get() would scan all the headers n times. */
void req_header_get_many(const Request *r, const char *const *names, size_t n, const char **ret_values);
/* Appends a header; duplicates are kept in order. */
int req_header_add(Request *r, const char *name, const char *value);
/* Replaces the first header of that name and removes the others, or appends. */
int req_header_set(Request *r, const char *name, const char *value);
/* Removes every header of that name; returns how many were removed. */
size_t req_header_remove(Request *r, const char *name);
/* Removes every header starting with X-Ash- (case-insensitively); returns how
 * many were removed. htparser calls it on what a client sent. */
size_t req_strip_ash_headers(Request *r);

/* Encodes into buf; returns the datagram's length, -EMSGSIZE if it would
 * exceed REQ_DATAGRAM_MAX or size. */
int req_encode(const Request *r, void *buf, size_t size);
/* Decodes one datagram: -EBADMSG if it is not exactly one well-formed request
 * (missing terminator, odd header, trailing bytes, CR/LF in a field, empty
 * method/URL/version or header name), -E2BIG if a limit is exceeded. */
int req_decode(const void *buf, size_t size, Request **ret);
