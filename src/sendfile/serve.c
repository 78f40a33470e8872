/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* One request for one file: which file and which variant (precompressed
 * siblings), the preconditions, the ranges, and the response: the head with
 * the file attached for htparser to send (zero-copy), or head and body as
 * bytes. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "encoding.h"
#include "fdpass.h"
#include "log.h"
#include "precond.h"
#include "response.h"
#include "sendfile.h"
#include "textbuf.h"

/* Precompressed siblings, in our order of preference when the client
 * likes several equally: smallest first. */
static const char *const codings[] = {"br", "zstd", "gzip"};
static const char *const suffixes[] = {".br", ".zst", ".gz"};
#define N_CODINGS (sizeof(codings) / sizeof(codings[0]))

/* The request headers a response depends on, picked out of the request in
 * one pass (req_header_get_many()). */
enum {
        HEADER_FILE,
        HEADER_CONTENT_TYPE,
        HEADER_ACCEPT_BODY_FD,
        HEADER_ACCEPT_ENCODING,
        HEADER_IF_MATCH,
        HEADER_IF_NONE_MATCH,
        HEADER_IF_MODIFIED_SINCE,
        HEADER_IF_UNMODIFIED_SINCE,
        HEADER_RANGE,
        HEADER_IF_RANGE,
        _HEADER_MAX,
};

static const char *const header_names[_HEADER_MAX] = {
        [HEADER_FILE] = "X-Ash-File",
        [HEADER_CONTENT_TYPE] = "X-Ash-Content-Type",
        [HEADER_ACCEPT_BODY_FD] = "X-Ash-Accept-Body-Fd",
        [HEADER_ACCEPT_ENCODING] = "Accept-Encoding",
        [HEADER_IF_MATCH] = "If-Match",
        [HEADER_IF_NONE_MATCH] = "If-None-Match",
        [HEADER_IF_MODIFIED_SINCE] = "If-Modified-Since",
        [HEADER_IF_UNMODIFIED_SINCE] = "If-Unmodified-Since",
        [HEADER_RANGE] = "Range",
        [HEADER_IF_RANGE] = "If-Range",
};

typedef struct Variant {
        int fd;
        struct stat st;
        int coding;    /* index into codings, -1: identity */
        char etag[64]; /* '"' 3 * (16 hex digits and '-') "zstd" '"' NUL */
        char last_modified[30];
} Variant;

/* Writes n in lower-case hex (as %x) at p; returns the end. */
static char *put_hex(char *p, uint64_t n) {
        char digits[16];
        size_t i = 0;

        do
                digits[i++] = "0123456789abcdef"[n & 15];
        while ((n >>= 4) != 0);
        while (i > 0)
                *p++ = digits[--i];
        return p;
}

/* A strong validator per variant: inode, size and mtime in nanoseconds,
 * and the coding, so that a cache never confuses gzip bytes with the
 * original's even if the sibling's identity happened to collide. */
static void variant_validators(Variant *v) {
        char *p = v->etag;

        *p++ = '"';
        p = put_hex(p, (uint64_t) v->st.st_ino);
        *p++ = '-';
        p = put_hex(p, (uint64_t) v->st.st_size);
        *p++ = '-';
        p = put_hex(p, (uint64_t) stat_mtime_nsec(&v->st));
        if (v->coding >= 0) {
                *p++ = '-';
                p = stpcpy(p, codings[v->coding]);
        }
        *p++ = '"';
        *p = 0;
        http_date(v->st.st_mtim.tv_sec, v->last_modified);
}

/* Writes a small complete response with extra header lines (each ending in
 * CRLF); for 405 with Allow and 416 with Content-Range, which
 * response_simple() cannot carry. */
static void respond_short(int sock, int status, const char *extra, bool head_only) {
        char buf[512], body[128];
        int n, m;

        m = snprintf(body, sizeof(body), "%d %s\n", status, http_status_reason(status));
        n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                     "%d\r\n\r\n%s",
                     status, http_status_reason(status), extra, m, head_only ? "" : body);
        if (n > 0 && (size_t) n < sizeof(buf))
                (void) fdpass_send(sock, buf, n, -EBADF);
}

/* Opens the file to serve; a status for the client when it cannot. */
static int open_file(const char *path, Variant *v) {
        v->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (v->fd < 0) {
                if (errno == EACCES || errno == EPERM)
                        return 403;
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG)
                        return 404;
                log_errno(LOG_ERR, -errno, "Failed to open a file to serve: %m");
                return 500;
        }
        if (fstat(v->fd, &v->st) < 0) {
                log_errno(LOG_ERR, -errno, "Failed to stat a file to serve: %m");
                return 500;
        }
        /* Directories are dirplex's business; devices and pipes nobody's. */
        if (!S_ISREG(v->st.st_mode))
                return 404;
        v->coding = -1;
        return 0;
}

/* Looks for precompressed siblings: a regular file named PATH.gz (.br,
 * .zst) that is not older than the original, so that a stale sibling left
 * behind by an edit is never served. Sets *ret_any when one exists (the
 * response then varies with Accept-Encoding) and, if the client prefers
 * one, replaces v with it.
 *
 * That a file has none is remembered for up to SIBLING_NONE_TRUST_NSEC
 * (siblings.c) instead of three failed stat() calls per request; files with
 * siblings are looked at every time, so that one gone stale is never
 * served. */
static void choose_variant(const char *path, const char *accept, Variant *v, bool *ret_any) {
        const char *available[N_CODINGS];
        int index[N_CODINGS];
        char sibling[PATH_MAX];
        struct stat st;
        size_t n = 0, len = strlen(path);
        /* Read before the stat() calls, so that an entry's age counts from
         * before what it records was seen. */
        uint64_t now = sibling_cache_now();
        int k;

        *ret_any = false;
        if (sibling_cache_has_none(path, &v->st, now))
                return;
        for (size_t i = 0; i < N_CODINGS; i++) {
                size_t suffix_len = strlen(suffixes[i]);

                if (len + suffix_len >= sizeof(sibling))
                        continue;
                memcpy(sibling, path, len);
                memcpy(sibling + len, suffixes[i], suffix_len + 1);
                if (stat(sibling, &st) < 0 || !S_ISREG(st.st_mode) ||
                    stat_mtime_nsec(&st) < stat_mtime_nsec(&v->st))
                        continue;
                available[n] = codings[i];
                index[n++] = (int) i;
        }
        if (n == 0) {
                sibling_cache_add_none(path, &v->st, now);
                return;
        }
        *ret_any = true;
        k = accept_encoding_choose(accept, available, n);
        if (k < 0)
                return;

        memcpy(sibling, path, len);
        strcpy(sibling + len, suffixes[index[k]]);
        int fd = open(sibling, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            stat_mtime_nsec(&st) < stat_mtime_nsec(&v->st)) {
                safe_close(fd);
                return;
        }
        safe_close(v->fd);
        v->fd = fd;
        v->st = st;
        v->coding = index[k];
}

/* A response head being built, in a buffer of its own: headers are
 * appended as strings and numbers, since a printf per header was the
 * largest part of sendfile's own work per request. */
typedef struct Head {
        TextBuf t;
        char buf[HEAD_MAX];
} Head;

/* Not "Head h = {}", which would zero the 4 KiB buffer on every request. */
static void head_init(Head *h) {
        h->t = (TextBuf){.buf = h->buf, .size = sizeof(h->buf)};
}

/* "Name: value" and CRLF. */
static void head_add_header(Head *h, const char *name, const char *value) {
        textbuf_puts(&h->t, name);
        textbuf_put(&h->t, ": ", 2);
        textbuf_puts(&h->t, value);
        textbuf_put(&h->t, "\r\n", 2);
}

/* "Name: number" and CRLF. */
static void head_add_header_u64(Head *h, const char *name, uint64_t value) {
        textbuf_puts(&h->t, name);
        textbuf_put(&h->t, ": ", 2);
        textbuf_put_u64(&h->t, value);
        textbuf_put(&h->t, "\r\n", 2);
}

/* The headers every answer about this variant carries. */
static void head_validators(Head *h, const Variant *v, bool vary) {
        head_add_header(h, "ETag", v->etag);
        head_add_header(h, "Last-Modified", v->last_modified);
        if (vary)
                textbuf_puts(&h->t, "Vary: Accept-Encoding\r\n");
}

/* 206 multipart/byteranges (RFC 9110 §14.6), always written as bytes:
 * framing text between file ranges. The boundary is unique per response. */
static int send_multipart(Sendfile *s, int *sock, Variant *v, const char *type, Head *h,
                          const ByteRange *ranges, int n) {
        _cleanup_(body_freep) Body *b = NULL;
        char boundary[40];
        size_t offsets[RANGE_MAX + 1], text_len = 0, size = 0;
        uint64_t total = 0;
        FILE *f;
        int r;

        snprintf(boundary, sizeof(boundary), "ashd-%016" PRIx64 "-%" PRIx64, s->boundary_seed,
                 ++s->responses);
        r = body_new(s, TAKE_FD(*sock), TAKE_FD(v->fd), &b);
        if (r < 0)
                return r;
        f = open_memstream(&b->text, &size);
        if (!f)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                offsets[i] = (size_t) ftell(f);
                fprintf(f,
                        "%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
                        "\r\n\r\n",
                        i == 0 ? "" : "\r\n", boundary, type, ranges[i].start,
                        ranges[i].start + ranges[i].length - 1, (uint64_t) v->st.st_size);
                total += ranges[i].length;
        }
        offsets[n] = (size_t) ftell(f);
        fprintf(f, "\r\n--%s--\r\n", boundary);
        if (fclose(f) != 0 || !b->text)
                return -ENOMEM;
        text_len = size;
        total += text_len;

        textbuf_puts(&h->t, "Content-Type: multipart/byteranges; boundary=");
        textbuf_puts(&h->t, boundary);
        textbuf_puts(&h->t, "\r\n");
        head_add_header_u64(h, "Content-Length", total);
        textbuf_puts(&h->t, "\r\n");
        if (h->t.overflow)
                return -ENOBUFS;
        /* The head goes first and alone, so the body's text can stay in one block. */
        if ((r = fdpass_send(b->sock, h->buf, h->t.len, -EBADF)) < 0)
                return r;
        for (int i = 0; i < n; i++) {
                body_add_text(b, b->text + offsets[i], offsets[i + 1] - offsets[i]);
                body_add_file(b, ranges[i].start, ranges[i].length);
        }
        body_add_text(b, b->text + offsets[n], text_len - offsets[n]);
        return body_send(TAKE_PTR(b));
}

/* The head, then the range offset/length of the file: attached for
 * htparser to send when it said it can, or written as bytes. */
static int send_range(Sendfile *s, int *sock, Variant *v, Head *h, bool head_only, bool zero_copy,
                      uint64_t offset, uint64_t length) {
        _cleanup_(body_freep) Body *b = NULL;
        int r;

        head_add_header_u64(h, "Content-Length", length);
        if (!head_only && zero_copy && length > 0) {
                textbuf_puts(&h->t, "X-Ash-Body-Fd: ");
                textbuf_put_u64(&h->t, offset);
                textbuf_puts(&h->t, " ");
                textbuf_put_u64(&h->t, length);
                textbuf_puts(&h->t, "\r\n\r\n");
                if (h->t.overflow)
                        return -ENOBUFS;
                /* One message: the head and the file together. */
                return fdpass_send(*sock, h->buf, h->t.len, v->fd);
        }
        textbuf_puts(&h->t, "\r\n");
        if (h->t.overflow)
                return -ENOBUFS;
        if (head_only || length == 0)
                return fdpass_send(*sock, h->buf, h->t.len, -EBADF);

        r = body_new(s, TAKE_FD(*sock), TAKE_FD(v->fd), &b);
        if (r < 0)
                return r;
        b->text = malloc(h->t.len);
        if (!b->text)
                return -ENOMEM;
        memcpy(b->text, h->buf, h->t.len);
        body_add_text(b, b->text, h->t.len);
        body_add_file(b, offset, length);
        return body_send(TAKE_PTR(b));
}

static void variant_done(Variant *v) {
        v->fd = safe_close(v->fd);
}

static bool method_is(const Request *req, const char *m) {
        return streq(req->method, m);
}

/* The status for a file that is not served (error pages), or 0 once the
 * response has been sent. headers: the request's, by HEADER_*. */
static int serve_file(Sendfile *s, const Request *req, const char *const *headers, int *sock,
                      const char *path) {
        _cleanup_(variant_done) Variant v = {.fd = -EBADF};
        char type[CONTENT_TYPE_MAX];
        bool head_only = method_is(req, "HEAD"), vary = false, zero_copy;
        ByteRange ranges[RANGE_MAX];
        const char *range;
        Head h;
        int r, n = 0;

        head_init(&h);
        r = open_file(path, &v);
        if (r != 0)
                return r;

        /* The type is the original's, whichever variant goes out. */
        r = content_type_for(s, headers[HEADER_CONTENT_TYPE], path, v.fd, &v.st, type);
        if (r < 0) {
                log_error("Unusable content type for a file");
                return 500;
        }
        choose_variant(path, headers[HEADER_ACCEPT_ENCODING], &v, &vary);
        variant_validators(&v);

        PrecondRequest pr = {
                .get_or_head = true,
                .if_match = headers[HEADER_IF_MATCH],
                .if_unmodified_since = headers[HEADER_IF_UNMODIFIED_SINCE],
                .if_none_match = headers[HEADER_IF_NONE_MATCH],
                .if_modified_since = headers[HEADER_IF_MODIFIED_SINCE],
        };
        r = precond_evaluate(&pr, v.etag, v.st.st_mtim.tv_sec);
        if (r == 412)
                return 412;
        if (r == 304) {
                textbuf_puts(&h.t, "HTTP/1.1 304 Not Modified\r\n");
                head_validators(&h, &v, vary);
                textbuf_puts(&h.t, "\r\n");
                if (!h.t.overflow)
                        (void) fdpass_send(*sock, h.buf, h.t.len, -EBADF);
                return 0;
        }

        /* Range applies to GET only (RFC 9110 §14.2), and If-Range voids it
         * when the client's copy is not this one. */
        range = headers[HEADER_RANGE];
        if (range && method_is(req, "GET") &&
            precond_if_range(headers[HEADER_IF_RANGE], v.etag, v.st.st_mtim.tv_sec))
                n = range_parse(range, v.st.st_size, ranges);
        if (n < 0) {
                char extra[128];

                snprintf(extra, sizeof(extra), "Content-Range: bytes */%" PRIu64 "\r\n%s",
                         (uint64_t) v.st.st_size, vary ? "Vary: Accept-Encoding\r\n" : "");
                respond_short(*sock, 416, extra, head_only);
                return 0;
        }

        zero_copy = headers[HEADER_ACCEPT_BODY_FD] != NULL;
        textbuf_puts(&h.t, n > 0 ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n");
        head_validators(&h, &v, vary);
        textbuf_puts(&h.t, "Accept-Ranges: bytes\r\n");
        if (v.coding >= 0)
                head_add_header(&h, "Content-Encoding", codings[v.coding]);
        if (n > 1) {
                r = send_multipart(s, sock, &v, type, &h, ranges, n);
        } else {
                uint64_t offset = 0, length = v.st.st_size;

                head_add_header(&h, "Content-Type", type);
                if (n == 1) {
                        offset = ranges[0].start;
                        length = ranges[0].length;
                        textbuf_puts(&h.t, "Content-Range: bytes ");
                        textbuf_put_u64(&h.t, offset);
                        textbuf_puts(&h.t, "-");
                        textbuf_put_u64(&h.t, offset + length - 1);
                        textbuf_puts(&h.t, "/");
                        textbuf_put_u64(&h.t, (uint64_t) v.st.st_size);
                        textbuf_puts(&h.t, "\r\n");
                }
                r = send_range(s, sock, &v, &h, head_only, zero_copy, offset, length);
        }
        if (r == -ENOBUFS)
                return 500;
        if (r < 0 && r != -EPIPE && r != -ECONNRESET)
                log_errno(LOG_WARNING, r, "Failed to send a response: %m");
        return 0;
}

void serve_request(Sendfile *s, const Request *req, int sock) {
        _cleanup_close_ int fd = sock;
        const char *headers[_HEADER_MAX], *path;
        int status;

        if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
                respond_short(fd, 405, "Allow: GET, HEAD\r\n", false);
                return;
        }
        req_header_get_many(req, header_names, _HEADER_MAX, headers);
        path = s->file ?: headers[HEADER_FILE];
        if (!path) {
                /* A configuration error upstream, not the client's doing. */
                log_error("No file to serve: neither -f nor an X-Ash-File header");
                (void) response_simple(fd, 500, "The server is not configured for this resource.");
                return;
        }
        /* As in ashd: a rest string left over names something inside the
         * file, and files have no inside. */
        if (*req->rest) {
                (void) response_simple(fd, 404, "The requested resource was not found.");
                return;
        }
        status = serve_file(s, req, headers, &fd, path);
        if (status != 0 && fd >= 0)
                (void) response_simple(fd, status,
                                       status == 403   ? "Access to this resource is forbidden."
                                       : status == 404 ? "The requested resource was not found."
                                       : status == 412 ? "A precondition of the request failed."
                                                       : "The server could not answer this request.");
}
