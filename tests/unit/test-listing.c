/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check-main.h"
#include "listing.h"
#include "macro.h"

/* What fn wrote for s, as a new string. */
static char *capture(void (*fn)(FILE *, const char *), const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        fn(f, s);
        ck_assert_int_eq(fclose(f), 0);
        return buf;
}

static void assert_html(const char *in, const char *expected) {
        _cleanup_free_ char *out = capture(listing_html_escape, in);
        ck_assert_str_eq(out, expected);
}

static void assert_json(const char *in, const char *expected) {
        _cleanup_free_ char *out = capture(listing_json_string, in);
        ck_assert_str_eq(out, expected);
}

START_TEST(test_html_escape) {
        assert_html("", "");
        assert_html("plain.txt", "plain.txt");
        assert_html("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_html("a&b\"c'd", "a&amp;b&quot;c&#39;d");
        /* Control characters become visible pictures. */
        assert_html("new\nline", "new\u240aline");
        assert_html("\t\x7f", "\u2409\u2421");
        /* Well-formed UTF-8 passes; anything else is U+FFFD per byte. */
        assert_html("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\u00e9 \U0001F600");
        assert_html("bad\xff", "bad\ufffd");
        assert_html("\xc0\xaf", "\ufffd\ufffd");                     /* overlong '/' */
        assert_html("\xed\xa0\x80", "\ufffd\ufffd\ufffd");           /* a surrogate */
        assert_html("\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"); /* past U+10FFFF */
        assert_html("\xe2\x82", "\ufffd\ufffd");                     /* cut short */
        assert_html("\xc2\x85", "\ufffd");                           /* C1 control */
}
END_TEST

START_TEST(test_json_string) {
        assert_json("", "\"\"");
        assert_json("plain", "\"plain\"");
        assert_json("q\"b\\", "\"q\\\"b\\\\\"");
        assert_json("new\nline\x01\x1f\x7f", "\"new\\u000aline\\u0001\\u001f\\u007f\"");
        assert_json("<a>&", "\"\\u003ca\\u003e\\u0026\"");
        assert_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");
        assert_json("x\xff\xfey", "\"x\\ufffd\\ufffdy\"");
}
END_TEST

static void assert_size(uint64_t size, const char *expected) {
        char buf[LISTING_SIZE_MAX];

        listing_format_size(size, buf);
        ck_assert_str_eq(buf, expected);
}

START_TEST(test_format_size) {
        assert_size(0, "0 B");
        assert_size(1023, "1023 B");
        assert_size(1024, "1.0 KiB");
        assert_size(1536, "1.5 KiB");
        assert_size(1024 * 1024 - 1, "1023.9 KiB");
        assert_size(1024 * 1024, "1.0 MiB");
        assert_size(5ull * 1024 * 1024 * 1024 + 512ull * 1024 * 1024, "5.5 GiB");
        assert_size(UINT64_MAX, "15.9 EiB");
}
END_TEST

START_TEST(test_format_time) {
        char buf[LISTING_TIME_MAX];

        listing_format_time(0, buf);
        ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
        listing_format_time(1715000000, buf);
        ck_assert_str_eq(buf, "2024-05-06T12:53:20Z");
}
END_TEST

static int accept_q(const char *accept, const char *type) {
        return listing_accept_quality(accept, type);
}

START_TEST(test_accept) {
        ck_assert_int_eq(accept_q(NULL, "text/html"), 1000);
        ck_assert_int_eq(accept_q("", "application/json"), 1000);
        ck_assert_int_eq(accept_q("application/json", "application/json"), 1000);
        ck_assert_int_eq(accept_q("application/json", "text/html"), 0);
        ck_assert_int_eq(accept_q("text/html;q=0.5, */*;q=0.1", "text/html"), 500);
        ck_assert_int_eq(accept_q("text/html;q=0.5, */*;q=0.1", "application/json"), 100);
        ck_assert_int_eq(accept_q("application/*; q=0.25", "application/json"), 250);
        /* The most specific range wins over an earlier, broader one. */
        ck_assert_int_eq(accept_q("*/*;q=1, application/json;q=0", "application/json"), 0);
        ck_assert_int_eq(accept_q("TEXT/HTML ; Q=0.9", "text/html"), 900);
        /* Media type parameters other than q are not told apart. */
        ck_assert_int_eq(accept_q("text/html;level=1;q=0.3", "text/html"), 300);
        /* Malformed q-values are ignored, not trusted. */
        ck_assert_int_eq(accept_q("application/json;q=2", "application/json"), 0);
        ck_assert_int_eq(accept_q("application/json;q=0.1234", "application/json"), 0);
        ck_assert_int_eq(accept_q("application/json;q=abc", "application/json"), 0);

        ck_assert(listing_accept_json("application/json"));
        ck_assert(listing_accept_json("text/html;q=0.8, application/json"));
        ck_assert(listing_accept_json("application/json;q=0.9, */*;q=0.1"));
        ck_assert(!listing_accept_json(NULL));
        ck_assert(!listing_accept_json("*/*"));
        ck_assert(!listing_accept_json("text/html, application/json"));
        ck_assert(!listing_accept_json("application/json;q=0.5, text/html;q=0.5"));
        ck_assert(!listing_accept_json("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
}
END_TEST

static void add(Listing *l, const char *name, ListingType type) {
        ListingEntry e = {.name = (char *) name, .type = type};

        ck_assert_int_eq(listing_add(l, &e), 0);
}

START_TEST(test_sort) {
        _cleanup_(listing_freep) Listing *l = NULL;
        static const char *const expected[] = {"dir1", "dir2",  "dir10",  "Zed", "a",
                                               "b",    "file2", "file10", "z"};

        ck_assert_int_eq(listing_new(0, &l), 0);
        add(l, "file10", LISTING_FILE);
        add(l, "z", LISTING_OTHER);
        add(l, "dir10", LISTING_DIRECTORY);
        add(l, "b", LISTING_FILE);
        add(l, "file2", LISTING_FILE);
        add(l, "dir2", LISTING_DIRECTORY);
        add(l, "a", LISTING_OTHER);
        add(l, "Zed", LISTING_FILE);
        add(l, "dir1", LISTING_DIRECTORY);
        listing_sort(l);
        ck_assert_uint_eq(l->n_entries, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                ck_assert_str_eq(l->entries[i].name, expected[i]);
        /* Total: names that strverscmp might call equal still get an order. */
        ListingEntry x = {.name = (char *) "a01", .type = LISTING_FILE},
                     y = {.name = (char *) "a1", .type = LISTING_FILE};
        ck_assert_int_ne(listing_compare(&x, &y), 0);
        ck_assert_int_eq(listing_compare(&x, &y), -listing_compare(&y, &x) > 0 ? 1 : -1);
}
END_TEST

START_TEST(test_cap) {
        _cleanup_(listing_freep) Listing *l = NULL;

        ck_assert_int_eq(listing_new(3, &l), 0);
        add(l, "a", LISTING_FILE);
        add(l, "b", LISTING_FILE);
        add(l, "c", LISTING_FILE);
        ck_assert(!l->truncated);
        add(l, "d", LISTING_FILE);
        ck_assert_uint_eq(l->n_entries, 3);
        ck_assert(l->truncated);
}
END_TEST

START_TEST(test_read) {
        char tmpl[] = "/tmp/test-listing-XXXXXX";
        _cleanup_(listing_freep) Listing *l = NULL, *all = NULL, *capped = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *dir = mkdtemp(tmpl);
        char path[256];

        ck_assert_ptr_nonnull(dir);
        snprintf(path, sizeof(path), "%s/sub", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/file", dir);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("12345", f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/.hidden", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/dangling", dir);
        ck_assert_int_eq(symlink("nowhere", path), 0);
        snprintf(path, sizeof(path), "%s/tosub", dir);
        ck_assert_int_eq(symlink("sub", path), 0);

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(listing_read(fd, 0, 0, &l), 0);
        listing_sort(l);
        ck_assert_uint_eq(l->n_entries, 4);
        ck_assert_str_eq(l->entries[0].name, "sub");
        ck_assert_str_eq(l->entries[1].name, "tosub");
        ck_assert_int_eq(l->entries[1].type, LISTING_DIRECTORY);
        ck_assert_str_eq(l->entries[2].name, "dangling");
        ck_assert_int_eq(l->entries[2].type, LISTING_OTHER);
        ck_assert(!l->entries[2].has_size);
        ck_assert_str_eq(l->entries[3].name, "file");
        ck_assert_int_eq(l->entries[3].type, LISTING_FILE);
        ck_assert(l->entries[3].has_size);
        ck_assert_uint_eq(l->entries[3].size, 5);

        ck_assert_int_eq(listing_read(fd, LISTING_SHOW_HIDDEN, 0, &all), 0);
        ck_assert_uint_eq(all->n_entries, 5);
        ck_assert_int_eq(listing_read(fd, LISTING_SHOW_HIDDEN, 2, &capped), 0);
        ck_assert_uint_eq(capped->n_entries, 2);
        ck_assert(capped->truncated);

        /* The caller's fd is still open and usable. */
        ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);

        const char *names[] = {"sub", "file", ".hidden", "dangling", "tosub"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ck_assert_int_eq(
                        unlinkat(fd, names[i],
                                 streq(names[i], "sub") || streq(names[i], ".hidden") ? AT_REMOVEDIR : 0),
                        0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static char *render(const Listing *l, const char *url, bool json) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(json ? listing_render_json(f, l) : listing_render_html(f, l, url), 0);
        ck_assert_int_eq(fclose(f), 0);
        return buf;
}

START_TEST(test_render) {
        _cleanup_(listing_freep) Listing *l = NULL;
        _cleanup_free_ char *root = NULL, *sub = NULL, *json = NULL;
        ListingEntry file = {.name = (char *) "<b>&\"%.txt",
                             .type = LISTING_FILE,
                             .has_size = true,
                             .size = 2048,
                             .has_mtime = true,
                             .mtime = 0};

        ck_assert_int_eq(listing_new(0, &l), 0);
        ck_assert_int_eq(listing_add(l, &file), 0);
        add(l, "d i r", LISTING_DIRECTORY);
        listing_sort(l);

        root = render(l, "/?q=<x>", false);
        ck_assert_ptr_null(strstr(root, "../"));
        ck_assert_ptr_null(strstr(root, "<x>"));
        ck_assert_ptr_nonnull(strstr(root, "<title>Index of /</title>"));
        ck_assert_ptr_nonnull(strstr(root, "<a href=\"d%20i%20r/\">d i r/</a>"));
        ck_assert_ptr_nonnull(
                strstr(root, "<a href=\"%3Cb%3E&amp;%22%25.txt\">&lt;b&gt;&amp;&quot;%.txt</a>"));
        ck_assert_ptr_nonnull(strstr(root, "2.0 KiB"));
        ck_assert_ptr_nonnull(strstr(root, ">2048<"));
        ck_assert_ptr_nonnull(strstr(root, "1970-01-01T00:00:00Z"));
        ck_assert(strstr(root, "d i r") < strstr(root, "&lt;b&gt;"));

        /* The title is the decoded path, escaped again for HTML. */
        sub = render(l, "/a%3Cscript%3E/", false);
        ck_assert_ptr_nonnull(strstr(sub, "<title>Index of /a&lt;script&gt;/</title>"));
        ck_assert_ptr_nonnull(strstr(sub, "<a href=\"../\">"));

        json = render(l, "/", true);
        ck_assert_str_eq(json, "[\n{\"name\":\"d i r\",\"type\":\"directory\",\"size\":null,\"mtime\":null,"
                               "\"href\":\"d%20i%20r/\"},\n{\"name\":\"\\u003cb\\u003e\\u0026\\\"%.txt\","
                               "\"type\":\"file\",\"size\":2048,\"mtime\":\"1970-01-01T00:00:00Z\","
                               "\"href\":\"%3Cb%3E\\u0026%22%25.txt\"}\n]\n");
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("listing");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_html_escape);
        tcase_add_test(tc, test_json_string);
        tcase_add_test(tc, test_format_size);
        tcase_add_test(tc, test_format_time);
        tcase_add_test(tc, test_accept);
        tcase_add_test(tc, test_sort);
        tcase_add_test(tc, test_cap);
        tcase_add_test(tc, test_read);
        tcase_add_test(tc, test_render);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
