/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "conf.h"
#include "dirconf.h"
#include "dirmap.h"
#include "macro.h"

static DirConf *parse(const char *text, DirConfFlags flags) {
        _cleanup_(conf_freep) ConfReader *r = NULL;
        DirConf *c = NULL;

        ck_assert_int_eq(conf_open_string("t.rc", text, &r), 0);
        ck_assert_msg(dirconf_parse(r, "t.rc", flags, &c) == 0, "%s", conf_error(r));
        return c;
}

static void assert_fails(const char *text, DirConfFlags flags, const char *where) {
        _cleanup_(conf_freep) ConfReader *r = NULL;
        DirConf *c = NULL;

        ck_assert_int_eq(conf_open_string("t.rc", text, &r), 0);
        ck_assert_int_lt(dirconf_parse(r, "t.rc", flags, &c), 0);
        ck_assert_ptr_null(c);
        ck_assert_msg(strncmp(conf_error(r), where, strlen(where)) == 0, "%s", conf_error(r));
}

START_TEST(test_parse) {
        _cleanup_(dirconf_freep) DirConf *c = parse("child a\n  exec prog -x\n"
                                                    "fchild b\n  exec cgi\n"
                                                    "socket s /run/x.sock\n"
                                                    "index-file i.html i.htm\n"
                                                    "dot-allow .well-known\n"
                                                    "follow-symlinks\n"
                                                    "match\n  filename *.c *.h\n  pathname src/*\n  local\n"
                                                    "  handler a\n  set X-A 1\n  xset B \"two words\"\n",
                                                    DIRCONF_GLOBAL);

        ck_assert_uint_eq(c->n_handlers, 3);
        ck_assert_int_eq(c->handlers[0].kind, TARGET_CHILD);
        ck_assert_str_eq(c->handlers[0].argv[1], "-x");
        ck_assert_int_eq(c->handlers[1].kind, TARGET_FCHILD);
        ck_assert_str_eq(c->handlers[2].path, "/run/x.sock");
        ck_assert_str_eq(c->index_files[1], "i.htm");
        ck_assert(c->follow_symlinks);
        ck_assert_uint_eq(c->n_matches, 1);
        ck_assert_str_eq(c->matches[0].filenames[1], "*.h");
        ck_assert(c->matches[0].local);
        ck_assert_str_eq(c->matches[0].headers[0], "X-A");
        ck_assert_str_eq(c->matches[0].headers[2], "X-Ash-B");
        ck_assert_str_eq(c->matches[0].headers[3], "two words");
        ck_assert_uint_eq(c->matches[0].line, 9);
}
END_TEST

START_TEST(test_parse_errors) {
        assert_fails("bogus\n", 0, "t.rc:1:");
        assert_fails("child a\n", 0, "t.rc:1:");
        assert_fails("child a\n  exec x\n  exec y\n", 0, "t.rc:3:");
        assert_fails("child a\n  exec x\nfchild a\n  exec y\n", 0, "t.rc:3:");
        assert_fails("match\n  filename *.c\n\n\n", 0, "t.rc:1:");
        assert_fails("match\n  handler a\n  frob\n", 0, "t.rc:3:");
        assert_fails("match\n  handler a\n  set A\n", 0, "t.rc:3:");
        assert_fails("follow-symlinks\n", 0, "t.rc:1:");
        assert_fails("capture a\n", DIRCONF_GLOBAL, "t.rc:1:");
        assert_fails("capture a X\n", 0, "t.rc:1:");
        assert_fails("socket a\n", 0, "t.rc:1:");
}
END_TEST

START_TEST(test_capture) {
        _cleanup_(dirconf_freep) DirConf *a = parse("capture h\n", 0);
        _cleanup_(dirconf_freep) DirConf *b = parse("capture h D\n", 0);

        ck_assert_str_eq(a->capture, "h");
        ck_assert(a->capture_dir);
        ck_assert(!b->capture_dir);
}
END_TEST

START_TEST(test_match_order) {
        _cleanup_(dirconf_freep) DirConf *near =
                parse("match\n  default\n  handler near-default\n"
                      "match\n  filename *.txt\n  local\n  handler near-local\n",
                      0);
        _cleanup_(dirconf_freep) DirConf *far = parse("match\n  filename *.txt\n  handler far-txt\n"
                                                      "match\n  pathname docs/*\n  handler far-docs\n"
                                                      "match\n  directory\n  handler far-dir\n",
                                                      0);
        const DirConf *chain[] = {near, NULL, far};

        /* A non-default stanza anywhere beats a default; local only at home. */
        ck_assert_str_eq(dirmap_match(chain, 3, near, "a.txt", "x/a.txt", false)->handler, "near-local");
        ck_assert_str_eq(dirmap_match(chain, 3, NULL, "a.txt", "x/a.txt", false)->handler, "far-txt");
        ck_assert_str_eq(dirmap_match(chain, 3, near, "a.c", "docs/a.c", false)->handler, "far-docs");
        ck_assert_str_eq(dirmap_match(chain, 3, near, "a.c", "x/a.c", false)->handler, "near-default");
        ck_assert_str_eq(dirmap_match(chain, 3, near, "x", "x", true)->handler, "far-dir");
        ck_assert_ptr_null(dirmap_match(chain + 1, 1, NULL, "x", "x", true));
}
END_TEST

START_TEST(test_lookups) {
        _cleanup_(dirconf_freep) DirConf *near = parse("child h\n  exec near\ndot-allow .a*\n", 0);
        _cleanup_(dirconf_freep) DirConf *far = parse("child h\n  exec far\nindex-file home.html\n", 0);
        const DirConf *chain[] = {near, far};

        ck_assert_str_eq(dirmap_handler(chain, 2, "h")->argv[0], "near");
        ck_assert_ptr_null(dirmap_handler(chain, 2, "nope"));
        ck_assert_str_eq(dirmap_index_files(chain, 2)[0], "home.html");
        ck_assert_str_eq(dirmap_index_files(chain, 1)[0], "index.html");
        ck_assert(dirmap_element_visible(chain, 2, "plain"));
        ck_assert(dirmap_element_visible(chain, 2, ".abc"));
        ck_assert(!dirmap_element_visible(chain, 2, ".b"));
        ck_assert(!dirmap_element_visible(chain + 1, 1, ".abc"));
}
END_TEST

START_TEST(test_htrc_never_visible) {
        _cleanup_(dirconf_freep) DirConf *c = parse("dot-allow .*\n", 0);
        const DirConf *chain[] = {c};

        ck_assert(dirmap_element_visible(chain, 1, ".x"));
        ck_assert(!dirmap_element_visible(chain, 1, ".htrc"));
}
END_TEST

START_TEST(test_pick_extension) {
        char *names[] = {"about.txt", "about.html", "about.", "aboutx.html", "about.a.b", "other"};
        char *no_html[] = {"notes.txt", "notes.md", "notes.zz"};
        char *none[] = {"about", "abou.t"};

        ck_assert_int_eq(dirmap_pick_extension("about", names, 6), 1);
        ck_assert_int_eq(dirmap_pick_extension("about", names, 1), 0);
        ck_assert_int_eq(dirmap_pick_extension("notes", no_html, 3), 1);
        ck_assert_int_eq(dirmap_pick_extension("about", none, 2), -ENOENT);
        ck_assert_int_eq(dirmap_pick_extension("about", names + 2, 1), -ENOENT);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("dirplex");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_capture);
        tcase_add_test(tc, test_match_order);
        tcase_add_test(tc, test_lookups);
        tcase_add_test(tc, test_htrc_never_visible);
        tcase_add_test(tc, test_pick_extension);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
