/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* sendfile [-c TYPE] [-f FILE] [METHOD URL REST]
 *
 * Serves one static file. With the three request arguments it is a
 * transient handler (ashd(7)): the response socket on stdin and stdout, the
 * headers in REQ_* variables; it answers once and exits. Without them it is
 * a persistent handler on the shared runtime (a socket on stdin, or
 * activated sockets) and serves every request in this one process. The file
 * is FILE, else the request's X-Ash-File header (dirplex sets it); neither
 * is a configuration error (500). See serve.c for the rules. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "handler.h"
#include "log.h"
#include "response.h"
#include "sendfile.h"
#include "transient.h"

#define MIME_TYPES_PATH "/etc/mime.types"

static void help(void) {
        printf("Usage: sendfile [-c TYPE] [-f FILE] [METHOD URL REST]\n\n"
               "Serves a static file: persistent (many requests, one process) without the\n"
               "request arguments, transient (ashd(7): one request from argv and REQ_*)\n"
               "with them.\n\n"
               "  -f FILE   the file to serve (default: the X-Ash-File request header)\n"
               "  -c TYPE   its Content-Type (default: X-Ash-Content-Type, then\n"
               "            " MIME_TYPES_PATH " by extension, then libmagic)\n"
               "  --idle-exit SEC  exit after SEC seconds without a request\n"
               "  -h, --help       this help\n\n"
               "ASHD_MIME_TYPES names another mime.types file.\n");
}

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        _cleanup_(req_freep) Request *r = req;

        serve_request(userdata, r, resp_fd);
}

/* Loads what typing needs once, before the first request: the mime.types
 * table and libmagic's database. Either may be missing; typing then falls
 * back to the other, and to application/octet-stream. */
static void setup_typing(Sendfile *s) {
        const char *path = getenv("ASHD_MIME_TYPES") ?: MIME_TYPES_PATH;
        int r;

        r = mime_table_load(path, &s->mime);
        if (r < 0)
                log_errno(LOG_WARNING, r, "Failed to read %s, typing by content only: %m", path);

        /* MAGIC_NO_CHECK_COMPRESS: never look into compressed files, which
         * would make libmagic decompress (and possibly fork) per file. */
        s->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_MIME_ENCODING | MAGIC_NO_CHECK_COMPRESS |
                              MAGIC_NO_CHECK_ELF | MAGIC_ERROR);
        if (s->magic) {
                size_t bytes = 64 * 1024;

                (void) magic_setparam(s->magic, MAGIC_PARAM_BYTES_MAX, &bytes);
                if (magic_load(s->magic, NULL) < 0) {
                        log_warning("Failed to load the libmagic database: %s", magic_error(s->magic));
                        magic_close(s->magic);
                        s->magic = NULL;
                }
        }
}

/* Many bodies in flight hold two descriptors each: take the hard limit,
 * as systemd's services do for programs that never use select(). */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int run_transient(Sendfile *s, int argc, char **argv) {
        _cleanup_(req_freep) Request *req = NULL;
        int r;

        s->transient = true;
        r = transient_request(argc, argv, environ, &req);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Failed to read the request from the arguments: %m");
                (void) response_simple(STDOUT_FILENO, 400, "The request could not be read.");
                return 1;
        }
        serve_request(s, req, STDOUT_FILENO);
        return 0;
}

/* Bodies that cannot be written at once finish from the event loop. */
static int setup_persistent(sd_event *event, void *userdata) {
        Sendfile *s = userdata;

        s->event = event;
        return 0;
}

static int run_persistent(Sendfile *s) {
        HandlerOptions ho = {
                .on_request = on_request,
                .userdata = s,
                .idle_exit_usec = s->idle_exit_usec,
                .ret_handler = &s->handler,
        };
        int r;

        raise_fd_limit();
        r = handler_run(&ho, setup_persistent);
        /* Bodies still being written were dropped with the loop. */
        s->event = NULL;
        return r;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                HANDLER_IDLE_EXIT_OPTION,
                {"help", no_argument, NULL, 'h'},
                {},
        };
        Sendfile s = {};
        int c, r;

        log_open(NULL, LOG_INFO);
        /* "+": options only before the request arguments, whose method or
         * rest string could look like one. */
        while ((c = getopt_long(argc, argv, "+c:f:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        s.content_type = optarg;
                        break;
                case 'f':
                        s.file = optarg;
                        break;
                case HANDLER_OPT_IDLE_EXIT:
                        if (handler_parse_idle_exit(optarg, &s.idle_exit_usec) < 0) {
                                fprintf(stderr, "sendfile: --idle-exit takes seconds, not %s\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        if (argc - optind != 0 && argc - optind != 3) {
                fprintf(stderr, "sendfile: expected no arguments or METHOD URL REST\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        /* Boundaries need only be unlikely in a file, not secret. */
        if (getrandom(&s.boundary_seed, sizeof(s.boundary_seed), GRND_NONBLOCK) < 0)
                s.boundary_seed = (uint64_t) getpid() << 32 ^ (uint64_t) time(NULL);
        setup_typing(&s);

        if (argc - optind == 3)
                r = run_transient(&s, argc - optind, argv + optind);
        else
                r = run_persistent(&s);

        mime_table_free(s.mime);
        if (s.magic)
                magic_close(s.magic);
        return r;
}
