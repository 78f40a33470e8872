/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <string.h>

#include "check-main.h"
#include "patconf.h"

static PatConf *parse(const char *text, char *error, size_t size) {
        _cleanup_(conf_freep) ConfReader *r = NULL;
        PatConf *c = NULL;
        const char *name;
        unsigned line;
        int k;

        ck_assert_int_eq(conf_open_string("t.conf", text, &r), 0);
        ck_assert_int_eq(patconf_new(&c), 0);
        k = patconf_parse(c, r);
        if (k >= 0)
                k = patconf_finish(c, &line, &name);
        if (k < 0) {
                snprintf(error, size, "%s", conf_error(r) ? conf_error(r) : "finish");
                return patconf_free(c);
        }
        return c;
}

static Request *request(const char *url, const char *rest) {
        Request *r = NULL;

        ck_assert_int_eq(req_new("GET", url, "HTTP/1.1", rest, &r), 0);
        return r;
}

static const char CONF[] = "child a\n    exec /bin/a\n"
                           "socket s /run/s.sock\n"
                           "match\n    point ^x/([a-z]+) s\n    restpat \"$1:$_:${Host}\"\n    handler a\n"
                           "match\n    header host ^h[.]org$ i\n    handler s\n"
                           "match\n    point ^r/\n    xset step one\n    reparse\n"
                           "match\n    default\n    handler a\n    order 3\n";

START_TEST(test_parse_errors) {
        char error[256] = "";

        ck_assert_ptr_null(parse("match\n    point (\n    handler a\n", error, sizeof(error)));
        ck_assert_msg(strncmp(error, "t.conf:2:", 9) == 0, "%s", error);
        ck_assert_ptr_null(
                parse("child a\n    exec /x\nmatch\n    point a z\n    handler a\n", error, sizeof(error)));
        ck_assert_msg(strncmp(error, "t.conf:4:", 9) == 0, "%s", error);
        ck_assert_ptr_null(parse("child a\n    exec /x\nmatch\n    point a\n", error, sizeof(error)));
        ck_assert_msg(strncmp(error, "t.conf:3:", 9) == 0, "%s", error);
        ck_assert_ptr_null(parse("child a\nmatch\n    all\n    handler a\n", error, sizeof(error)));
        ck_assert_ptr_null(parse("match\n    all\n    handler nowhere\n", error, sizeof(error)));
}
END_TEST

START_TEST(test_route) {
        char error[256] = "";
        _cleanup_(patconf_freep) PatConf *c = parse(CONF, error, sizeof(error));
        _cleanup_(req_freep) Request *r = NULL;
        const Target *h = NULL;

        ck_assert_msg(c, "%s", error);
        r = request("/x/abc/rest", "x/abc/rest");
        ck_assert_int_eq(req_header_add(r, "Host", "H.org:81"), 0);
        ck_assert_int_eq(patconf_route(c, r, &h), 0);
        ck_assert_str_eq(h->name, "a");
        ck_assert_str_eq(r->rest, "abc:x/abc/rest:H.org:81");
        r = req_free(r);

        /* "s": the point must end at a segment. */
        r = request("/x/ab1", "x/ab1");
        ck_assert_int_eq(req_header_add(r, "Host", "h.ORG:81"), 0);
        ck_assert_int_eq(patconf_route(c, r, &h), 0);
        ck_assert_str_eq(h->name, "s");
        r = req_free(r);

        r = request("/r/y", "r/y");
        ck_assert_int_eq(patconf_route(c, r, &h), 0);
        ck_assert_str_eq(h->name, "a"); /* the default, on the second pass */
        ck_assert_str_eq(r->rest, "y");
        ck_assert_str_eq(req_header_get(r, "X-Ash-step"), "one");
}
END_TEST

START_TEST(test_no_match_and_loop) {
        char error[256] = "";
        _cleanup_(patconf_freep) PatConf *c = parse(
                "child a\n    exec /x\nmatch\n    all\n    reparse\nmatch\n    point ^q$\n    handler a\n",
                error, sizeof(error));
        _cleanup_(patconf_freep) PatConf *d =
                parse("child a\n    exec /x\nmatch\n    point ^q$\n    handler a\n", error, sizeof(error));
        _cleanup_(req_freep) Request *r = request("/z", "z");
        const Target *h;

        ck_assert_int_eq(patconf_route(c, r, &h), -ELOOP);
        ck_assert_int_eq(patconf_route(d, r, &h), -ENOENT);
}
END_TEST

START_TEST(test_expand) {
        _cleanup_(req_freep) Request *r = request("/", "");
        const char *groups[PATCONF_GROUPS] = {"all", "one", NULL};
        _cleanup_free_ char *s = NULL, *t = NULL;
        _cleanup_free_ char *big = malloc(REQ_URL_MAX);

        ck_assert_int_eq(req_header_add(r, "X-A", "va"), 0);
        ck_assert_int_eq(
                patconf_expand("$0 $1 $2 $9 $_ $$ ${X-A} ${X-None} ${open $x $", groups, "old", r, &s), 0);
        ck_assert_str_eq(s, "all one   old $ va  ${open $x $");

        memset(big, 'a', REQ_URL_MAX - 1);
        big[REQ_URL_MAX - 1] = 0;
        ck_assert_int_eq(patconf_expand("$_$_", groups, big, r, &t), -E2BIG);
        ck_assert_ptr_null(t);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("patplex");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_route);
        tcase_add_test(tc, test_no_match_and_loop);
        tcase_add_test(tc, test_expand);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
