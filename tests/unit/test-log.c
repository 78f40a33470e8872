/* SPDX-License-Identifier: MIT */

/* The logging module against a journal socket of the test's own: every test
 * binds an AF_UNIX datagram socket in a scratch folder, points the module at
 * it and parses the native-protocol datagrams that arrive; stderr is
 * redirected to a pipe (or a pty) where the test reads the lines back. */

#define _GNU_SOURCE 1

#include <endian.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "check-main.h"
#include "log.h"
#include "messages.h"

#define FIELDS_MAX 128

typedef struct Field {
        char name[65];
        const char *value;
        size_t len;
        bool binary; /* sent as NAME\n + 64-bit length + value */
} Field;

typedef struct Entry {
        Field fields[FIELDS_MAX];
        size_t n_fields;
        size_t size;
        char data[]; /* the datagram */
} Entry;

static void entry_freep(Entry **e) {
        free(*e);
}

static char base[PATH_MAX];    /* made once by the runner, removed with all in it at the end */
static char scratch[PATH_MAX]; /* one test's folder inside base */
static char journal_path[PATH_MAX];
static int journal_fd = -EBADF;

static void path_in_scratch(char *buf, size_t size, const char *name) {
        ck_assert_int_lt(snprintf(buf, size, "%s/%s", scratch, name), (int) size);
}

static int bind_datagram(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        remove(path);
        return 0;
}

/* In the runner's process: a failed test ends its forked child without the
 * checked teardown, so what the tests leave behind is removed here. */
static void base_setup(void) {
        strcpy(base, "/tmp/ashd-test-log-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(base));
}

static void base_teardown(void) {
        nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void) {
        static unsigned n = 0;

        ck_assert_int_lt(snprintf(scratch, sizeof(scratch), "%s/%d-%u", base, (int) getpid(), n++),
                         (int) sizeof(scratch));
        ck_assert_int_eq(mkdir(scratch, 0700), 0);
        path_in_scratch(journal_path, sizeof(journal_path), "journal.sock");
        journal_fd = bind_datagram(journal_path);
        log_set_journal_socket(journal_path);
        ck_assert_int_eq(setenv("ASHD_LOG", "journal", 1), 0);
        unsetenv("ASHD_LOG_LEVEL");
        unsetenv("JOURNAL_STREAM");
}

static void teardown(void) {
        journal_fd = safe_close(journal_fd);
}

/* Splits a datagram into its fields, in both encodings, failing the test on
 * anything journald would not parse. */
static void entry_parse(Entry *e) {
        size_t i = 0;

        while (i < e->size) {
                const char *p = e->data + i, *newline, *equals;
                size_t left = e->size - i, name_len;
                Field *f;

                ck_assert_uint_lt(e->n_fields, FIELDS_MAX);
                f = &e->fields[e->n_fields++];
                *f = (Field){};
                newline = memchr(p, '\n', left);
                ck_assert_ptr_nonnull(newline);
                equals = memchr(p, '=', (size_t) (newline - p));
                name_len = (size_t) ((equals ? equals : newline) - p);
                ck_assert_uint_gt(name_len, 0);
                ck_assert_uint_le(name_len, 64);
                memcpy(f->name, p, name_len);
                f->name[name_len] = '\0';
                if (equals) {
                        f->value = equals + 1;
                        f->len = (size_t) (newline - f->value);
                        i += (size_t) (newline - p) + 1;
                } else {
                        uint64_t le;

                        ck_assert_uint_ge(left, name_len + 1 + 8 + 1);
                        memcpy(&le, newline + 1, 8);
                        f->len = le64toh(le);
                        ck_assert_uint_le(f->len, left - (name_len + 1 + 8 + 1));
                        f->value = newline + 1 + 8;
                        ck_assert_int_eq(f->value[f->len], '\n');
                        f->binary = true;
                        i += name_len + 1 + 8 + f->len + 1;
                }
        }
}

/* The next datagram on the test's journal socket, or NULL if none is queued:
 * the module sends synchronously, so there is nothing to wait for. */
static Entry *entry_try_receive(void) {
        size_t size = 32 << 20;
        _cleanup_(entry_freep) Entry *e = malloc(sizeof(Entry) + size);
        ssize_t n;

        ck_assert_ptr_nonnull(e);
        n = recv(journal_fd, e->data, size, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                ck_assert_int_eq(errno, EAGAIN);
                return NULL;
        }
        ck_assert_uint_le((size_t) n, size);
        e->size = (size_t) n;
        e->n_fields = 0;
        entry_parse(e);
        return TAKE_PTR(e);
}

static Entry *entry_receive(void) {
        Entry *e = entry_try_receive();

        ck_assert_msg(e, "no entry arrived at the journal socket");
        return e;
}

static void assert_no_entry(void) {
        _cleanup_(entry_freep) Entry *e = entry_try_receive();

        ck_assert_msg(!e, "an unexpected entry arrived");
}

static size_t field_count(const Entry *e, const char *name) {
        size_t n = 0;

        for (size_t i = 0; i < e->n_fields; i++)
                n += streq(e->fields[i].name, name);
        return n;
}

static const Field *field_get(const Entry *e, const char *name) {
        ck_assert_msg(field_count(e, name) == 1, "field %s: %zu times", name, field_count(e, name));
        for (size_t i = 0; i < e->n_fields; i++)
                if (streq(e->fields[i].name, name))
                        return &e->fields[i];
        return NULL;
}

static void assert_field_bytes(const Entry *e, const char *name, const char *value, size_t len) {
        const Field *f = field_get(e, name);

        ck_assert_msg(f->len == len && memcmp(f->value, value, len) == 0,
                      "field %s is \"%.*s\", not \"%.*s\"", name, (int) f->len, f->value, (int) len, value);
}

static void assert_field(const Entry *e, const char *name, const char *value) {
        assert_field_bytes(e, name, value, strlen(value));
}

/* Points stderr at a pipe and returns its non-blocking read end. */
static int capture_stderr(void) {
        int p[2];

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
        ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
        close(p[1]);
        return p[0];
}

/* Everything written to the captured stderr so far, NUL-terminated. */
static size_t read_captured(int fd, char *buf, size_t size) {
        size_t len = 0;

        for (;;) {
                ssize_t n;

                ck_assert_uint_lt(len, size - 1);
                n = read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        ck_assert_int_eq(errno, EAGAIN);
                        break;
                }
                ck_assert_int_gt(n, 0);
                len += (size_t) n;
        }
        buf[len] = '\0';
        return len;
}

static void assert_captured(int fd, const char *expected) {
        char buf[65536];

        read_captured(fd, buf, sizeof(buf));
        ck_assert_str_eq(buf, expected);
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

START_TEST(test_fields) {
        const LogField fields[] = {
                {"HANDLER", "dirplex"},
                {"SOCKET", "/run/ashd/root.sock"},
                {"MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE},
                {"BINARY", "a\0b=c", 5},
                {NULL},
        };
        _cleanup_(entry_freep) Entry *e = NULL;

        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_JOURNAL);
        ck_assert_int_eq(log_fields(LOG_ERR, fields, "handler %s is down (%d)", "dirplex", 42), 0);

        e = entry_receive();
        ck_assert_uint_eq(e->n_fields, 7);
        assert_field(e, "PRIORITY", "3");
        assert_field(e, "SYSLOG_IDENTIFIER", "test-ident");
        assert_field(e, "MESSAGE", "handler dirplex is down (42)");
        assert_field(e, "HANDLER", "dirplex");
        assert_field(e, "SOCKET", "/run/ashd/root.sock");
        assert_field(e, "MESSAGE_ID", MESSAGE_ID_HANDLER_UNAVAILABLE);
        assert_field_bytes(e, "BINARY", "a\0b=c", 5);
        ck_assert(!field_get(e, "MESSAGE")->binary);
        ck_assert(!field_get(e, "HANDLER")->binary);
        /* The entry's own fields come first, in this order. */
        ck_assert_str_eq(e->fields[0].name, "PRIORITY");
        ck_assert_str_eq(e->fields[1].name, "SYSLOG_IDENTIFIER");
        ck_assert_str_eq(e->fields[2].name, "MESSAGE");
        ck_assert_uint_eq(log_dropped(), 0);
        assert_no_entry();
}
END_TEST

START_TEST(test_default_identifier) {
        _cleanup_(entry_freep) Entry *e = NULL;

        log_open(NULL, LOG_INFO);
        ck_assert_int_eq(log_info("hello"), 0);
        e = entry_receive();
        assert_field(e, "SYSLOG_IDENTIFIER", program_invocation_short_name);
        assert_field(e, "PRIORITY", "6");
}
END_TEST

START_TEST(test_multiline_binary_encoding) {
        const LogField fields[] = {{"DETAIL", "one\ntwo\n"}, {NULL}};
        _cleanup_(entry_freep) Entry *e = NULL;

        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_fields(LOG_NOTICE, fields, "first line\nsecond line"), 0);
        e = entry_receive();
        assert_field(e, "MESSAGE", "first line\nsecond line");
        ck_assert(field_get(e, "MESSAGE")->binary);
        assert_field(e, "DETAIL", "one\ntwo\n");
        ck_assert(field_get(e, "DETAIL")->binary);
        ck_assert(!field_get(e, "PRIORITY")->binary);
        assert_field(e, "PRIORITY", "5");
}
END_TEST

START_TEST(test_invalid_field_names_skipped) {
        const char *name64 = "A234567890123456789012345678901234567890123456789012345678901234";
        const char *name65 = "A2345678901234567890123456789012345678901234567890123456789012345";
        const LogField fields[] = {
                {"lower", "x"},
                {"_PID", "1"},
                {"1ABC", "x"},
                {"", "x"},
                {name65, "x"},
                {"WITH-DASH", "x"},
                {"WITH SPACE", "x"},
                {"NAME=X", "x"},
                {"MESSAGE", "x"},
                {"PRIORITY", "0"},
                {"SYSLOG_IDENTIFIER", "x"},
                {"NULLVALUE", NULL},
                {"GOOD_1", "yes"},
                {name64, "long"},
                {NULL},
        };
        _cleanup_(entry_freep) Entry *e = NULL;

        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_fields(LOG_INFO, fields, "only valid names"), 0);
        e = entry_receive();
        ck_assert_uint_eq(e->n_fields, 5);
        assert_field(e, "PRIORITY", "6");
        assert_field(e, "SYSLOG_IDENTIFIER", "test-ident");
        assert_field(e, "MESSAGE", "only valid names");
        assert_field(e, "GOOD_1", "yes");
        assert_field(e, name64, "long");
}
END_TEST

START_TEST(test_caller_field_limit) {
        LogField fields[71] = {};
        char names[70][16];
        _cleanup_(entry_freep) Entry *e = NULL;

        for (size_t i = 0; i < 70; i++) {
                snprintf(names[i], sizeof(names[i]), "F%zu", i);
                fields[i] = (LogField){names[i], "v"};
        }
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_fields(LOG_INFO, fields, "many"), 0);
        e = entry_receive();
        /* 64 caller fields travel, the rest are cut rather than the entry lost. */
        ck_assert_uint_eq(e->n_fields, 3 + 64);
        assert_field(e, "F63", "v");
        ck_assert_uint_eq(field_count(e, "F64"), 0);
}
END_TEST

START_TEST(test_priority_filter) {
        _cleanup_(entry_freep) Entry *warning = NULL, *error = NULL;

        log_open("test-ident", LOG_WARNING);
        ck_assert_int_eq(log_info("filtered"), 0);
        ck_assert_int_eq(log_debug("filtered"), 0);
        ck_assert_int_eq(log_notice("filtered"), 0);
        ck_assert_int_eq(log_warning("kept warning"), 0);
        ck_assert_int_eq(log_error("kept error"), 0);
        warning = entry_receive();
        assert_field(warning, "MESSAGE", "kept warning");
        assert_field(warning, "PRIORITY", "4");
        error = entry_receive();
        assert_field(error, "MESSAGE", "kept error");
        assert_field(error, "PRIORITY", "3");
        assert_no_entry();
}
END_TEST

START_TEST(test_level_from_environment) {
        static const struct {
                const char *level;
                int passes, filtered; /* a priority that passes, one that does not */
        } cases[] = {
                {"debug", LOG_DEBUG, -1},
                {"info", LOG_INFO, LOG_DEBUG},
                {"notice", LOG_NOTICE, LOG_INFO},
                {"warning", LOG_WARNING, LOG_NOTICE},
                {"err", LOG_ERR, LOG_WARNING},
                {"3", LOG_ERR, LOG_WARNING},
                {"7", LOG_DEBUG, -1},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(entry_freep) Entry *e = NULL;

                ck_assert_int_eq(setenv("ASHD_LOG_LEVEL", cases[i].level, 1), 0);
                /* The environment overrides the program's own choice, both ways. */
                log_open("test-ident", cases[i].passes == LOG_DEBUG ? LOG_ERR : LOG_DEBUG);
                if (cases[i].filtered >= 0)
                        ck_assert_int_eq(log_fields(cases[i].filtered, NULL, "filtered"), 0);
                ck_assert_int_eq(log_fields(cases[i].passes, NULL, "passes %s", cases[i].level), 0);
                e = entry_receive();
                assert_field(e, "PRIORITY", (char[]){'0' + cases[i].passes, '\0'});
                assert_no_entry();
        }

        /* Nonsense is ignored: the program's max_priority stands. */
        ck_assert_int_eq(setenv("ASHD_LOG_LEVEL", "loud", 1), 0);
        log_open("test-ident", LOG_NOTICE);
        ck_assert_int_eq(log_info("filtered"), 0);
        assert_no_entry();
}
END_TEST

/* Fills the test socket's queue until the module drops an entry; returns how
 * many entries got through before that. */
static unsigned fill_queue(void) {
        unsigned sent = 0;

        for (unsigned i = 0; i < 100000; i++) {
                int r = log_fields(LOG_INFO, NULL, "filler %u", i);

                if (r == -EAGAIN)
                        return sent;
                ck_assert_int_eq(r, 0);
                sent++;
        }
        ck_abort_msg("the journal socket never filled up");
        return 0;
}

static unsigned drain_queue(void) {
        unsigned n = 0;

        for (;;) {
                _cleanup_(entry_freep) Entry *e = entry_try_receive();

                if (!e)
                        return n;
                n++;
        }
}

START_TEST(test_drop_counter) {
        unsigned sent, dropped = 1;
        double slowest = 0;
        char expected[64];

        log_open("test-ident", LOG_DEBUG);
        sent = fill_queue();
        ck_assert_uint_gt(sent, 0);
        ck_assert_uint_eq(log_dropped(), 1);

        /* A full journal never blocks the caller: each entry fails at once. */
        for (int i = 0; i < 200; i++) {
                double start = now(), took;

                ck_assert_int_eq(log_fields(LOG_ERR, NULL, "dropped %d", i), -EAGAIN);
                took = now() - start;
                if (took > slowest)
                        slowest = took;
                dropped++;
        }
        ck_assert_msg(slowest < 0.5, "a dropped entry took %.3f s", slowest);
        ck_assert_uint_eq(log_dropped(), dropped);

        ck_assert_uint_eq(drain_queue(), sent);
        ck_assert_int_eq(log_info("after the stall"), 0);
        {
                _cleanup_(entry_freep) Entry *report = entry_receive();
                _cleanup_(entry_freep) Entry *e = entry_receive();

                snprintf(expected, sizeof(expected), "%u log entries were dropped", dropped);
                assert_field(report, "MESSAGE", expected);
                snprintf(expected, sizeof(expected), "%u", dropped);
                assert_field(report, "ASHD_DROPPED", expected);
                assert_field(report, "PRIORITY", "4");
                assert_field(report, "SYSLOG_IDENTIFIER", "test-ident");
                assert_field(e, "MESSAGE", "after the stall");
        }
        ck_assert_uint_eq(log_dropped(), 0);

        /* Reported once: the next entry comes alone. */
        ck_assert_int_eq(log_info("later"), 0);
        {
                _cleanup_(entry_freep) Entry *e = entry_receive();

                assert_field(e, "MESSAGE", "later");
        }
        assert_no_entry();
}
END_TEST

START_TEST(test_drop_report_waits_for_room) {
        unsigned sent;

        log_open("test-ident", LOG_DEBUG);
        sent = fill_queue();
        ck_assert_uint_eq(log_dropped(), 1);

        /* Room for one datagram: the report takes it, and the entry after it
         * is dropped and counted afresh. */
        { _cleanup_(entry_freep) Entry *first = entry_receive(); }
        ck_assert_int_eq(log_info("no room for me"), -EAGAIN);
        ck_assert_uint_eq(log_dropped(), 1);
        for (unsigned i = 1; i < sent; i++) {
                _cleanup_(entry_freep) Entry *filler = entry_receive();
                char expected[32];

                snprintf(expected, sizeof(expected), "filler %u", i);
                assert_field(filler, "MESSAGE", expected);
        }
        {
                _cleanup_(entry_freep) Entry *report = entry_receive();

                assert_field(report, "MESSAGE", "1 log entries were dropped");
                assert_field(report, "ASHD_DROPPED", "1");
        }
        assert_no_entry();

        /* The entry dropped after the report gets a report of its own. */
        ck_assert_int_eq(log_info("room again"), 0);
        {
                _cleanup_(entry_freep) Entry *report = entry_receive();
                _cleanup_(entry_freep) Entry *e = entry_receive();

                assert_field(report, "ASHD_DROPPED", "1");
                assert_field(e, "MESSAGE", "room again");
        }
        ck_assert_uint_eq(log_dropped(), 0);
        assert_no_entry();
}
END_TEST

START_TEST(test_drops_reported_on_stderr_when_journal_gone) {
        int err = capture_stderr();
        char expected[512];

        log_open("test-ident", LOG_DEBUG);
        fill_queue();
        ck_assert_int_eq(log_info("dropped too"), -EAGAIN);
        ck_assert_uint_eq(log_dropped(), 2);

        /* journald goes away: nothing is lost, the report and the entry go to stderr. */
        journal_fd = safe_close(journal_fd);
        ck_assert_int_eq(unlink(journal_path), 0);
        ck_assert_int_eq(log_info("after journald"), 0);
        ck_assert_uint_eq(log_dropped(), 0);
        snprintf(expected, sizeof(expected),
                 "test-ident[%d]: <warning> 2 log entries were dropped ASHD_DROPPED=2\n"
                 "test-ident[%d]: <info> after journald\n",
                 (int) getpid(), (int) getpid());
        assert_captured(err, expected);
        close(err);
}
END_TEST

START_TEST(test_fallback_when_socket_missing) {
        const LogField fields[] = {{"HANDLER", "sendfile"}, {"STATUS", "503"}, {NULL}};
        int err = capture_stderr();
        char missing[PATH_MAX], expected[512];

        path_in_scratch(missing, sizeof(missing), "missing.sock");
        log_set_journal_socket(missing);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_JOURNAL); /* forced by ASHD_LOG */
        ck_assert_int_eq(log_fields(LOG_ERR, fields, "handler %s refused", "sendfile"), 0);
        ck_assert_uint_eq(log_dropped(), 0);
        snprintf(expected, sizeof(expected),
                 "test-ident[%d]: <err> handler sendfile refused HANDLER=sendfile STATUS=503\n",
                 (int) getpid());
        assert_captured(err, expected);
        assert_no_entry();
        close(err);
}
END_TEST

START_TEST(test_fallback_when_refused) {
        int err = capture_stderr();
        char refused[PATH_MAX], expected[256];

        /* The path exists but nobody listens: a journald that died. */
        path_in_scratch(refused, sizeof(refused), "refused.sock");
        safe_close(bind_datagram(refused));
        log_set_journal_socket(refused);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_warning("nobody listens"), 0);
        snprintf(expected, sizeof(expected), "test-ident[%d]: <warning> nobody listens\n", (int) getpid());
        assert_captured(err, expected);
        close(err);
}
END_TEST

START_TEST(test_stderr_format_and_levels) {
        static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                            "warning", "notice", "info", "debug"};
        const LogField fields[] = {{"A", "1"}, {"B", "two words"}, {"bad", "skipped"}, {NULL}};
        int err = capture_stderr();
        char expected[4096] = "", line[256];

        ck_assert_int_eq(setenv("ASHD_LOG", "stderr", 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);
        for (int p = LOG_EMERG; p <= LOG_DEBUG; p++) {
                ck_assert_int_eq(log_fields(p, fields, "level %d", p), 0);
                snprintf(line, sizeof(line), "test-ident[%d]: <%s> level %d A=1 B=two words\n",
                         (int) getpid(), names[p], p);
                strcat(expected, line);
        }
        assert_captured(err, expected);
        /* ASHD_LOG=stderr wins over a journal that is there. */
        assert_no_entry();
        close(err);
}
END_TEST

START_TEST(test_stderr_escaping) {
        const LogField fields[] = {{"PATH", "/x\ny\x1b[31m\\"}, {NULL}};
        int err = capture_stderr();
        char buf[4096], expected[512];
        size_t len;

        ck_assert_int_eq(setenv("ASHD_LOG", "stderr", 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_fields(LOG_ERR, fields, "evil %s",
                                    "a\nfake[1]: <err> b\x1b]0;title\x07 \xc2\x9b \xff é\t"),
                         0);
        len = read_captured(err, buf, sizeof(buf));
        snprintf(expected, sizeof(expected),
                 "test-ident[%d]: <err> evil a\\nfake[1]: <err> b\\x1b]0;title\\x07 \\xc2\\x9b \\xff é\\x09 "
                 "PATH=/x\\ny\\x1b[31m\\\\\n",
                 (int) getpid());
        ck_assert_str_eq(buf, expected);
        /* One line, and nothing a terminal would act on. */
        ck_assert_ptr_eq(memchr(buf, '\n', len), buf + len - 1);
        for (size_t i = 0; i < len - 1; i++)
                ck_assert_msg((unsigned char) buf[i] >= 0x20 && buf[i] != 0x7f, "control byte at %zu", i);
        close(err);
}
END_TEST

START_TEST(test_stderr_dead_socket) {
        int pair[2];

        /* stderr as a journal stream whose journald is gone: an entry must not
         * kill the program with SIGPIPE. */
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        ck_assert_int_eq(dup2(pair[0], STDERR_FILENO), STDERR_FILENO);
        close(pair[0]);
        close(pair[1]);
        ck_assert_int_eq(setenv("ASHD_LOG", "stderr", 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_info("nobody reads this"), 0);
        ck_assert_int_eq(log_info("nor this"), 0);
}
END_TEST

START_TEST(test_stderr_long_line_truncated) {
        _cleanup_free_ char *big = malloc(100000);
        const LogField fields[] = {{"BIG", big}, {NULL}};
        int err = capture_stderr();
        char buf[65536];
        size_t len;

        ck_assert_ptr_nonnull(big);
        memset(big, 'y', 99999);
        big[99999] = '\0';
        ck_assert_int_eq(setenv("ASHD_LOG", "stderr", 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_fields(LOG_INFO, fields, "big one"), 0);
        len = read_captured(err, buf, sizeof(buf));
        ck_assert_uint_gt(len, 1000);
        ck_assert_uint_le(len, 8192);
        ck_assert_str_eq(buf + len - 4, "...\n");
        ck_assert_ptr_eq(memchr(buf, '\n', len), buf + len - 1);
        close(err);
}
END_TEST

START_TEST(test_log_errno) {
        _cleanup_(entry_freep) Entry *e = NULL, *f = NULL;
        char expected[256];

        log_open("test-ident", LOG_DEBUG);
        errno = EBADF;
        ck_assert_int_eq(log_errno(LOG_ERR, -ENOENT, "open %s: %m", "/etc/ashd/root.conf"), -ENOENT);
        ck_assert_int_eq(errno, EBADF); /* the caller's errno survives */
        e = entry_receive();
        snprintf(expected, sizeof(expected), "open /etc/ashd/root.conf: %s", strerror(ENOENT));
        assert_field(e, "MESSAGE", expected);
        assert_field(e, "ERRNO", "2");
        assert_field(e, "PRIORITY", "3");

        /* Plain log_fields: %m is the caller's errno, and there is no ERRNO. */
        errno = EACCES;
        ck_assert_int_eq(log_info("plain: %m"), 0);
        ck_assert_int_eq(errno, EACCES);
        f = entry_receive();
        snprintf(expected, sizeof(expected), "plain: %s", strerror(EACCES));
        assert_field(f, "MESSAGE", expected);
        ck_assert_uint_eq(field_count(f, "ERRNO"), 0);

        /* Filtered out, it still returns the error. */
        log_open("test-ident", LOG_WARNING);
        ck_assert_int_eq(log_errno(LOG_DEBUG, -EPIPE, "quiet: %m"), -EPIPE);
        assert_no_entry();
}
END_TEST

START_TEST(test_oversized_value_truncated) {
        size_t big_len = 16 << 20, medium_len = 64 << 10;
        _cleanup_free_ char *big = malloc(big_len + 1), *medium = malloc(medium_len + 1);
        const LogField fields[] = {{"BIG", big}, {"SMALL", "intact"}, {NULL}};
        const LogField medium_fields[] = {{"MEDIUM", medium}, {NULL}};
        _cleanup_(entry_freep) Entry *e = NULL, *m = NULL;

        ck_assert_ptr_nonnull(big);
        ck_assert_ptr_nonnull(medium);
        memset(big, 'x', big_len);
        big[big_len] = '\0';
        memset(medium, 'm', medium_len);
        medium[medium_len] = '\0';
        log_open("test-ident", LOG_DEBUG);

        /* Far beyond any datagram: cut, not lost. */
        ck_assert_int_eq(log_fields(LOG_INFO, fields, "big value"), 0);
        e = entry_receive();
        assert_field(e, "MESSAGE", "big value");
        assert_field(e, "SMALL", "intact");
        ck_assert_uint_eq(field_get(e, "BIG")->len, 2048);
        assert_field_bytes(e, "BIG", big, 2048);

        /* A value that fits travels whole. */
        ck_assert_int_eq(log_fields(LOG_INFO, medium_fields, "medium value"), 0);
        m = entry_receive();
        assert_field(m, "MEDIUM", medium);
        ck_assert_uint_eq(log_dropped(), 0);
}
END_TEST

START_TEST(test_long_message_truncated) {
        _cleanup_free_ char *text = malloc(10001);
        _cleanup_(entry_freep) Entry *e = NULL;
        const Field *f;

        ck_assert_ptr_nonnull(text);
        memset(text, 'z', 10000);
        text[10000] = '\0';
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_info("%s", text), 0);
        e = entry_receive();
        f = field_get(e, "MESSAGE");
        ck_assert_uint_eq(f->len, 4095);
        ck_assert_int_eq(memcmp(f->value, text, 4092), 0);
        ck_assert_int_eq(memcmp(f->value + 4092, "...", 3), 0);
}
END_TEST

START_TEST(test_auto_pipe_chooses_journal) {
        int err = capture_stderr();

        unsetenv("ASHD_LOG");
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_JOURNAL);
        ck_assert_int_eq(log_info("to the journal"), 0);
        {
                _cleanup_(entry_freep) Entry *e = entry_receive();

                assert_field(e, "MESSAGE", "to the journal");
        }
        assert_captured(err, "");
        close(err);
}
END_TEST

START_TEST(test_auto_without_journal_chooses_stderr) {
        int err = capture_stderr();
        char path[PATH_MAX], expected[256];

        unsetenv("ASHD_LOG");
        path_in_scratch(path, sizeof(path), "missing.sock");
        log_set_journal_socket(path);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);

        path_in_scratch(path, sizeof(path), "refused.sock");
        safe_close(bind_datagram(path));
        log_set_journal_socket(path);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);

        ck_assert_int_eq(log_info("on stderr"), 0);
        snprintf(expected, sizeof(expected), "test-ident[%d]: <info> on stderr\n", (int) getpid());
        assert_captured(err, expected);
        close(err);
}
END_TEST

/* Points stderr at a new pty, for a stderr that is a terminal. */
static void stderr_to_terminal(struct stat *ret) {
        _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -EBADF;

        ck_assert_int_ge(master, 0);
        ck_assert_int_eq(grantpt(master), 0);
        ck_assert_int_eq(unlockpt(master), 0);
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        ck_assert_int_ge(slave, 0);
        ck_assert_int_eq(dup2(slave, STDERR_FILENO), STDERR_FILENO);
        ck_assert(isatty(STDERR_FILENO));
        ck_assert_int_eq(fstat(STDERR_FILENO, ret), 0);
        /* Keep the master open for the rest of the test process. */
        master = -EBADF;
}

START_TEST(test_auto_terminal_and_journal_stream) {
        struct stat st;
        char stream[64];

        unsetenv("ASHD_LOG");
        stderr_to_terminal(&st);

        /* A terminal wants readable lines, even with a journal around. */
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);

        /* JOURNAL_STREAM naming our stderr: systemd connected it to the journal. */
        snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        ck_assert_int_eq(setenv("JOURNAL_STREAM", stream, 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_JOURNAL);

        /* Inherited from some parent, it names another file: ignored. */
        snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino + 1);
        ck_assert_int_eq(setenv("JOURNAL_STREAM", stream, 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);

        ck_assert_int_eq(setenv("JOURNAL_STREAM", "garbage", 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);

        /* ASHD_LOG=journal forces the journal even on a terminal. */
        ck_assert_int_eq(setenv("ASHD_LOG", "journal", 1), 0);
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_JOURNAL);
}
END_TEST

START_TEST(test_before_open) {
        int err = capture_stderr();
        char expected[256];

        /* Before log_open(): stderr, the program's name, info and above. */
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);
        ck_assert_int_eq(log_debug("filtered"), 0);
        ck_assert_int_eq(log_error("early %s", "error"), 0);
        snprintf(expected, sizeof(expected), "%s[%d]: <err> early error\n", program_invocation_short_name,
                 (int) getpid());
        assert_captured(err, expected);
        assert_no_entry();
        close(err);
}
END_TEST

START_TEST(test_close) {
        int err = capture_stderr();
        char expected[256];

        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_target(), LOG_TARGET_JOURNAL);
        log_close();
        ck_assert_int_eq(log_target(), LOG_TARGET_STDERR);
        ck_assert_int_eq(log_info("after close"), 0);
        snprintf(expected, sizeof(expected), "test-ident[%d]: <info> after close\n", (int) getpid());
        assert_captured(err, expected);
        assert_no_entry();

        /* And open again. */
        log_open("test-ident", LOG_DEBUG);
        ck_assert_int_eq(log_info("reopened"), 0);
        {
                _cleanup_(entry_freep) Entry *e = entry_receive();

                assert_field(e, "MESSAGE", "reopened");
        }
        close(err);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("log");

        tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_fields);
        tcase_add_test(tc, test_default_identifier);
        tcase_add_test(tc, test_multiline_binary_encoding);
        tcase_add_test(tc, test_invalid_field_names_skipped);
        tcase_add_test(tc, test_caller_field_limit);
        tcase_add_test(tc, test_priority_filter);
        tcase_add_test(tc, test_level_from_environment);
        tcase_add_test(tc, test_drop_counter);
        tcase_add_test(tc, test_drop_report_waits_for_room);
        tcase_add_test(tc, test_drops_reported_on_stderr_when_journal_gone);
        tcase_add_test(tc, test_fallback_when_socket_missing);
        tcase_add_test(tc, test_fallback_when_refused);
        tcase_add_test(tc, test_stderr_format_and_levels);
        tcase_add_test(tc, test_stderr_escaping);
        tcase_add_test(tc, test_stderr_dead_socket);
        tcase_add_test(tc, test_stderr_long_line_truncated);
        tcase_add_test(tc, test_log_errno);
        tcase_add_test(tc, test_oversized_value_truncated);
        tcase_add_test(tc, test_long_message_truncated);
        tcase_add_test(tc, test_auto_pipe_chooses_journal);
        tcase_add_test(tc, test_auto_without_journal_chooses_stderr);
        tcase_add_test(tc, test_auto_terminal_and_journal_stream);
        tcase_add_test(tc, test_before_open);
        tcase_add_test(tc, test_close);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
