/* SPDX-License-Identifier: MIT */
#pragma once

/* Text appended to a caller's fixed buffer, remembering rather than
 * reporting that it did not fit: a response head is built with a row of
 * appends and checked once at the end. Strings and numbers go in without
 * printf, which was a visible share of htparser's and sendfile's work per
 * request (callgrind). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct TextBuf {
        char *buf;
        size_t size, len;
        bool overflow; /* something did not fit: the text is incomplete */
} TextBuf;

void textbuf_put(TextBuf *t, const char *s, size_t n);
void textbuf_puts(TextBuf *t, const char *s);
void textbuf_put_u64(TextBuf *t, uint64_t v);
_printf_(2, 3) void textbuf_printf(TextBuf *t, const char *fmt, ...);
