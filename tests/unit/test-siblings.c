/* SPDX-License-Identifier: MIT */

/* sendfile's cache of files without precompressed siblings. It is part of
 * sendfile, not of the library, so the suite compiles its source in. */

#include <malloc.h>
#include <stdio.h>

#include "../../src/sendfile/siblings.c"
#include "check-main.h"

#define SEC 1000000000ULL
/* A made-up start time, well clear of 0 (which means "no clock"). */
#define T0 (1000 * SEC)

static struct stat file(uint64_t dev, uint64_t ino, int64_t mtime_nsec) {
        struct stat st = {
                .st_dev = dev,
                .st_ino = ino,
                .st_mtim = {.tv_sec = mtime_nsec / 1000000000, .tv_nsec = mtime_nsec % 1000000000},
        };

        return st;
}

START_TEST(test_believed_for_less_than_the_trust) {
        struct stat st = file(1, 2, 1600000000 * SEC);

        sibling_cache_clear();
        ck_assert(!sibling_cache_has_none("/srv/a.js", &st, T0));
        sibling_cache_add_none("/srv/a.js", &st, T0);
        ck_assert(sibling_cache_has_none("/srv/a.js", &st, T0));
        ck_assert(sibling_cache_has_none("/srv/a.js", &st, T0 + SIBLING_NONE_TRUST_NSEC / 2));
        ck_assert(!sibling_cache_has_none("/srv/a.js", &st, T0 + SIBLING_NONE_TRUST_NSEC));
        ck_assert(!sibling_cache_has_none("/srv/a.js", &st, T0 + 10 * SIBLING_NONE_TRUST_NSEC));

        /* Checked again: believed again, in the same entry. */
        sibling_cache_add_none("/srv/a.js", &st, T0 + 10 * SIBLING_NONE_TRUST_NSEC);
        ck_assert(sibling_cache_has_none("/srv/a.js", &st, T0 + 10 * SIBLING_NONE_TRUST_NSEC));
        ck_assert_uint_eq(sibling_cache_count(T0), 1);
}
END_TEST

/* A file replaced or touched is a new question at once; so is another path
 * to the same file (a link may have siblings of its own). */
START_TEST(test_keyed_by_path_and_identity) {
        struct stat st = file(1, 2, 1600000000 * SEC + 5);
        struct stat other_ino = file(1, 3, 1600000000 * SEC + 5),
                    other_dev = file(9, 2, 1600000000 * SEC + 5),
                    other_mtime = file(1, 2, 1600000000 * SEC + 6);

        sibling_cache_clear();
        sibling_cache_add_none("/srv/a.js", &st, T0);
        ck_assert(sibling_cache_has_none("/srv/a.js", &st, T0 + 1));
        ck_assert(!sibling_cache_has_none("/srv/b.js", &st, T0 + 1));
        ck_assert(!sibling_cache_has_none("/srv/a.j", &st, T0 + 1));
        ck_assert(!sibling_cache_has_none("/srv/a.js", &other_ino, T0 + 1));
        ck_assert(!sibling_cache_has_none("/srv/a.js", &other_dev, T0 + 1));
        ck_assert(!sibling_cache_has_none("/srv/a.js", &other_mtime, T0 + 1));
}
END_TEST

START_TEST(test_no_clock_caches_nothing) {
        struct stat st = file(1, 2, 3);

        sibling_cache_clear();
        sibling_cache_add_none("/srv/a.js", &st, 0);
        ck_assert(!sibling_cache_has_none("/srv/a.js", &st, 0));
        ck_assert(!sibling_cache_has_none("/srv/a.js", &st, 1));
        ck_assert_uint_eq(sibling_cache_count(0), 0);
        ck_assert_uint_ne(sibling_cache_now(), 0);
}
END_TEST

/* Many more files than entries: the table stays at its size and allocates
 * nothing, and the files seen last are the ones remembered. */
START_TEST(test_memory_is_bounded) {
        const size_t capacity = SIBLING_CACHE_SETS * SIBLING_CACHE_WAYS, n = 50 * capacity;
        size_t allocated;
        char path[64];

        sibling_cache_clear();
        allocated = mallinfo2().uordblks;
        for (size_t i = 0; i < n; i++) {
                struct stat st = file(1, 1000 + i, 1600000000 * SEC);

                snprintf(path, sizeof(path), "/srv/file-%zu.html", i);
                sibling_cache_add_none(path, &st, T0 + i);
        }
        ck_assert_uint_eq(mallinfo2().uordblks, allocated);
        ck_assert_uint_eq(sibling_cache_count(T0), capacity);
        for (size_t i = n - 100; i < n; i++) {
                struct stat st = file(1, 1000 + i, 1600000000 * SEC);

                snprintf(path, sizeof(path), "/srv/file-%zu.html", i);
                ck_assert_msg(sibling_cache_has_none(path, &st, T0 + n), "%s forgotten", path);
        }
}
END_TEST

/* Within a set, a new entry replaces the one that expires first: the one
 * checked longest ago, not one checked again recently. */
START_TEST(test_full_set_replaces_the_oldest) {
        struct stat st = file(1, 2, 1600000000 * SEC);
        char paths[SIBLING_CACHE_WAYS + 2][32];
        SiblingEntry *set = NULL;
        size_t found = 0;

        sibling_cache_clear();
        /* Paths that share a set. */
        for (unsigned i = 0; found < ELEMENTSOF(paths) && i < 1000000; i++) {
                char path[32];

                snprintf(path, sizeof(path), "/srv/%u", i);
                if (!set)
                        set = set_of(path_hash(path), &st);
                if (set_of(path_hash(path), &st) == set)
                        strcpy(paths[found++], path);
        }
        ck_assert_uint_eq(found, ELEMENTSOF(paths));

        for (size_t i = 0; i < SIBLING_CACHE_WAYS; i++)
                sibling_cache_add_none(paths[i], &st, T0 + i);
        /* The first is checked again, so the second is now the oldest. */
        sibling_cache_add_none(paths[0], &st, T0 + 10);
        sibling_cache_add_none(paths[SIBLING_CACHE_WAYS], &st, T0 + 11);
        ck_assert(sibling_cache_has_none(paths[0], &st, T0 + 12));
        ck_assert(!sibling_cache_has_none(paths[1], &st, T0 + 12));
        for (size_t i = 2; i <= SIBLING_CACHE_WAYS; i++)
                ck_assert(sibling_cache_has_none(paths[i], &st, T0 + 12));
        sibling_cache_add_none(paths[SIBLING_CACHE_WAYS + 1], &st, T0 + 13);
        ck_assert(!sibling_cache_has_none(paths[2], &st, T0 + 14));
        ck_assert(sibling_cache_has_none(paths[SIBLING_CACHE_WAYS + 1], &st, T0 + 14));
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("siblings");
        TCase *tc = tcase_create("siblings");

        tcase_add_test(tc, test_believed_for_less_than_the_trust);
        tcase_add_test(tc, test_keyed_by_path_and_identity);
        tcase_add_test(tc, test_no_clock_caches_nothing);
        tcase_add_test(tc, test_memory_is_bounded);
        tcase_add_test(tc, test_full_set_replaces_the_oldest);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
