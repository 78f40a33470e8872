/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "listing.h"

int listing_new(size_t max_entries, Listing **ret) {
        Listing *l;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->max_entries = max_entries > 0 ? max_entries : LISTING_ENTRIES_MAX;
        *ret = l;
        return 0;
}

Listing *listing_free(Listing *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_entries; i++)
                free(l->entries[i].name);
        free(l->entries);
        free(l);
        return NULL;
}

/* Grows the entry array geometrically, never beyond max_entries. */
static int listing_reserve(Listing *l) {
        ListingEntry *p;
        size_t n;

        if (l->n_entries < l->n_allocated)
                return 0;
        n = l->n_allocated > 0 ? l->n_allocated * 2 : 64;
        if (n > l->max_entries)
                n = l->max_entries;
        p = reallocarray(l->entries, n, sizeof(*p));
        if (!p)
                return -ENOMEM;
        l->entries = p;
        l->n_allocated = n;
        return 0;
}

int listing_add(Listing *l, const ListingEntry *e) {
        char *name;
        int r;

        if (l->n_entries >= l->max_entries) {
                l->truncated = true;
                return 0;
        }
        r = listing_reserve(l);
        if (r < 0)
                return r;
        name = strdup(e->name);
        if (!name)
                return -ENOMEM;
        l->entries[l->n_entries] = *e;
        l->entries[l->n_entries].name = name;
        l->n_entries++;
        return 0;
}

/* Describes one directory entry. The target of a symlink is what a visitor
 * gets by following the link, so that is what is shown; a link that leads
 * nowhere is "other", with the link's own date. Returns -ENOENT for an entry
 * that is gone. */
static int entry_stat(int dir_fd, const char *name, ListingEntry *e) {
        struct stat st;

        *e = (ListingEntry){.name = (char *) name, .type = LISTING_OTHER};
        if (fstatat(dir_fd, name, &st, 0) < 0) {
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        /* Not even the entry itself can be looked at (a
                         * directory readable but not searchable): its name
                         * is all there is to show. */
                        return errno == ENOENT ? -ENOENT : 0;
                e->has_mtime = true;
                e->mtime = st.st_mtim.tv_sec;
                return 0;
        }

        e->has_mtime = true;
        e->mtime = st.st_mtim.tv_sec;
        if (S_ISDIR(st.st_mode))
                e->type = LISTING_DIRECTORY;
        else if (S_ISREG(st.st_mode)) {
                e->type = LISTING_FILE;
                e->has_size = true;
                e->size = (uint64_t) st.st_size;
        }
        return 0;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int listing_read(int dir_fd, unsigned flags, size_t max_entries, Listing **ret) {
        _cleanup_(listing_freep) Listing *l = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = listing_new(max_entries, &l);
        if (r < 0)
                return r;

        /* closedir() closes the fd it reads, and dir_fd stays the caller's. */
        fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);
        rewinddir(d);

        for (;;) {
                struct dirent *de;
                ListingEntry e;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_name[0] == '.' && !(flags & LISTING_SHOW_HIDDEN))
                        continue;
                /* Past the cap, stat no more: the rest is only counted. */
                if (l->n_entries >= l->max_entries) {
                        l->truncated = true;
                        break;
                }
                if (entry_stat(dirfd(d), de->d_name, &e) < 0)
                        continue;
                r = listing_add(l, &e);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

int listing_compare(const ListingEntry *a, const ListingEntry *b) {
        bool ad = a->type == LISTING_DIRECTORY, bd = b->type == LISTING_DIRECTORY;
        int c;

        if (ad != bd)
                return ad ? -1 : 1;
        c = strverscmp(a->name, b->name);
        if (c != 0)
                return c;
        return strcmp(a->name, b->name);
}

static int compare_entries(const void *a, const void *b) {
        return listing_compare(a, b);
}

void listing_sort(Listing *l) {
        if (l->n_entries > 1)
                qsort(l->entries, l->n_entries, sizeof(ListingEntry), compare_entries);
}
