/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sendfile.h"

/* What libmagic said about one file ("text/plain; charset=us-ascii"),
 * remembered by the file's identity: the same inode, size and mtime have
 * the same content. Direct-mapped, so it stays bounded and never allocates. */
typedef struct TypeCacheEntry {
        dev_t dev;
        ino_t ino;
        off_t size;
        int64_t mtime_ns;
        bool used;
        char magic[CONTENT_TYPE_MAX];
} TypeCacheEntry;

static TypeCacheEntry cache[TYPE_CACHE_SIZE];

static int64_t mtime_ns(const struct stat *st) {
        return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static TypeCacheEntry *cache_slot(const struct stat *st) {
        uint64_t h = (uint64_t) st->st_ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) st->st_dev ^
                     (uint64_t) mtime_ns(st) * 31 ^ (uint64_t) st->st_size;

        return &cache[(h ^ (h >> 29)) % TYPE_CACHE_SIZE];
}

void content_type_cache_clear(void) {
        memset(cache, 0, sizeof(cache));
}

/* libmagic's "type; charset=X" for the file, cached. NULL if it has none. */
static const char *magic_for(Sendfile *s, int fd, const struct stat *st) {
        TypeCacheEntry *e = cache_slot(st);
        const char *m;

        if (e->used && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
            e->mtime_ns == mtime_ns(st))
                return e->magic;
        if (!s->magic)
                return NULL;
        m = magic_descriptor(s->magic, fd);
        if (!m || strlen(m) >= sizeof(e->magic) || strchr(m, '\n') || strchr(m, '\r'))
                return NULL;
        *e = (TypeCacheEntry){
                .dev = st->st_dev,
                .ino = st->st_ino,
                .size = st->st_size,
                .mtime_ns = mtime_ns(st),
                .used = true,
        };
        strcpy(e->magic, m);
        return e->magic;
}

/* The charset libmagic found in "type; charset=X", into buf; utf-8 for
 * ASCII, and when it knows none ("binary" for an empty file, "unknown-8bit"):
 * text we serve is presumed UTF-8 unless the file shows another encoding. */
static void charset_of(const char *m, char *buf, size_t size) {
        const char *c = m ? strstr(m, "charset=") : NULL;
        size_t len;

        snprintf(buf, size, "utf-8");
        if (!c)
                return;
        c += 8;
        len = strcspn(c, "; \t");
        if (len == 0 || len >= size || (len == 8 && strncasecmp(c, "us-ascii", 8) == 0) ||
            (len == 6 && strncasecmp(c, "binary", 6) == 0) || strncasecmp(c, "unknown", 7) == 0)
                return;
        memcpy(buf, c, len);
        buf[len] = 0;
}

int content_type_for(Sendfile *s, const Request *req, const char *path, int fd, const struct stat *st,
                     char buf[static CONTENT_TYPE_MAX]) {
        const char *override = s->content_type ? s->content_type : req_header_get(req, "X-Ash-Content-Type");
        const char *type, *m;
        char charset[64], magic_type[CONTENT_TYPE_MAX];
        size_t len;
        int n;

        if (override) {
                if (!*override || strlen(override) >= CONTENT_TYPE_MAX)
                        return -EINVAL;
                strcpy(buf, override);
                return 0;
        }

        type = mime_table_lookup(s->mime, path);
        if (type && !mime_type_is_text(type)) {
                n = snprintf(buf, CONTENT_TYPE_MAX, "%s", type);
                return n < CONTENT_TYPE_MAX ? 0 : -EINVAL;
        }

        m = magic_for(s, fd, st);
        if (!type) {
                if (!m) {
                        strcpy(buf, "application/octet-stream");
                        return 0;
                }
                len = strcspn(m, "; \t");
                if (len >= CONTENT_TYPE_MAX)
                        return -EINVAL;
                memcpy(magic_type, m, len);
                magic_type[len] = 0;
                type = magic_type;
                if (!mime_type_is_text(type)) {
                        strcpy(buf, type);
                        return 0;
                }
        }
        charset_of(m, charset, sizeof(charset));
        n = snprintf(buf, CONTENT_TYPE_MAX, "%.*s; charset=%s", (int) strcspn(type, "; \t"), type, charset);
        return n < CONTENT_TYPE_MAX ? 0 : -EINVAL;
}
