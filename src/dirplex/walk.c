/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* The mapping of a rest string onto the tree under the root, as in ashd's
 * dirplex: one element at a time, each percent-decoded on its own and
 * checked (url.h), every lookup made beneath the O_PATH fd of the root that
 * the request started with (root.c), so that a root that is replaced
 * switches between requests, never within one. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beneath.h"
#include "dirmap.h"
#include "dirplex.h"
#include "log.h"
#include "response.h"
#include "url.h"

/* One request's state. Its arrays are not zeroed (walk_init): each element
 * is written before it is read, and zeroing these ~10 KiB was most of the
 * user time dirplex spent on a request. */
typedef struct Walk {
        Dirplex *d;
        Request *req;
        int resp_fd;
        int root_fd;
        const char *realroot; /* the root's path, "" for "/" */
        uint64_t now;         /* the request's time, for the cache checks */
        char rel[PATH_MAX];   /* relative to the root, no leading or trailing '/' */
        size_t rel_len;
        /* .htrc of the root (0) down to the current directory (depth). */
        DirConf *confs[DIRPLEX_DEPTH_MAX + 1];
        size_t depth;
        const DirConf *chain[DIRPLEX_DEPTH_MAX + 1 + DIRPLEX_GLOBALS_MAX];
        size_t n_chain;
} Walk;

/* Opens rel beneath the root: symlinks that leave it are refused (EXDEV)
 * unless the global configuration says follow-symlinks; magic links never. */
static int open_beneath(Walk *w, const char *rel, int flags) {
        return beneath_open(w->root_fd, rel, flags, w->d->follow_symlinks);
}

/* Whether an error of open_beneath() means the path is not there or not to
 * be served (a 404) rather than that the server failed (a 500): missing,
 * leaving the root, a loop, too long, or a directory the server may not
 * search. */
static bool open_refused(int error) {
        switch (error) {
        case -ENOENT:
        case -ENOTDIR:
        case -EXDEV:
        case -ELOOP:
        case -ENAMETOOLONG:
        case -EACCES:
                return true;
        default:
                return false;
        }
}

/* The configurations that apply in the current directory, nearest first. */
static void build_chain(Walk *w) {
        w->n_chain = 0;
        for (size_t i = w->depth + 1; i-- > 0;)
                w->chain[w->n_chain++] = w->confs[i];
        for (size_t i = 0; i < w->d->n_globals; i++)
                w->chain[w->n_chain++] = w->d->globals[i];
}

static int rel_append(Walk *w, const char *element) {
        size_t len = strlen(element), need = w->rel_len + (w->rel_len ? 1 : 0) + len;

        if (need >= sizeof(w->rel))
                return -ENAMETOOLONG;
        if (w->rel_len)
                w->rel[w->rel_len++] = '/';
        memcpy(w->rel + w->rel_len, element, len + 1);
        w->rel_len += len;
        return 0;
}

static void rel_truncate(Walk *w, size_t len) {
        w->rel_len = len;
        w->rel[len] = 0;
}

static void answer(Walk *w, int status, const char *message) {
        if (response_simple(w->resp_fd, status, message) < 0)
                log_debug("Could not write a %d response", status);
}

/* Hands the request to h, rest string and headers already set. */
static void forward(Walk *w, Target *h) {
        int r = dirplex_dispatch(w->d, h, w->req, w->resp_fd);

        if (r < 0) {
                log_errno(LOG_WARNING, r, "Handler %s cannot take the request: %m", h->name);
                answer(w, 503, "The handler for this resource is not available.");
        }
}

/* A failure of the server's own (out of fds, memory, an I/O error): logged,
 * as the client only learns that it happened. */
static void server_error(Walk *w, int error, const char *what) {
        log_fields(LOG_ERR, (const LogField[]){{"URL", w->req->url}, {}}, "Cannot %s: %s", what,
                   strerror(-error));
        answer(w, 500, NULL);
}

static void not_found(Walk *w) {
        Target *h;

        build_chain(w);
        h = dirmap_handler(w->chain, w->n_chain, "notfound");
        if (!h) {
                answer(w, 404, "The requested resource was not found.");
                return;
        }
        forward(w, h);
}

static void forward_named(Walk *w, const char *name) {
        Target *h = dirmap_handler(w->chain, w->n_chain, name);

        if (!h) {
                log_error("No handler named %s is defined for %s", name, *w->rel ? w->rel : "/");
                answer(w, 500, "The server is misconfigured.");
                return;
        }
        forward(w, h);
}

/* A file or index-less directory found at w->rel: the match rules choose
 * its handler, which gets X-Ash-File and the rest after the file. */
static void serve_found(Walk *w, const char *name, bool directory, const char *rest) {
        char file[PATH_MAX * 2];
        size_t root_len = strlen(w->realroot);
        const DirMatch *m;
        int r;

        build_chain(w);
        m = dirmap_match(w->chain, w->n_chain, w->confs[w->depth], name, w->rel, directory);
        if (!m) {
                not_found(w);
                return;
        }
        /* Both parts are shorter than PATH_MAX, so this always fits. */
        memcpy(file, w->realroot, root_len);
        file[root_len] = '/';
        memcpy(file + root_len + !!w->rel_len, w->rel, w->rel_len + 1);
        r = req_set_rest(w->req, rest);
        if (r >= 0)
                r = req_header_set(w->req, "X-Ash-File", file);
        for (char **p = m->headers; r >= 0 && p && *p; p += 2)
                r = req_header_set(w->req, p[0], p[1]);
        if (r < 0)
                goto fail;
        forward_named(w, m->handler);
        return;
fail:
        log_error("Cannot prepare the request for %s", w->rel);
        answer(w, 500, NULL);
}

/* A directory requested with its slash: the first index file, else the
 * directory itself goes through the match rules (a listing, typically). */
static void serve_directory(Walk *w) {
        size_t len = w->rel_len;

        build_chain(w);
        for (char *const *i = dirmap_index_files(w->chain, w->n_chain); *i; i++) {
                _cleanup_close_ int fd = -EBADF;
                struct stat st;

                if (rel_append(w, *i) < 0)
                        continue;
                fd = open_beneath(w, w->rel, O_PATH);
                if (fd < 0 && !open_refused(fd))
                        return server_error(w, fd, "look for an index file");
                if (fd >= 0 && fstat(fd, &st) < 0)
                        return server_error(w, -errno, "look at an index file");
                if (fd >= 0 && S_ISREG(st.st_mode)) {
                        serve_found(w, *i, false, "");
                        return;
                }
                rel_truncate(w, len);
        }
        serve_found(w, len ? strrchr(w->rel, '/') ? strrchr(w->rel, '/') + 1 : w->rel : "", true, "");
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* The names a missing element may stand for in the extension-less lookup. */
typedef struct Candidates {
        char **names;
        size_t n, allocated;
} Candidates;

static void candidates_done(Candidates *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->names[i]);
        free(c->names);
}

static int candidates_add(Candidates *c, const char *name) {
        if (c->n == c->allocated) {
                size_t allocated = c->allocated * 2 + 4;
                char **m = realloc(c->names, allocated * sizeof(char *));

                if (!m)
                        return -ENOMEM;
                c->names = m;
                c->allocated = allocated;
        }
        c->names[c->n] = strdup(name);
        if (!c->names[c->n])
                return -ENOMEM;
        c->n++;
        return 0;
}

/* The names "element.EXT" in the directory open at fd (which this takes
 * over) that may be regular files: symlinks are resolved when tried. */
static int candidates_read(Candidates *c, int fd, const char *element) {
        _cleanup_(closedirp) DIR *dir = fdopendir(fd);
        size_t len = strlen(element);

        if (!dir) {
                safe_close(fd);
                return -errno;
        }
        for (;;) {
                struct dirent *de;
                int r;

                /* readdir() says end and failure alike, errno tells them apart. */
                errno = 0;
                de = readdir(dir);
                if (!de)
                        return errno > 0 ? -errno : 0;
                if (strncmp(de->d_name, element, len) != 0 || de->d_name[len] != '.')
                        continue;
                if (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
                        continue;
                r = candidates_add(c, de->d_name);
                if (r < 0)
                        return r;
        }
}

/* The extension-less lookup: element was not found in the current
 * directory; on success w->rel names the chosen regular file and its fd is
 * returned. -ENOENT when no candidate fits; other errors as open_beneath(). */
static int lookup_extension(Walk *w, size_t dir_len, const char *element, char **ret_name) {
        _cleanup_(candidates_done) Candidates c = {};
        _cleanup_free_ char *dir_rel = strndup(w->rel, dir_len);
        int fd, r, pick;

        if (!dir_rel)
                return -ENOMEM;
        fd = open_beneath(w, dir_rel, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        r = candidates_read(&c, fd, element);
        if (r < 0)
                return r;
        /* Candidates are tried in the documented order until one is a
         * regular file reachable beneath the root. */
        while ((pick = dirmap_pick_extension(element, c.names, c.n)) >= 0) {
                _cleanup_free_ char *name = c.names[pick];
                struct stat st;

                c.names[pick] = c.names[--c.n];
                rel_truncate(w, dir_len);
                if (rel_append(w, name) < 0)
                        break;
                fd = open_beneath(w, w->rel, O_PATH);
                if (fd < 0 && !open_refused(fd)) {
                        rel_truncate(w, dir_len);
                        return fd;
                }
                if (fd >= 0 && fstat(fd, &st) < 0) {
                        r = -errno;
                        safe_close(fd);
                        rel_truncate(w, dir_len);
                        return r;
                }
                if (fd >= 0 && S_ISREG(st.st_mode)) {
                        *ret_name = TAKE_PTR(name);
                        return fd;
                }
                safe_close(fd);
        }
        rel_truncate(w, dir_len);
        return -ENOENT;
}

/* Enters the directory open at fd (st its fstat()): its .htrc joins the
 * chain. */
static int enter_directory(Walk *w, int fd, const struct stat *st) {
        w->confs[w->depth] = NULL;
        return htrc_get(w->d, fd, st, w->rel, w->now, &w->confs[w->depth]);
}

static void redirect_with_slash(Walk *w) {
        _cleanup_free_ char *location = NULL;
        const char *url = w->req->url, *query = url_query(url);

        if (asprintf(&location, "%.*s/%s", (int) (query - url), url, query) < 0 ||
            response_redirect(w->resp_fd, 301, location) < 0)
                log_debug("Could not redirect to a directory's slash");
}

static void walk(Walk *w) {
        const char *rest = w->req->rest;
        int r;

        for (;;) {
                _cleanup_free_ char *element = NULL, *found_name = NULL;
                _cleanup_close_ int fd = -EBADF;
                const DirConf *own = w->confs[w->depth];
                size_t dir_len = w->rel_len;
                struct stat st;
                bool slash;

                if (own && own->capture && (own->capture_dir || *rest)) {
                        build_chain(w);
                        if (req_set_rest(w->req, rest) < 0)
                                return answer(w, 500, NULL);
                        return forward_named(w, own->capture);
                }
                r = rest_next_element(&rest, &element, &slash);
                if (r == 0)
                        return serve_directory(w);
                if (r < 0)
                        return not_found(w); /* refused: "..", NUL, encoded '/', bad escape */
                build_chain(w);
                if (!dirmap_element_visible(w->chain, w->n_chain, element))
                        return not_found(w);
                if (rel_append(w, element) < 0)
                        return not_found(w);
                fd = open_beneath(w, w->rel, O_PATH);
                if (fd == -ENOENT)
                        fd = lookup_extension(w, dir_len, element, &found_name);
                if (fd < 0 && !open_refused(fd))
                        return server_error(w, fd, "open a path beneath the root");
                if (fd < 0) {
                        if (fd != -ENOENT)
                                log_fields(LOG_DEBUG, (const LogField[]){{"URL", w->req->url}, {}},
                                           "Refused a path beneath the root: %s", strerror(-fd));
                        rel_truncate(w, dir_len);
                        return not_found(w);
                }
                if (fstat(fd, &st) < 0)
                        return server_error(w, -errno, "look at a path beneath the root");
                if (S_ISREG(st.st_mode))
                        return serve_found(w, found_name ? found_name : element, false, rest);
                if (!S_ISDIR(st.st_mode) || found_name) {
                        rel_truncate(w, dir_len);
                        return not_found(w);
                }
                if (!slash)
                        return redirect_with_slash(w);
                if (w->depth == DIRPLEX_DEPTH_MAX)
                        return not_found(w);
                w->depth++;
                if (enter_directory(w, fd, &st) < 0)
                        return answer(w, 500, "The configuration of this directory is broken.");
        }
}

/* Sets what a walk reads before it writes; the arrays are left alone. */
static void walk_init(Walk *w, Dirplex *d, Request *req, int resp_fd) {
        w->d = d;
        w->req = req;
        w->resp_fd = resp_fd;
        w->root_fd = -EBADF;
        w->realroot = "";
        w->now = dirplex_now(d);
        w->rel[0] = 0;
        w->rel_len = 0;
        w->depth = 0;
        w->n_chain = 0;
}

void dirplex_serve(Dirplex *d, Request *req, int resp_fd) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd;
        Walk w;
        int k;

        walk_init(&w, d, r, fd);
        k = root_dir_get(d, w.now);
        if (k < 0) {
                log_errno(LOG_ERR, k, "Cannot open the root %s: %m", d->root);
                return answer(&w, 500, NULL);
        }
        w.root_fd = d->root_dir.fd;
        w.realroot = d->root_dir.path;
        if (enter_directory(&w, w.root_fd, &d->root_dir.st) < 0)
                return answer(&w, 500, "The configuration of this directory is broken.");
        walk(&w);
}
