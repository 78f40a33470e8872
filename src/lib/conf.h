/* SPDX-License-Identifier: MIT */
#pragma once

/* The ashd configuration format. A file is a sequence of lines; an unindented
 * line starts a stanza (a directive), indented lines that follow belong to
 * it. Lines are split into words; double quotes group words with spaces and
 * backslash escapes (\\, \", \n, \t, and a backslash before any other
 * character keeps that character); '#' outside quotes starts a comment. The
 * directive "include PATTERN..." is handled here: each pattern is a glob
 * relative to the including file's folder, matched files are read in sorted
 * order at that point, nested up to CONF_INCLUDE_DEPTH. An include takes no
 * indented lines, and a file may not begin with one. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define CONF_LINE_MAX      4096 /* bytes in one line */
#define CONF_WORDS_MAX     256  /* words in one line */
#define CONF_INCLUDE_DEPTH 16

typedef struct ConfLine {
        const char *file; /* as named to conf_open() or in an include; valid until conf_free() */
        unsigned line;
        bool indented;
        size_t argc;
        char **argv; /* NULL-terminated */
} ConfLine;

typedef struct ConfReader ConfReader;

/* The file is opened by the first conf_next(), which reports a missing one
 * like any other error ("FILE: No such file or directory", -ENOENT);
 * conf_open() itself fails only for lack of memory. */
int conf_open(const char *path, ConfReader **ret);
/* Reads from text held in memory (copied); name is what errors call it, and
 * includes in it are relative to the folder of name if name contains a '/',
 * else to the current directory, as for a file. */
int conf_open_string(const char *name, const char *text, ConfReader **ret);
ConfReader *conf_free(ConfReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfReader *, conf_free);

/* The next non-empty line. Returns 1 with *ret valid until the next call, 0 at
 * the end, or -errno with conf_error() saying "FILE:LINE: what was wrong";
 * after an error every later call returns it again. */
int conf_next(ConfReader *r, const ConfLine **ret);
/* Like conf_next(), for the follow-up lines of a stanza: returns 1 with the
 * next line only if it is indented; an unindented one is left for the next
 * conf_next() and 0 returned. */
int conf_next_indented(ConfReader *r, const ConfLine **ret);
/* Makes the line last returned by conf_next() come again from the next call,
 * so that a stanza parser can stop at the next unindented line. */
void conf_unread(ConfReader *r);
/* Records "FILE:LINE: message" for line and returns -EINVAL, for the
 * semantic errors a program finds in a line it was given. */
int conf_fail(ConfReader *r, const ConfLine *line, const char *fmt, ...) _printf_(3, 4);
/* The last error, or NULL. */
const char *conf_error(const ConfReader *r);
