/* SPDX-License-Identifier: MIT */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "textbuf.h"

void textbuf_put(TextBuf *t, const char *s, size_t n) {
        if (t->overflow || n > t->size - t->len) {
                t->overflow = true;
                return;
        }
        memcpy(t->buf + t->len, s, n);
        t->len += n;
}

void textbuf_puts(TextBuf *t, const char *s) {
        textbuf_put(t, s, strlen(s));
}

void textbuf_put_u64(TextBuf *t, uint64_t v) {
        char digits[DECIMAL_MAX];

        textbuf_put(t, digits, decimal_u64(digits, v));
}

void textbuf_printf(TextBuf *t, const char *fmt, ...) {
        va_list ap;
        int n;

        if (t->overflow)
                return;
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= t->size - t->len)
                t->overflow = true;
        else
                t->len += n;
}
