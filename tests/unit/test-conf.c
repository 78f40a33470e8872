/* SPDX-License-Identifier: MIT */

#define _GNU_SOURCE /* asprintf(), nftw() */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "check-main.h"
#include "conf.h"

/* A fresh folder per test, for the include tests' real files. */
static char dir[PATH_MAX];

static void make_dir(void) {
        snprintf(dir, sizeof(dir), "/tmp/test-conf-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void remove_dir(void) {
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The path of name inside the test folder, for the caller to free. */
static char *path_of(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static void write_bytes(const char *name, const char *data, size_t size) {
        _cleanup_free_ char *p = path_of(name);
        _cleanup_fclose_ FILE *f = fopen(p, "we");

        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, size, f), size);
}

static void write_file(const char *name, const char *text) {
        write_bytes(name, text, strlen(text));
}

static void make_subdir(const char *name) {
        _cleanup_free_ char *p = path_of(name);

        ck_assert_int_eq(mkdir(p, 0755), 0);
}

static ConfReader *open_text(const char *text) {
        ConfReader *r = NULL;

        ck_assert_int_eq(conf_open_string("t.conf", text, &r), 0);
        ck_assert_ptr_nonnull(r);
        return r;
}

/* Reads the next line and checks its file (when given), number, indentation
 * and words, the last argument being NULL. Returns the line. */
_sentinel_ static const ConfLine *expect_line(ConfReader *r, const char *file, unsigned number,
                                              bool indented, ...) {
        const ConfLine *l = NULL;
        va_list ap;
        size_t n = 0;

        ck_assert_msg(conf_next(r, &l) == 1, "expected line %u, got error %s", number,
                      conf_error(r) ?: "(none)");
        if (file)
                ck_assert_str_eq(l->file, file);
        ck_assert_uint_eq(l->line, number);
        ck_assert(l->indented == indented);

        va_start(ap, indented);
        for (const char *w; (w = va_arg(ap, const char *)); n++) {
                ck_assert_uint_lt(n, l->argc);
                ck_assert_str_eq(l->argv[n], w);
        }
        va_end(ap);
        ck_assert_uint_eq(l->argc, n);
        ck_assert_ptr_null(l->argv[n]);
        return l;
}

static void expect_end(ConfReader *r) {
        const ConfLine *l = NULL;

        ck_assert_int_eq(conf_next(r, &l), 0);
}

/* Expects conf_next() to fail now with error and message, leaving its
 * out-parameter alone, and to fail the same way when asked again. */
static void expect_error(ConfReader *r, int error, const char *message) {
        static const ConfLine sentinel_line;
        const ConfLine *sentinel = &sentinel_line, *l = sentinel;

        ck_assert_int_eq(conf_next(r, &l), error);
        ck_assert_ptr_eq(l, sentinel);
        ck_assert_ptr_nonnull(conf_error(r));
        ck_assert_str_eq(conf_error(r), message);
        ck_assert_int_eq(conf_next(r, &l), error);
        ck_assert_ptr_eq(l, sentinel);
}

START_TEST(test_words) {
        _cleanup_(conf_freep) ConfReader *r = open_text("one two\tthree   four\nsingle\n");

        expect_line(r, "t.conf", 1, false, "one", "two", "three", "four", NULL);
        expect_line(r, "t.conf", 2, false, "single", NULL);
        expect_end(r);
        /* The end stays the end. */
        expect_end(r);
        ck_assert_ptr_null(conf_error(r));
}
END_TEST

START_TEST(test_quotes) {
        _cleanup_(conf_freep) ConfReader *r = open_text("say \"hello  world\" \"\" x\n"
                                                        "join ab\"c d\"e \"tab\there\"\n");

        expect_line(r, NULL, 1, false, "say", "hello  world", "", "x", NULL);
        expect_line(r, NULL, 2, false, "join", "abc de", "tab\there", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_escapes) {
        _cleanup_(conf_freep) ConfReader *r = open_text("e \\\\ \\\" \\n \\t \\q a\\ b\n"
                                                        "q \"a\\\\b\\\"c\\nd\\te\\qf\"\n"
                                                        "end \\\n");

        expect_line(r, NULL, 1, false, "e", "\\", "\"", "\n", "\t", "q", "a b", NULL);
        expect_line(r, NULL, 2, false, "q", "a\\b\"c\nd\teqf", NULL);
        /* A backslash that ends the line has nothing to escape and stays. */
        expect_line(r, NULL, 3, false, "end", "\\", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_comments) {
        _cleanup_(conf_freep) ConfReader *r = open_text("# a comment\n"
                                                        "a b # c d\n"
                                                        "    # an indented comment\n"
                                                        "#\n"
                                                        "\"#x\" \\#w \"y # z\" v#u\n"
                                                        "  indented # comment\n");

        expect_line(r, NULL, 2, false, "a", "b", NULL);
        expect_line(r, NULL, 5, false, "#x", "#w", "y # z", "v", NULL);
        expect_line(r, NULL, 6, true, "indented", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_indentation_and_blank_lines) {
        _cleanup_(conf_freep) ConfReader *r = open_text("\n"
                                                        "   \n"
                                                        "\t\n"
                                                        "stanza a\n"
                                                        "  spaces\n"
                                                        "\n"
                                                        "\ttab x\n"
                                                        "next\n"
                                                        " \t mixed\n");

        expect_line(r, NULL, 4, false, "stanza", "a", NULL);
        expect_line(r, NULL, 5, true, "spaces", NULL);
        expect_line(r, NULL, 7, true, "tab", "x", NULL);
        expect_line(r, NULL, 8, false, "next", NULL);
        expect_line(r, NULL, 9, true, "mixed", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_crlf) {
        _cleanup_(conf_freep) ConfReader *r = open_text("a b\r\n  c\r\n\r\nd \"e f\"\r\n");

        expect_line(r, NULL, 1, false, "a", "b", NULL);
        expect_line(r, NULL, 2, true, "c", NULL);
        expect_line(r, NULL, 4, false, "d", "e f", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_no_final_newline) {
        _cleanup_(conf_freep) ConfReader *r = open_text("a\nb c");
        _cleanup_(conf_freep) ConfReader *r2 = open_text("x\r");
        _cleanup_(conf_freep) ConfReader *r3 = open_text("");

        expect_line(r, NULL, 1, false, "a", NULL);
        expect_line(r, NULL, 2, false, "b", "c", NULL);
        expect_end(r);
        expect_line(r2, NULL, 1, false, "x", NULL);
        expect_end(r2);
        expect_end(r3);
}
END_TEST

START_TEST(test_line_max) {
        char line[CONF_LINE_MAX + 4];
        _cleanup_(conf_freep) ConfReader *r = NULL;
        _cleanup_(conf_freep) ConfReader *crlf = NULL;
        _cleanup_(conf_freep) ConfReader *over = NULL;

        memset(line, 'x', CONF_LINE_MAX);
        strcpy(line + CONF_LINE_MAX, "\n");
        r = open_text(line);
        {
                const ConfLine *l = NULL;

                ck_assert_int_eq(conf_next(r, &l), 1);
                ck_assert_uint_eq(l->argc, 1);
                ck_assert_uint_eq(strlen(l->argv[0]), CONF_LINE_MAX);
        }
        expect_end(r);

        /* The '\r' of a CRLF line does not count. */
        strcpy(line + CONF_LINE_MAX, "\r\n");
        crlf = open_text(line);
        {
                const ConfLine *l = NULL;

                ck_assert_int_eq(conf_next(crlf, &l), 1);
                ck_assert_uint_eq(strlen(l->argv[0]), CONF_LINE_MAX);
        }

        line[CONF_LINE_MAX] = 'x';
        strcpy(line + CONF_LINE_MAX + 1, "\n");
        {
                _cleanup_free_ char *text = NULL;

                ck_assert_int_ge(asprintf(&text, "ok\n%s", line), 0);
                over = open_text(text);
        }
        expect_line(over, NULL, 1, false, "ok", NULL);
        expect_error(over, -EINVAL, "t.conf:2: line longer than 4096 bytes");
}
END_TEST

START_TEST(test_line_max_unterminated) {
        char line[CONF_LINE_MAX + 3];
        _cleanup_(conf_freep) ConfReader *r = NULL;

        /* Too long by two bytes, with no newline to stop at. */
        memset(line, 'x', CONF_LINE_MAX + 2);
        line[CONF_LINE_MAX + 2] = '\0';
        r = open_text(line);
        expect_error(r, -EINVAL, "t.conf:1: line longer than 4096 bytes");
}
END_TEST

START_TEST(test_words_max) {
        _cleanup_free_ char *ok = NULL, *over = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL, *r2 = NULL;
        const ConfLine *l = NULL;
        size_t size = CONF_WORDS_MAX * 2 + 16;

        ok = calloc(1, size);
        over = calloc(1, size);
        ck_assert_ptr_nonnull(ok);
        ck_assert_ptr_nonnull(over);
        for (size_t i = 0; i < CONF_WORDS_MAX; i++)
                strcat(ok, "w ");
        strcat(ok, "\n");
        strcpy(over, "first\n");
        for (size_t i = 0; i <= CONF_WORDS_MAX; i++)
                strcat(over, "w ");

        r = open_text(ok);
        ck_assert_int_eq(conf_next(r, &l), 1);
        ck_assert_uint_eq(l->argc, CONF_WORDS_MAX);
        ck_assert_str_eq(l->argv[CONF_WORDS_MAX - 1], "w");
        ck_assert_ptr_null(l->argv[CONF_WORDS_MAX]);

        r2 = open_text(over);
        expect_line(r2, NULL, 1, false, "first", NULL);
        expect_error(r2, -EINVAL, "t.conf:2: more than 256 words in line");
}
END_TEST

START_TEST(test_unterminated_quote) {
        _cleanup_(conf_freep) ConfReader *r = open_text("a\n\nb \"c d\n");
        _cleanup_(conf_freep) ConfReader *r2 = open_text("x \"escaped end\\\"\n");

        expect_line(r, NULL, 1, false, "a", NULL);
        expect_error(r, -EINVAL, "t.conf:3: unterminated quote");
        expect_error(r2, -EINVAL, "t.conf:1: unterminated quote");
}
END_TEST

START_TEST(test_indented_first_line) {
        _cleanup_(conf_freep) ConfReader *r = open_text("# comment\n\n  orphan\n");

        expect_error(r, -EINVAL, "t.conf:3: indented line before any directive");
}
END_TEST

START_TEST(test_nul_byte) {
        static const char data[] = "ok\nbad\0byte\n";
        _cleanup_free_ char *p = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_bytes("nul.conf", data, sizeof(data) - 1);
        p = path_of("nul.conf");
        ck_assert_int_eq(conf_open(p, &r), 0);
        expect_line(r, p, 1, false, "ok", NULL);
        {
                _cleanup_free_ char *message = NULL;

                ck_assert_int_ge(asprintf(&message, "%s:2: NUL byte in line", p), 0);
                expect_error(r, -EINVAL, message);
        }
}
END_TEST

START_TEST(test_missing_file) {
        _cleanup_free_ char *p = path_of("nope.conf"), *message = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        ck_assert_int_eq(conf_open(p, &r), 0);
        ck_assert_int_ge(asprintf(&message, "%s: No such file or directory", p), 0);
        expect_error(r, -ENOENT, message);
}
END_TEST

START_TEST(test_read_error) {
        _cleanup_free_ char *message = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        /* A folder opens but cannot be read. */
        ck_assert_int_eq(conf_open(dir, &r), 0);
        ck_assert_int_ge(asprintf(&message, "%s:1: Is a directory", dir), 0);
        expect_error(r, -EISDIR, message);
}
END_TEST

START_TEST(test_file_lines) {
        _cleanup_free_ char *p = path_of("plain.conf");
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_file("plain.conf", "# head\nstanza \"a b\"\n\tbody 1\n");
        ck_assert_int_eq(conf_open(p, &r), 0);
        expect_line(r, p, 2, false, "stanza", "a b", NULL);
        expect_line(r, p, 3, true, "body", "1", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_include_glob) {
        _cleanup_free_ char *main_conf = path_of("main.conf"), *one = path_of("sub/1.conf"),
                            *ten = path_of("sub/10.conf"), *two = path_of("sub/2.conf");
        _cleanup_(conf_freep) ConfReader *r = NULL;
        const char *kept;

        make_subdir("sub");
        write_file("main.conf", "first\n"
                                "  body\n"
                                "\n"
                                "include sub/*.conf\n"
                                "last\n"
                                "  body2\n");
        write_file("sub/2.conf", "two\n  b\n");
        write_file("sub/10.conf", "\n\nten\n");
        write_file("sub/1.conf", "# one\none x\n");
        write_file("sub/other.txt", "not included\n");

        ck_assert_int_eq(conf_open(main_conf, &r), 0);
        expect_line(r, main_conf, 1, false, "first", NULL);
        expect_line(r, main_conf, 2, true, "body", NULL);
        kept = expect_line(r, one, 2, false, "one", "x", NULL)->file;
        expect_line(r, ten, 3, false, "ten", NULL);
        expect_line(r, two, 1, false, "two", NULL);
        expect_line(r, two, 2, true, "b", NULL);
        expect_line(r, main_conf, 5, false, "last", NULL);
        expect_line(r, main_conf, 6, true, "body2", NULL);
        expect_end(r);
        /* File names outlive their file's end. */
        ck_assert_str_eq(kept, one);
}
END_TEST

START_TEST(test_include_patterns_in_order) {
        _cleanup_free_ char *abs_path = path_of("zabs.conf"), *main_conf = path_of("main.conf"),
                            *b = path_of("b.conf"), *a1 = path_of("a1.conf"), *a2 = path_of("a2.conf"),
                            *text = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_file("b.conf", "b\n");
        write_file("a2.conf", "a2\n");
        write_file("a1.conf", "a1\n");
        write_file("zabs.conf", "abs\n");
        write_file("main.conf", "include b.conf a*.conf none/*.conf none?.conf\nafter\n");
        ck_assert_int_ge(asprintf(&text, "include %s\ninclude %s\n", abs_path, main_conf), 0);

        /* An absolute pattern is used as it is; main.conf's are relative to
         * its folder, read pattern by pattern; globs that match nothing
         * include nothing. */
        r = open_text(text);
        expect_line(r, abs_path, 1, false, "abs", NULL);
        expect_line(r, b, 1, false, "b", NULL);
        expect_line(r, a1, 1, false, "a1", NULL);
        expect_line(r, a2, 1, false, "a2", NULL);
        expect_line(r, main_conf, 2, false, "after", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_include_nested) {
        _cleanup_free_ char *main_conf = path_of("main.conf"), *inner = path_of("a/inner.conf"),
                            *deep = path_of("a/../b/deep.conf");
        _cleanup_(conf_freep) ConfReader *r = NULL;

        make_subdir("a");
        make_subdir("b");
        write_file("main.conf", "top\ninclude a/inner.conf\nback\n");
        /* Relative to a/, not to main.conf's folder. */
        write_file("a/inner.conf", "inner 1\ninclude ../b/*.conf\ninner 2");
        write_file("b/deep.conf", "deep\n  d\n");

        ck_assert_int_eq(conf_open(main_conf, &r), 0);
        expect_line(r, main_conf, 1, false, "top", NULL);
        expect_line(r, inner, 1, false, "inner", "1", NULL);
        expect_line(r, deep, 1, false, "deep", NULL);
        expect_line(r, deep, 2, true, "d", NULL);
        expect_line(r, inner, 3, false, "inner", "2", NULL);
        expect_line(r, main_conf, 3, false, "back", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_include_glob_folder_escaped) {
        _cleanup_free_ char *main_conf = path_of("we[ir]d/main.conf"), *inc = path_of("we[ir]d/x.inc");
        _cleanup_(conf_freep) ConfReader *r = NULL;

        /* The including file's folder is a name, not a pattern. */
        make_subdir("we[ir]d");
        make_subdir("weid");
        write_file("we[ir]d/main.conf", "include *.inc\n");
        write_file("we[ir]d/x.inc", "x\n");
        write_file("weid/y.inc", "wrong\n");

        ck_assert_int_eq(conf_open(main_conf, &r), 0);
        expect_line(r, inc, 1, false, "x", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_include_relative_to_cwd) {
        _cleanup_close_ int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(conf_freep) ConfReader *r = NULL, *r2 = NULL, *r3 = NULL;

        ck_assert_int_ge(cwd, 0);
        make_subdir("s");
        write_file("cwd.conf", "from cwd\n");
        write_file("s/here.conf", "from s\n");
        write_file("s/main.conf", "include here.conf\n");
        ck_assert_int_eq(chdir(dir), 0);

        /* A name without a folder: includes are relative to the current
         * directory, for text and for a file alike. */
        ck_assert_int_eq(conf_open_string("virtual", "include cwd.conf\n", &r), 0);
        expect_line(r, "cwd.conf", 1, false, "from", "cwd", NULL);
        expect_end(r);

        ck_assert_int_eq(conf_open_string("s/virtual", "include here.conf\n", &r2), 0);
        expect_line(r2, "s/here.conf", 1, false, "from", "s", NULL);
        expect_end(r2);

        ck_assert_int_eq(conf_open("s/main.conf", &r3), 0);
        expect_line(r3, "s/here.conf", 1, false, "from", "s", NULL);
        expect_end(r3);

        ck_assert_int_eq(fchdir(cwd), 0);
}
END_TEST

START_TEST(test_include_missing) {
        _cleanup_free_ char *main_conf = path_of("main.conf"), *message = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_file("main.conf", "a\n\ninclude missing.conf\nb\n");
        ck_assert_int_eq(conf_open(main_conf, &r), 0);
        expect_line(r, main_conf, 1, false, "a", NULL);
        ck_assert_int_ge(asprintf(&message, "%s:3: include %s/missing.conf: No such file or directory",
                                  main_conf, dir),
                         0);
        expect_error(r, -ENOENT, message);
}
END_TEST

START_TEST(test_include_error_in_included_file) {
        _cleanup_free_ char *main_conf = path_of("main.conf"), *inc = path_of("inc.conf"), *message = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_file("main.conf", "a\ninclude inc.conf\n");
        write_file("inc.conf", "# x\n  orphan\n");
        ck_assert_int_eq(conf_open(main_conf, &r), 0);
        expect_line(r, main_conf, 1, false, "a", NULL);
        ck_assert_int_ge(asprintf(&message, "%s:2: indented line before any directive", inc), 0);
        expect_error(r, -EINVAL, message);
}
END_TEST

START_TEST(test_include_no_argument) {
        _cleanup_(conf_freep) ConfReader *r = open_text("a\ninclude # nothing\n");

        expect_line(r, NULL, 1, false, "a", NULL);
        expect_error(r, -EINVAL, "t.conf:2: include needs at least one file pattern");
}
END_TEST

START_TEST(test_include_takes_no_body) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_file("inc.conf", "inc\n  i\n");
        ck_assert_int_ge(asprintf(&text, "a\ninclude %s/inc.conf\n  stray\n", dir), 0);
        r = open_text(text);
        expect_line(r, NULL, 1, false, "a", NULL);
        expect_line(r, NULL, 1, false, "inc", NULL);
        expect_line(r, NULL, 2, true, "i", NULL);
        expect_error(r, -EINVAL, "t.conf:3: indented line after include");
}
END_TEST

START_TEST(test_indented_include_is_a_line) {
        _cleanup_(conf_freep) ConfReader *r = open_text("stanza\n  include nothing.conf\n");

        expect_line(r, NULL, 1, false, "stanza", NULL);
        expect_line(r, NULL, 2, true, "include", "nothing.conf", NULL);
        expect_end(r);
}
END_TEST

START_TEST(test_include_self) {
        _cleanup_free_ char *self = path_of("self.conf"), *message = NULL;
        _cleanup_(conf_freep) ConfReader *r = NULL;

        write_file("self.conf", "again\ninclude self.conf\n");
        ck_assert_int_eq(conf_open(self, &r), 0);
        /* The top file and CONF_INCLUDE_DEPTH levels of includes. */
        for (int i = 0; i <= CONF_INCLUDE_DEPTH; i++)
                expect_line(r, self, 1, false, "again", NULL);
        ck_assert_int_ge(asprintf(&message, "%s:2: include %s: includes nested deeper than 16", self, self),
                         0);
        expect_error(r, -EINVAL, message);
}
END_TEST

/* A stanza's follow-up lines come one by one; the next stanza's line is
 * left for conf_next(). */
START_TEST(test_next_indented) {
        _cleanup_(conf_freep) ConfReader *r = NULL;
        const ConfLine *l;

        ck_assert_int_eq(conf_open_string("t.conf", "child a\n  exec x\n  exec y\nmatch\n  default\n", &r),
                         0);
        ck_assert_int_eq(conf_next(r, &l), 1);
        ck_assert_str_eq(l->argv[0], "child");
        ck_assert_int_eq(conf_next_indented(r, &l), 1);
        ck_assert_str_eq(l->argv[1], "x");
        ck_assert_int_eq(conf_next_indented(r, &l), 1);
        ck_assert_str_eq(l->argv[1], "y");
        ck_assert_int_eq(conf_next_indented(r, &l), 0);
        ck_assert_int_eq(conf_next(r, &l), 1);
        ck_assert_str_eq(l->argv[0], "match");
        ck_assert_int_eq(conf_next_indented(r, &l), 1);
        ck_assert_str_eq(l->argv[0], "default");
        ck_assert_int_eq(conf_next_indented(r, &l), 0);
        ck_assert_int_eq(conf_next(r, &l), 0);
}
END_TEST

START_TEST(test_unread) {
        _cleanup_(conf_freep) ConfReader *r = open_text("a\n  b\nc\n");
        const ConfLine *l = NULL;

        /* Nothing to unread yet. */
        conf_unread(r);
        expect_line(r, NULL, 1, false, "a", NULL);
        expect_line(r, NULL, 2, true, "b", NULL);
        l = expect_line(r, NULL, 3, false, "c", NULL);
        conf_unread(r);
        ck_assert_ptr_eq(expect_line(r, NULL, 3, false, "c", NULL), l);
        /* One level only: unreading twice gives the line once more. */
        conf_unread(r);
        conf_unread(r);
        expect_line(r, NULL, 3, false, "c", NULL);
        expect_end(r);
        conf_unread(r);
        expect_end(r);
}
END_TEST

START_TEST(test_unread_stanza) {
        _cleanup_(conf_freep) ConfReader *r = open_text("s1\n  x 1\n  y 2\ns2\n  z\n");
        const ConfLine *l;
        unsigned stanzas = 0, bodies = 0;

        /* A stanza parser stops at the next unindented line and gives it back. */
        while (conf_next(r, &l) > 0) {
                ck_assert(!l->indented);
                stanzas++;
                while (conf_next(r, &l) > 0) {
                        if (!l->indented) {
                                conf_unread(r);
                                break;
                        }
                        bodies++;
                }
        }
        ck_assert_uint_eq(stanzas, 2);
        ck_assert_uint_eq(bodies, 3);
}
END_TEST

START_TEST(test_fail) {
        _cleanup_(conf_freep) ConfReader *r = open_text("a\nb c\n");
        const ConfLine *l;

        ck_assert_ptr_null(conf_error(r));
        expect_line(r, NULL, 1, false, "a", NULL);
        l = expect_line(r, NULL, 2, false, "b", "c", NULL);
        ck_assert_int_eq(conf_fail(r, l, "bad %s %d", "thing", 42), -EINVAL);
        ck_assert_str_eq(conf_error(r), "t.conf:2: bad thing 42");
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("conf");
        TCase *tc = tcase_create("syntax");
        TCase *files = tcase_create("files");

        tcase_add_test(tc, test_words);
        tcase_add_test(tc, test_quotes);
        tcase_add_test(tc, test_escapes);
        tcase_add_test(tc, test_comments);
        tcase_add_test(tc, test_indentation_and_blank_lines);
        tcase_add_test(tc, test_crlf);
        tcase_add_test(tc, test_no_final_newline);
        tcase_add_test(tc, test_line_max);
        tcase_add_test(tc, test_line_max_unterminated);
        tcase_add_test(tc, test_words_max);
        tcase_add_test(tc, test_unterminated_quote);
        tcase_add_test(tc, test_indented_first_line);
        tcase_add_test(tc, test_include_no_argument);
        tcase_add_test(tc, test_indented_include_is_a_line);
        tcase_add_test(tc, test_unread);
        tcase_add_test(tc, test_next_indented);
        tcase_add_test(tc, test_unread_stanza);
        tcase_add_test(tc, test_fail);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(files, make_dir, remove_dir);
        tcase_add_test(files, test_nul_byte);
        tcase_add_test(files, test_missing_file);
        tcase_add_test(files, test_read_error);
        tcase_add_test(files, test_file_lines);
        tcase_add_test(files, test_include_glob);
        tcase_add_test(files, test_include_patterns_in_order);
        tcase_add_test(files, test_include_nested);
        tcase_add_test(files, test_include_glob_folder_escaped);
        tcase_add_test(files, test_include_relative_to_cwd);
        tcase_add_test(files, test_include_missing);
        tcase_add_test(files, test_include_error_in_included_file);
        tcase_add_test(files, test_include_takes_no_body);
        tcase_add_test(files, test_include_self);
        suite_add_tcase(s, files);
        return s;
}

CHECK_MAIN(make_suite)
