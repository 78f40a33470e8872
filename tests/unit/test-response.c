/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check-main.h"
#include "macro.h"
#include "request.h"
#include "response.h"

/* A response read back from the socket and split into its parts. */
typedef struct Response {
        char *data; /* the whole response, NUL-terminated */
        size_t size;
        char *status_line; /* without CRLF; these point into head */
        char *headers[32];
        size_t n_headers;
        char *head;
        const char *body;
        size_t body_len;
} Response;

static void response_done(Response *r) {
        free(r->data);
        free(r->head);
}

/* Reads fd to EOF. */
static char *read_all(int fd, size_t *ret_size) {
        size_t size = 0, allocated = 4096;
        char *data = malloc(allocated);

        ck_assert_ptr_nonnull(data);
        for (;;) {
                if (allocated - size < 4096) {
                        allocated *= 2;
                        data = realloc(data, allocated);
                        ck_assert_ptr_nonnull(data);
                }
                ssize_t n = read(fd, data + size, allocated - size - 1);
                ck_assert_int_ge(n, 0);
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        data[size] = 0;
        *ret_size = size;
        return data;
}

/* Splits a response into status line, header lines and body, checking that
 * every line of the head ends in CRLF. */
static void parse_response(char *data, size_t size, Response *r) {
        const char *end = strstr(data, "\r\n\r\n");

        *r = (Response){.data = data, .size = size};
        ck_assert_ptr_nonnull(end);
        r->head = strndup(data, (size_t) (end - data) + 2);
        ck_assert_ptr_nonnull(r->head);
        r->body = end + 4;
        r->body_len = size - (size_t) (r->body - data);

        char *line = r->head;
        for (;;) {
                char *crlf = strstr(line, "\r\n");
                if (!crlf)
                        break;
                *crlf = 0;
                ck_assert_ptr_null(strpbrk(line, "\r\n"));
                if (!r->status_line)
                        r->status_line = line;
                else {
                        ck_assert_uint_lt(r->n_headers, ELEMENTSOF(r->headers));
                        r->headers[r->n_headers++] = line;
                }
                line = crlf + 2;
        }
        ck_assert_str_eq(line, "");
        ck_assert_ptr_nonnull(r->status_line);
}

/* The value of the only header called name, or NULL. */
static const char *header(const Response *r, const char *name) {
        size_t len = strlen(name);
        const char *found = NULL;

        for (size_t i = 0; i < r->n_headers; i++)
                if (strncasecmp(r->headers[i], name, len) == 0 && r->headers[i][len] == ':') {
                        ck_assert_msg(!found, "header %s twice", name);
                        found = r->headers[i] + len + 1 + strspn(r->headers[i] + len + 1, " ");
                }
        return found;
}

static bool body_contains(const Response *r, const char *s) {
        return memmem(r->body, r->body_len, s, strlen(s)) != NULL;
}

/* Runs a writer against one end of a stream socketpair and parses what the
 * other end reads. Returns what the writer returned. */
static int capture(Response *r, int (*writer)(int fd, int status, const char *s), int status,
                   const char *s) {
        int pair[2], ret;
        size_t size;
        char *data;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        ret = writer(pair[0], status, s);
        safe_close(pair[0]);
        data = read_all(pair[1], &size);
        safe_close(pair[1]);

        if (ret < 0) {
                /* A refused response writes nothing at all. */
                ck_assert_uint_eq(size, 0);
                free(data);
                *r = (Response){};
                return ret;
        }
        parse_response(data, size, r);
        return ret;
}

/* Checks that the Content-Length header matches the body exactly. */
static void assert_content_length(const Response *r) {
        const char *cl = header(r, "Content-Length");
        char *end;

        ck_assert_ptr_nonnull(cl);
        ck_assert(*cl >= '0' && *cl <= '9');
        unsigned long long n = strtoull(cl, &end, 10);
        ck_assert_str_eq(end, "");
        ck_assert_uint_eq(n, r->body_len);
}

START_TEST(test_status_reasons) {
        static const struct {
                int status;
                const char *reason;
        } table[] = {
                {100, "Continue"},
                {101, "Switching Protocols"},
                {200, "OK"},
                {201, "Created"},
                {202, "Accepted"},
                {203, "Non-Authoritative Information"},
                {204, "No Content"},
                {205, "Reset Content"},
                {206, "Partial Content"},
                {300, "Multiple Choices"},
                {301, "Moved Permanently"},
                {302, "Found"},
                {303, "See Other"},
                {304, "Not Modified"},
                {305, "Use Proxy"},
                {306, "Unused"},
                {307, "Temporary Redirect"},
                {308, "Permanent Redirect"},
                {400, "Bad Request"},
                {401, "Unauthorized"},
                {402, "Payment Required"},
                {403, "Forbidden"},
                {404, "Not Found"},
                {405, "Method Not Allowed"},
                {406, "Not Acceptable"},
                {407, "Proxy Authentication Required"},
                {408, "Request Timeout"},
                {409, "Conflict"},
                {410, "Gone"},
                {411, "Length Required"},
                {412, "Precondition Failed"},
                {413, "Content Too Large"},
                {414, "URI Too Long"},
                {415, "Unsupported Media Type"},
                {416, "Range Not Satisfiable"},
                {417, "Expectation Failed"},
                {418, "I'm a teapot"},
                {421, "Misdirected Request"},
                {422, "Unprocessable Content"},
                {425, "Too Early"},
                {426, "Upgrade Required"},
                {428, "Precondition Required"},
                {429, "Too Many Requests"},
                {431, "Request Header Fields Too Large"},
                {451, "Unavailable For Legal Reasons"},
                {500, "Internal Server Error"},
                {501, "Not Implemented"},
                {502, "Bad Gateway"},
                {503, "Service Unavailable"},
                {504, "Gateway Timeout"},
                {505, "HTTP Version Not Supported"},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                ck_assert_str_eq(http_status_reason(table[i].status), table[i].reason);

        static const int unknown[] = {-1, 0, 99, 199, 207, 299, 309, 419, 499, 599, 600, 1000};
        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                ck_assert_str_eq(http_status_reason(unknown[i]), "Unknown");
}
END_TEST

static void assert_date(time_t t, const char *expected) {
        char buf[30];

        memset(buf, 'X', sizeof(buf));
        http_date(t, buf);
        ck_assert_str_eq(buf, expected);
}

START_TEST(test_http_date) {
        assert_date(784111777, "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_date(2147483648, "Tue, 19 Jan 2038 03:14:08 GMT");
        assert_date(253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_date(-86400, "Wed, 31 Dec 1969 00:00:00 GMT");
        /* A date that needs a fifth digit of year cannot be an IMF-fixdate. */
        assert_date(253402300800, "Thu, 01 Jan 1970 00:00:00 GMT");
}
END_TEST

START_TEST(test_http_date_matches_c_locale) {
        char buf[30], expected[64];
        struct tm tm;

        /* Every weekday and month, against strftime in the C locale; t steps
         * by a bit more than a day so hours, minutes and seconds vary too.
         * Plain ifs in the loop: each ck_assert reports to the runner. */
        for (time_t t = -2208988800; t < 4102444800; t += 86400 * 3 + 3671) {
                if (!gmtime_r(&t, &tm) ||
                    strftime(expected, sizeof(expected), "%a, %d %b %Y %H:%M:%S GMT", &tm) != 29)
                        ck_abort_msg("strftime failed for %lld", (long long) t);
                http_date(t, buf);
                if (!streq(buf, expected))
                        ck_abort_msg("%lld: \"%s\", expected \"%s\"", (long long) t, buf, expected);
        }
        ck_assert_str_eq(buf, expected);
}
END_TEST

/* Checks the Date header of a response written between t0 and t1. */
static void assert_date_header(const Response *r, time_t t0, time_t t1) {
        const char *date = header(r, "Date");
        char buf[30];

        ck_assert_ptr_nonnull(date);
        for (time_t t = t0; t <= t1; t++) {
                http_date(t, buf);
                if (streq(buf, date))
                        return;
        }
        ck_abort_msg("Date \"%s\" is not the time of writing", date);
}

START_TEST(test_simple) {
        Response r;
        time_t t0 = time(NULL);

        ck_assert_int_eq(capture(&r, response_simple, 404, "No such page."), 0);
        time_t t1 = time(NULL);

        ck_assert_str_eq(r.status_line, "HTTP/1.1 404 Not Found");
        assert_date_header(&r, t0, t1);
        ck_assert_str_eq(header(&r, "Content-Type"), "text/html; charset=utf-8");
        assert_content_length(&r);
        ck_assert_ptr_null(header(&r, "Location"));
        ck_assert_uint_eq(r.n_headers, 3);
        ck_assert(body_contains(&r, "<title>Not Found</title>"));
        ck_assert(body_contains(&r, "No such page."));
        ck_assert_uint_eq(strlen(r.body), r.body_len);
        response_done(&r);
}
END_TEST

START_TEST(test_simple_without_message) {
        Response r;

        ck_assert_int_eq(capture(&r, response_simple, 503, NULL), 0);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 503 Service Unavailable");
        assert_content_length(&r);
        ck_assert(body_contains(&r, "<title>Service Unavailable</title>"));
        ck_assert(!body_contains(&r, "<p>"));
        response_done(&r);
}
END_TEST

START_TEST(test_simple_escapes_message) {
        Response r;

        ck_assert_int_eq(capture(&r, response_simple, 400, "<script>&\"'"), 0);
        assert_content_length(&r);
        ck_assert(body_contains(&r, "&lt;script&gt;&amp;&quot;&#39;"));
        ck_assert(!body_contains(&r, "<script>"));
        ck_assert(!body_contains(&r, "&\""));
        response_done(&r);

        /* The reason phrase is escaped in the page, not in the status line. */
        ck_assert_int_eq(capture(&r, response_simple, 418, NULL), 0);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 418 I'm a teapot");
        ck_assert(body_contains(&r, "<title>I&#39;m a teapot</title>"));
        assert_content_length(&r);
        response_done(&r);
}
END_TEST

START_TEST(test_simple_large_message) {
        _cleanup_free_ char *message = NULL, *expected = NULL;
        const size_t n = 5000;
        Response r;

        /* Four times longer once escaped: far past any stack buffer. */
        message = malloc(n + 1);
        expected = malloc(n * 4 + 1);
        ck_assert_ptr_nonnull(message);
        ck_assert_ptr_nonnull(expected);
        memset(message, '<', n);
        message[n] = 0;
        for (size_t i = 0; i < n; i++)
                memcpy(expected + i * 4, "&lt;", 4);
        expected[n * 4] = 0;

        ck_assert_int_eq(capture(&r, response_simple, 500, message), 0);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 500 Internal Server Error");
        assert_content_length(&r);
        ck_assert(body_contains(&r, expected));
        response_done(&r);
}
END_TEST

START_TEST(test_unknown_status) {
        Response r;

        ck_assert_int_eq(capture(&r, response_simple, 599, "x"), 0);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 599 Unknown");
        assert_content_length(&r);
        response_done(&r);

        ck_assert_int_eq(capture(&r, response_simple, 99, "x"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_simple, 1000, "x"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_simple, -404, "x"), -EINVAL);
}
END_TEST

START_TEST(test_bodyless_status) {
        static const int statuses[] = {204, 304, 100};
        Response r;

        /* These never carry a body, so no page and no length is sent. */
        for (size_t i = 0; i < ELEMENTSOF(statuses); i++) {
                ck_assert_int_eq(capture(&r, response_simple, statuses[i], "ignored"), 0);
                ck_assert_uint_eq(r.body_len, 0);
                ck_assert_ptr_null(header(&r, "Content-Length"));
                ck_assert_ptr_null(header(&r, "Content-Type"));
                ck_assert_ptr_nonnull(header(&r, "Date"));
                response_done(&r);
        }
}
END_TEST

START_TEST(test_redirect) {
        Response r;

        ck_assert_int_eq(capture(&r, response_redirect, 301, "/dir/"), 0);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 301 Moved Permanently");
        ck_assert_str_eq(header(&r, "Location"), "/dir/");
        ck_assert_ptr_nonnull(header(&r, "Date"));
        ck_assert_str_eq(header(&r, "Content-Type"), "text/html; charset=utf-8");
        assert_content_length(&r);
        ck_assert(body_contains(&r, "<a href=\"/dir/\">/dir/</a>"));
        response_done(&r);

        /* The header carries the location as given; the page escapes it. */
        ck_assert_int_eq(capture(&r, response_redirect, 302, "/a?b=1&c=\"<x>\"'"), 0);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 302 Found");
        ck_assert_str_eq(header(&r, "Location"), "/a?b=1&c=\"<x>\"'");
        assert_content_length(&r);
        ck_assert(body_contains(&r, "href=\"/a?b=1&amp;c=&quot;&lt;x&gt;&quot;&#39;\""));
        ck_assert(!body_contains(&r, "<x>"));
        response_done(&r);
}
END_TEST

START_TEST(test_redirect_refuses_control_characters) {
        Response r;

        ck_assert_int_eq(capture(&r, response_redirect, 302, "/a\r\nSet-Cookie: x=1"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_redirect, 302, "/a\nSet-Cookie: x=1"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_redirect, 302, "/a\r"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_redirect, 302, "/a\tb"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_redirect, 302, "/a\x7f"), -EINVAL);
        ck_assert_int_eq(capture(&r, response_redirect, 302, NULL), -EINVAL);
}
END_TEST

START_TEST(test_write_to_pipe) {
        int p[2];
        size_t size;
        Response r;

        /* Transient handlers may answer on a stdout that is no socket. */
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(response_simple(p[1], 403, "no"), 0);
        safe_close(p[1]);
        char *data = read_all(p[0], &size);
        parse_response(data, size, &r);
        safe_close(p[0]);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 403 Forbidden");
        assert_content_length(&r);
        response_done(&r);
}
END_TEST

START_TEST(test_epipe) {
        _cleanup_close_ int a = -EBADF;
        int pair[2];

        /* SIGPIPE's default action would end the test. */
        ck_assert(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        a = pair[0];
        safe_close(pair[1]);

        ck_assert_int_eq(response_simple(a, 404, "gone"), -EPIPE);
        ck_assert_int_eq(response_redirect(a, 302, "/x"), -EPIPE);
}
END_TEST

START_TEST(test_eagain) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        int pair[2];
        char chunk[4096] = {};

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair), 0);
        a = pair[0];
        b = pair[1];
        while (write(a, chunk, sizeof(chunk)) > 0)
                ;
        ck_assert_int_eq(errno, EAGAIN);

        ck_assert_int_eq(response_simple(a, 404, "full"), -EAGAIN);
}
END_TEST

static atomic_int signals_caught;

static void on_signal(int sig) {
        atomic_fetch_add(&signals_caught, 1);
}

/* Whether thread tid is blocked in system call nr, from /proc: the kernel
 * reports the number only while the thread sleeps in the call. */
static bool thread_in_syscall(pid_t tid, long nr) {
        char path[64], buf[128], *end;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int) tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = 0;
        return strtol(buf, &end, 10) == nr && end != buf && *end == ' ';
}

typedef struct Reader {
        pthread_t target;
        pid_t target_tid;
        int fd;
        char *data;
        size_t size;
} Reader;

/* Waits until the main thread sleeps in send() on the full socket,
 * interrupts it, and only then reads the response to its end. */
static void *interrupt_then_read(void *userdata) {
        Reader *rd = userdata;

        while (!thread_in_syscall(rd->target_tid, SYS_sendto))
                sched_yield();
        pthread_kill(rd->target, SIGUSR1);
        while (atomic_load(&signals_caught) == 0)
                sched_yield();
        rd->data = read_all(rd->fd, &rd->size);
        return NULL;
}

START_TEST(test_interrupted_write) {
        _cleanup_free_ char *message = NULL;
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
        const size_t n = 256 * 1024;
        int pair[2];
        pthread_t thread;
        Response r;

        atomic_store(&signals_caught, 0);
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
        message = malloc(n + 1);
        ck_assert_ptr_nonnull(message);
        memset(message, '&', n);
        message[n] = 0;
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);

        Reader rd = {.target = pthread_self(), .target_tid = gettid(), .fd = pair[1]};
        ck_assert_int_eq(pthread_create(&thread, NULL, interrupt_then_read, &rd), 0);

        /* The signal cuts the blocking send short (or fails it with EINTR);
         * either way the rest must follow. */
        ck_assert_int_eq(response_simple(pair[0], 413, message), 0);
        safe_close(pair[0]);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        safe_close(pair[1]);
        ck_assert_int_eq(atomic_load(&signals_caught), 1);

        parse_response(rd.data, rd.size, &r);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 413 Content Too Large");
        assert_content_length(&r);
        ck_assert_uint_gt(r.body_len, n * 5);
        response_done(&r);
}
END_TEST

START_TEST(test_interrupted_before_writing) {
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
        char chunk[4096];
        size_t filled = 0;
        int pair[2];
        ssize_t k;
        pthread_t thread;
        Response r;

        atomic_store(&signals_caught, 0);
        sigemptyset(&sa.sa_mask);
        ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);

        /* With the socket already full, the first send() blocks before it
         * writes a byte, so the signal makes it fail with EINTR. */
        memset(chunk, 'J', sizeof(chunk));
        while ((k = send(pair[0], chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
                filled += (size_t) k;
        ck_assert_int_eq(errno, EAGAIN);

        Reader rd = {.target = pthread_self(), .target_tid = gettid(), .fd = pair[1]};
        ck_assert_int_eq(pthread_create(&thread, NULL, interrupt_then_read, &rd), 0);

        ck_assert_int_eq(response_simple(pair[0], 404, "late"), 0);
        safe_close(pair[0]);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        safe_close(pair[1]);
        ck_assert_int_eq(atomic_load(&signals_caught), 1);

        ck_assert_uint_gt(rd.size, filled);
        /* One assertion, not one per byte: each ck_assert reports to the
         * runner, which is slow enough to hit the timeout under load. */
        ck_assert_uint_eq(strspn(rd.data, "J"), filled);
        memmove(rd.data, rd.data + filled, rd.size - filled + 1);
        parse_response(rd.data, rd.size - filled, &r);
        ck_assert_str_eq(r.status_line, "HTTP/1.1 404 Not Found");
        assert_content_length(&r);
        ck_assert(body_contains(&r, "late"));
        response_done(&r);
}
END_TEST

/* 100 Continue is written exactly when htparser announced a waiting client. */
START_TEST(test_continue) {
        _cleanup_(req_freep) Request *with = NULL, *without = NULL;
        char buf[128];
        int sv[2];
        ssize_t n;

        ck_assert_int_eq(req_new("POST", "/u", "HTTP/1.1", "u", &with), 0);
        ck_assert_int_eq(req_header_add(with, "X-Ash-Expect", "100-continue"), 0);
        ck_assert_int_eq(req_new("POST", "/u", "HTTP/1.1", "u", &without), 0);
        ck_assert_int_eq(req_header_add(without, "Expect", "100-continue"), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);

        ck_assert_int_eq(response_continue(sv[0], without), 0);
        ck_assert_int_eq(response_continue(sv[0], with), 1);
        close(sv[0]);
        n = read(sv[1], buf, sizeof(buf) - 1);
        ck_assert_int_gt(n, 0);
        buf[n] = 0;
        ck_assert_str_eq(buf, "HTTP/1.1 100 Continue\r\n\r\n");
        close(sv[1]);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("response");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_status_reasons);
        tcase_add_test(tc, test_http_date);
        tcase_add_test(tc, test_http_date_matches_c_locale);
        tcase_add_test(tc, test_simple);
        tcase_add_test(tc, test_simple_without_message);
        tcase_add_test(tc, test_simple_escapes_message);
        tcase_add_test(tc, test_simple_large_message);
        tcase_add_test(tc, test_unknown_status);
        tcase_add_test(tc, test_bodyless_status);
        tcase_add_test(tc, test_redirect);
        tcase_add_test(tc, test_redirect_refuses_control_characters);
        tcase_add_test(tc, test_write_to_pipe);
        tcase_add_test(tc, test_epipe);
        tcase_add_test(tc, test_eagain);
        tcase_add_test(tc, test_interrupted_write);
        tcase_add_test(tc, test_interrupted_before_writing);
        tcase_add_test(tc, test_continue);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
