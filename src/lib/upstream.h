/* SPDX-License-Identifier: MIT */
#pragma once

/* The client side of the ashd(7) protocol: how a multiplexer (htparser,
 * patplex, dirplex, userplex) hands a request to the next handler. A target is
 *   - a socket path: connected on first use, the connection kept, re-made
 *     when the handler went away (EPIPE, ECONNRESET, hang-up), optionally only
 *     to a listener of an expected uid; or
 *   - an exec child: forked with a SEQPACKET socketpair on its stdin, the
 *     original ashd's "child", started again on the next request after it died.
 * Sending never blocks the caller's event loop: a full socket queues the
 * datagram (bounded) and flushes it when writable. When a target cannot be
 * reached, upstream_send() says so at once, so the caller can answer 503. */

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "request.h"

#define UPSTREAM_QUEUE_MAX 1024 /* datagrams waiting for a full socket */
#define UPSTREAM_UID_ANY   ((uid_t) -1)

typedef struct Upstream Upstream;

/* expected_uid: the uid the listener must have besides root (SO_PEERCRED of
 * a connected socket is the listener's), or UPSTREAM_UID_ANY. Nothing is
 * connected yet. */
int upstream_new_socket(sd_event *event, const char *path, uid_t expected_uid, Upstream **ret);
/* argv[0] is looked up in PATH. Nothing is started yet. */
int upstream_new_exec(sd_event *event, char *const *argv, Upstream **ret);
Upstream *upstream_free(Upstream *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(Upstream *, upstream_free);

/* How many datagrams wait in the queues of all upstreams of the process. */
size_t upstream_queued(void);

/* The path or program, for log messages. */
const char *upstream_name(const Upstream *u);
/* The uid of the last listener seen, UPSTREAM_UID_ANY if none yet: what a
 * caller names when upstream_send() failed with -EPERM. */
uid_t upstream_peer_uid(const Upstream *u);

/* Whether it starts its target with fork(): until the child's exec, the
 * child holds a copy of every descriptor the caller has open. */
bool upstream_forks(const Upstream *u);

/* Sends the request with resp_fd attached (the caller keeps its own resp_fd).
 * Returns 0 when the datagram was sent or queued, else a -errno saying why
 * the target cannot take it now: -ENOENT or -ECONNREFUSED (nothing listens),
 * -EPERM (listener of another uid), -EAGAIN (its backlog is full), -ENOBUFS
 * (queue full), -EMSGSIZE (too big to send), an exec failure. Queued requests
 * that can no longer be delivered are answered 503 on their response socket. */
int upstream_send(Upstream *u, const Request *r, int resp_fd);
/* The same for a datagram that is already encoded. */
int upstream_send_datagram(Upstream *u, const void *datagram, size_t size, int resp_fd);
