/* SPDX-License-Identifier: MIT */
#pragma once

/* Directory listings (htls): the entries of one directory, read with a cap,
 * sorted, and rendered as an HTML page or a JSON array with every name
 * escaped, plus the Accept negotiation between the two. Names are untrusted
 * bytes: any byte but '/' and NUL, not necessarily UTF-8. listing_read() does
 * I/O on a directory the caller opened; everything else is pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "macro.h"

/* At most this many entries are kept from one directory (the rest are
 * counted as left out), so that a directory with millions of files cannot
 * exhaust memory: a name is at most NAME_MAX (255) bytes, so a full listing
 * holds about 30 MB. */
#define LISTING_ENTRIES_MAX 100000

/* Buffer sizes for listing_format_size() and listing_format_time(). */
#define LISTING_SIZE_MAX 16
#define LISTING_TIME_MAX 32

typedef enum ListingType {
        LISTING_DIRECTORY,
        LISTING_FILE,
        LISTING_OTHER, /* devices, sockets, FIFOs, dangling or looping symlinks */
} ListingType;

typedef struct ListingEntry {
        char *name;
        ListingType type;
        bool has_size; /* regular files only */
        uint64_t size;
        bool has_mtime;
        time_t mtime;
} ListingEntry;

typedef struct Listing {
        ListingEntry *entries;
        size_t n_entries;
        size_t n_allocated;
        size_t max_entries;
        bool truncated; /* entries were left out because of max_entries */
} Listing;

/* Flags of listing_read(). */
#define LISTING_SHOW_HIDDEN (1u << 0) /* names starting with '.' ("." and ".." never) */

/* An empty listing that keeps at most max_entries (0: LISTING_ENTRIES_MAX). */
int listing_new(size_t max_entries, Listing **ret);
Listing *listing_free(Listing *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Listing *, listing_free);

/* Appends a copy of e (its name duplicated). Past max_entries the entry is
 * dropped, truncated set, and 0 returned: a long directory is not an error. */
int listing_add(Listing *l, const ListingEntry *e);

/* Reads the directory open as dir_fd (which stays the caller's) into a new
 * listing. Symlinks are followed, so that a link shows as what it points to;
 * one that dangles or loops shows as LISTING_OTHER. An entry that vanishes
 * while being read is skipped. -errno from opening or reading. */
int listing_read(int dir_fd, unsigned flags, size_t max_entries, Listing **ret);

/* Directories first, then everything else; within each group names in
 * version order (strverscmp: "file2" before "file10"), ties broken byte-wise
 * so that the order is total. */
int listing_compare(const ListingEntry *a, const ListingEntry *b);
void listing_sort(Listing *l);

/* "0 B" … "1023 B", then one decimal and a binary unit: "1.5 KiB", "2.0 MiB". */
void listing_format_size(uint64_t size, char buf[static LISTING_SIZE_MAX]);
/* ISO 8601 in UTC, "2024-05-06T07:08:09Z"; "-" for a time gmtime cannot take. */
void listing_format_time(time_t t, char buf[static LISTING_TIME_MAX]);

/* Writes s as HTML text or attribute content: & < > " ' become entities,
 * control characters their visible Control Pictures (U+2400…, so a newline
 * in a name shows as ␊), C1 controls and bytes that are not UTF-8 U+FFFD,
 * one per byte. */
void listing_html_escape(FILE *f, const char *s);
/* Writes s as a JSON string, quotes included: " and \ escaped, control
 * characters and < > & as \u00XX, bytes that are not UTF-8 as \ufffd. */
void listing_json_string(FILE *f, const char *s);

/* The quality (0…1000) that an Accept header value gives to a media type
 * such as "application/json": the most specific matching range decides
 * ("type/subtype" over "type/" + "*" over "*" + "/" + "*"), 0 when none matches. A NULL or empty
 * header accepts everything at 1000. Malformed parts count as not present. */
int listing_accept_quality(const char *accept, const char *type);
/* Whether a client with this Accept header gets JSON: only when it prefers
 * application/json strictly over text/html; ties go to HTML. */
bool listing_accept_json(const char *accept);

/* Writes the HTML page of a listing of the directory at url (a request
 * target: its path, up to any '?', percent-decoded, is the title). Each name
 * links to its url_escape_path() form, a directory's with a trailing '/';
 * a link to "../" comes first unless the path is "/". -ENOMEM, or -EIO if
 * the stream failed. */
int listing_render_html(FILE *f, const Listing *l, const char *url);
/* Writes the JSON form: an array of {"name", "type": "file"|"directory"|
 * "other", "size" (bytes, null but for files), "mtime" (ISO 8601 UTC or
 * null), "href" (the escaped relative link, which keeps names that are not
 * UTF-8 exact)}. -ENOMEM or -EIO. */
int listing_render_json(FILE *f, const Listing *l);
