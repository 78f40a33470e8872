/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "url.h"
#include "userpath.h"

static bool name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
}

bool userpath_name_valid(const char *name) {
        size_t len = strlen(name);
        bool dots_only = true;

        if (len == 0 || len > USERPATH_NAME_MAX || name[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++) {
                /* '$' only last: "host$" is a machine account, "a$b" is noise. */
                if (name[i] == '$' && i == len - 1 && i > 0)
                        continue;
                if (!name_char(name[i]))
                        return false;
                if (name[i] != '.')
                        dots_only = false;
        }
        return !dots_only;
}

int userpath_split(const char *rest, char **ret_name, const char **ret_rest) {
        _cleanup_free_ char *name = NULL;
        const char *p = rest;
        bool slash;
        int r;

        if (*p == '~')
                p++;
        if (*p == '\0')
                return -ENOENT;

        /* rest_next_element() decodes and refuses "..", "a%2fb", NUL and
         * empty elements; the name check below is stricter still. */
        r = rest_next_element(&p, &name, &slash);
        if (r < 0)
                return -EINVAL;
        if (r == 0)
                return -ENOENT;
        if (!userpath_name_valid(name))
                return -EINVAL;

        *ret_name = TAKE_PTR(name);
        if (slash)
                *ret_rest = p;
        return slash ? 1 : 0;
}

int userpath_slash_location(const char *url, char **ret) {
        const char *query = url_query(url);
        size_t path_len = (size_t) (query - url);
        char *s;

        if (asprintf(&s, "%.*s/%s", (int) path_len, url, query) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
