/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "dirplex.h"

/* One parsed .htrc, valid while the file keeps its identity, size and mtime;
 * a broken one is remembered as such, so it is logged once per change. */
struct HtrcEntry {
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
        return e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
               e->mtime.tv_nsec == st->st_mtim.tv_nsec;
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

int htrc_get(Dirplex *d, int dirfd, const char *display, DirConf **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *file = NULL;
        HtrcEntry **slot, *e;
        struct stat st;

        if (fstatat(dirfd, ".htrc", &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return -errno;
                *ret = NULL;
                return 0;
        }
        slot = &d->htrc[bucket_of(st.st_dev, st.st_ino)];
        for (e = *slot; e; e = e->next)
                if (e->dev == st.st_dev && e->ino == st.st_ino)
                        break;
        if (e && entry_current(e, &st))
                goto found;

        if (asprintf(&file, "%s/.htrc", display) < 0)
                return -ENOMEM;
        /* The identity comes from the file actually read, so that a file
         * replaced between the stat and the open is not cached under the
         * old one's key. */
        fd = openat(dirfd, ".htrc", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                dirplex_log_config_error(file, fd < 0 ? strerror(errno) : "not a regular file");
                return -EINVAL;
        }
        if (e && (e->dev != st.st_dev || e->ino != st.st_ino))
                e = NULL;
        if (!e) {
                slot = &d->htrc[bucket_of(st.st_dev, st.st_ino)];
                for (e = *slot; e; e = e->next)
                        if (e->dev == st.st_dev && e->ino == st.st_ino)
                                break;
        }
        if (!e) {
                e = calloc(1, sizeof(HtrcEntry));
                if (!e)
                        return -ENOMEM;
                e->dev = st.st_dev;
                e->ino = st.st_ino;
                e->next = *slot;
                *slot = e;
        } else if (entry_current(e, &st))
                goto found;

        /* Replacing the configuration ends the children it started. */
        e->conf = dirconf_free(e->conf);
        e->broken = false;
        e->size = st.st_size;
        e->mtime = st.st_mtim;
        entry_load(e, fd, file);
found:
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
}
