/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "dirplex.h"

/* What one directory's .htrc was when last looked at, "none" included, kept
 * by the directory's identity so that a request through a known directory
 * makes no system call for it: the file is stat()ed again only once
 * DIRPLEX_RECHECK_USEC has passed, and read again only when its identity,
 * size or mtime changed. A broken one is remembered as such, so that it is
 * logged once per change. */
struct HtrcEntry {
        dev_t dir_dev;
        ino_t dir_ino;
        uint64_t checked_usec;
        bool present; /* else no .htrc: the fields below are unset */
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        DirConf *conf;
        bool broken;
        HtrcEntry *next;
};

static size_t bucket_of(dev_t dev, ino_t ino) {
        return (size_t) ((ino * 2654435761u) ^ dev) % DIRPLEX_HTRC_BUCKETS;
}

static bool entry_current(const HtrcEntry *e, const struct stat *st) {
        return e->present && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
               e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Forgets the .htrc read last; its configuration goes, and with it the
 * children it started. */
static void entry_clear(HtrcEntry *e) {
        e->conf = dirconf_free(e->conf);
        e->broken = false;
        e->present = false;
}

static HtrcEntry *entry_find(Dirplex *d, const struct stat *dir) {
        for (HtrcEntry *e = d->htrc[bucket_of(dir->st_dev, dir->st_ino)]; e; e = e->next)
                if (e->dir_dev == dir->st_dev && e->dir_ino == dir->st_ino)
                        return e;
        return NULL;
}

/* Drops the entries of directories without a .htrc that are stale anyway
 * (a request would look at the file system for them), once there are many:
 * a crawl through a large tree must not grow the cache without bound.
 * Entries with a .htrc stay, broken ones too (each would be logged again),
 * as before this cache: there are as many as there are .htrc files. The
 * next sweep waits until the cache has doubled, so that sweeping costs O(1)
 * per entry made. */
static void entries_sweep(Dirplex *d, uint64_t now) {
        size_t limit = d->htrc_sweep_at ? d->htrc_sweep_at : DIRPLEX_HTRC_ENTRIES_MAX;

        if (d->n_htrc < limit)
                return;
        for (size_t i = 0; i < DIRPLEX_HTRC_BUCKETS; i++)
                for (HtrcEntry **p = &d->htrc[i]; *p;) {
                        HtrcEntry *e = *p;

                        if (e->present || dirplex_checked_recently(e->checked_usec, now)) {
                                p = &e->next;
                                continue;
                        }
                        *p = e->next;
                        free(e);
                        d->n_htrc--;
                }
        d->htrc_sweep_at =
                d->n_htrc * 2 > DIRPLEX_HTRC_ENTRIES_MAX ? d->n_htrc * 2 : DIRPLEX_HTRC_ENTRIES_MAX;
}

static HtrcEntry *entry_new(Dirplex *d, const struct stat *dir, uint64_t now) {
        HtrcEntry *e, **slot;

        entries_sweep(d, now);
        e = calloc(1, sizeof(HtrcEntry));
        if (!e)
                return NULL;
        e->dir_dev = dir->st_dev;
        e->dir_ino = dir->st_ino;
        slot = &d->htrc[bucket_of(dir->st_dev, dir->st_ino)];
        e->next = *slot;
        *slot = e;
        d->n_htrc++;
        return e;
}

static int read_text(int fd, char **ret) {
        _cleanup_free_ char *buf = malloc(DIRPLEX_HTRC_MAX + 1);
        size_t len = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, DIRPLEX_HTRC_MAX + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += n;
                if (len > DIRPLEX_HTRC_MAX)
                        return -EFBIG;
        }
        if (memchr(buf, 0, len))
                return -EBADMSG;
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Reads and parses the .htrc open at fd; a mistake is logged here, once. */
static void entry_load(HtrcEntry *e, int fd, const char *file) {
        _cleanup_(conf_freep) ConfReader *reader = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_text(fd, &text);
        if (r < 0) {
                _cleanup_free_ char *msg = NULL;

                if (asprintf(&msg, "%s: %s", file, strerror(-r)) >= 0)
                        dirplex_log_config_error(file, msg);
                e->broken = true;
                return;
        }
        r = conf_open_string(file, text, &reader);
        if (r >= 0)
                r = dirconf_parse(reader, file, 0, &e->conf);
        if (r < 0) {
                dirplex_log_config_error(file,
                                         reader && conf_error(reader) ? conf_error(reader) : strerror(-r));
                e->broken = true;
        }
}

/* Looks at the .htrc of the directory again: *e (made when NULL) says what
 * it is now. Errors other than a broken file leave *e as it was and are not
 * cached, so every request tries again, as when nothing was cached. */
static int entry_refresh(Dirplex *d, HtrcEntry **e, int dirfd, const struct stat *dir, const char *rel,
                         uint64_t now) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *file = NULL;
        struct stat st;

        if (fstatat(dirfd, ".htrc", &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return -errno;
                if (!*e) {
                        *e = entry_new(d, dir, now);
                        if (!*e)
                                return -ENOMEM;
                }
                entry_clear(*e);
                return 0;
        }
        if (*e && entry_current(*e, &st))
                return 0;

        if (asprintf(&file, "%s%s%s/.htrc", d->root_dir.path, *rel ? "/" : "", rel) < 0)
                return -ENOMEM;
        /* The identity comes from the file actually read, so that a file
         * replaced between the stat and the open is not cached as the old
         * one. */
        fd = openat(dirfd, ".htrc", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                dirplex_log_config_error(file, fd < 0 ? strerror(errno) : "not a regular file");
                return -EINVAL;
        }
        if (*e && entry_current(*e, &st))
                return 0;
        if (!*e) {
                *e = entry_new(d, dir, now);
                if (!*e)
                        return -ENOMEM;
        }
        entry_clear(*e);
        (*e)->present = true;
        (*e)->dev = st.st_dev;
        (*e)->ino = st.st_ino;
        (*e)->size = st.st_size;
        (*e)->mtime = st.st_mtim;
        entry_load(*e, fd, file);
        return 0;
}

int htrc_get(Dirplex *d, int dirfd, const struct stat *dir, const char *rel, uint64_t now, DirConf **ret) {
        HtrcEntry *e = entry_find(d, dir);
        int r;

        /* Within one request now stays the same, so an entry is refreshed
         * at most once per request: the configurations already in its
         * chain are never freed under it (a directory may be walked twice
         * through a symlink). */
        if (!e || !dirplex_checked_recently(e->checked_usec, now)) {
                r = entry_refresh(d, &e, dirfd, dir, rel, now);
                if (r < 0)
                        return r;
                e->checked_usec = now;
        }
        if (e->broken)
                return -EINVAL;
        *ret = e->conf;
        return 0;
}

void htrc_flush(Dirplex *d) {
        for (size_t i = 0; i < DIRPLEX_HTRC_BUCKETS; i++)
                while (d->htrc[i]) {
                        HtrcEntry *e = d->htrc[i];

                        d->htrc[i] = e->next;
                        dirconf_free(e->conf);
                        free(e);
                }
        d->n_htrc = 0;
        d->htrc_sweep_at = 0;
}
