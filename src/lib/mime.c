/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mime.h"

/* Extensions longer than this cannot be looked up (and are not stored). */
#define MIME_EXT_MAX 64

typedef struct MimeEntry {
        const char *ext;
        const char *type;
        size_t order; /* position in the file, so that the first one wins */
} MimeEntry;

struct MimeTable {
        char *text; /* a copy of the file, its words NUL-terminated in place */
        MimeEntry *entries;
        size_t n;
};

static int entry_cmp(const void *a, const void *b) {
        const MimeEntry *x = a, *y = b;
        int c = strcmp(x->ext, y->ext);

        if (c != 0)
                return c;
        return x->order < y->order ? -1 : x->order > y->order;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

MimeTable *mime_table_free(MimeTable *t) {
        if (!t)
                return NULL;
        free(t->text);
        free(t->entries);
        free(t);
        return NULL;
}

/* Words of one line, NUL-terminated in place; the first is the type. */
static int add_line(MimeTable *t, char *line, size_t *allocated) {
        char *type = NULL;

        for (char *p = line; *p;) {
                char *word;

                while (is_space(*p))
                        p++;
                if (!*p || *p == '#')
                        break;
                word = p;
                while (*p && !is_space(*p) && *p != '#')
                        p++;
                if (*p == '#')
                        *p = 0; /* a comment right after a word */
                else if (*p)
                        *p++ = 0;
                if (!type) {
                        type = word;
                        continue;
                }
                if (strlen(word) > MIME_EXT_MAX)
                        continue;
                if (t->n == *allocated) {
                        size_t k = *allocated ? *allocated * 2 : 256;
                        MimeEntry *e = reallocarray(t->entries, k, sizeof(*e));

                        if (!e)
                                return -ENOMEM;
                        t->entries = e;
                        *allocated = k;
                }
                t->entries[t->n] = (MimeEntry){.ext = word, .type = type, .order = t->n};
                t->n++;
        }
        return 0;
}

int mime_table_parse(const char *text, size_t len, MimeTable **ret) {
        _cleanup_(mime_table_freep) MimeTable *t = NULL;
        size_t allocated = 0, j = 0;
        char *line;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->text = malloc(len + 1);
        if (!t->text)
                return -ENOMEM;
        memcpy(t->text, text, len);
        t->text[len] = 0;

        line = t->text;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && t->text[i] != '\n' && t->text[i] != 0)
                        continue;
                t->text[i] = 0;
                r = add_line(t, line, &allocated);
                if (r < 0)
                        return r;
                line = t->text + i + 1;
        }

        if (t->n > 0) {
                qsort(t->entries, t->n, sizeof(t->entries[0]), entry_cmp);
                for (size_t i = 0; i < t->n; i++)
                        if (j == 0 || strcmp(t->entries[j - 1].ext, t->entries[i].ext) != 0)
                                t->entries[j++] = t->entries[i];
                t->n = j;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int mime_table_load(const char *path, MimeTable **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (st.st_size > MIME_TABLE_FILE_MAX)
                return -EFBIG;
        buf = malloc(st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* The size may change under us: read at most what was stat'ed. */
        while (len < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + len, st.st_size - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += n;
        }
        return mime_table_parse(buf, len, ret);
}

size_t mime_table_size(const MimeTable *t) {
        return t ? t->n : 0;
}

static const char *find(const MimeTable *t, const char *ext) {
        size_t lo = 0, hi = t->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(ext, t->entries[mid].ext);

                if (c == 0)
                        return t->entries[mid].type;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

const char *mime_table_lookup(const MimeTable *t, const char *filename) {
        const char *base, *dot, *type;
        char lower[MIME_EXT_MAX + 1];
        size_t len;

        if (!t || !filename)
                return NULL;
        base = strrchr(filename, '/');
        base = base ? base + 1 : filename;
        dot = strrchr(base, '.');
        if (!dot || dot == base || !dot[1])
                return NULL;
        type = find(t, dot + 1);
        if (type)
                return type;
        len = strlen(dot + 1);
        if (len > MIME_EXT_MAX)
                return NULL;
        for (size_t i = 0; i <= len; i++)
                lower[i] = (dot[1 + i] >= 'A' && dot[1 + i] <= 'Z') ? dot[1 + i] - 'A' + 'a' : dot[1 + i];
        return find(t, lower);
}

bool mime_type_is_text(const char *type) {
        static const char *const textual[] = {
                "application/json",       "application/javascript", "application/xml",
                "application/ecmascript", "image/svg+xml",
        };
        size_t len;

        if (!type)
                return false;
        len = strcspn(type, "; \t");
        if (len >= 5 && strncasecmp(type, "text/", 5) == 0)
                return true;
        for (size_t i = 0; i < sizeof(textual) / sizeof(textual[0]); i++)
                if (len == strlen(textual[i]) && strncasecmp(type, textual[i], len) == 0)
                        return true;
        return (len > 5 && strncasecmp(type + len - 5, "+json", 5) == 0) ||
               (len > 4 && strncasecmp(type + len - 4, "+xml", 4) == 0);
}
