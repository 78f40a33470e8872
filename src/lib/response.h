/* SPDX-License-Identifier: MIT */
#pragma once

/* Small, correct HTTP responses written by handlers to a response socket:
 * errors, redirects and the like. htparser frames and forwards them. */

#include <stddef.h>
#include <time.h>

/* The reason phrase for a status code, "Unknown" for codes it does not know. */
const char *http_status_reason(int status);

/* Formats an HTTP date (IMF-fixdate, RFC 9110 §5.6.7) into buf, which holds
 * at least 30 bytes. */
void http_date(time_t t, char buf[static 30]);

/* Writes a complete response: status line, Date, Content-Type text/html with
 * charset, Content-Length, an optional Location, and a short HTML page whose
 * title is the reason phrase and whose text is message, HTML-escaped. Writes
 * everything or fails: -errno from write(2), -EAGAIN never retried. message
 * may be NULL. Statuses without a body (1xx, 204, 304) get the head alone. A
 * status outside 100..999, or a location with a control character (CR, LF…),
 * is -EINVAL. */
int response_simple(int fd, int status, const char *message);
int response_redirect(int fd, int status, const char *location);

/* For a handler about to read the request body: if htparser said the client
 * waits for "100 Continue" (X-Ash-Expect: 100-continue), writes that interim
 * response so the body comes. Returns 1 if written, 0 if not needed. A
 * handler that answers without reading the body simply does not call it. */
struct Request;
int response_continue(int fd, const struct Request *r);
