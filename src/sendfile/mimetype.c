/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
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

static TypeCacheEntry *cache_slot(const struct stat *st) {
        uint64_t h = (uint64_t) st->st_ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) st->st_dev ^
                     (uint64_t) stat_mtime_nsec(st) * 31 ^ (uint64_t) st->st_size;

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
            e->mtime_ns == stat_mtime_nsec(st))
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
                .mtime_ns = stat_mtime_nsec(st),
                .used = true,
        };
        strcpy(e->magic, m);
        return e->magic;
}

/* The charset libmagic found in "type; charset=X", as a pointer into m and
 * a length; utf-8 for ASCII, and when it knows none ("binary" for an empty
 * file, "unknown-8bit"): text we serve is presumed UTF-8 unless the file
 * shows another encoding. */
/* A longer charset from libmagic counts as none. */
#define CHARSET_MAX 63

static const char *charset_of(const char *m, size_t *ret_len) {
        const char *c = m ? strstr(m, "charset=") : NULL;
        size_t len;

        *ret_len = strlen("utf-8");
        if (!c)
                return "utf-8";
        c += 8;
        len = strcspn(c, "; \t");
        if (len == 0 || len > CHARSET_MAX || (len == 8 && strncasecmp(c, "us-ascii", 8) == 0) ||
            (len == 6 && strncasecmp(c, "binary", 6) == 0) || strncasecmp(c, "unknown", 7) == 0)
                return "utf-8";
        *ret_len = len;
        return c;
}

/* Appends len bytes of s to the type being built in buf, with a NUL; false
 * when that would not fit. Types are built per request: no printf. */
static bool type_put(char buf[static CONTENT_TYPE_MAX], size_t *pos, const char *s, size_t len) {
        if (len >= CONTENT_TYPE_MAX - *pos)
                return false;
        memcpy(buf + *pos, s, len);
        *pos += len;
        buf[*pos] = 0;
        return true;
}

int content_type_for(Sendfile *s, const char *requested, const char *path, int fd, const struct stat *st,
                     char buf[static CONTENT_TYPE_MAX]) {
        const char *override = s->content_type ?: requested;
        const char *type, *m, *charset;
        size_t len, charset_len, pos = 0;

        if (override) {
                if (!*override || !type_put(buf, &pos, override, strlen(override)))
                        return -EINVAL;
                return 0;
        }

        type = mime_table_lookup(s->mime, path);
        if (type && !mime_type_is_text(type))
                return type_put(buf, &pos, type, strlen(type)) ? 0 : -EINVAL;

        m = magic_for(s, fd, st);
        if (!type) {
                if (!m) {
                        strcpy(buf, "application/octet-stream");
                        return 0;
                }
                type = m;
                if (!mime_type_is_text(type))
                        return type_put(buf, &pos, m, strcspn(m, "; \t")) ? 0 : -EINVAL;
        }
        len = strcspn(type, "; \t");
        charset = charset_of(m, &charset_len);
        if (!type_put(buf, &pos, type, len) || !type_put(buf, &pos, "; charset=", strlen("; charset=")) ||
            !type_put(buf, &pos, charset, charset_len))
                return -EINVAL;
        return 0;
}
