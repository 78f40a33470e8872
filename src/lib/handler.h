/* SPDX-License-Identifier: MIT */
#pragma once

/* The runtime of every persistent handler. Requests arrive as ashd(7)
 * datagrams from
 *   (a) a connected SEQPACKET socket on fd 0, the original ashd's way of
 *       forking a handler; its EOF ends the event loop with exit code 0; and/or
 *   (b) listening SEQPACKET sockets passed by systemd (LISTEN_FDS), from which
 *       any number of upstream connections are accepted.
 * Every accepted peer is checked with SO_PEERCRED: root, the handler's own
 * uid and the configured upstream user may connect, anyone else is logged and
 * closed. A datagram that is malformed, truncated or without exactly one fd is
 * logged and discarded (its fds closed, so the upstream's client gets a 502),
 * and the connection goes on.
 *
 * Unlike the rest of the library, this module logs: it is the shared main
 * loop of the handler programs, and refusing a peer is decided here. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "request.h"

/* The upstream user allowed by default besides root and the handler's uid. */
#define HANDLER_UPSTREAM_USER_DEFAULT "ashd"
/* Datagrams taken from one connection per wake-up, so that one busy upstream
 * cannot starve the others. */
#define HANDLER_BATCH 32

typedef struct Handler Handler;

/* Called once per request; it owns req and resp_fd from then on, whatever it
 * does with them. */
typedef void (*handler_request_fn)(Handler *h, Request *req, int resp_fd, void *userdata);

typedef struct HandlerOptions {
        /* Allowed besides root and our own uid; NULL means
         * HANDLER_UPSTREAM_USER_DEFAULT, "" means nobody else. A name that
         * does not exist allows nobody else (and is not an error, so that a
         * handler runs on a machine without the ashd user). A number is a uid. */
        const char *upstream_user;
        handler_request_fn on_request;
        void *userdata;
        /* handler_run() only: exit after this long without a request (see
         * handler_set_idle_exit); 0: never. */
        uint64_t idle_exit_usec;
        /* handler_run() only: where to store the Handler for handler_hold(). */
        Handler **ret_handler;
} HandlerOptions;

/* Sets up the sources from fd 0 and LISTEN_FDS (which it consumes). Returns
 * -ENOENT when there is neither, -EINVAL when an activated fd is not a
 * listening Unix SEQPACKET socket. */
int handler_new(sd_event *event, const HandlerOptions *options, Handler **ret);
Handler *handler_free(Handler *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Handler *, handler_free);

/* Stops accepting new upstream connections (for a draining shutdown);
 * connections already made keep being served. */
void handler_stop_accepting(Handler *h);
/* Upstream connections currently open, fd 0 included. */
size_t handler_connections(const Handler *h);
/* The activated sockets' names (LISTEN_FDNAMES), for programs that treat
 * sockets differently by name (NULL if systemd gave none); n through ret_n. */
char *const *handler_listen_names(const Handler *h, size_t *ret_n);

/* Called by handler_run() once the event loop exists and before the runtime
 * starts, for the program's own sources; a negative return stops the
 * program. */
typedef int (*handler_setup_fn)(sd_event *event, void *userdata);

/* The whole life of a persistent handler program, the same for every one:
 * SIGPIPE ignored; SIGTERM and SIGINT end the loop cleanly; SIGCHLD blocked
 * so that sd-event reaps children; the default event loop; setup (if not
 * NULL) with options->userdata; the runtime; READY=1; the loop until fd 0
 * closes or a signal comes; STOPPING=1. Set-up failures are logged. Returns
 * the exit status: 0, or 1 when something failed. */
int handler_run(const HandlerOptions *options, handler_setup_fn setup);

/* Idle exit (--idle-exit): when no request has arrived for usec and no work
 * is held, the handler stops accepting, shuts the reading side of every
 * upstream connection (their next datagram fails with EPIPE, so the sender
 * reconnects and resends to the next activated instance), serves what was
 * already queued, and ends the loop with 0. 0 turns it off. */
int handler_set_idle_exit(Handler *h, uint64_t usec);
/* For requests that finish after their callback returned (a body still
 * being written, a child still running): idle exit waits for each hold to
 * be released. */
void handler_hold(Handler *h);
void handler_release(Handler *h);

/* The --idle-exit option every persistent handler takes, for getopt_long. */
#define HANDLER_OPT_IDLE_EXIT 0x1d1e
/* Its line in every handler's --help. */
#define HANDLER_IDLE_EXIT_HELP "  --idle-exit SEC        exit after SEC seconds without a request\n"
#define HANDLER_IDLE_EXIT_OPTION \
        { "idle-exit", required_argument, NULL, HANDLER_OPT_IDLE_EXIT }

/* Parses an --idle-exit argument (seconds, fractions allowed) into usec. */
int handler_parse_idle_exit(const char *s, uint64_t *ret_usec);

/* For a program that forked handlers (child targets), once their sockets are
 * closed: waits up to timeout_usec for every child to finish what it holds
 * and exit. Under KillMode=mixed systemd kills what is left of the unit as
 * soon as the main process is gone, so leaving first would lose requests a
 * child had queued. SIGCHLD must be blocked (handler_run does). */
void handler_wait_children(uint64_t timeout_usec);
#define HANDLER_CHILDREN_TIMEOUT_USEC (30 * 1000000ULL)
