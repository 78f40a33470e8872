/* SPDX-License-Identifier: MIT */
#pragma once

/* The "/~NAME/…" part of a request, for userplex. Pure functions over
 * buffers. */

#include <stdbool.h>
#include <stddef.h>

/* Longest user name userplex will look up (useradd's own limit is 32). */
#define USERPATH_NAME_MAX 64

/* Whether name is a plausible user name: 1..USERPATH_NAME_MAX bytes of
 * [A-Za-z0-9._-] (and a '$' at the end, as for Samba machine accounts), not
 * starting with '-' and not made of dots alone. Anything else never reaches
 * getpwnam_r(), which may ask NSS modules over the network. */
bool userpath_name_valid(const char *name);

/* Takes the user name off a rest string: "~NAME/rest" or "NAME/rest" (the
 * '~' is optional, since mounted by patplex at "^~" userplex sees the rest
 * after it, and mounted directly it sees it whole). The name is
 * %XX-decoded. Returns 1 with the name in *ret_name and *ret_rest pointing
 * past its '/', 0 with the name when no '/' follows it (the caller
 * redirects), -ENOENT for an empty rest (or "~" alone), -EINVAL for a name
 * that is malformed or not plausible. Out-parameters are untouched on
 * failure. */
int userpath_split(const char *rest, char **ret_name, const char **ret_rest);

/* The Location for a request whose URL names a user without a trailing '/':
 * the URL's path with '/' appended, then its query ("/~a?x" → "/~a/?x"). */
int userpath_slash_location(const char *url, char **ret);
