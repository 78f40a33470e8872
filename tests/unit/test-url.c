/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "check-main.h"
#include "macro.h"
#include "url.h"

#define SENTINEL ((char *) "sentinel")

static void assert_unescape(const char *in, const char *expected, size_t expected_len) {
        _cleanup_free_ char *out = NULL;
        size_t len = 4242;

        ck_assert_int_eq(url_unescape(in, strlen(in), &out, &len), 0);
        ck_assert_uint_eq(len, expected_len);
        ck_assert_mem_eq(out, expected, expected_len);
        ck_assert_int_eq(out[len], 0);
}

static void assert_unescape_fails(const char *in) {
        char *out = SENTINEL;
        size_t len = 4242;

        ck_assert_msg(url_unescape(in, strlen(in), &out, &len) == -EINVAL, "\"%s\" was accepted", in);
        ck_assert_ptr_eq(out, SENTINEL);
        ck_assert_uint_eq(len, 4242);
}

START_TEST(test_unescape) {
        assert_unescape("", "", 0);
        assert_unescape("plain", "plain", 5);
        assert_unescape("a%20b", "a b", 3);
        assert_unescape("%2F%2f", "//", 2);
        assert_unescape("%41%62%4a%7E%7e", "AbJ~~", 5);
        assert_unescape("%ff%80", "\xff\x80", 2);
        /* A path, not a form: '+' is a plus. */
        assert_unescape("a+b", "a+b", 3);
        assert_unescape("%25", "%", 1);
        assert_unescape("%2541", "%41", 3);
        /* NUL bytes are decoded and counted, not ending the result. */
        assert_unescape("%00", "\0", 1);
        assert_unescape("a%00b", "a\0b", 3);
}
END_TEST

START_TEST(test_unescape_malformed) {
        assert_unescape_fails("%");
        assert_unescape_fails("%4");
        assert_unescape_fails("%zz");
        assert_unescape_fails("%g0");
        assert_unescape_fails("%0g");
        assert_unescape_fails("abc%");
        assert_unescape_fails("abc%4");
        assert_unescape_fails("%%41");
        assert_unescape_fails("% 41");
        assert_unescape_fails("%+1");
        assert_unescape_fails("ok%41then%x1");
}
END_TEST

START_TEST(test_unescape_length) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *c = SENTINEL;
        size_t len;

        /* Only s[0..len) is read: an escape cut off by len is malformed. */
        ck_assert_int_eq(url_unescape("abc%41", 3, &a, &len), 0);
        ck_assert_str_eq(a, "abc");
        ck_assert_uint_eq(len, 3);
        ck_assert_int_eq(url_unescape("%41", 2, &c, &len), -EINVAL);
        ck_assert_ptr_eq(c, SENTINEL);

        /* ret_len may be left out by callers that expect no NUL. */
        ck_assert_int_eq(url_unescape("x%41", 4, &b, NULL), 0);
        ck_assert_str_eq(b, "xA");
}
END_TEST

static void assert_escape(const char *in, const char *expected) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(url_escape_path(in, &out), 0);
        ck_assert_str_eq(out, expected);
}

START_TEST(test_escape_path) {
        assert_escape("", "");
        assert_escape("/dir/file.txt", "/dir/file.txt");
        assert_escape("AZaz09-._~", "AZaz09-._~");
        assert_escape("!$&'()*+,;=@", "!$&'()*+,;=@");
        assert_escape("a b", "a%20b");
        assert_escape("?#%", "%3F%23%25");
        assert_escape("a:b", "a%3Ab");
        assert_escape("\r\n\t", "%0D%0A%09");
        assert_escape("\"<>\\^`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D");
        assert_escape("caf\xc3\xa9", "caf%C3%A9");
        assert_escape("\x7f\xff", "%7F%FF");
}
END_TEST

START_TEST(test_escape_round_trip) {
        char all[256];
        _cleanup_free_ char *escaped = NULL, *back = NULL;
        size_t len;

        for (int i = 1; i < 256; i++)
                all[i - 1] = (char) i;
        all[255] = 0;

        ck_assert_int_eq(url_escape_path(all, &escaped), 0);
        /* Nothing that ends a path or a header survives unescaped. */
        ck_assert_ptr_null(strpbrk(escaped, "?# \r\n\"<>:"));
        ck_assert_int_eq(url_unescape(escaped, strlen(escaped), &back, &len), 0);
        ck_assert_uint_eq(len, 255);
        ck_assert_mem_eq(back, all, 255);
}
END_TEST

static void assert_rest(const char *target, const char *expected) {
        _cleanup_free_ char *rest = NULL;

        ck_assert_msg(url_rest_from_target(target, &rest) == 0, "\"%s\" was refused", target);
        ck_assert_str_eq(rest, expected);
}

static void assert_rest_fails(const char *target) {
        char *rest = SENTINEL;

        ck_assert_msg(url_rest_from_target(target, &rest) == -EINVAL, "\"%s\" was accepted", target);
        ck_assert_ptr_eq(rest, SENTINEL);
}

START_TEST(test_rest_origin_form) {
        assert_rest("/", "");
        assert_rest("/a/b?q", "a/b");
        assert_rest("/a/b", "a/b");
        assert_rest("/a/b/", "a/b/");
        assert_rest("/?x=1", "");
        assert_rest("/a?b?c", "a");
        /* The rest stays escaped; handlers decode it element by element. */
        assert_rest("/a%20b/%2e%2e?x", "a%20b/%2e%2e");
        assert_rest("/a%2fb", "a%2fb");
        assert_rest("//a", "/a");
}
END_TEST

START_TEST(test_rest_absolute_form) {
        assert_rest("http://host:80/a/b?q", "a/b");
        assert_rest("http://host", "");
        assert_rest("http://host/", "");
        assert_rest("http://host?q", "");
        assert_rest("https://example.org/x%20y", "x%20y");
        assert_rest("HTTP://h/x", "x");
        assert_rest("http://user@[::1]:8080/a", "a");
}
END_TEST

START_TEST(test_rest_asterisk_form) {
        assert_rest("*", "");
}
END_TEST

START_TEST(test_rest_invalid) {
        assert_rest_fails("");
        assert_rest_fails("a/b");
        assert_rest_fails("**");
        assert_rest_fails("*x");
        assert_rest_fails("http:/x");
        assert_rest_fails("http:x");
        assert_rest_fails("http://");
        assert_rest_fails("http:///a");
        assert_rest_fails("://h/");
        assert_rest_fails("1http://h/");
        assert_rest_fails("/a b");
        assert_rest_fails("/a#frag");
        assert_rest_fails("/a\r\nX: y");
        assert_rest_fails("/a?q\n");
        assert_rest_fails("/\x7f");
        assert_rest_fails("http://h st/a");
}
END_TEST

START_TEST(test_query) {
        const char *url = "/a";

        ck_assert_str_eq(url_query("/a?b=c"), "?b=c");
        ck_assert_str_eq(url_query("/a?b?c"), "?b?c");
        ck_assert_str_eq(url_query("?"), "?");
        ck_assert_str_eq(url_query("http://h/x?y"), "?y");
        ck_assert_ptr_eq(url_query(url), url + 2);
        ck_assert_str_eq(url_query(""), "");
}
END_TEST

START_TEST(test_element_valid) {
        ck_assert(path_element_valid("a", 1));
        ck_assert(path_element_valid("...", 3));
        ck_assert(path_element_valid(".a", 2));
        ck_assert(path_element_valid("a.", 2));
        ck_assert(path_element_valid("..\\", 3));
        ck_assert(!path_element_valid("", 0));
        ck_assert(!path_element_valid(".", 1));
        ck_assert(!path_element_valid("..", 2));
        ck_assert(!path_element_valid("a/b", 3));
        ck_assert(!path_element_valid("/", 1));
        ck_assert(!path_element_valid("a\0b", 3));
        ck_assert(!path_element_valid("\0", 1));
        /* len, not the NUL, decides where the element ends. */
        ck_assert(!path_element_valid("..x", 2));
        ck_assert(path_element_valid("abc/", 3));
}
END_TEST

/* Takes one element off *rest and checks it. */
static void assert_next(const char **rest, const char *expected, size_t expected_len, bool expected_slash) {
        _cleanup_free_ char *element = NULL;
        bool slash = !expected_slash;

        ck_assert_int_eq(rest_next_element(rest, &element, &slash), 1);
        ck_assert_mem_eq(element, expected, expected_len);
        ck_assert_int_eq(element[expected_len], 0);
        ck_assert_int_eq(slash, expected_slash);
}

static void assert_end(const char **rest) {
        char *element = SENTINEL;
        bool slash = true;

        ck_assert_int_eq(rest_next_element(rest, &element, &slash), 0);
        ck_assert_ptr_eq(element, SENTINEL);
}

/* Takes the first element of rest and expects error, with nothing changed. */
static void assert_next_fails(const char *rest, int error) {
        const char *p = rest;
        char *element = SENTINEL;
        bool slash = true;

        ck_assert_msg(rest_next_element(&p, &element, &slash) == error, "\"%s\" did not give %d", rest,
                      error);
        ck_assert_ptr_eq(p, rest);
        ck_assert_ptr_eq(element, SENTINEL);
        ck_assert(slash);
}

START_TEST(test_next_element) {
        const char *rest = "a/b%20c/d";

        assert_next(&rest, "a", 1, true);
        assert_next(&rest, "b c", 3, true);
        assert_next(&rest, "d", 1, false);
        ck_assert_str_eq(rest, "");
        assert_end(&rest);

        rest = "";
        assert_end(&rest);

        /* A trailing slash is reported with the last element. */
        rest = "dir/";
        assert_next(&rest, "dir", 3, true);
        assert_end(&rest);
}
END_TEST

START_TEST(test_next_element_refused) {
        assert_next_fails("a%2fb", -EPERM);
        assert_next_fails("a%2Fb/c", -EPERM);
        assert_next_fails("..", -EPERM);
        assert_next_fails("../etc/passwd", -EPERM);
        assert_next_fails(".", -EPERM);
        assert_next_fails("./x", -EPERM);
        assert_next_fails("%2e%2e", -EPERM);
        assert_next_fails("%2E%2E/etc", -EPERM);
        assert_next_fails("%2e%2e/", -EPERM);
        assert_next_fails(".%2e", -EPERM);
        assert_next_fails("%2e", -EPERM);
        /* "..%2f" is one element that decodes to "../": a '/' inside. */
        assert_next_fails("..%2f", -EPERM);
        assert_next_fails("..%2fetc", -EPERM);
        assert_next_fails("%00", -EPERM);
        assert_next_fails("a%00.txt", -EPERM);
        /* An empty element (leading '/' or "a//b") names no file. */
        assert_next_fails("/a", -EPERM);
        assert_next_fails("//", -EPERM);
        assert_next_fails("%", -EINVAL);
        assert_next_fails("%zz/a", -EINVAL);
        assert_next_fails("a%4", -EINVAL);
}
END_TEST

START_TEST(test_next_element_empty_inside) {
        const char *rest = "a//b";
        char *element = SENTINEL;
        bool slash = false;

        assert_next(&rest, "a", 1, true);
        ck_assert_int_eq(rest_next_element(&rest, &element, &slash), -EPERM);
        ck_assert_str_eq(rest, "/b");
        ck_assert_ptr_eq(element, SENTINEL);
}
END_TEST

START_TEST(test_next_element_traversal_lookalikes) {
        const char *rest;

        /* Double encoding decodes once, to the literal name "%2e%2e": a valid
         * file name that no file system reads as "..". Decoding it twice would
         * be the bug. */
        rest = "%252e%252e/x";
        assert_next(&rest, "%2e%2e", 6, true);
        assert_next(&rest, "x", 1, false);

        /* Overlong UTF-8 for '.' decodes to the bytes c0 ae, not to '.'. */
        rest = "%c0%ae%c0%ae/";
        assert_next(&rest, "\xc0\xae\xc0\xae", 4, true);
        assert_end(&rest);

        /* A backslash is an ordinary byte of a file name on Linux. */
        rest = "..\\/a";
        assert_next(&rest, "..\\", 3, true);
        rest = "..%5c";
        assert_next(&rest, "..\\", 3, false);

        rest = ".../.a";
        assert_next(&rest, "...", 3, true);
        assert_next(&rest, ".a", 2, false);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("url");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_unescape);
        tcase_add_test(tc, test_unescape_malformed);
        tcase_add_test(tc, test_unescape_length);
        tcase_add_test(tc, test_escape_path);
        tcase_add_test(tc, test_escape_round_trip);
        tcase_add_test(tc, test_rest_origin_form);
        tcase_add_test(tc, test_rest_absolute_form);
        tcase_add_test(tc, test_rest_asterisk_form);
        tcase_add_test(tc, test_rest_invalid);
        tcase_add_test(tc, test_query);
        tcase_add_test(tc, test_element_valid);
        tcase_add_test(tc, test_next_element);
        tcase_add_test(tc, test_next_element_refused);
        tcase_add_test(tc, test_next_element_empty_inside);
        tcase_add_test(tc, test_next_element_traversal_lookalikes);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
