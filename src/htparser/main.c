/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "conn.h"
#include "listen.h"
#include "log.h"

#define DEFAULT_ROOT_SOCKET "/run/ashd/root.sock"
#define USEC_PER_SEC        1000000ULL
#define MAX_CERTS           64

typedef struct Options {
        const char *root_socket;
        char **root_argv;
        char **portspecs;
        int n_portspecs;
        bool access_log;
        uint64_t timeouts[_TIMER_MAX];
        uint64_t drain_usec;
        uint64_t max_body;
        size_t max_conns;
        TlsCertSpec certs[MAX_CERTS];
        int n_certs;
        const char *tls_credentials;
} Options;

static void usage(FILE *f) {
        fputs("Usage: htparser [OPTIONS] [PORTSPEC...] [-- ROOT-HANDLER [ARGS...]]\n"
              "\n"
              "The HTTP/1.x front of ashd. Listens on the sockets systemd passes (named\n"
              "\"http\" or \"https\") and on each PORTSPEC, and hands every request to the\n"
              "root handler: ROOT-HANDLER forked with a socket on its stdin, or else the\n"
              "activated handler socket at --root-socket.\n"
              "\n"
              "PORTSPEC: plain:port=PORT[,addr=ADDRESS]\n"
              "          ssl:port=PORT[,addr=ADDRESS][,cert=FILE,key=FILE]\n"
              "\n"
              "  --root-socket=PATH       root handler socket (default " DEFAULT_ROOT_SOCKET ")\n"
              "  --access-log=journal|off one journal entry per request (default journal)\n"
              "  --max-connections=N      open client connections at most\n"
              "  --max-body=BYTES         largest request body (413 above; default 1 GiB)\n"
              "  --idle-timeout=SEC       keep-alive wait for the next request (default 60)\n"
              "  --head-timeout=SEC       time to send a request head (408; default 20)\n"
              "  --body-timeout=SEC       time between request body bytes (408; default 60)\n"
              "  --handler-timeout=SEC    time for the handler to respond (504; default 300)\n"
              "  --send-timeout=SEC       time for the client to take response bytes (default 60)\n"
              "  --expect-timeout=SEC     send 100 Continue for a handler that neither asks for\n"
              "                           the body nor answers within this time (default 1)\n"
              "  --drain-timeout=SEC      on SIGTERM, time for requests in flight (default 30)\n"
              "  --tls-cert=FILE --tls-key=FILE  a certificate (chain) and its key; repeat\n"
              "                           for more names (chosen by SNI). Relative names are\n"
              "                           looked up in $CREDENTIALS_DIRECTORY when set.\n"
              "  --tls-credentials=PREFIX every PREFIX_NAME.pem in $CREDENTIALS_DIRECTORY with\n"
              "                           its PREFIX_NAME.key (LoadCredential=PREFIX:DIR)\n"
              "  -h, --help\n"
              "\n"
              "SIGHUP reloads the certificates; SIGTERM stops accepting and drains.\n",
              f);
}

static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno || end == s || *end || d <= 0 || d > 86400 * 365)
                return -EINVAL;
        *ret = (uint64_t) (d * USEC_PER_SEC);
        return 0;
}

static int parse_options(int argc, char **argv, Options *o) {
        enum {
                ARG_ROOT_SOCKET = 0x100,
                ARG_ACCESS_LOG,
                ARG_MAX_CONNS,
                ARG_MAX_BODY,
                ARG_IDLE,
                ARG_HEAD,
                ARG_BODY,
                ARG_HANDLER,
                ARG_SEND,
                ARG_DRAIN,
                ARG_EXPECT,
                ARG_TLS_CERT,
                ARG_TLS_KEY,
                ARG_TLS_CREDENTIALS,
        };
        static const struct option options[] = {
                {"root-socket", required_argument, NULL, ARG_ROOT_SOCKET},
                {"access-log", required_argument, NULL, ARG_ACCESS_LOG},
                {"max-connections", required_argument, NULL, ARG_MAX_CONNS},
                {"max-body", required_argument, NULL, ARG_MAX_BODY},
                {"idle-timeout", required_argument, NULL, ARG_IDLE},
                {"head-timeout", required_argument, NULL, ARG_HEAD},
                {"body-timeout", required_argument, NULL, ARG_BODY},
                {"handler-timeout", required_argument, NULL, ARG_HANDLER},
                {"send-timeout", required_argument, NULL, ARG_SEND},
                {"drain-timeout", required_argument, NULL, ARG_DRAIN},
                {"expect-timeout", required_argument, NULL, ARG_EXPECT},
                {"tls-cert", required_argument, NULL, ARG_TLS_CERT},
                {"tls-key", required_argument, NULL, ARG_TLS_KEY},
                {"tls-credentials", required_argument, NULL, ARG_TLS_CREDENTIALS},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        static const int timer_of[] = {
                [ARG_IDLE - ARG_IDLE] = TIMER_IDLE, [ARG_HEAD - ARG_IDLE] = TIMER_HEAD,
                [ARG_BODY - ARG_IDLE] = TIMER_BODY, [ARG_HANDLER - ARG_IDLE] = TIMER_HANDLER,
                [ARG_SEND - ARG_IDLE] = TIMER_SEND,
        };
        struct rlimit rl;
        int c;

        *o = (Options){
                .access_log = true,
                .timeouts =
                        {
                                [TIMER_IDLE] = 60 * USEC_PER_SEC,
                                [TIMER_HEAD] = 20 * USEC_PER_SEC,
                                [TIMER_BODY] = 60 * USEC_PER_SEC,
                                [TIMER_HANDLER] = 300 * USEC_PER_SEC,
                                [TIMER_SEND] = 60 * USEC_PER_SEC,
                                [TIMER_EXPECT] = USEC_PER_SEC,
                        },
                .drain_usec = 30 * USEC_PER_SEC,
                .max_body = 1ULL << 30,
        };
        /* Each connection needs its socket and, during an exchange, a
         * response socket: stay well inside the fd limit. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128)
                o->max_conns = (rl.rlim_cur - 64) / 2;
        else
                o->max_conns = 512;

        /* "+" stops at the first non-option, and "--" ends the options. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ROOT_SOCKET:
                        o->root_socket = optarg;
                        break;
                case ARG_ACCESS_LOG:
                        if (streq(optarg, "journal"))
                                o->access_log = true;
                        else if (streq(optarg, "off"))
                                o->access_log = false;
                        else {
                                fprintf(stderr, "htparser: --access-log takes journal or off, not '%s'\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_MAX_CONNS:
                case ARG_MAX_BODY: {
                        char *end;
                        unsigned long long n;

                        errno = 0;
                        n = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || n == 0) {
                                fprintf(stderr, "htparser: invalid number '%s'\n", optarg);
                                return -EINVAL;
                        }
                        if (c == ARG_MAX_CONNS)
                                o->max_conns = n;
                        else
                                o->max_body = n;
                        break;
                }
                case ARG_IDLE:
                case ARG_HEAD:
                case ARG_BODY:
                case ARG_HANDLER:
                case ARG_SEND:
                case ARG_EXPECT:
                case ARG_DRAIN: {
                        uint64_t usec;

                        if (parse_seconds(optarg, &usec) < 0) {
                                fprintf(stderr, "htparser: invalid time '%s'\n", optarg);
                                return -EINVAL;
                        }
                        if (c == ARG_DRAIN)
                                o->drain_usec = usec;
                        else if (c == ARG_EXPECT)
                                o->timeouts[TIMER_EXPECT] = usec;
                        else
                                o->timeouts[timer_of[c - ARG_IDLE]] = usec;
                        break;
                }
                case ARG_TLS_CERT:
                        if (o->n_certs >= MAX_CERTS) {
                                fprintf(stderr, "htparser: more than %d certificates\n", MAX_CERTS);
                                return -EINVAL;
                        }
                        o->certs[o->n_certs++].cert = optarg;
                        break;
                case ARG_TLS_KEY:
                        if (o->n_certs == 0 || o->certs[o->n_certs - 1].key) {
                                fprintf(stderr, "htparser: --tls-key must follow its --tls-cert\n");
                                return -EINVAL;
                        }
                        o->certs[o->n_certs - 1].key = optarg;
                        break;
                case ARG_TLS_CREDENTIALS:
                        o->tls_credentials = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }

        o->portspecs = argv + optind;
        /* getopt consumed a "--" that came right after the options. */
        if (optind > 1 && streq(argv[optind - 1], "--"))
                optind--;
        while (optind < argc && !streq(argv[optind], "--")) {
                optind++;
                o->n_portspecs++;
        }
        if (optind < argc) {
                optind++;
                if (optind >= argc) {
                        fprintf(stderr, "htparser: no root handler after --\n");
                        return -EINVAL;
                }
                o->root_argv = argv + optind;
                if (o->root_socket) {
                        fprintf(stderr, "htparser: both --root-socket and a forked root handler given\n");
                        return -EINVAL;
                }
        }
        for (int i = 0; i < o->n_certs; i++)
                if (!o->certs[i].key) {
                        fprintf(stderr, "htparser: --tls-cert %s has no --tls-key\n", o->certs[i].cert);
                        return -EINVAL;
                }
        if (!o->root_argv && !o->root_socket)
                o->root_socket = DEFAULT_ROOT_SOCKET;
        return 0;
}

/* Frees what the server holds, on every way out of main(). */
static void server_done(Server *s) {
        while (s->conns)
                conn_free(s->conns);
        timers_done(s);
        poller_done(s);
        listen_done(s);
        server_buffers_free(s);
        upstream_free(s->root);
        tls_config_unref(s->tls);
        for (size_t i = 0; i < s->n_certs; i++) {
                free((char *) s->certs[i].cert);
                free((char *) s->certs[i].key);
        }
        free(s->certs);
}

static int on_drain_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;

        log_warning("Drain deadline reached with %zu connections still open", s->n_conns);
        return sd_event_exit(s->event, 0);
}

static int on_terminate(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Server *s = userdata;
        uint64_t now;

        if (s->draining)
                return 0;
        log_info("Draining: no new connections, finishing %zu", s->n_conns);
        sd_notify(false, "STOPPING=1");
        server_drain(s);
        server_update_status(s);
        /* Whatever is still running at the deadline is cut off. */
        sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        sd_event_add_time(s->event, NULL, CLOCK_MONOTONIC, now + s->drain_usec, 0, on_drain_deadline, s);
        return 0;
}

static int on_reload(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Server *s = userdata;

        sd_notify(false, "RELOADING=1\nSTATUS=Reloading certificates");
        if (server_load_tls(s) >= 0 && s->has_tls_listener)
                log_info("Certificates reloaded");
        sd_notify(false, "READY=1");
        server_update_status(s);
        return 0;
}

static int on_status_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        static Stats last;
        static size_t last_conns = SIZE_MAX;

        if (memcmp(&last, &s->stats, sizeof(last)) != 0 || last_conns != s->n_conns) {
                server_update_status(s);
                last = s->stats;
                last_conns = s->n_conns;
        }
        sd_event_source_set_time(source, usec + USEC_PER_SEC);
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(server_done) Server server = {.poll_fd = -EBADF};
        Options o;
        sigset_t mask;
        int r;

        log_open("htparser", LOG_INFO);
        if (parse_options(argc, argv, &o) < 0)
                return 2;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&event);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to allocate the event loop: %m"), 1;
        server.event = event;
        r = poller_init(&server);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the connections' epoll set: %m"), 1;
        server.access_log = o.access_log;
        server.max_conns = o.max_conns;
        server.max_body = o.max_body;
        server.drain_usec = o.drain_usec;

        for (int i = 0; i < o.n_certs; i++)
                if (server_add_cert(&server, o.certs[i].cert, o.certs[i].key) < 0)
                        return log_error("Out of memory"), 1;
        if (o.tls_credentials && server_add_credential_certs(&server, o.tls_credentials) < 0)
                return 1;
        r = listen_setup(&server, o.portspecs, o.n_portspecs);
        if (r < 0)
                return 1;
        r = server_load_tls(&server);
        if (r < 0)
                return 1;

        if (o.root_argv) {
                r = upstream_new_exec(event, o.root_argv, &server.root);
                server.root_name = o.root_argv[0];
        } else {
                /* Checked from our end too: the root handler's socket must be
                 * listened on by root (systemd) or by ourselves, so that no
                 * other local user can squat it and read the requests. */
                r = upstream_new_socket(event, o.root_socket, geteuid(), &server.root);
                server.root_name = (char *) o.root_socket;
        }
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the root handler: %m"), 1;

        r = timers_init(&server, o.timeouts);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up timers: %m"), 1;

        sd_event_add_signal(event, NULL, SIGTERM, on_terminate, &server);
        sd_event_add_signal(event, NULL, SIGINT, on_terminate, &server);
        sd_event_add_signal(event, NULL, SIGHUP, on_reload, &server);
        sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, USEC_PER_SEC, USEC_PER_SEC / 10,
                                   on_status_timer, &server);
        /* WATCHDOG=1 from the loop itself, when systemd asks for it. */
        (void) sd_event_set_watchdog(event, true);

        sd_notify(false, "READY=1\nSTATUS=Serving");
        r = sd_event_loop(event);

        return r < 0 ? 1 : 0;
}
