/* SPDX-License-Identifier: MIT */
#pragma once

/* htls: directory listings, as a transient or a persistent handler. */

#include "request.h"

typedef struct HtlsOptions {
        /* The directory listed when a request has no X-Ash-File header
         * (-d); NULL: such a request is a configuration error, 500. */
        const char *directory;
        unsigned listing_flags;  /* LISTING_SHOW_HIDDEN with -a */
        uint64_t idle_exit_usec; /* --idle-exit, persistent mode */
} HtlsOptions;

/* Answers one request on the response socket fd (which stays the caller's).
 * Problems of the request are answered (404, 403, 405…) and are not errors;
 * returns -errno only when the answer could not be written, logged here. */
int htls_serve(const HtlsOptions *o, const Request *r, int fd);
