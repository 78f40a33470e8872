/* SPDX-License-Identifier: MIT */
#pragma once

/* dirplex's configuration: the global dirplex.rc files and the per-directory
 * .htrc files, in the original ashd's language, parsed from a ConfReader
 * (conf.h) into one DirConf per file. Directives:
 *
 *   child NAME       + "exec PROGRAM ARGS..."  a persistent stdin-style handler
 *   fchild NAME      + "exec PROGRAM ARGS..."  a transient handler, one per request
 *   socket NAME PATH                          an activated handler socket
 *   match            + rules, all of which must hold: "filename PATTERN...",
 *                    "pathname PATTERN...", "directory", "default", "local";
 *                    and "handler NAME", "set HEADER VALUE", "xset HEADER VALUE"
 *   capture HANDLER [D]                       (D: not the directory itself)
 *   index-file NAME...
 *   dot-allow PATTERN...
 *   follow-symlinks                           (global files only)
 *
 * Pure: nothing here touches the file system except through the reader. */

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "macro.h"
#include "target.h"
#include "upstream.h"

typedef struct DirMatch {
        char **filenames; /* NULL: any */
        char **pathnames; /* NULL: any */
        bool is_default;
        bool local;
        bool directory; /* matches directories only; without it, files only */
        char *handler;
        char **headers; /* name, value, name, value, ..., NULL (xset already has X-Ash-) */
        unsigned line;
} DirMatch;

typedef struct DirConf {
        char *file;
        Target *handlers;
        size_t n_handlers;
        DirMatch *matches;
        size_t n_matches;
        char **index_files; /* NULL: not set here */
        char **dot_allow;   /* NULL: none here */
        char *capture;      /* handler name, or NULL */
        bool capture_dir;   /* the directory itself is captured too (no D flag) */
        bool follow_symlinks;
} DirConf;

/* The built-in index file when no configuration names one. */
#define DIRCONF_INDEX_DEFAULT "index.html"

typedef enum DirConfFlags {
        DIRCONF_GLOBAL = 1 << 0, /* a dirplex.rc: follow-symlinks allowed, capture not */
} DirConfFlags;

/* Reads every line of r. On a mistake returns -EINVAL (or what conf_next()
 * returned) with conf_error(r) naming FILE:LINE. */
int dirconf_parse(ConfReader *r, const char *name, DirConfFlags flags, DirConf **ret);
DirConf *dirconf_free(DirConf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(DirConf *, dirconf_free);
