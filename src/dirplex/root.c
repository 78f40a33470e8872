/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* The root directory, opened once and kept: opening it and resolving its
 * path for every request cost three system calls each time. A deploy still
 * has to be seen, whether it retargets a symlink root or renames a new tree
 * over it, so at most once every DIRPLEX_RECHECK_USEC a request stat()s the
 * root path and opens it again when it names another directory than the
 * one held. Each request keeps the fd it started with: it sees one tree
 * throughout, never parts of two. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dirplex.h"

/* The path the kernel has for fd, "" for "/": X-Ash-File names files
 * through it, so a handler opening that path sees the tree we walked. */
static int resolve_path(int fd, char ret[static PATH_MAX]) {
        char proc[64];
        ssize_t n;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        n = readlink(proc, ret, PATH_MAX - 1);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EIO;
        if (n == PATH_MAX - 1) /* it may have been cut short */
                return -ENAMETOOLONG;
        ret[n] = 0;
        if (streq(ret, "/"))
                ret[0] = 0;
        return 0;
}

static bool same_directory(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Opens d->root afresh into d->root_dir. */
static int root_dir_open(Dirplex *d, uint64_t now) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(d->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        r = resolve_path(fd, d->root_dir.path);
        if (r < 0)
                return r;
        safe_close(d->root_dir.fd);
        d->root_dir.fd = TAKE_FD(fd);
        d->root_dir.st = st;
        d->root_dir.checked_usec = now;
        return 0;
}

int root_dir_get(Dirplex *d, uint64_t now) {
        DirplexRoot *root = &d->root_dir;
        struct stat st;
        int r;

        if (root->fd >= 0 && dirplex_checked_recently(root->checked_usec, now))
                return 0;
        if (root->fd >= 0 && stat(d->root, &st) >= 0 && same_directory(&st, &root->st)) {
                /* The same directory may have been moved (its path is what
                 * handlers open): one readlink a second makes sure. */
                r = resolve_path(root->fd, root->path);
                if (r >= 0) {
                        root->checked_usec = now;
                        return 0;
                }
        }
        /* Replaced, gone, or never opened. A root that cannot be opened is
         * not served from the directory it used to name: requests fail, as
         * they did when every request opened it, until it is back. */
        r = root_dir_open(d, now);
        if (r < 0)
                root_dir_close(d);
        return r;
}

void root_dir_close(Dirplex *d) {
        d->root_dir.fd = safe_close(d->root_dir.fd);
}
