/* SPDX-License-Identifier: MIT */

/* Files known to have no precompressed sibling. Most files have none, and
 * finding that out cost three stat() calls of names that do not exist on
 * every request, a third of sendfile's system calls; the answer is now
 * believed for up to SIBLING_NONE_TRUST_NSEC instead. That is how late a
 * sibling added next to a file already served can be noticed.
 *
 * An entry is keyed by the path and by the identity of the file it named
 * (device, inode, modification time): a file replaced or touched since
 * misses at once, so only a sibling added (or refreshed) next to an
 * unchanged file waits for the entry to expire. Only the path's 64-bit hash
 * is kept, so an entry has a fixed size; two paths to the same inode with
 * the same mtime and colliding hashes would at worst share an entry until it
 * expires, the window a new sibling has anyway.
 *
 * The table is set-associative and static, so it never grows:
 * SIBLING_CACHE_SETS sets of SIBLING_CACHE_WAYS entries. A new entry
 * replaces the one of its set that expires first: an empty or expired one,
 * else the one checked longest ago, so that files asked for all the time
 * (and so checked again every second) are not pushed out by one burst of
 * others landing in their set.
 *
 * Why not one stat() of the directory, whose mtime changes when a sibling
 * is created: it does not change when an existing stale sibling is
 * rewritten in place and so becomes usable, directory timestamps are as
 * coarse as the kernel's clock tick (a sibling created in the tick of the
 * directory's last change leaves no trace), and it would still be a system
 * call per request. */

#include <string.h>
#include <time.h>

#include "sendfile.h"

typedef struct SiblingEntry {
        uint64_t path_hash;
        uint64_t dev, ino;
        int64_t mtime_nsec;
        uint64_t expires; /* 0: empty */
} SiblingEntry;

static SiblingEntry table[SIBLING_CACHE_SETS][SIBLING_CACHE_WAYS];

uint64_t sibling_cache_now(void) {
        struct timespec ts;

        /* CLOCK_MONOTONIC_COARSE is read in the vDSO: no system call. */
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

/* How long an entry is used, by the coarse clock. That clock lags the true
 * time by up to a tick (a few milliseconds; more if a tick is late, as in a
 * busy virtual machine) when an entry is made and when it is looked at, so
 * a tenth of the trust is kept back to keep the true age within it. */
#define TTL_NSEC (SIBLING_NONE_TRUST_NSEC - SIBLING_NONE_TRUST_NSEC / 10)

/* FNV-1a: paths are short, and clients cannot choose which ones exist. */
static uint64_t path_hash(const char *path) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (const unsigned char *p = (const unsigned char *) path; *p; p++)
                h = (h ^ *p) * 0x100000001b3ULL;
        return h;
}

static SiblingEntry *set_of(uint64_t hash, const struct stat *st) {
        uint64_t h = (hash ^ (uint64_t) st->st_ino * 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL;

        return table[(h >> 32) % SIBLING_CACHE_SETS];
}

static bool entry_is(const SiblingEntry *e, uint64_t hash, const struct stat *st) {
        return e->expires != 0 && e->path_hash == hash && e->ino == (uint64_t) st->st_ino &&
               e->dev == (uint64_t) st->st_dev && e->mtime_nsec == stat_mtime_nsec(st);
}

bool sibling_cache_has_none(const char *path, const struct stat *st, uint64_t now) {
        uint64_t hash;
        SiblingEntry *set;

        if (now == 0)
                return false;
        hash = path_hash(path);
        set = set_of(hash, st);
        for (size_t i = 0; i < SIBLING_CACHE_WAYS; i++)
                if (entry_is(&set[i], hash, st))
                        return now < set[i].expires;
        return false;
}

void sibling_cache_add_none(const char *path, const struct stat *st, uint64_t now) {
        uint64_t hash;
        SiblingEntry *set, *victim;

        if (now == 0)
                return;
        hash = path_hash(path);
        set = set_of(hash, st);
        victim = &set[0];
        for (size_t i = 0; i < SIBLING_CACHE_WAYS; i++) {
                if (entry_is(&set[i], hash, st)) {
                        victim = &set[i];
                        break;
                }
                if (set[i].expires < victim->expires)
                        victim = &set[i];
        }
        *victim = (SiblingEntry){
                .path_hash = hash,
                .dev = (uint64_t) st->st_dev,
                .ino = (uint64_t) st->st_ino,
                .mtime_nsec = stat_mtime_nsec(st),
                .expires = now + TTL_NSEC,
        };
}

size_t sibling_cache_count(uint64_t now) {
        size_t n = 0;

        for (size_t s = 0; s < SIBLING_CACHE_SETS; s++)
                for (size_t i = 0; i < SIBLING_CACHE_WAYS; i++)
                        n += table[s][i].expires > now;
        return n;
}

void sibling_cache_clear(void) {
        memset(table, 0, sizeof(table));
}
