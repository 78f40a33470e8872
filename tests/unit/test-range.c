/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check-main.h"
#include "macro.h"
#include "range.h"

static void assert_one(const char *value, uint64_t size, uint64_t start, uint64_t length) {
        ByteRange r[RANGE_MAX];

        ck_assert_int_eq(range_parse(value, size, r), 1);
        ck_assert_uint_eq(r[0].start, start);
        ck_assert_uint_eq(r[0].length, length);
}

START_TEST(test_single) {
        assert_one("bytes=0-9", 100, 0, 10);
        assert_one("bytes=90-", 100, 90, 10);
        assert_one("bytes=-10", 100, 90, 10);
        assert_one("bytes=-1000", 100, 0, 100);
        assert_one("bytes=50-1000", 100, 50, 50);
        assert_one("BYTES = 5-5", 100, 5, 1);
        assert_one("bytes=99-99", 100, 99, 1);
        assert_one("bytes=0-99999999999999999999999", 100, 0, 100);
        /* Unsatisfiable elements are dropped when another one is fine. */
        assert_one("bytes=200-300, 1-2", 100, 1, 2);
        /* Empty list elements are allowed. */
        assert_one("bytes=, 1-2 ,", 100, 1, 2);
}
END_TEST

START_TEST(test_multiple) {
        ByteRange r[RANGE_MAX];

        ck_assert_int_eq(range_parse("bytes=0-0,-1, 10-19", 100, r), 3);
        ck_assert_uint_eq(r[1].start, 99);
        ck_assert_uint_eq(r[2].start, 10);
        ck_assert_uint_eq(r[2].length, 10);
        /* Adjacent is not overlapping. */
        ck_assert_int_eq(range_parse("bytes=0-9,10-19", 100, r), 2);
}
END_TEST

START_TEST(test_ignored) {
        static const char *const bad[] = {
                "",          "bytes",       "bytes=",  "bytes=,",   "items=0-1",   "bytes 0-1",
                "bytes=a-b", "bytes=5-2",   "bytes=1", "bytes=--1", "bytes=0-1;x", "bytes=0-1 2-3",
                "bytes=-",   "bytes=0x1-2",
        };
        ByteRange r[RANGE_MAX];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(range_parse(bad[i], 100, r) == 0, "%s", bad[i]);
        ck_assert_int_eq(range_parse(NULL, 100, r), 0);
}
END_TEST

START_TEST(test_unsatisfiable_and_refused) {
        ByteRange r[RANGE_MAX];
        char many[512] = "bytes=";

        ck_assert_int_eq(range_parse("bytes=100-", 100, r), -ERANGE);
        ck_assert_int_eq(range_parse("bytes=-0", 100, r), -ERANGE);
        ck_assert_int_eq(range_parse("bytes=0-0", 0, r), -ERANGE);
        ck_assert_int_eq(range_parse("bytes=-5", 0, r), -ERANGE);
        ck_assert_int_eq(range_parse("bytes=0-10,5-6", 100, r), -E2BIG);
        ck_assert_int_eq(range_parse("bytes=-10,95-", 100, r), -E2BIG);
        for (int i = 0; i < RANGE_MAX; i++)
                snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d-%d", i ? "," : "", i * 2,
                         i * 2);
        ck_assert_int_eq(range_parse(many, 100, r), RANGE_MAX);
        strcat(many, ",90-90");
        ck_assert_int_eq(range_parse(many, 100, r), -E2BIG);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("range");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_single);
        tcase_add_test(tc, test_multiple);
        tcase_add_test(tc, test_ignored);
        tcase_add_test(tc, test_unsatisfiable_and_refused);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
