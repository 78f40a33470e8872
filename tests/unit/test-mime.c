/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <string.h>

#include "check-main.h"
#include "mime.h"

static const char text[] = "# a comment\n"
                           "text/html\t\thtml htm\n"
                           "\n"
                           "image/png png # trailing comment\n"
                           "application/x-first dup\r\n"
                           "application/x-second dup\n"
                           "application/x-lonely\n"
                           "  text/plain   txt TXT2";

START_TEST(test_lookup) {
        _cleanup_(mime_table_freep) MimeTable *t = NULL;

        ck_assert_int_eq(mime_table_parse(text, strlen(text), &t), 0);
        ck_assert_uint_eq(mime_table_size(t), 6); /* "dup" once */
        ck_assert_str_eq(mime_table_lookup(t, "index.html"), "text/html");
        ck_assert_str_eq(mime_table_lookup(t, "/srv/www/a.b/INDEX.HTM"), "text/html");
        ck_assert_str_eq(mime_table_lookup(t, "x.png"), "image/png");
        ck_assert_str_eq(mime_table_lookup(t, "x.tar.dup"), "application/x-first");
        ck_assert_str_eq(mime_table_lookup(t, "notes.txt"), "text/plain");
        ck_assert_str_eq(mime_table_lookup(t, "notes.TXT2"), "text/plain");
        ck_assert_ptr_null(mime_table_lookup(t, "notes.txt2"));
        ck_assert_ptr_null(mime_table_lookup(t, "README"));
        ck_assert_ptr_null(mime_table_lookup(t, ".html"));
        ck_assert_ptr_null(mime_table_lookup(t, "dir.html/file"));
        ck_assert_ptr_null(mime_table_lookup(t, "trailing."));
        ck_assert_ptr_null(mime_table_lookup(t, "x.comment"));
        ck_assert_ptr_null(mime_table_lookup(NULL, "x.html"));
}
END_TEST

START_TEST(test_empty_and_system) {
        _cleanup_(mime_table_freep) MimeTable *t = NULL, *sys = NULL;

        ck_assert_int_eq(mime_table_parse("", 0, &t), 0);
        ck_assert_ptr_null(mime_table_lookup(t, "x.html"));
        ck_assert_int_lt(mime_table_load("/nonexistent/mime.types", &sys), 0);
        /* Debian's media-types, when installed. */
        if (mime_table_load("/etc/mime.types", &sys) == 0) {
                ck_assert_str_eq(mime_table_lookup(sys, "a.html"), "text/html");
                ck_assert_str_eq(mime_table_lookup(sys, "a.css"), "text/css");
        }
}
END_TEST

START_TEST(test_is_text) {
        ck_assert(mime_type_is_text("text/html"));
        ck_assert(mime_type_is_text("TEXT/plain; charset=x"));
        ck_assert(mime_type_is_text("application/json"));
        ck_assert(mime_type_is_text("application/ld+json"));
        ck_assert(mime_type_is_text("application/atom+xml"));
        ck_assert(mime_type_is_text("image/svg+xml"));
        ck_assert(mime_type_is_text("application/javascript"));
        ck_assert(!mime_type_is_text("image/png"));
        ck_assert(!mime_type_is_text("application/octet-stream"));
        ck_assert(!mime_type_is_text("application/jsonx"));
        ck_assert(!mime_type_is_text("text"));
        ck_assert(!mime_type_is_text(NULL));
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("mime");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_lookup);
        tcase_add_test(tc, test_empty_and_system);
        tcase_add_test(tc, test_is_text);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
