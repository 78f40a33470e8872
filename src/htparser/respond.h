/* SPDX-License-Identifier: MIT */
#pragma once

/* The response heads htparser sends: its own error pages, and the client's
 * version of a handler's head. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* A complete error response with Connection: close; the body is left out
 * for HEAD. Returns its length or -ENOBUFS; the body's length goes to
 * *ret_body_len (for the access log). */
int respond_error_page(char *buf, size_t size, int status, const char *date, bool head_only,
                       uint64_t *ret_body_len);

/* The head for the client from the handler's: hop-by-hop and X-Ash-*
 * headers removed, Date and Server added, framing chosen by version, method
 * and status (sets c->framing, c->resp_remaining, c->keep_alive). Returns its
 * length or -errno. */
int respond_head(char *buf, size_t size, Conn *c, const HttpResponseHead *h);
