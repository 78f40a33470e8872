/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check-main.h"
#include "decimal.h"

START_TEST(test_format) {
        static const uint64_t values[] = {0,         1, 9, 10, 99, 100, 65535, 1000000007, UINT64_MAX - 1,
                                          UINT64_MAX};
        char buf[DECIMAL_MAX], want[32];

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                snprintf(want, sizeof(want), "%" PRIu64, values[i]);
                ck_assert_uint_eq(decimal_u64(buf, values[i]), strlen(want));
                ck_assert_str_eq(buf, want);
        }
}
END_TEST

START_TEST(test_parse) {
        uint64_t v = 7;
        const char *end;

        end = decimal_parse_u64("12345 678", &v);
        ck_assert_ptr_nonnull(end);
        ck_assert_str_eq(end, " 678");
        ck_assert_uint_eq(v, 12345);
        end = decimal_parse_u64("18446744073709551615", &v);
        ck_assert_ptr_nonnull(end);
        ck_assert_uint_eq(v, UINT64_MAX);
        v = 7;
        /* One past the maximum, no digits, a sign: refused, *ret untouched. */
        ck_assert_ptr_null(decimal_parse_u64("18446744073709551616", &v));
        ck_assert_ptr_null(decimal_parse_u64("", &v));
        ck_assert_ptr_null(decimal_parse_u64("-1", &v));
        ck_assert_ptr_null(decimal_parse_u64(" 1", &v));
        ck_assert_uint_eq(v, 7);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("decimal");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_parse);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
