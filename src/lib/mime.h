/* SPDX-License-Identifier: MIT */
#pragma once

/* A mime.types file ("type ext ext ...", '#' comments; Debian's
 * media-types package installs /etc/mime.types), read once into a sorted
 * table for lookups by file name extension. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Files larger than this are refused (-EFBIG): the table is read whole. */
#define MIME_TABLE_FILE_MAX (4 * 1024 * 1024)

typedef struct MimeTable MimeTable;

/* Parses text (len bytes, need not be NUL-terminated). When an extension is
 * listed twice, its first type wins. */
int mime_table_parse(const char *text, size_t len, MimeTable **ret);
int mime_table_load(const char *path, MimeTable **ret);
MimeTable *mime_table_free(MimeTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(MimeTable *, mime_table_free);
size_t mime_table_size(const MimeTable *t);

/* The type for a file name (a path is fine): by the extension after the
 * last dot of the last component, matched exactly, then in lower case. A
 * name without an extension, or a dot-file like ".profile", has none: NULL. */
const char *mime_table_lookup(const MimeTable *t, const char *filename);

/* Whether a type is text that deserves a charset parameter: all of "text/", and
 * the textual application types (JSON, JavaScript, XML and their +json,
 * +xml relatives). Parameters after ';' are ignored. */
bool mime_type_is_text(const char *type);
