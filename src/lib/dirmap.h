/* SPDX-License-Identifier: MIT */
#pragma once

/* The decisions dirplex takes over its configuration chain, as pure
 * functions. A chain is an array of configurations nearest first: the .htrc
 * of the directory in question, those of its parents up to the root, then
 * the global files. Entries may be NULL (a directory without a .htrc). */

#include <stdbool.h>
#include <stddef.h>

#include "dirconf.h"

/* The match for a file or directory: the first match stanza, nearest file
 * first, whose rules all hold; "default" stanzas are tried only after every
 * other stanza of every file failed. A "local" stanza holds only in own (the
 * .htrc of the directory the thing is in). name is the file's name, path its
 * path relative to the root. NULL when nothing matches. */
const DirMatch *dirmap_match(const DirConf *const *chain, size_t n, const DirConf *own, const char *name,
                             const char *path, bool directory);

/* The nearest definition of a handler name (child, fchild or socket). */
Target *dirmap_handler(const DirConf *const *chain, size_t n, const char *name);

/* The index file names of the nearest file that names any, else the default. */
char *const *dirmap_index_files(const DirConf *const *chain, size_t n);

/* Whether a path element may be served: elements starting with '.' only when
 * a dot-allow pattern of any file in the chain matches it, and ".htrc"
 * never. */
bool dirmap_element_visible(const DirConf *const *chain, size_t n, const char *element);

/* The extension-less lookup: among the names of a directory's regular files,
 * the one that stands for the missing name NAME: "NAME.html" if present,
 * else the byte-wise smallest "NAME.EXT" (EXT not empty, no '/'). Returns
 * the index into names, or -ENOENT. */
int dirmap_pick_extension(const char *name, char *const *names, size_t n_names);
