/* SPDX-License-Identifier: MIT */

#include <string.h>

#include "decimal.h"

size_t decimal_u64(char buf[static DECIMAL_MAX], uint64_t v) {
        char tmp[DECIMAL_MAX];
        size_t n = 0;

        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        for (size_t i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        buf[n] = 0;
        return n;
}

const char *decimal_parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        const char *p = s;

        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return NULL;
                v = v * 10 + d;
        }
        if (p == s)
                return NULL;
        *ret = v;
        return p;
}
