/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "url.h"

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes %XX escapes into a fresh buffer, refusing malformed escapes. */
int url_unescape(const char *s, size_t len, char **ret, size_t *ret_len) {
        _cleanup_free_ char *out = NULL;
        const char *end = s + len;
        char *p;

        /* Decoding never lengthens the string. */
        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;

        p = out;
        while (s < end) {
                const char *pct = memchr(s, '%', (size_t) (end - s));
                size_t plain = pct ? (size_t) (pct - s) : (size_t) (end - s);

                memcpy(p, s, plain);
                p += plain;
                if (!pct)
                        break;

                if (end - pct < 3)
                        return -EINVAL;
                int hi = hex_value(pct[1]), lo = hex_value(pct[2]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                *p++ = (char) (hi << 4 | lo);
                s = pct + 3;
        }
        *p = 0;

        if (ret_len)
                *ret_len = (size_t) (p - out);
        *ret = TAKE_PTR(out);
        return 0;
}

/* Whether c may stand unescaped in an escaped path. ':' is escaped although a
 * path may hold it, because "a:b" as a relative reference reads as a scheme. */
static bool path_char_safe(unsigned char c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c != 0 && strchr("-._~/!$&'()*+,;=@", c);
}

/* Escapes everything outside a conservative set of path characters. */
int url_escape_path(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = 0;
        char *out, *p;

        for (const char *i = s; *i; i++)
                n += path_char_safe((unsigned char) *i) ? 1 : 3;

        out = malloc(n + 1);
        if (!out)
                return -ENOMEM;

        p = out;
        for (const char *i = s; *i; i++) {
                unsigned char c = (unsigned char) *i;

                if (path_char_safe(c))
                        *p++ = (char) c;
                else {
                        *p++ = '%';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                }
        }
        *p = 0;

        *ret = out;
        return 0;
}

/* Whether c may appear in a request target at all: no controls, spaces or
 * fragments (RFC 9112 §3.2). Bytes above 0x7f are let through, since clients
 * do send raw UTF-8 and the rest string is a byte string anyway. */
static bool target_char_valid(unsigned char c) {
        return c > ' ' && c != 0x7f && c != '#';
}

/* Copies the path of [path, ...) up to the query, without its leading '/',
 * into a new string, validating the characters on the way. */
static int rest_from_path(const char *path, char **ret) {
        const char *end;
        char *out;

        for (end = path; *end && *end != '?'; end++)
                if (!target_char_valid((unsigned char) *end))
                        return -EINVAL;
        for (const char *q = end; *q; q++)
                if (!target_char_valid((unsigned char) *q))
                        return -EINVAL;

        if (*path == '/')
                path++;
        out = strndup(path, (size_t) (end - path));
        if (!out)
                return -ENOMEM;

        *ret = out;
        return 0;
}

/* Derives the initial rest string from an origin-, absolute- or asterisk-form
 * request target. */
int url_rest_from_target(const char *target, char **ret) {
        const char *p;

        if (target[0] == '/')
                return rest_from_path(target, ret);

        if (streq(target, "*")) {
                char *out = strdup("");
                if (!out)
                        return -ENOMEM;
                *ret = out;
                return 0;
        }

        /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
        p = target;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                return -EINVAL;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '+' || *p == '-' || *p == '.')
                p++;
        if (strncmp(p, "://", 3) != 0)
                return -EINVAL;
        p += 3;

        const char *authority = p;
        while (*p && *p != '/' && *p != '?') {
                if (!target_char_valid((unsigned char) *p))
                        return -EINVAL;
                p++;
        }
        if (p == authority)
                return -EINVAL;

        return rest_from_path(p, ret);
}

/* Points at the query of url, '?' included, or at its terminating NUL. */
const char *url_query(const char *url) {
        const char *q = strchr(url, '?');

        return q ? q : url + strlen(url);
}

/* Whether a decoded element can be used as one file name under a directory. */
bool path_element_valid(const char *element, size_t len) {
        if (len == 0)
                return false;
        if (element[0] == '.' && (len == 1 || (len == 2 && element[1] == '.')))
                return false;
        return !memchr(element, '/', len) && !memchr(element, 0, len);
}

/* Takes one element off the front of an escaped rest string, decoding it on
 * its own so that an escaped '/' can never split or join elements. Empty
 * elements ("a//b", a leading '/') are refused like "..": they name no file. */
int rest_next_element(const char **rest, char **ret, bool *ret_slash) {
        _cleanup_free_ char *element = NULL;
        const char *start = *rest, *end;
        size_t len;
        int r;

        if (!*start)
                return 0;

        end = strchrnul(start, '/');
        r = url_unescape(start, (size_t) (end - start), &element, &len);
        if (r < 0)
                return r;
        if (!path_element_valid(element, len))
                return -EPERM;

        *ret_slash = *end == '/';
        *rest = *end == '/' ? end + 1 : end;
        *ret = TAKE_PTR(element);
        return 1;
}
