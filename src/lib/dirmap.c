/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "dirmap.h"

static bool any_glob(char *const *patterns, const char *s) {
        for (char *const *p = patterns; *p; p++)
                if (fnmatch(*p, s, 0) == 0)
                        return true;
        return false;
}

static bool match_holds(const DirMatch *m, bool is_own, const char *name, const char *path, bool directory) {
        if (m->directory != directory)
                return false;
        if (m->local && !is_own)
                return false;
        if (m->filenames && !any_glob(m->filenames, name))
                return false;
        if (m->pathnames && !any_glob(m->pathnames, path))
                return false;
        return true;
}

const DirMatch *dirmap_match(const DirConf *const *chain, size_t n, const DirConf *own, const char *name,
                             const char *path, bool directory) {
        /* Two passes, as in ashd: a default anywhere loses to any other
         * stanza anywhere in the chain. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++) {
                        const DirConf *c = chain[i];

                        if (!c)
                                continue;
                        for (size_t j = 0; j < c->n_matches; j++) {
                                const DirMatch *m = &c->matches[j];

                                if (m->is_default != (pass == 1))
                                        continue;
                                if (match_holds(m, c == own, name, path, directory))
                                        return m;
                        }
                }
        return NULL;
}

Target *dirmap_handler(const DirConf *const *chain, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++) {
                const DirConf *c = chain[i];

                if (!c)
                        continue;
                for (size_t j = 0; j < c->n_handlers; j++)
                        if (streq(c->handlers[j].name, name))
                                return &c->handlers[j];
        }
        return NULL;
}

char *const *dirmap_index_files(const DirConf *const *chain, size_t n) {
        static char *const builtin[] = {(char *) DIRCONF_INDEX_DEFAULT, NULL};

        for (size_t i = 0; i < n; i++)
                if (chain[i] && chain[i]->index_files)
                        return chain[i]->index_files;
        return builtin;
}

bool dirmap_element_visible(const DirConf *const *chain, size_t n, const char *element) {
        if (element[0] != '.')
                return true;
        if (streq(element, ".htrc"))
                return false;
        for (size_t i = 0; i < n; i++)
                if (chain[i] && chain[i]->dot_allow && any_glob(chain[i]->dot_allow, element))
                        return true;
        return false;
}

int dirmap_pick_extension(const char *name, char *const *names, size_t n_names) {
        size_t len = strlen(name);
        int best = -ENOENT;

        for (size_t i = 0; i < n_names; i++) {
                const char *c = names[i];

                if (strncmp(c, name, len) != 0 || c[len] != '.' || c[len + 1] == 0 || strchr(c, '/'))
                        continue;
                if (streq(c + len + 1, "html"))
                        return (int) i;
                if (best < 0 || strcmp(c, names[best]) < 0)
                        best = (int) i;
        }
        return best;
}
