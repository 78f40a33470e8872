/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-main.h"
#include "transient.h"

static Request *make_request(void) {
        Request *r = NULL;

        ck_assert_int_eq(req_new("POST", "/cgi/x.cgi?a=1", "HTTP/1.0", "x.cgi", &r), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "example.org"), 0);
        ck_assert_int_eq(req_header_add(r, "Content-Type", "text/plain"), 0);
        ck_assert_int_eq(req_header_add(r, "X-Ash-File", "/srv/www/x.cgi"), 0);
        return r;
}

static void assert_strv_eq(char **got, const char *const *expected) {
        size_t i;

        for (i = 0; expected[i]; i++) {
                ck_assert_ptr_nonnull(got[i]);
                ck_assert_str_eq(got[i], expected[i]);
        }
        ck_assert_ptr_null(got[i]);
}

/* Reads from fd until EOF into buf, NUL-terminated; returns the length. */
static size_t read_all(int fd, char *buf, size_t size) {
        size_t pos = 0;

        for (;;) {
                ssize_t n = read(fd, buf + pos, size - 1 - pos);

                ck_assert_int_ge(n, 0);
                if (n == 0)
                        break;
                pos += n;
                ck_assert_uint_lt(pos, size - 1);
        }
        buf[pos] = 0;
        return pos;
}

/* Waits for pid and returns its exit status, failing if it did not exit. */
static int wait_exit(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

START_TEST(test_argv) {
        static const char *const expected[] = {"/usr/lib/ashd/handler", "-p",    "x y", "POST",
                                               "/cgi/x.cgi?a=1",        "x.cgi", NULL};
        char *const cmd[] = {"/usr/lib/ashd/handler", "-p", "x y", NULL};
        char *const empty[] = {NULL};
        _cleanup_(req_freep) Request *r = make_request();
        _cleanup_strv_ char **argv = NULL;
        char **untouched = (char **) cmd;

        ck_assert_int_eq(transient_argv(cmd, r, &argv), 0);
        assert_strv_eq(argv, expected);
        /* Copies, not the caller's strings. */
        ck_assert_ptr_ne(argv[0], cmd[0]);

        ck_assert_int_eq(transient_argv(empty, r, &untouched), -EINVAL);
        ck_assert_ptr_eq(untouched, cmd);
}
END_TEST

START_TEST(test_env) {
        static const char *const expected[] = {
                "PATH=/usr/bin",
                "REQUEST=kept",
                "HTTP_VERSIONS=kept",
                "HOME=/home/a",
                "HTTP_VERSION=HTTP/1.0",
                "REQ_HOST=example.org",
                "REQ_CONTENT_TYPE=text/plain",
                "REQ_X_ASH_FILE=/srv/www/x.cgi",
                "REQ_X_1=one",
                "REQ_EMPTY=",
                NULL,
        };
        char *const base[] = {"PATH=/usr/bin", "REQ_HOST=stale",
                              "REQUEST=kept",  "HTTP_VERSION=HTTP/0.9",
                              "REQ_OLD=stale", "HTTP_VERSIONS=kept",
                              "HTTP_VERSION",  "REQ_",
                              "HOME=/home/a",  NULL};
        _cleanup_(req_freep) Request *r = make_request();
        _cleanup_strv_ char **env = NULL;

        /* Left out: names that cannot be variables, and later headers that
         * map to a variable already set (the first one wins). */
        ck_assert_int_eq(req_header_add(r, "Bad.Name", "x"), 0);
        ck_assert_int_eq(req_header_add(r, "host", "second.example.org"), 0);
        ck_assert_int_eq(req_header_add(r, "X-1", "one"), 0);
        ck_assert_int_eq(req_header_add(r, "Content_Type", "text/html"), 0);
        ck_assert_int_eq(req_header_add(r, "With Space", "x"), 0);
        ck_assert_int_eq(req_header_add(r, "Caf\xc3\xa9", "x"), 0);
        ck_assert_int_eq(req_header_add(r, "Empty", ""), 0);
        ck_assert_int_eq(req_header_add(r, "X-1", "two"), 0);

        ck_assert_int_eq(transient_env(base, r, &env), 0);
        assert_strv_eq(env, expected);
}
END_TEST

START_TEST(test_env_no_base) {
        static const char *const expected[] = {"HTTP_VERSION=HTTP/1.1", NULL};
        static const char *const expected_headers[] = {"HTTP_VERSION=HTTP/1.0", "REQ_HOST=example.org",
                                                       "REQ_CONTENT_TYPE=text/plain",
                                                       "REQ_X_ASH_FILE=/srv/www/x.cgi", NULL};
        _cleanup_(req_freep) Request *r = NULL, *h = make_request();
        _cleanup_strv_ char **env = NULL, **env_headers = NULL;

        ck_assert_int_eq(req_new("GET", "/", "HTTP/1.1", "", &r), 0);
        ck_assert_int_eq(transient_env(NULL, r, &env), 0);
        assert_strv_eq(env, expected);
        ck_assert_int_eq(transient_env(NULL, h, &env_headers), 0);
        assert_strv_eq(env_headers, expected_headers);
}
END_TEST

/* A real shell script as the handler: what it prints proves its arguments,
 * environment, stdin, stdout and stderr. */
START_TEST(test_spawn) {
        static const char script[] = "printf '[%s]\\n' \"$0\" \"$@\"\n"
                                     "printf 'version=%s\\n' \"$HTTP_VERSION\"\n"
                                     "printf 'host=%s\\n' \"$REQ_HOST\"\n"
                                     "printf 'file=%s\\n' \"$REQ_X_ASH_FILE\"\n"
                                     "printf 'stale=%s\\n' \"${REQ_STALE-unset}\"\n"
                                     "printf 'kept=%s\\n' \"$TRANSIENT_TEST_KEPT\"\n"
                                     "read -r line\n"
                                     "printf 'stdin=%s\\n' \"$line\"\n"
                                     "printf 'stderr=%s\\n' \"$(readlink /proc/$$/fd/2)\"\n";
        char *const cmd[] = {"/bin/sh", "-c", (char *) script, "handler", NULL};
        _cleanup_(req_freep) Request *r = NULL;
        char out[4096], expected[1024], err_path[512] = "";
        pid_t pid = 0;
        int sv[2];

        r = make_request();
        ck_assert_int_eq(req_set_rest(r, "a b/c"), 0);

        /* A stale request variable of the parent must not leak through. */
        ck_assert_int_eq(setenv("REQ_STALE", "from parent", 1), 0);
        ck_assert_int_eq(setenv("TRANSIENT_TEST_KEPT", "yes", 1), 0);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(transient_spawn(cmd, r, sv[1], &pid), 0);
        ck_assert_int_gt(pid, 0);
        unsetenv("REQ_STALE");
        unsetenv("TRANSIENT_TEST_KEPT");

        /* resp_fd stays the caller's to close. */
        ck_assert_int_ge(fcntl(sv[1], F_GETFD), 0);
        ck_assert_int_eq(close(sv[1]), 0);

        ck_assert_int_eq(write(sv[0], "request body\n", 13), 13);
        ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
        read_all(sv[0], out, sizeof(out));
        close(sv[0]);
        ck_assert_int_eq(wait_exit(pid), 0);

        ck_assert_int_gt(readlink("/proc/self/fd/2", err_path, sizeof(err_path) - 1), 0);
        snprintf(expected, sizeof(expected),
                 "[handler]\n[POST]\n[/cgi/x.cgi?a=1]\n[a b/c]\n"
                 "version=HTTP/1.0\nhost=example.org\nfile=/srv/www/x.cgi\nstale=unset\nkept=yes\n"
                 "stdin=request body\nstderr=%s\n",
                 err_path);
        ck_assert_str_eq(out, expected);
}
END_TEST

#define SELF_HANDLER_FLAG "--transient-test-handler"

/* When this suite runs itself as a transient handler (test_spawn_self), it
 * does a handler's job here, before check starts: reports the signal state
 * it was started with, echoes the body, and sends back the request it reads
 * from its arguments and environment, encoded. A shell cannot be used for
 * the signal state, as it resets the mask itself. */
__attribute__((constructor)) static void self_handler(int argc, char **argv, char **envp) {
        _cleanup_(req_freep) Request *r = NULL;
        char buf[REQ_DATAGRAM_MAX], body[64] = "";
        struct sigaction pipe_action;
        sigset_t mask;
        ssize_t n;
        int len;

        if (argc < 2 || !streq(argv[1], SELF_HANDLER_FLAG))
                return;

        if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0 || sigaction(SIGPIPE, NULL, &pipe_action) < 0)
                _exit(2);
        for (size_t pos = 0;; pos += n) {
                n = read(STDIN_FILENO, body + pos, sizeof(body) - 1 - pos);
                if (n < 0)
                        _exit(3);
                if (n == 0)
                        break;
        }
        if (transient_request(argc - 2, argv + 2, envp, &r) < 0)
                _exit(4);
        len = req_encode(r, buf, sizeof(buf));
        if (len < 0)
                _exit(5);
        dprintf(STDOUT_FILENO, "usr1=%d term=%d pipe=%s body=%s\n", sigismember(&mask, SIGUSR1),
                sigismember(&mask, SIGTERM), pipe_action.sa_handler == SIG_DFL ? "default" : "changed",
                body);
        if (write(STDOUT_FILENO, buf, len) != len)
                _exit(6);
        _exit(0);
}

/* The whole way: a request through transient_spawn() into a real process,
 * read back there with transient_request(), with the signal state a server
 * has (signals blocked for its event loop, SIGPIPE ignored) not inherited. */
START_TEST(test_spawn_self) {
        char *const cmd[] = {"/proc/self/exe", SELF_HANDLER_FLAG, NULL};
        static const char status[] = "usr1=0 term=0 pipe=default body=the body\n";
        _cleanup_(req_freep) Request *r = make_request(), *back = NULL;
        struct sigaction ign = {.sa_handler = SIG_IGN}, saved_pipe;
        sigset_t block, saved_mask;
        char out[REQ_DATAGRAM_MAX];
        pid_t pid = 0;
        size_t n;
        int sv[2];

        ck_assert_int_eq(req_header_add(r, "Accept-Encoding", "gzip"), 0);
        ck_assert_int_eq(req_header_add(r, "X-Ash-Protocol", "https"), 0);

        sigemptyset(&block);
        sigaddset(&block, SIGUSR1);
        sigaddset(&block, SIGTERM);
        ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, &saved_mask), 0);
        ck_assert_int_eq(sigaction(SIGPIPE, &ign, &saved_pipe), 0);

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(transient_spawn(cmd, r, sv[1], &pid), 0);

        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        sigaction(SIGPIPE, &saved_pipe, NULL);
        close(sv[1]);

        ck_assert_int_eq(write(sv[0], "the body", 8), 8);
        ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
        n = read_all(sv[0], out, sizeof(out));
        close(sv[0]);
        ck_assert_int_eq(wait_exit(pid), 0);

        /* The status line, then the datagram up to the end. */
        ck_assert_uint_gt(n, sizeof(status) - 1);
        ck_assert_mem_eq(out, status, sizeof(status) - 1);
        ck_assert_int_eq(req_decode(out + sizeof(status) - 1, n - (sizeof(status) - 1), &back), 0);
        ck_assert_str_eq(back->method, r->method);
        ck_assert_str_eq(back->url, r->url);
        ck_assert_str_eq(back->version, r->version);
        ck_assert_str_eq(back->rest, r->rest);
        ck_assert_uint_eq(back->n_headers, r->n_headers);
        for (size_t i = 0; i < r->n_headers; i++) {
                ck_assert_str_eq(back->headers[i].name, r->headers[i].name);
                ck_assert_str_eq(back->headers[i].value, r->headers[i].value);
        }
}
END_TEST

/* resp_fd on the handler's own stdin or stdout, close-on-exec as every fd of
 * ours is: both ends must still reach the handler. */
START_TEST(test_spawn_resp_fd_is_stdio) {
        char *const cmd[] = {"/bin/sh", "-c", "read -r line; printf 'got=%s\\n' \"$line\"", "h", NULL};
        _cleanup_(req_freep) Request *r = make_request();

        fflush(stdout);
        for (int target = 0; target <= 1; target++) {
                int saved, sv[2];
                char out[256];
                pid_t pid;

                saved = fcntl(target, F_DUPFD_CLOEXEC, 3);
                ck_assert_int_ge(saved, 0);
                ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
                ck_assert_int_eq(dup3(sv[1], target, O_CLOEXEC), target);
                close(sv[1]);

                ck_assert_int_eq(transient_spawn(cmd, r, target, &pid), 0);

                ck_assert_int_eq(dup2(saved, target), target);
                close(saved);
                ck_assert_int_eq(write(sv[0], "hello\n", 6), 6);
                ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
                read_all(sv[0], out, sizeof(out));
                close(sv[0]);
                ck_assert_int_eq(wait_exit(pid), 0);
                ck_assert_str_eq(out, "got=hello\n");
        }
}
END_TEST

/* A resp_fd without close-on-exec is not left open in the handler beside
 * its stdin and stdout. */
START_TEST(test_spawn_closes_extra_fd) {
        _cleanup_(req_freep) Request *r = make_request();
        char script[128], out[256];
        int sv[2];
        pid_t pid;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        ck_assert_int_eq(fcntl(sv[0], F_SETFD, FD_CLOEXEC), 0);
        ck_assert_int_gt(sv[1], 2);
        snprintf(script, sizeof(script), "if [ -e /proc/$$/fd/%d ]; then echo open; else echo closed; fi",
                 sv[1]);
        {
                char *const cmd[] = {"/bin/sh", "-c", script, "h", NULL};

                ck_assert_int_eq(transient_spawn(cmd, r, sv[1], &pid), 0);
        }
        close(sv[1]);
        read_all(sv[0], out, sizeof(out));
        close(sv[0]);
        ck_assert_int_eq(wait_exit(pid), 0);
        ck_assert_str_eq(out, "closed\n");
}
END_TEST

START_TEST(test_spawn_path_and_failure) {
        char *const bare[] = {"sh", "-c", "printf '%s' \"$3\"", "h", NULL};
        char *const missing[] = {"/nonexistent/ashd-handler", NULL};
        char *const empty[] = {NULL};
        _cleanup_(req_freep) Request *r = make_request();
        char out[256];
        pid_t pid = 0;
        int sv[2];

        /* A bare name is looked up in PATH. */
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(transient_spawn(bare, r, sv[1], &pid), 0);
        close(sv[1]);
        read_all(sv[0], out, sizeof(out));
        close(sv[0]);
        ck_assert_int_eq(wait_exit(pid), 0);
        ck_assert_str_eq(out, "x.cgi");

        /* A program that cannot be run: the child exits 127. */
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(transient_spawn(missing, r, sv[1], &pid), 0);
        close(sv[1]);
        read_all(sv[0], out, sizeof(out));
        close(sv[0]);
        ck_assert_str_eq(out, "");
        ck_assert_int_eq(wait_exit(pid), 127);

        pid = 4242;
        ck_assert_int_eq(transient_spawn(missing, r, -EBADF, &pid), -EBADF);
        ck_assert_int_eq(transient_spawn(empty, r, STDOUT_FILENO, &pid), -EINVAL);
        ck_assert_int_eq(pid, 4242);
}
END_TEST

START_TEST(test_request) {
        char *const argv[] = {"handler", "-v", "GET", "/a/b?c=d", "a/b", NULL};
        char *const envp[] = {"PATH=/usr/bin",
                              "REQ_CONTENT_TYPE=text/html",
                              "REQUEST=not a header",
                              "HTTP_VERSION=HTTP/1.0",
                              "REQ_X_ASH_FILE=/srv/f",
                              "REQ_=no name",
                              "REQ_NOVALUE",
                              "REQ_host=example.org",
                              "REQ_ETAG=",
                              NULL};
        char *const no_version[] = {"REQ_A=1", NULL};
        _cleanup_(req_freep) Request *r = NULL, *s = NULL;

        ck_assert_int_eq(transient_request(5, argv, envp, &r), 0);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->url, "/a/b?c=d");
        ck_assert_str_eq(r->rest, "a/b");
        ck_assert_str_eq(r->version, "HTTP/1.0");
        ck_assert_uint_eq(r->n_headers, 4);
        ck_assert_str_eq(r->headers[0].name, "Content-Type");
        ck_assert_str_eq(r->headers[0].value, "text/html");
        ck_assert_str_eq(r->headers[1].name, "X-Ash-File");
        ck_assert_str_eq(r->headers[1].value, "/srv/f");
        ck_assert_str_eq(r->headers[2].name, "Host");
        ck_assert_str_eq(r->headers[2].value, "example.org");
        ck_assert_str_eq(r->headers[3].name, "Etag");
        ck_assert_str_eq(r->headers[3].value, "");

        /* Just the three arguments (what getopt leaves), no HTTP_VERSION. */
        ck_assert_int_eq(transient_request(3, argv + 2, no_version, &s), 0);
        ck_assert_str_eq(s->method, "GET");
        ck_assert_str_eq(s->rest, "a/b");
        ck_assert_str_eq(s->version, "HTTP/1.1");
        ck_assert_str_eq(req_header_get(s, "A"), "1");
        s = req_free(s);
        ck_assert_int_eq(transient_request(3, argv + 2, NULL, &s), 0);
        ck_assert_uint_eq(s->n_headers, 0);
}
END_TEST

START_TEST(test_request_invalid) {
        char *const argv[] = {"GET", "/", "", NULL};
        char *const bad_version[] = {"HTTP_VERSION=", NULL};
        char *const bad_value[] = {"REQ_X=a\rb", NULL};
        Request *r = (Request *) argv;

        ck_assert_int_eq(transient_request(2, argv + 1, NULL, &r), -EINVAL);
        ck_assert_int_eq(transient_request(0, argv + 3, NULL, &r), -EINVAL);
        ck_assert_int_eq(transient_request(3, argv, bad_version, &r), -EINVAL);
        ck_assert_int_eq(transient_request(3, argv, bad_value, &r), -EINVAL);
        ck_assert_ptr_eq(r, (Request *) argv);
}
END_TEST

/* What transient_argv() and transient_env() send, transient_request() reads
 * back, with canonical names and the first of duplicates. */
START_TEST(test_roundtrip) {
        _cleanup_(req_freep) Request *r = make_request(), *back = NULL;
        _cleanup_strv_ char **argv = NULL, **env = NULL;
        char *const cmd[] = {"handler", NULL};
        int argc = 0;

        ck_assert_int_eq(req_header_add(r, "accept-language", "en"), 0);
        ck_assert_int_eq(req_header_add(r, "Host", "other.example.org"), 0);
        ck_assert_int_eq(transient_argv(cmd, r, &argv), 0);
        ck_assert_int_eq(transient_env(NULL, r, &env), 0);
        while (argv[argc])
                argc++;
        ck_assert_int_eq(argc, 4);

        ck_assert_int_eq(transient_request(argc, argv, env, &back), 0);
        ck_assert_str_eq(back->method, r->method);
        ck_assert_str_eq(back->url, r->url);
        ck_assert_str_eq(back->version, r->version);
        ck_assert_str_eq(back->rest, r->rest);
        ck_assert_uint_eq(back->n_headers, 4);
        ck_assert_str_eq(back->headers[0].name, "Host");
        ck_assert_str_eq(back->headers[0].value, "example.org");
        ck_assert_str_eq(back->headers[1].name, "Content-Type");
        ck_assert_str_eq(back->headers[2].name, "X-Ash-File");
        ck_assert_str_eq(back->headers[2].value, "/srv/www/x.cgi");
        ck_assert_str_eq(back->headers[3].name, "Accept-Language");
        ck_assert_str_eq(back->headers[3].value, "en");
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("transient");
        TCase *tc = tcase_create("transient");

        tcase_add_test(tc, test_argv);
        tcase_add_test(tc, test_env);
        tcase_add_test(tc, test_env_no_base);
        tcase_add_test(tc, test_spawn);
        tcase_add_test(tc, test_spawn_self);
        tcase_add_test(tc, test_spawn_resp_fd_is_stdio);
        tcase_add_test(tc, test_spawn_closes_extra_fd);
        tcase_add_test(tc, test_spawn_path_and_failure);
        tcase_add_test(tc, test_request);
        tcase_add_test(tc, test_request_invalid);
        tcase_add_test(tc, test_roundtrip);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
