/* SPDX-License-Identifier: MIT */
#pragma once

/* Named handler targets in a multiplexer's configuration (dirplex, patplex),
 * in the original ashd's syntax:
 *   child NAME              a persistent stdin-style handler, kept running
 *       exec PROGRAM ARGS...
 *   fchild NAME             a transient handler, forked per request
 *       exec PROGRAM ARGS...
 *   socket NAME PATH        an activated handler socket (ours) */

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "request.h"
#include "upstream.h"

typedef enum TargetKind {
        TARGET_CHILD,
        TARGET_FCHILD,
        TARGET_SOCKET,
} TargetKind;

typedef struct Target {
        char *name;
        TargetKind kind;
        char **argv; /* child and fchild */
        char *path;  /* socket */
        /* Made by the program on first use (child, socket); freed with the
         * configuration that holds it. */
        Upstream *upstream;
} Target;

/* Whether a directive line starts a target stanza. */
bool target_is_directive(const char *word);

/* Parses the stanza starting at line l (child, fchild or socket, with its
 * indented exec line) and appends it to *targets. A name defined twice, a
 * missing or repeated exec, or a stray line is a conf_fail() error. */
int target_parse(ConfReader *r, const ConfLine *l, Target **targets, size_t *n_targets);

/* The target of that name, or NULL. */
Target *target_find(Target *targets, size_t n, const char *name);

void target_done(Target *t);

/* Hands req to the target (resp_fd stays the caller's): forks a transient
 * handler, or sends to the persistent one, starting or connecting it on
 * first use. -errno when it cannot take the request (the caller answers 503). */
int target_send(Target *t, sd_event *event, const Request *req, int resp_fd);
