/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>

#include "check-main.h"
#include "precond.h"

#define ETAG "\"1-2-3\""
#define T    1600000000 /* Sun, 13 Sep 2020 12:26:40 GMT */

START_TEST(test_date) {
        time_t t;

        ck_assert_int_eq(http_date_parse("Sun, 13 Sep 2020 12:26:40 GMT", &t), 0);
        ck_assert_int_eq(t, T);
        ck_assert_int_eq(http_date_parse("Sunday, 13-Sep-20 12:26:40 GMT", &t), 0);
        ck_assert_int_eq(t, T);
        ck_assert_int_eq(http_date_parse("Sun Sep 13 12:26:40 2020", &t), 0);
        ck_assert_int_eq(t, T);
        ck_assert_int_eq(http_date_parse("Sun, 13 Sep 2020 12:26:40 GMT junk", &t), -EINVAL);
        ck_assert_int_eq(http_date_parse("yesterday", &t), -EINVAL);
        ck_assert_int_eq(http_date_parse("", &t), -EINVAL);
        ck_assert_int_eq(http_date_parse(NULL, &t), -EINVAL);
}
END_TEST

START_TEST(test_etag_list) {
        ck_assert(etag_list_match(ETAG, ETAG, false));
        ck_assert(etag_list_match(" \"a\" , " ETAG, ETAG, false));
        ck_assert(etag_list_match("*", ETAG, false));
        ck_assert(etag_list_match(" * ", ETAG, true));
        ck_assert(!etag_list_match("W/" ETAG, ETAG, false));
        ck_assert(etag_list_match("W/" ETAG, ETAG, true));
        ck_assert(!etag_list_match("W/" ETAG, "W/" ETAG, false));
        ck_assert(!etag_list_match("\"1-2\"", ETAG, true));
        ck_assert(!etag_list_match("1-2-3", ETAG, true));
        ck_assert(!etag_list_match("\"unterminated", ETAG, true));
        ck_assert(!etag_list_match("\"a\" junk, " ETAG, ETAG, true));
        ck_assert(!etag_list_match("", ETAG, true));
        ck_assert(!etag_list_match(NULL, ETAG, true));
}
END_TEST

START_TEST(test_evaluate_order) {
        PrecondRequest r = {.get_or_head = true};

        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 0);
        r.if_match = "\"x\"";
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 412);
        r.if_match = ETAG;
        r.if_unmodified_since = "Thu, 01 Jan 1970 00:00:00 GMT"; /* not looked at */
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 0);
        r.if_match = NULL;
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 412);
        r.if_unmodified_since = "Sun, 13 Sep 2020 12:26:40 GMT";
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 0);
        r.if_unmodified_since = "garbage";
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 0);

        r.if_none_match = "W/" ETAG;
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 304);
        r.get_or_head = false;
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 412);
        r.get_or_head = true;
        /* If-None-Match present: If-Modified-Since is not looked at. */
        r.if_none_match = "\"other\"";
        r.if_modified_since = "Sun, 13 Sep 2020 12:26:40 GMT";
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 0);
        r.if_none_match = NULL;
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 304);
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T + 1), 0);
        r.get_or_head = false;
        ck_assert_int_eq(precond_evaluate(&r, ETAG, T), 0);
}
END_TEST

START_TEST(test_if_range) {
        ck_assert(precond_if_range(NULL, ETAG, T));
        ck_assert(precond_if_range(ETAG, ETAG, T));
        ck_assert(precond_if_range(" " ETAG " ", ETAG, T));
        ck_assert(!precond_if_range("W/" ETAG, ETAG, T));
        ck_assert(!precond_if_range("\"old\"", ETAG, T));
        ck_assert(!precond_if_range(ETAG ", \"x\"", ETAG, T));
        ck_assert(precond_if_range("Sun, 13 Sep 2020 12:26:40 GMT", ETAG, T));
        ck_assert(!precond_if_range("Sun, 13 Sep 2020 12:26:41 GMT", ETAG, T));
        ck_assert(!precond_if_range("junk", ETAG, T));
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("precond");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_date);
        tcase_add_test(tc, test_etag_list);
        tcase_add_test(tc, test_evaluate_order);
        tcase_add_test(tc, test_if_range);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
