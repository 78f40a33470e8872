/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "check-main.h"
#include "encoding.h"

START_TEST(test_q) {
        ck_assert_int_eq(accept_encoding_q(NULL, "gzip"), 0);
        ck_assert_int_eq(accept_encoding_q(NULL, "identity"), 1000);
        ck_assert_int_eq(accept_encoding_q("", "gzip"), 0);
        ck_assert_int_eq(accept_encoding_q("", "identity"), 1000);
        ck_assert_int_eq(accept_encoding_q("gzip", "gzip"), 1000);
        ck_assert_int_eq(accept_encoding_q("GZip;Q=0.5", "gzip"), 500);
        ck_assert_int_eq(accept_encoding_q("x-gzip;q=0.25", "gzip"), 250);
        ck_assert_int_eq(accept_encoding_q("br;q=0.001, gzip ; q=1.000", "br"), 1);
        ck_assert_int_eq(accept_encoding_q("br;q=0.001, gzip ; q=1.000", "gzip"), 1000);
        ck_assert_int_eq(accept_encoding_q("*;q=0.3", "zstd"), 300);
        ck_assert_int_eq(accept_encoding_q("*;q=0.3, zstd;q=0", "zstd"), 0);
        ck_assert_int_eq(accept_encoding_q("*;q=0", "identity"), 0);
        ck_assert_int_eq(accept_encoding_q("identity;q=0", "identity"), 0);
        ck_assert_int_eq(accept_encoding_q("gzip;q=0", "identity"), 1000);
        /* Malformed q-values drop their entry. */
        ck_assert_int_eq(accept_encoding_q("gzip;q=2", "gzip"), 0);
        ck_assert_int_eq(accept_encoding_q("gzip;q=1.5", "gzip"), 0);
        ck_assert_int_eq(accept_encoding_q("gzip;q=0.1234", "gzip"), 0);
        ck_assert_int_eq(accept_encoding_q("gzip;q=", "gzip"), 0);
        ck_assert_int_eq(accept_encoding_q("gzip;q=0.5 junk, br", "br"), 1000);
        ck_assert_int_eq(accept_encoding_q("gzip;level=9", "gzip"), 1000);
}
END_TEST

START_TEST(test_choose) {
        static const char *const avail[] = {"br", "zstd", "gzip"};

        ck_assert_int_eq(accept_encoding_choose(NULL, avail, 3), -1);
        ck_assert_int_eq(accept_encoding_choose("gzip, deflate", avail, 3), 2);
        ck_assert_int_eq(accept_encoding_choose("gzip, br, zstd", avail, 3), 0);
        ck_assert_int_eq(accept_encoding_choose("gzip, br;q=0.9, zstd", avail, 3), 1);
        ck_assert_int_eq(accept_encoding_choose("*", avail, 3), 0);
        ck_assert_int_eq(accept_encoding_choose("gzip;q=0.5", avail, 3), -1);
        ck_assert_int_eq(accept_encoding_choose("gzip;q=0.5, identity;q=0.1", avail, 3), 2);
        ck_assert_int_eq(accept_encoding_choose("gzip;q=0, identity;q=0", avail, 3), -1);
        ck_assert_int_eq(accept_encoding_choose("gzip", avail, 0), -1);
        ck_assert_int_eq(accept_encoding_choose("gzip", avail + 2, 1), 0);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("encoding");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_q);
        tcase_add_test(tc, test_choose);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
