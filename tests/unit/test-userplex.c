/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "macro.h"
#include "userpath.h"

#define SENTINEL ((char *) "sentinel")

static void assert_split(const char *rest, int expected, const char *name, const char *after) {
        _cleanup_free_ char *got = NULL;
        const char *got_after = SENTINEL;
        int r;

        r = userpath_split(rest, &got, &got_after);
        ck_assert_msg(r == expected, "\"%s\": %d, not %d", rest, r, expected);
        ck_assert_str_eq(got, name);
        if (after)
                ck_assert_str_eq(got_after, after);
        else
                ck_assert_ptr_eq(got_after, SENTINEL);
}

static void assert_split_fails(const char *rest, int expected) {
        char *got = SENTINEL;
        const char *got_after = SENTINEL;

        ck_assert_msg(userpath_split(rest, &got, &got_after) == expected, "\"%s\" not %d", rest, expected);
        ck_assert_ptr_eq(got, SENTINEL);
        ck_assert_ptr_eq(got_after, SENTINEL);
}

START_TEST(test_split) {
        assert_split("alice/", 1, "alice", "");
        assert_split("alice/a/b.html", 1, "alice", "a/b.html");
        assert_split("~alice/a/b", 1, "alice", "a/b");
        assert_split("~bob", 0, "bob", NULL);
        assert_split("bob", 0, "bob", NULL);
        assert_split("%62ob/x", 1, "bob", "x");
        assert_split("a.b-c_d/x%2fy", 1, "a.b-c_d", "x%2fy");
        assert_split("host$/", 1, "host$", "");
}
END_TEST

START_TEST(test_split_refused) {
        assert_split_fails("", -ENOENT);
        assert_split_fails("~", -ENOENT);
        assert_split_fails("/x", -EINVAL);
        assert_split_fails("~/x", -EINVAL);
        assert_split_fails("../x", -EINVAL);
        assert_split_fails("~../x", -EINVAL);
        assert_split_fails("%2e%2e/x", -EINVAL);
        assert_split_fails("...", -EINVAL);
        assert_split_fails("a%2fb/x", -EINVAL);
        assert_split_fails("a%00b/x", -EINVAL);
        assert_split_fails("a%zz/x", -EINVAL);
        assert_split_fails("-rf/", -EINVAL);
        assert_split_fails("a%20b/", -EINVAL);
        assert_split_fails("~~a/", -EINVAL);
        assert_split_fails("a$b/", -EINVAL);
        assert_split_fails("$/", -EINVAL);
}
END_TEST

START_TEST(test_name_valid) {
        char longname[USERPATH_NAME_MAX + 2];

        ck_assert(userpath_name_valid("alice"));
        ck_assert(userpath_name_valid("a"));
        ck_assert(userpath_name_valid(".a"));
        ck_assert(!userpath_name_valid(""));
        ck_assert(!userpath_name_valid("."));
        ck_assert(!userpath_name_valid(".."));
        ck_assert(!userpath_name_valid("a/b"));
        ck_assert(!userpath_name_valid("a:b"));
        ck_assert(!userpath_name_valid("ä"));

        memset(longname, 'a', sizeof(longname));
        longname[USERPATH_NAME_MAX] = '\0';
        ck_assert(userpath_name_valid(longname));
        longname[USERPATH_NAME_MAX] = 'a';
        longname[USERPATH_NAME_MAX + 1] = '\0';
        ck_assert(!userpath_name_valid(longname));
}
END_TEST

static void assert_location(const char *url, const char *expected) {
        _cleanup_free_ char *got = NULL;

        ck_assert_int_eq(userpath_slash_location(url, &got), 0);
        ck_assert_str_eq(got, expected);
}

START_TEST(test_slash_location) {
        assert_location("/~alice", "/~alice/");
        assert_location("/~alice?a=1&b", "/~alice/?a=1&b");
        assert_location("/users/bob?", "/users/bob/?");
        assert_location("http://h/~a?q", "http://h/~a/?q");
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("userplex");
        TCase *tc = tcase_create("userpath");

        tcase_add_test(tc, test_split);
        tcase_add_test(tc, test_split_refused);
        tcase_add_test(tc, test_name_valid);
        tcase_add_test(tc, test_slash_location);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
