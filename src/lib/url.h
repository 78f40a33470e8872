/* SPDX-License-Identifier: MIT */
#pragma once

/* URLs, rest strings and path elements. Pure functions over buffers. */

#include <stdbool.h>
#include <stddef.h>

/* Decodes %XX escapes in s[0..len) into a new NUL-terminated string. '+' is
 * left alone (this is a path, not a form). A malformed escape (% not followed
 * by two hex digits) is -EINVAL. The result may contain NUL bytes; its length
 * is returned through ret_len (which may be NULL). */
int url_unescape(const char *s, size_t len, char **ret, size_t *ret_len);

/* Escapes a path for use in a Location header or HTML: keeps unreserved
 * characters, '/', and sub-delimiters that are safe in a path; %XX for the rest. */
int url_escape_path(const char *s, char **ret);

/* The initial rest string of a request target: the path without its leading
 * slash and without the query, still escaped. "http://host/a/b?q" → "a/b";
 * "*" → "". -EINVAL for a target that is neither origin-, absolute- nor
 * asterisk-form, or that holds a control character, a space or a '#'. */
int url_rest_from_target(const char *target, char **ret);

/* The query of a URL including its '?', or "" if it has none. */
const char *url_query(const char *url);

/* Whether a decoded path element may name a file: not empty, not "." or
 * "..", and no '/' or NUL in it. */
bool path_element_valid(const char *element, size_t len);

/* Takes the next element off an (escaped) rest string: on return *rest points
 * past the element and its '/'. Returns 1 with the decoded element in *ret,
 * 0 when the rest is empty, -EINVAL for a malformed escape and -EPERM for an
 * element that path_element_valid() refuses after decoding ("%2e%2e",
 * "a%2fb", "%00"), empty elements ("a//b") included. *ret_slash tells whether
 * a '/' followed the element. */
int rest_next_element(const char **rest, char **ret, bool *ret_slash);
