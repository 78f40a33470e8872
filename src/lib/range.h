/* SPDX-License-Identifier: MIT */
#pragma once

/* The Range request header (RFC 9110 §14.2) for byte ranges: parsing a
 * header value against a representation's size. Pure functions. */

#include <stddef.h>
#include <stdint.h>

/* More ranges than this in one header are refused (the range-amplification
 * attack: many small or overlapping ranges of a large file). */
#define RANGE_MAX 16

typedef struct ByteRange {
        uint64_t start;
        uint64_t length; /* never 0 */
} ByteRange;

/* Parses a Range value ("bytes=0-99, 200-, -50") for a representation of
 * size bytes; satisfiable ranges go to ret in the order given, clamped to the
 * size. Returns their number (1..RANGE_MAX); 0 when the header must be
 * ignored (another unit, a syntax error: the whole representation is sent);
 * -ERANGE when no range is satisfiable (416); -E2BIG when there are more than
 * RANGE_MAX ranges or two satisfiable ranges overlap (refused, also 416). */
int range_parse(const char *value, uint64_t size, ByteRange ret[static RANGE_MAX]);
