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
#include <stdarg.h>
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

/* Precompressed siblings, in our order of preference when the client
 * likes several equally: smallest first. */
static const char *const codings[] = {"br", "zstd", "gzip"};
static const char *const suffixes[] = {".br", ".zst", ".gz"};
#define N_CODINGS (sizeof(codings) / sizeof(codings[0]))

typedef struct Variant {
        int fd;
        struct stat st;
        int coding; /* index into codings, -1: identity */
        char etag[96];
        char last_modified[30];
} Variant;

static int64_t mtime_ns(const struct stat *st) {
        return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A strong validator per variant: inode, size and mtime in nanoseconds,
 * and the coding, so that a cache never confuses gzip bytes with the
 * original's even if the sibling's identity happened to collide. */
static void variant_validators(Variant *v) {
        snprintf(v->etag, sizeof(v->etag), "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "%s%s\"",
                 (uint64_t) v->st.st_ino, (uint64_t) v->st.st_size, (uint64_t) mtime_ns(&v->st),
                 v->coding >= 0 ? "-" : "", v->coding >= 0 ? codings[v->coding] : "");
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
 * one, replaces v with it. */
static void choose_variant(const char *path, const char *accept, Variant *v, bool *ret_any) {
        const char *available[N_CODINGS];
        int index[N_CODINGS];
        char sibling[PATH_MAX];
        struct stat st;
        size_t n = 0;
        int k;

        *ret_any = false;
        for (size_t i = 0; i < N_CODINGS; i++) {
                if (snprintf(sibling, sizeof(sibling), "%s%s", path, suffixes[i]) >= (int) sizeof(sibling))
                        continue;
                if (stat(sibling, &st) < 0 || !S_ISREG(st.st_mode) || mtime_ns(&st) < mtime_ns(&v->st))
                        continue;
                available[n] = codings[i];
                index[n++] = (int) i;
        }
        if (n == 0)
                return;
        *ret_any = true;
        k = accept_encoding_choose(accept, available, n);
        if (k < 0)
                return;

        snprintf(sibling, sizeof(sibling), "%s%s", path, suffixes[index[k]]);
        int fd = open(sibling, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || mtime_ns(&st) < mtime_ns(&v->st)) {
                safe_close(fd);
                return;
        }
        safe_close(v->fd);
        v->fd = fd;
        v->st = st;
        v->coding = index[k];
}

typedef struct Head {
        char buf[HEAD_MAX];
        size_t len;
        bool overflow;
} Head;

_printf_(2, 3) static void head_add(Head *h, const char *fmt, ...) {
        va_list ap;
        int n;

        if (h->overflow)
                return;
        va_start(ap, fmt);
        n = vsnprintf(h->buf + h->len, sizeof(h->buf) - h->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(h->buf) - h->len)
                h->overflow = true;
        else
                h->len += n;
}

/* The headers every answer about this variant carries. */
static void head_validators(Head *h, const Variant *v, bool vary) {
        head_add(h, "ETag: %s\r\nLast-Modified: %s\r\n", v->etag, v->last_modified);
        if (vary)
                head_add(h, "Vary: Accept-Encoding\r\n");
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

        head_add(h, "Content-Type: multipart/byteranges; boundary=%s\r\nContent-Length: %" PRIu64 "\r\n\r\n",
                 boundary, total);
        if (h->overflow)
                return -ENOBUFS;
        /* The head goes first and alone, so the body's text can stay in one block. */
        if ((r = fdpass_send(b->sock, h->buf, h->len, -EBADF)) < 0)
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

        head_add(h, "Content-Length: %" PRIu64 "\r\n", length);
        if (!head_only && zero_copy && length > 0) {
                head_add(h, "X-Ash-Body-Fd: %" PRIu64 " %" PRIu64 "\r\n\r\n", offset, length);
                if (h->overflow)
                        return -ENOBUFS;
                /* One message: the head and the file together. */
                return fdpass_send(*sock, h->buf, h->len, v->fd);
        }
        head_add(h, "\r\n");
        if (h->overflow)
                return -ENOBUFS;
        if (head_only || length == 0)
                return fdpass_send(*sock, h->buf, h->len, -EBADF);

        r = body_new(s, TAKE_FD(*sock), TAKE_FD(v->fd), &b);
        if (r < 0)
                return r;
        b->text = malloc(h->len);
        if (!b->text)
                return -ENOMEM;
        memcpy(b->text, h->buf, h->len);
        body_add_text(b, b->text, h->len);
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
 * response has been sent. */
static int serve_file(Sendfile *s, const Request *req, int *sock, const char *path) {
        _cleanup_(variant_done) Variant v = {.fd = -EBADF};
        char type[CONTENT_TYPE_MAX];
        bool head_only = method_is(req, "HEAD"), vary = false, zero_copy;
        ByteRange ranges[RANGE_MAX];
        const char *range;
        Head h = {};
        int r, n = 0;

        r = open_file(path, &v);
        if (r != 0)
                return r;

        /* The type is the original's, whichever variant goes out. */
        r = content_type_for(s, req, path, v.fd, &v.st, type);
        if (r < 0) {
                log_error("Unusable content type for a file");
                return 500;
        }
        choose_variant(path, req_header_get(req, "Accept-Encoding"), &v, &vary);
        variant_validators(&v);

        PrecondRequest pr = {
                .get_or_head = true,
                .if_match = req_header_get(req, "If-Match"),
                .if_unmodified_since = req_header_get(req, "If-Unmodified-Since"),
                .if_none_match = req_header_get(req, "If-None-Match"),
                .if_modified_since = req_header_get(req, "If-Modified-Since"),
        };
        r = precond_evaluate(&pr, v.etag, v.st.st_mtim.tv_sec);
        if (r == 412)
                return 412;
        if (r == 304) {
                head_add(&h, "HTTP/1.1 304 Not Modified\r\n");
                head_validators(&h, &v, vary);
                head_add(&h, "\r\n");
                if (!h.overflow)
                        (void) fdpass_send(*sock, h.buf, h.len, -EBADF);
                return 0;
        }

        /* Range applies to GET only (RFC 9110 §14.2), and If-Range voids it
         * when the client's copy is not this one. */
        range = req_header_get(req, "Range");
        if (range && method_is(req, "GET") &&
            precond_if_range(req_header_get(req, "If-Range"), v.etag, v.st.st_mtim.tv_sec))
                n = range_parse(range, v.st.st_size, ranges);
        if (n < 0) {
                char extra[128];

                snprintf(extra, sizeof(extra), "Content-Range: bytes */%" PRIu64 "\r\n%s",
                         (uint64_t) v.st.st_size, vary ? "Vary: Accept-Encoding\r\n" : "");
                respond_short(*sock, 416, extra, head_only);
                return 0;
        }

        zero_copy = req_header_get(req, "X-Ash-Accept-Body-Fd") != NULL;
        head_add(&h, "HTTP/1.1 %s\r\n", n > 0 ? "206 Partial Content" : "200 OK");
        head_validators(&h, &v, vary);
        head_add(&h, "Accept-Ranges: bytes\r\n");
        if (v.coding >= 0)
                head_add(&h, "Content-Encoding: %s\r\n", codings[v.coding]);
        if (n > 1) {
                r = send_multipart(s, sock, &v, type, &h, ranges, n);
        } else {
                uint64_t offset = 0, length = v.st.st_size;

                head_add(&h, "Content-Type: %s\r\n", type);
                if (n == 1) {
                        offset = ranges[0].start;
                        length = ranges[0].length;
                        head_add(&h, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n", offset,
                                 offset + length - 1, (uint64_t) v.st.st_size);
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
        const char *path;
        int status;

        if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
                respond_short(fd, 405, "Allow: GET, HEAD\r\n", false);
                return;
        }
        path = s->file ? s->file : req_header_get(req, "X-Ash-File");
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
        status = serve_file(s, req, &fd, path);
        if (status != 0 && fd >= 0)
                (void) response_simple(fd, status,
                                       status == 403   ? "Access to this resource is forbidden."
                                       : status == 404 ? "The requested resource was not found."
                                       : status == 412 ? "A precondition of the request failed."
                                                       : "The server could not answer this request.");
}
