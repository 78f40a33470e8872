/* SPDX-License-Identifier: MIT */
#pragma once

/* Accept-Encoding (RFC 9110 §12.5.3): which content coding of a resource to
 * send. Pure functions. */

#include <stddef.h>

/* The quality (0..1000) the Accept-Encoding value gives coding: its own
 * entry, else "*"'s, else 0; "identity" is acceptable (1000) unless an entry
 * refuses it. "x-gzip" counts as "gzip". A NULL value (no header) gives 1000
 * to identity and 0 to everything else: without the header, we send what
 * every client understands. Malformed entries are skipped. */
int accept_encoding_q(const char *value, const char *coding);

/* Chooses among the available codings (in order of preference for ties)
 * and identity: the highest quality wins, a coding winning a tie with
 * identity. Returns the index into codings, or -1 for identity. A coding
 * with quality 0 is never chosen. */
int accept_encoding_choose(const char *value, const char *const *codings, size_t n);
