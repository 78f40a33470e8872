/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* A persistent handler for the integration tests, built on the handler
 * runtime: it answers each request with a text page describing what it got,
 * so a test can see exactly what arrived over the protocol.
 *
 *   test-handler [--upstream-user USER]
 *
 * Rest strings with a meaning: "exit" answers and then exits with status 3
 * (a handler crash or restart); "body" reads the request body from the
 * response socket until EOF and answers with its length (asking for it with
 * 100 Continue when the client waits; "body-unaware" does not ask);
 * "silent" closes the response socket without answering; "status/NNN" answers with status NNN;
 * "nolength" answers without a Content-Length, ending at EOF; "hang" keeps
 * the response socket open without answering, until htparser closes its end
 * (a handler timeout) or the handler exits; "head-hang" writes a response
 * head and a few body bytes without a length, then hangs the same way;
 * "big/N" answers with N body bytes and their Content-Length, written with
 * blocking writes, so that the handler (single-threaded) waits while the
 * client does not read; "duplex" switches protocols (101 with X-Ash-Switch:
 * duplex) and echoes what it reads until EOF, then says "bye". */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "handler.h"
#include "log.h"
#include "response.h"

static int write_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= n;
        }
        return 0;
}

static void answer_status(int fd, int status, const char *body, size_t len) {
        char head[256];
        int n;

        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", status,
                     http_status_reason(status), len);
        if (write_all(fd, head, n) < 0 || write_all(fd, body, len) < 0)
                log_warning("Failed to write a response: %m");
}

static void answer(int fd, const char *body, size_t len) {
        answer_status(fd, 200, body, len);
}

/* Response sockets of "hang" requests, each watched for htparser closing
 * its end (EPOLLHUP, which epoll reports without being asked: EPOLLIN would
 * fire at once, since a request without a body arrives already shut). */
#define HUNG_MAX 64
static sd_event_source *hung[HUNG_MAX];

static void hung_release(sd_event_source *s) {
        for (size_t i = 0; i < HUNG_MAX; i++)
                if (hung[i] == s)
                        hung[i] = NULL;
        sd_event_source_disable_unref(s);
}

static int on_hung_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        if (revents & (EPOLLHUP | EPOLLERR))
                hung_release(s);
        return 0;
}

/* Keeps fd open and unanswered; it is closed when htparser lets go of the
 * exchange, or at exit. Without room to keep it, it is closed now (a 502). */
static void hang(int fd) {
        sd_event_source *s = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        size_t i;

        for (i = 0; i < HUNG_MAX && hung[i]; i++)
                ;
        if (i == HUNG_MAX || sd_event_default(&event) < 0 ||
            sd_event_add_io(event, &s, fd, 0, on_hung_io, NULL) < 0) {
                log_warning("Cannot keep a hanging response socket: closing it");
                safe_close(fd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(s, true);
        hung[i] = s;
}

static void hung_release_all(void) {
        for (size_t i = 0; i < HUNG_MAX; i++)
                if (hung[i])
                        hung_release(hung[i]);
}

/* A body of total bytes behind its Content-Length. Blocking writes: while
 * the client does not read, the handler waits here. */
static void answer_big(int fd, unsigned long long total) {
        static char block[65536];
        char head[160];
        int n;

        memset(block, 'x', sizeof(block));
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: %llu\r\n\r\n",
                     total);
        if (write_all(fd, head, n) < 0)
                goto fail;
        while (total > 0) {
                size_t k = total < sizeof(block) ? (size_t) total : sizeof(block);

                if (write_all(fd, block, k) < 0)
                        goto fail;
                total -= k;
        }
        return;
fail:
        log_warning("Stopped writing a big response with %llu bytes left: %m", total);
}

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd;
        _cleanup_free_ char *body = NULL;
        size_t size = 0;
        FILE *f;

        if (streq(r->rest, "silent"))
                return;

        if (streq(r->rest, "hang")) {
                hang(TAKE_FD(fd));
                return;
        }

        if (streq(r->rest, "head-hang")) {
                static const char msg[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial\n";
                (void) write_all(fd, msg, sizeof(msg) - 1);
                hang(TAKE_FD(fd));
                return;
        }

        if (strncmp(r->rest, "big/", 4) == 0) {
                answer_big(fd, strtoull(r->rest + 4, NULL, 10));
                return;
        }

        if (strncmp(r->rest, "status/", 7) == 0) {
                char buf[64];
                int status = atoi(r->rest + 7), n;

                n = snprintf(buf, sizeof(buf), "status %d\n", status);
                answer_status(fd, status, buf, n);
                return;
        }

        if (streq(r->rest, "duplex")) {
                /* The original ashd's protocol switch: 101 with X-Ash-Switch,
                 * then an echo of everything until the client stops sending. */
                static const char head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                                           "X-Ash-Switch: duplex\r\n\r\n";
                char buf[4096];
                ssize_t n;

                if (write_all(fd, head, sizeof(head) - 1) < 0)
                        return;
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (write_all(fd, buf, n) < 0)
                                return;
                (void) write_all(fd, "bye\n", 4);
                return;
        }

        if (streq(r->rest, "nolength")) {
                static const char msg[] = "HTTP/1.1 200 OK\nContent-Type: text/plain\n\nno length here\n";
                (void) write_all(fd, msg, sizeof(msg) - 1);
                return;
        }

        if (streq(r->rest, "body") || streq(r->rest, "body-unaware")) {
                char buf[65536];
                size_t total = 0;
                ssize_t n;

                /* "body-unaware" plays a handler written before 100-continue
                 * was part of the protocol: it just reads. */
                if (streq(r->rest, "body"))
                        (void) response_continue(fd, r);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        total += n;
                n = snprintf(buf, sizeof(buf), "body: %zu\n", total);
                answer(fd, buf, n);
                return;
        }

        f = open_memstream(&body, &size);
        if (!f)
                return;
        fprintf(f, "method: %s\nurl: %s\nversion: %s\nrest: %s\n", r->method, r->url, r->version, r->rest);
        REQ_HEADER_FOREACH (hd, r)
                fprintf(f, "header: %s: %s\n", hd->name, hd->value);
        fprintf(f, "uid: %u\npid: %d\n", (unsigned) geteuid(), (int) getpid());
        size_t n_names;
        char *const *names = handler_listen_names(h, &n_names);
        for (size_t i = 0; names && i < n_names; i++)
                fprintf(f, "listen: %s\n", names[i]);
        fclose(f);
        answer(fd, body, size);

        if (streq(r->rest, "exit")) {
                fd = safe_close(fd);
                exit(3);
        }
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"upstream-user", required_argument, NULL, 'u'},
                {},
        };
        HandlerOptions ho = {.on_request = on_request};
        int c, r;

        log_open(NULL, LOG_INFO);
        while ((c = getopt_long(argc, argv, "u:", options, NULL)) >= 0) {
                if (c == 'u')
                        ho.upstream_user = optarg;
                else
                        return 2;
        }

        r = handler_run(&ho, NULL);
        hung_release_all();
        return r;
}
