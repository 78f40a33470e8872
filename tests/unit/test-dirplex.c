/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The caches of the root and of .htrc files are part of dirplex, not of the
 * library, so the suite compiles their sources in. */
#include "../../src/dirplex/htrc.c"
#include "../../src/dirplex/root.c"
#include "check-main.h"
#include "conf.h"
#include "dirconf.h"
#include "dirmap.h"
#include "macro.h"

/* main.c's, which htrc.c calls on a broken .htrc: counted here. */
static unsigned config_errors;
void dirplex_log_config_error(const char *file, const char *error) {
        config_errors++;
}

#define RECHECK DIRPLEX_RECHECK_USEC
/* A made-up start time, well clear of 0. */
#define T0 (1000 * RECHECK)

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

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

/* A scratch directory, removed with what is in it by tmpdir_done(). */
typedef struct Tmp {
        char path[64];
} Tmp;

static void tmpdir_done(Tmp *t) {
        if (t->path[0])
                nftw(t->path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void tmpdir_make(Tmp *t) {
        snprintf(t->path, sizeof(t->path), "/tmp/test-dirplex-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->path));
}

static void write_file(const char *dir, const char *name, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        /* "w" truncates: an edit in place keeps the inode. */
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
}

static Dirplex *dirplex_new(void) {
        Dirplex *d = calloc(1, sizeof(Dirplex));

        ck_assert_ptr_nonnull(d);
        d->root = "/nonexistent";
        d->root_dir.fd = -EBADF;
        return d;
}

static void dirplex_done(Dirplex **d) {
        htrc_flush(*d);
        root_dir_close(*d);
        free(*d);
}

/* The first entry of the index-file directive of the .htrc found, "" when
 * there is none. */
static const char *htrc_index(Dirplex *d, int fd, const struct stat *st, uint64_t now) {
        DirConf *c = (DirConf *) 1;

        ck_assert_int_eq(htrc_get(d, fd, st, "sub", now, &c), 0);
        return c ? c->index_files[0] : "";
}

START_TEST(test_checked_recently) {
        ck_assert(dirplex_checked_recently(T0, T0));
        ck_assert(dirplex_checked_recently(T0, T0 + RECHECK - 1));
        ck_assert(!dirplex_checked_recently(T0, T0 + RECHECK));
        /* A clock that seems to go back: look again. */
        ck_assert(!dirplex_checked_recently(T0, T0 - 1));
}
END_TEST

/* The directory as htrc_get() takes it: an O_PATH fd and its stat. */
static int open_dir(const char *path, struct stat *st) {
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fstat(fd, st), 0);
        return fd;
}

START_TEST(test_htrc_looked_at_once_a_second) {
        _cleanup_(tmpdir_done) Tmp t = {};
        _cleanup_(dirplex_done) Dirplex *d = dirplex_new();
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        DirConf *c = NULL;
        struct stat st;

        tmpdir_make(&t);
        fd = open_dir(t.path, &st);
        snprintf(path, sizeof(path), "%s/.htrc", t.path);

        /* "None here" is cached like a file: one added is seen once the
         * directory is due for a look, not before. */
        ck_assert_str_eq(htrc_index(d, fd, &st, T0), "");
        write_file(t.path, ".htrc", "index-file a.html\n");
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + RECHECK - 1), "");
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + RECHECK), "a.html");

        /* Edited in place (the same inode, another size). */
        write_file(t.path, ".htrc", "index-file bb.html\n");
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + RECHECK), "a.html");
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + 2 * RECHECK), "bb.html");

        /* Broken: -EINVAL at every request, logged once. */
        config_errors = 0;
        write_file(t.path, ".htrc", "nonsense\n");
        ck_assert_int_eq(htrc_get(d, fd, &st, "sub", T0 + 3 * RECHECK, &c), -EINVAL);
        ck_assert_int_eq(htrc_get(d, fd, &st, "sub", T0 + 3 * RECHECK, &c), -EINVAL);
        ck_assert_int_eq(htrc_get(d, fd, &st, "sub", T0 + 4 * RECHECK, &c), -EINVAL);
        ck_assert_uint_eq(config_errors, 1);

        /* Mended, then removed. */
        write_file(t.path, ".htrc", "index-file mended.html\n");
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + 5 * RECHECK), "mended.html");
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + 5 * RECHECK), "mended.html");
        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + 6 * RECHECK), "");
        ck_assert_uint_eq(d->n_htrc, 1);
}
END_TEST

START_TEST(test_htrc_not_a_file_is_not_cached) {
        _cleanup_(tmpdir_done) Tmp t = {};
        _cleanup_(dirplex_done) Dirplex *d = dirplex_new();
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        DirConf *c = NULL;
        struct stat st;

        tmpdir_make(&t);
        fd = open_dir(t.path, &st);
        snprintf(path, sizeof(path), "%s/.htrc", t.path);
        ck_assert_int_eq(mkdir(path, 0755), 0);

        /* As before the cache: refused and logged at every request, and
         * seen at once when it is put right. */
        config_errors = 0;
        ck_assert_int_eq(htrc_get(d, fd, &st, "", T0, &c), -EINVAL);
        ck_assert_int_eq(htrc_get(d, fd, &st, "", T0, &c), -EINVAL);
        ck_assert_uint_eq(config_errors, 2);
        ck_assert_int_eq(rmdir(path), 0);
        ck_assert_str_eq(htrc_index(d, fd, &st, T0), "");
}
END_TEST

START_TEST(test_htrc_cache_stays_bounded) {
        _cleanup_(tmpdir_done) Tmp t = {};
        _cleanup_(dirplex_done) Dirplex *d = dirplex_new();
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        struct stat st, with_htrc;
        ino_t ino = 1000;

        tmpdir_make(&t);
        fd = open_dir(t.path, &st);
        write_file(t.path, ".htrc", "index-file kept.html\n");
        with_htrc = st;
        ck_assert_str_eq(htrc_index(d, fd, &with_htrc, T0), "kept.html");
        snprintf(path, sizeof(path), "%s/.htrc", t.path);
        ck_assert_int_eq(unlink(path), 0);

        /* Ten seconds of a crawl through directories without a .htrc (made
         * up: one real directory under many identities). */
        for (uint64_t second = 0; second < 10; second++)
                for (size_t i = 0; i < DIRPLEX_HTRC_ENTRIES_MAX; i++) {
                        st.st_ino = ino++;
                        ck_assert_str_eq(htrc_index(d, fd, &st, T0 + second * RECHECK), "");
                        ck_assert_uint_le(d->n_htrc, 2 * DIRPLEX_HTRC_ENTRIES_MAX + 1);
                }
        /* Entries with a .htrc are kept: dropping one would end its children. */
        ck_assert_ptr_nonnull(entry_find(d, &with_htrc));
        ck_assert(entry_find(d, &with_htrc)->present);
}
END_TEST

static void retarget(const char *base, const char *target) {
        char link[PATH_MAX], tmp[PATH_MAX];

        snprintf(link, sizeof(link), "%s/current", base);
        snprintf(tmp, sizeof(tmp), "%s/current.new", base);
        ck_assert_int_eq(symlink(target, tmp), 0);
        ck_assert_int_eq(rename(tmp, link), 0);
}

static void assert_root_is(Dirplex *d, const char *base, const char *name) {
        char path[PATH_MAX], real[PATH_MAX];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", base, name);
        ck_assert_ptr_nonnull(realpath(path, real));
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_ge(d->root_dir.fd, 0);
        ck_assert_str_eq(d->root_dir.path, real);
        ck_assert(d->root_dir.st.st_ino == st.st_ino && d->root_dir.st.st_dev == st.st_dev);
}

START_TEST(test_root_checked_once_a_second) {
        _cleanup_(tmpdir_done) Tmp t = {};
        _cleanup_(dirplex_done) Dirplex *d = dirplex_new();
        char root[PATH_MAX], path[PATH_MAX], moved[PATH_MAX];
        int fd;

        tmpdir_make(&t);
        for (const char *const *n = (const char *const[]){"one", "two", NULL}; *n; n++) {
                snprintf(path, sizeof(path), "%s/%s", t.path, *n);
                ck_assert_int_eq(mkdir(path, 0755), 0);
        }
        retarget(t.path, "one");
        snprintf(root, sizeof(root), "%s/current", t.path);
        d->root = root;

        ck_assert_int_eq(root_dir_get(d, T0), 0);
        assert_root_is(d, t.path, "one");
        fd = d->root_dir.fd;

        /* Retargeted: the directory held is served until the check is due. */
        retarget(t.path, "two");
        ck_assert_int_eq(root_dir_get(d, T0 + RECHECK - 1), 0);
        assert_root_is(d, t.path, "one");
        ck_assert_int_eq(root_dir_get(d, T0 + RECHECK), 0);
        assert_root_is(d, t.path, "two");
        fd = d->root_dir.fd;

        /* The same directory moved: kept open, named by its new path. */
        snprintf(path, sizeof(path), "%s/two", t.path);
        snprintf(moved, sizeof(moved), "%s/moved", t.path);
        ck_assert_int_eq(rename(path, moved), 0);
        retarget(t.path, "moved");
        ck_assert_int_eq(root_dir_get(d, T0 + 2 * RECHECK), 0);
        assert_root_is(d, t.path, "moved");
        ck_assert_int_eq(d->root_dir.fd, fd);

        /* Gone: an error, and the old directory is let go. Errors are not
         * cached: the root is tried again at the next request. */
        ck_assert_int_eq(unlink(root), 0);
        ck_assert_int_eq(root_dir_get(d, T0 + 3 * RECHECK), -ENOENT);
        ck_assert_int_lt(d->root_dir.fd, 0);
        ck_assert_int_eq(root_dir_get(d, T0 + 3 * RECHECK), -ENOENT);
        retarget(t.path, "one");
        ck_assert_int_eq(root_dir_get(d, T0 + 3 * RECHECK), 0);
        assert_root_is(d, t.path, "one");
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
        tcase_add_test(tc, test_checked_recently);
        tcase_add_test(tc, test_htrc_looked_at_once_a_second);
        tcase_add_test(tc, test_htrc_not_a_file_is_not_cached);
        tcase_add_test(tc, test_htrc_cache_stays_bounded);
        tcase_add_test(tc, test_root_checked_once_a_second);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
