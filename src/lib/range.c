/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "range.h"

static const char *skip_ows(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

/* Reads 1*DIGIT, saturating at UINT64_MAX (a position beyond any file is
 * as good as infinity). Returns the end, or NULL without a digit. */
static const char *parse_pos(const char *p, uint64_t *ret) {
        uint64_t n = 0;

        if (*p < '0' || *p > '9')
                return NULL;
        for (; *p >= '0' && *p <= '9'; p++)
                n = n > (UINT64_MAX - 9) / 10 ? UINT64_MAX : n * 10 + (uint64_t) (*p - '0');
        *ret = n;
        return p;
}

/* One range-spec: "first-[last]" or "-suffix". *ret_ok false when it is
 * not satisfiable; NULL on a syntax error. */
static const char *parse_spec(const char *p, uint64_t size, ByteRange *ret, bool *ret_ok) {
        uint64_t first, last;

        if (*p == '-') {
                p = parse_pos(p + 1, &last);
                if (!p)
                        return NULL;
                *ret_ok = last > 0 && size > 0;
                if (*ret_ok) {
                        uint64_t n = last < size ? last : size;
                        *ret = (ByteRange){.start = size - n, .length = n};
                }
                return p;
        }
        p = parse_pos(p, &first);
        if (!p || *p != '-')
                return NULL;
        p++;
        if (*p >= '0' && *p <= '9') {
                p = parse_pos(p, &last);
                if (last < first)
                        return NULL; /* invalid, which voids the whole header */
        } else
                last = UINT64_MAX;
        *ret_ok = first < size;
        if (*ret_ok) {
                if (last >= size)
                        last = size - 1;
                *ret = (ByteRange){.start = first, .length = last - first + 1};
        }
        return p;
}

static bool ranges_overlap(const ByteRange *a, const ByteRange *b) {
        return a->start < b->start + b->length && b->start < a->start + a->length;
}

int range_parse(const char *value, uint64_t size, ByteRange ret[static RANGE_MAX]) {
        ByteRange found[RANGE_MAX];
        size_t n_specs = 0, n = 0;
        bool too_many = false;
        const char *p;

        if (!value)
                return 0;
        p = skip_ows(value);
        if (strncasecmp(p, "bytes", 5) != 0)
                return 0;
        p = skip_ows(p + 5);
        if (*p != '=')
                return 0;
        p++;

        /* A list with empty elements allowed (RFC 9110 §5.6.1.2), at least
         * one range-spec; syntax is checked to the end before counting. */
        for (;;) {
                ByteRange r;
                bool ok = false;

                p = skip_ows(p);
                if (*p == ',') {
                        p++;
                        continue;
                }
                if (!*p)
                        break;
                p = parse_spec(p, size, &r, &ok);
                if (!p)
                        return 0;
                p = skip_ows(p);
                if (*p && *p != ',')
                        return 0;
                if (++n_specs > RANGE_MAX) {
                        too_many = true;
                        continue;
                }
                if (ok)
                        found[n++] = r;
        }
        if (n_specs == 0)
                return 0;
        if (too_many)
                return -E2BIG;
        if (n == 0)
                return -ERANGE;
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (ranges_overlap(&found[i], &found[j]))
                                return -E2BIG;
        memcpy(ret, found, n * sizeof(found[0]));
        return (int) n;
}
