/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <string.h>

#include "check-main.h"
#include "textbuf.h"

START_TEST(test_appends) {
        char buf[64];
        TextBuf t = {.buf = buf, .size = sizeof(buf)};

        textbuf_puts(&t, "Content-Length: ");
        textbuf_put_u64(&t, 18446744073709551615ULL);
        textbuf_put(&t, "\r\nxx", 2);
        textbuf_printf(&t, "%s=%d", "a", 7);
        ck_assert(!t.overflow);
        ck_assert_uint_eq(t.len, strlen("Content-Length: 18446744073709551615\r\na=7"));
        ck_assert_mem_eq(buf, "Content-Length: 18446744073709551615\r\na=7", t.len);
}
END_TEST

/* What does not fit is not cut: the text stays as it was, and the mark
 * stays, so that a head is checked once at the end. */
START_TEST(test_overflow_sticks) {
        char buf[8];
        TextBuf t = {.buf = buf, .size = sizeof(buf)};

        textbuf_puts(&t, "12345");
        textbuf_puts(&t, "6789");
        ck_assert(t.overflow);
        ck_assert_uint_eq(t.len, 5);
        textbuf_puts(&t, "x");
        ck_assert_uint_eq(t.len, 5);

        t = (TextBuf){.buf = buf, .size = sizeof(buf)};
        textbuf_printf(&t, "%s", "12345678");
        ck_assert(t.overflow);
        t = (TextBuf){.buf = buf, .size = sizeof(buf)};
        textbuf_put_u64(&t, 123456789);
        ck_assert(t.overflow);
        ck_assert_uint_eq(t.len, 0);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("textbuf");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_appends);
        tcase_add_test(tc, test_overflow_sticks);
        suite_add_tcase(s, tc);
        return s;
}

CHECK_MAIN(make_suite)
