/* SPDX-License-Identifier: MIT */

#include <glob.h>
#include <string.h>

#include "conf.h"

typedef enum StanzaState {
        STANZA_NONE,          /* no unindented line yet in this file */
        STANZA_OPEN,          /* indented lines continue a returned directive */
        STANZA_AFTER_INCLUDE, /* the last directive was an include, which takes no body */
} StanzaState;

/* One file (or in-memory text) being read; includes push a child on top. */
typedef struct ConfSource ConfSource;
struct ConfSource {
        ConfSource *parent;
        const char *name; /* owned by ConfReader.names */
        FILE *file;       /* NULL for text */
        char *text;
        size_t pos;
        unsigned line;
        unsigned depth;
        StanzaState stanza;

        /* Files matched by the last include directive, read one after
         * the other before the rest of this source. */
        char **includes;
        size_t next_include;
        unsigned include_line;
};

struct ConfReader {
        ConfSource *source;       /* innermost source, NULL at the end */
        const char *pending_path; /* conf_open()'s file, opened by the first conf_next() */

        /* Every file name ever read, so that ConfLine.file stays valid for the
         * reader's lifetime, not only until its file is done. */
        char **names;
        size_t n_names;

        ConfLine line;
        bool have_line, unread;
        int error; /* sticky: a reader that failed once stays failed */
        bool has_message;

        char buffer[CONF_LINE_MAX + 2]; /* room for a '\r' and the NUL */
        char words[CONF_LINE_MAX + 2];  /* unescaped words never outgrow their source text */
        char *argv[CONF_WORDS_MAX + 1];
        char message[2 * CONF_LINE_MAX + 256];
};

static ConfSource *source_free(ConfSource *s) {
        ConfSource *parent = s->parent;

        if (s->file)
                fclose(s->file);
        free(s->text);
        strv_free(s->includes);
        free(s);
        return parent;
}

/* Copies name into the reader, where it lives until conf_free(). */
static int reader_keep_name(ConfReader *r, const char *name, const char **ret) {
        _cleanup_free_ char *copy = NULL;
        char **names;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        names = reallocarray(r->names, r->n_names + 2, sizeof(char *));
        if (!names)
                return -ENOMEM;
        r->names = names;
        r->names[r->n_names] = TAKE_PTR(copy);
        *ret = r->names[r->n_names++];
        r->names[r->n_names] = NULL;
        return 0;
}

/* Formats "FILE:LINE: message" (or "FILE: message" for line 0) as the last
 * error; a fixed buffer, so that reporting an error cannot itself fail. */
_printf_(4, 0) static void reader_vmessage(ConfReader *r, const char *file, unsigned line, const char *fmt,
                                           va_list ap) {
        size_t size = sizeof(r->message);
        int n;

        if (!file)
                n = 0;
        else if (line > 0)
                n = snprintf(r->message, size, "%s:%u: ", file, line);
        else
                n = snprintf(r->message, size, "%s: ", file);
        if (n < 0)
                n = 0;
        if ((size_t) n < size)
                vsnprintf(r->message + n, size - n, fmt, ap);
        r->has_message = true;
}

_printf_(5, 6) static int reader_fail(ConfReader *r, int error, const char *file, unsigned line,
                                      const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reader_vmessage(r, file, line, fmt, ap);
        va_end(ap);
        return error;
}

static int conf_reader_new(ConfReader **ret) {
        ConfReader *r;

        r = calloc(1, sizeof(ConfReader));
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

int conf_open(const char *path, ConfReader **ret) {
        _cleanup_(conf_freep) ConfReader *r = NULL;
        int k;

        k = conf_reader_new(&r);
        if (k < 0)
                return k;
        k = reader_keep_name(r, path, &r->pending_path);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int conf_open_string(const char *name, const char *text, ConfReader **ret) {
        _cleanup_(conf_freep) ConfReader *r = NULL;
        ConfSource *s;
        int k;

        k = conf_reader_new(&r);
        if (k < 0)
                return k;
        s = calloc(1, sizeof(ConfSource));
        if (!s)
                return -ENOMEM;
        r->source = s;
        k = reader_keep_name(r, name, &s->name);
        if (k < 0)
                return k;
        /* A copy, so that the caller's text need not outlive its call. */
        s->text = strdup(text);
        if (!s->text)
                return -ENOMEM;
        *ret = TAKE_PTR(r);
        return 0;
}

ConfReader *conf_free(ConfReader *r) {
        if (!r)
                return NULL;
        while (r->source)
                r->source = source_free(r->source);
        strv_free(r->names);
        free(r);
        return NULL;
}

/* Opens path as a new source on top of the current one. */
static int reader_push_file(ConfReader *r, const char *path, unsigned depth) {
        _cleanup_fclose_ FILE *f = NULL;
        ConfSource *s;
        int k;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        s = calloc(1, sizeof(ConfSource));
        if (!s)
                return -ENOMEM;
        k = reader_keep_name(r, path, &s->name);
        if (k < 0) {
                free(s);
                return k;
        }
        s->file = TAKE_PTR(f);
        s->depth = depth;
        s->parent = r->source;
        r->source = s;
        return 0;
}

static int source_getc(ConfSource *s) {
        if (s->file)
                return getc(s->file);
        if (s->text[s->pos] == '\0')
                return EOF;
        return (unsigned char) s->text[s->pos++];
}

/* Reads one physical line of s into r->buffer without its line end. Returns
 * 1, 0 at the end of s, or -errno with the message set. */
static int source_read_line(ConfReader *r, ConfSource *s) {
        size_t len = 0;
        bool any = false;
        int c;

        errno = 0;
        while ((c = source_getc(s)) != EOF) {
                if (!any) {
                        any = true;
                        s->line++;
                }
                if (c == '\n')
                        break;
                if (c == '\0')
                        return reader_fail(r, -EINVAL, s->name, s->line, "NUL byte in line");
                /* One byte beyond the limit is kept for a '\r' that
                 * CRLF files end their lines with. */
                if (len > CONF_LINE_MAX)
                        return reader_fail(r, -EINVAL, s->name, s->line, "line longer than %d bytes",
                                           CONF_LINE_MAX);
                r->buffer[len++] = (char) c;
        }
        if (c == EOF && s->file && ferror(s->file)) {
                int error = negative_errno();

                return reader_fail(r, error, s->name, any ? s->line : s->line + 1, "%s", strerror(-error));
        }
        if (!any)
                return 0;

        if (len > 0 && r->buffer[len - 1] == '\r')
                len--;
        if (len > CONF_LINE_MAX)
                return reader_fail(r, -EINVAL, s->name, s->line, "line longer than %d bytes", CONF_LINE_MAX);
        r->buffer[len] = '\0';
        return 1;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Splits r->buffer into r->argv, unescaping into r->words. Returns the
 * number of words, or -EINVAL with the message set. */
static int reader_split(ConfReader *r, ConfSource *s) {
        const char *p = r->buffer;
        char *out = r->words;
        size_t argc = 0;

        for (;;) {
                bool quoted = false;

                while (is_blank(*p))
                        p++;
                if (*p == '\0' || *p == '#')
                        break;
                if (argc >= CONF_WORDS_MAX)
                        return reader_fail(r, -EINVAL, s->name, s->line, "more than %d words in line",
                                           CONF_WORDS_MAX);

                r->argv[argc++] = out;
                for (; *p != '\0'; p++) {
                        if (!quoted && (is_blank(*p) || *p == '#'))
                                break;
                        if (*p == '"') {
                                quoted = !quoted;
                                continue;
                        }
                        /* A backslash ending the line has nothing to escape and stays. */
                        if (*p == '\\' && p[1] != '\0') {
                                p++;
                                *out++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                                continue;
                        }
                        *out++ = *p;
                }
                if (quoted)
                        return reader_fail(r, -EINVAL, s->name, s->line, "unterminated quote");
                *out++ = '\0';
        }
        r->argv[argc] = NULL;
        return (int) argc;
}

static bool has_glob_chars(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

/* Resolves pattern relative to the folder of file, which is the current
 * directory when file names no folder. For a glob, the folder is escaped so
 * that only the pattern's own '*', '?' and '[' match anything. */
static char *include_path(const char *file, const char *pattern, bool escape_folder) {
        const char *slash = strrchr(file, '/');
        char *path, *out;

        if (pattern[0] == '/' || !slash)
                return strdup(pattern);

        path = malloc(2 * (slash - file) + 1 + strlen(pattern) + 1);
        if (!path)
                return NULL;
        out = path;
        for (const char *p = file; p < slash; p++) {
                if (escape_folder && strchr("*?[\\", *p))
                        *out++ = '\\';
                *out++ = *p;
        }
        *out++ = '/';
        strcpy(out, pattern);
        return path;
}

static int strv_push(char ***l, size_t *n, char *s) {
        char **grown;

        grown = reallocarray(*l, *n + 2, sizeof(char *));
        if (!grown) {
                free(s);
                return -ENOMEM;
        }
        *l = grown;
        grown[(*n)++] = s;
        grown[*n] = NULL;
        return 0;
}

/* Expands the patterns of an include directive into the files s reads next:
 * a pattern without glob characters names one file that must exist (checked
 * when it is opened), a glob may match nothing. */
static int source_expand_includes(ConfReader *r, ConfSource *s, char **patterns) {
        _cleanup_strv_ char **files = NULL;
        size_t n = 0;
        int k;

        if (!patterns[0])
                return reader_fail(r, -EINVAL, s->name, s->line, "include needs at least one file pattern");

        for (char **p = patterns; *p; p++) {
                bool is_glob = has_glob_chars(*p);
                _cleanup_free_ char *path = include_path(s->name, *p, is_glob);
                glob_t g;
                int gr;

                if (!path)
                        return -ENOMEM;
                if (!is_glob) {
                        k = strv_push(&files, &n, TAKE_PTR(path));
                        if (k < 0)
                                return k;
                        continue;
                }

                gr = glob(path, 0, NULL, &g);
                if (gr == GLOB_NOMATCH)
                        continue;
                if (gr == GLOB_NOSPACE)
                        return -ENOMEM;
                if (gr != 0)
                        return reader_fail(r, -EIO, s->name, s->line, "include %s: cannot read a folder",
                                           *p);
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        char *match = strdup(g.gl_pathv[i]);

                        k = match ? strv_push(&files, &n, match) : -ENOMEM;
                        if (k < 0) {
                                globfree(&g);
                                return k;
                        }
                }
                globfree(&g);
        }

        strv_free(s->includes);
        s->includes = TAKE_PTR(files);
        s->next_include = 0;
        s->include_line = s->line;
        return 0;
}

/* Starts reading the next file of s's last include directive. */
static int source_open_include(ConfReader *r, ConfSource *s) {
        const char *path = s->includes[s->next_include++];
        int k;

        if (s->depth >= CONF_INCLUDE_DEPTH)
                return reader_fail(r, -EINVAL, s->name, s->include_line,
                                   "include %s: includes nested deeper than %d", path, CONF_INCLUDE_DEPTH);
        k = reader_push_file(r, path, s->depth + 1);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return reader_fail(r, k, s->name, s->include_line, "include %s: %s", path, strerror(-k));
        return 0;
}

/* The next line to hand out, with includes followed and finished files
 * dropped. Returns 1 with r->line set, 0 at the end, or -errno. */
static int reader_read(ConfReader *r) {
        int k;

        if (r->pending_path) {
                k = reader_push_file(r, r->pending_path, 0);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return reader_fail(r, k, r->pending_path, 0, "%s", strerror(-k));
                r->pending_path = NULL;
        }

        for (;;) {
                ConfSource *s = r->source;
                bool indented;
                int argc;

                if (!s)
                        return 0;

                if (s->includes && s->includes[s->next_include]) {
                        k = source_open_include(r, s);
                        if (k < 0)
                                return k;
                        continue;
                }

                k = source_read_line(r, s);
                if (k < 0)
                        return k;
                if (k == 0) {
                        r->source = source_free(s);
                        continue;
                }

                indented = is_blank(r->buffer[0]);
                argc = reader_split(r, s);
                if (argc < 0)
                        return argc;
                if (argc == 0)
                        continue;

                if (!indented && streq(r->argv[0], "include")) {
                        k = source_expand_includes(r, s, r->argv + 1);
                        if (k < 0)
                                return k;
                        s->stanza = STANZA_AFTER_INCLUDE;
                        continue;
                }
                if (indented && s->stanza == STANZA_NONE)
                        return reader_fail(r, -EINVAL, s->name, s->line,
                                           "indented line before any directive");
                /* Indented lines here would silently join whatever stanza
                 * the included files ended with. */
                if (indented && s->stanza == STANZA_AFTER_INCLUDE)
                        return reader_fail(r, -EINVAL, s->name, s->line, "indented line after include");
                if (!indented)
                        s->stanza = STANZA_OPEN;

                r->line = (ConfLine){
                        .file = s->name,
                        .line = s->line,
                        .indented = indented,
                        .argc = (size_t) argc,
                        .argv = r->argv,
                };
                return 1;
        }
}

int conf_next(ConfReader *r, const ConfLine **ret) {
        int k;

        if (r->error < 0)
                return r->error;

        if (r->unread) {
                r->unread = false;
                *ret = &r->line;
                return 1;
        }
        r->have_line = false;

        k = reader_read(r);
        if (k < 0) {
                /* Only allocation failures come back without a message. */
                if (k == -ENOMEM)
                        (void) reader_fail(r, k, r->source ? r->source->name : r->pending_path,
                                           r->source ? r->source->line : 0, "out of memory");
                r->error = k;
                return k;
        }
        if (k == 0)
                return 0;
        r->have_line = true;
        *ret = &r->line;
        return 1;
}

void conf_unread(ConfReader *r) {
        if (r->have_line)
                r->unread = true;
}

int conf_fail(ConfReader *r, const ConfLine *line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reader_vmessage(r, line ? line->file : NULL, line ? line->line : 0, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

const char *conf_error(const ConfReader *r) {
        return r->has_message ? r->message : NULL;
}

int conf_next_indented(ConfReader *r, const ConfLine **ret) {
        int k = conf_next(r, ret);

        if (k <= 0)
                return k;
        if (!(*ret)->indented) {
                conf_unread(r);
                return 0;
        }
        return 1;
}
