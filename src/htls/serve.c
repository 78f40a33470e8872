/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "htls.h"
#include "listing.h"
#include "log.h"
#include "response.h"

static int write_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* A stdio stream that writes to fd (or nowhere, when fd < 0) and counts the
 * bytes: the body is rendered once to learn its exact Content-Length and
 * once more onto the socket, so a long listing is never held in memory as
 * a whole page on top of its entries. */
typedef struct Sink {
        int fd;
        uint64_t bytes;
        int error;
} Sink;

static ssize_t sink_write(void *cookie, const char *buf, size_t len) {
        Sink *s = cookie;
        int r;

        if (s->fd >= 0) {
                r = write_all(s->fd, buf, len);
                if (r < 0) {
                        s->error = r;
                        return 0; /* fopencookie's way of saying "error" */
                }
        }
        s->bytes += len;
        return (ssize_t) len;
}

/* Renders the listing into sink; -errno from rendering or writing. */
static int render(const Listing *l, const char *url, bool json, Sink *sink) {
        static char buffer[65536];
        FILE *f;
        int r, k;

        f = fopencookie(sink, "w", (cookie_io_functions_t){.write = sink_write});
        if (!f)
                return -ENOMEM;
        setvbuf(f, buffer, _IOFBF, sizeof(buffer));
        r = json ? listing_render_json(f, l) : listing_render_html(f, l, url);
        k = fclose(f);
        if (sink->error < 0)
                return sink->error;
        if (r < 0)
                return r;
        return k != 0 ? -EIO : 0;
}

/* 405 with the Allow header that RFC 9110 §15.5.6 asks for; response_simple
 * has no place for it. */
static int answer_method_not_allowed(int fd) {
        static const char body[] = "<!DOCTYPE html>\n<html><head><title>Method Not Allowed</title></head>"
                                   "<body><h1>Method Not Allowed</h1><p>A listing is read with GET or "
                                   "HEAD.</p></body></html>\n";
        char head[256], date[30];
        int n, k;

        http_date(time(NULL), date);
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 405 Method Not Allowed\r\nDate: %s\r\nAllow: GET, HEAD\r\n"
                     "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n",
                     date, sizeof(body) - 1);
        k = write_all(fd, head, (size_t) n);
        if (k < 0)
                return k;
        return write_all(fd, body, sizeof(body) - 1);
}

/* Relative links in a listing work only below a URL that ends in '/';
 * dirplex redirects before htls sees such a request, but htls -d alone
 * must do it itself. Returns 1 if it answered with a redirect. */
static int redirect_to_slash(const Request *r, int fd) {
        _cleanup_free_ char *location = NULL;
        size_t len = strcspn(r->url, "?");
        int k;

        if (len > 0 && r->url[len - 1] == '/')
                return 0;
        if (asprintf(&location, "%.*s/%s", (int) len, r->url, r->url + len) < 0)
                return -ENOMEM;
        k = response_redirect(fd, 301, location);
        return k < 0 ? k : 1;
}

static int status_for_open_error(int error) {
        switch (error) {
        case -ENOENT:
        case -ENOTDIR:
        case -ELOOP:
        case -ENAMETOOLONG:
                return 404;
        case -EACCES:
        case -EPERM:
                return 403;
        default:
                return 500;
        }
}

/* Everything after the method check: find, read and send the listing. */
static int serve_listing(const HtlsOptions *o, const Request *r, int fd, const char *path) {
        _cleanup_(listing_freep) Listing *l = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        char head[512], date[30], modified[30];
        Sink count = {.fd = -EBADF}, out = {.fd = fd};
        struct stat st;
        bool json;
        int k, n;

        dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || fstat(dir_fd, &st) < 0) {
                k = -errno;
                if (status_for_open_error(k) == 500)
                        log_fields(LOG_WARNING, (const LogField[]){{"DIRECTORY", path}, {}},
                                   "Cannot open a directory to list: %s", strerror(-k));
                return response_simple(fd, status_for_open_error(k), NULL);
        }

        k = redirect_to_slash(r, fd);
        if (k != 0)
                return k < 0 ? k : 0;

        k = listing_read(dir_fd, o->listing_flags, 0, &l);
        if (k < 0) {
                if (status_for_open_error(k) == 500)
                        log_fields(LOG_WARNING, (const LogField[]){{"DIRECTORY", path}, {}},
                                   "Cannot read a directory to list: %s", strerror(-k));
                return response_simple(fd, status_for_open_error(k), NULL);
        }
        listing_sort(l);

        json = listing_accept_json(req_header_get(r, "Accept"));
        k = render(l, r->url, json, &count);
        if (k < 0) {
                log_errno(LOG_ERR, k, "Cannot render a listing: %m");
                return response_simple(fd, 500, NULL);
        }

        http_date(time(NULL), date);
        http_date(st.st_mtim.tv_sec, modified);
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %" PRIu64
                     "\r\nLast-Modified: %s\r\nVary: Accept\r\n\r\n",
                     date, json ? "application/json" : "text/html; charset=utf-8", count.bytes, modified);
        k = write_all(fd, head, (size_t) n);
        if (k < 0 || streq(r->method, "HEAD"))
                return k;

        k = render(l, r->url, json, &out);
        if (k < 0)
                return k;
        /* Rendering is a pure function of the listing, so this holds; were
         * it ever broken, the client must not take a wrong length for good. */
        if (out.bytes != count.bytes)
                return -EPROTO;
        return 0;
}

int htls_serve(const HtlsOptions *o, const Request *r, int fd) {
        const char *path;
        int k;

        if (!streq(r->method, "GET") && !streq(r->method, "HEAD"))
                k = answer_method_not_allowed(fd);
        else {
                path = req_header_get(r, "X-Ash-File");
                if (!path)
                        path = o->directory;
                if (!path) {
                        log_error("A request came without X-Ash-File, and no -d DIR was given");
                        k = response_simple(fd, 500, NULL);
                } else
                        k = serve_listing(o, r, fd, path);
        }
        if (k < 0)
                log_fields(LOG_NOTICE, (const LogField[]){{"URL", r->url}, {}}, "Cannot send a listing: %s",
                           strerror(-k));
        return k;
}
