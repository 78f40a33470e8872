/* SPDX-License-Identifier: MIT */
#pragma once

/* Numbers as decimal text without printf: on the per-request path of every
 * program, where vsnprintf's format parsing was a visible share of the user
 * time (callgrind). Pure functions. */

#include <stddef.h>
#include <stdint.h>

#define DECIMAL_MAX 21 /* digits of UINT64_MAX and the NUL */

/* Writes v's digits and a NUL to buf. Returns the number of digits. */
size_t decimal_u64(char buf[static DECIMAL_MAX], uint64_t v);

/* Reads 1*DIGIT from s into *ret, refusing overflow. Returns the end of
 * the digits, or NULL when there is none or the value does not fit. */
const char *decimal_parse_u64(const char *s, uint64_t *ret);
