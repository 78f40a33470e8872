/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <inttypes.h>
#include <string.h>

#include "listing.h"

/* Decodes one well-formed UTF-8 sequence at s (overlong forms, surrogates
 * and code points past U+10FFFF are not well-formed). Returns its length
 * with the code point in *ret_cp, or 0 if s does not start one. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret_cp) {
        uint32_t cp, min;
        size_t n;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, cp = s[0] & 0x1f, min = 0x80;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, cp = s[0] & 0x0f, min = 0x800;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, cp = s[0] & 0x07, min = 0x10000;
        else
                return 0;
        /* A NUL ends the string, and it is no continuation byte either. */
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return n;
}

static void put_utf8(FILE *f, uint32_t cp) {
        if (cp < 0x80)
                fputc((int) cp, f);
        else if (cp < 0x800) {
                fputc((int) (0xc0 | cp >> 6), f);
                fputc((int) (0x80 | (cp & 0x3f)), f);
        } else if (cp < 0x10000) {
                fputc((int) (0xe0 | cp >> 12), f);
                fputc((int) (0x80 | (cp >> 6 & 0x3f)), f);
                fputc((int) (0x80 | (cp & 0x3f)), f);
        } else {
                fputc((int) (0xf0 | cp >> 18), f);
                fputc((int) (0x80 | (cp >> 12 & 0x3f)), f);
                fputc((int) (0x80 | (cp >> 6 & 0x3f)), f);
                fputc((int) (0x80 | (cp & 0x3f)), f);
        }
}

void listing_html_escape(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                uint32_t cp;
                size_t n = utf8_decode(p, &cp);

                if (n == 0) {
                        /* One byte at a time, so that what follows a bad
                         * byte still shows as itself. */
                        put_utf8(f, 0xfffd);
                        p++;
                        continue;
                }
                p += n;
                switch (cp) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        /* Control characters are shown, not obeyed: a name
                         * must not be able to hide or fake a line. */
                        if (cp < 0x20)
                                put_utf8(f, 0x2400 + cp);
                        else if (cp == 0x7f)
                                put_utf8(f, 0x2421);
                        else if (cp >= 0x80 && cp < 0xa0)
                                put_utf8(f, 0xfffd);
                        else
                                put_utf8(f, cp);
                }
        }
}

void listing_json_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                uint32_t cp;
                size_t n = utf8_decode(p, &cp);

                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                p += n;
                if (cp == '"' || cp == '\\') {
                        fputc('\\', f);
                        fputc((int) cp, f);
                } else if (cp < 0x20 || cp == 0x7f || cp == '<' || cp == '>' || cp == '&')
                        /* < > & too, so that JSON sniffed as HTML or pasted
                         * into a script element stays inert. */
                        fprintf(f, "\\u%04" PRIx32, cp);
                else
                        put_utf8(f, cp);
        }
        fputc('"', f);
}

void listing_format_size(uint64_t size, char buf[static LISTING_SIZE_MAX]) {
        static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        uint64_t whole = size, tenths;
        size_t u = 0;

        if (size < 1024) {
                snprintf(buf, LISTING_SIZE_MAX, "%u B", (unsigned) (size % 1024));
                return;
        }
        /* In integers, so that the result is exact to the tenth (rounded
         * down) for every 64-bit size; doubles lose bits above 2^53. */
        while (whole >= 1024 * 1024 && u + 1 < ELEMENTSOF(units)) {
                whole /= 1024;
                u++;
        }
        tenths = (whole % 1024) * 10 / 1024;
        snprintf(buf, LISTING_SIZE_MAX, "%u.%u %s", (unsigned) (whole / 1024 % 1024),
                 (unsigned) (tenths % 10), units[u]);
}

void listing_format_time(time_t t, char buf[static LISTING_TIME_MAX]) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, LISTING_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                strcpy(buf, "-");
}
