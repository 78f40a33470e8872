/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "listing.h"
#include "url.h"

/* Parses a qvalue (RFC 9110 §12.4.2: "0", "1", up to three decimals) into
 * thousandths; -1 if malformed. */
static int parse_qvalue(const char *s, size_t len) {
        int q = 0, scale = 100;

        if (len == 0 || (s[0] != '0' && s[0] != '1'))
                return -1;
        q = (s[0] - '0') * 1000;
        if (len == 1)
                return q;
        if (s[1] != '.' || len > 5)
                return -1;
        for (size_t i = 2; i < len; i++, scale /= 10) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                q += (s[i] - '0') * scale;
        }
        return q > 1000 ? -1 : q;
}

static void trim(const char **s, const char **end) {
        while (*s < *end && (**s == ' ' || **s == '\t'))
                (*s)++;
        while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
                (*end)--;
}

/* How specifically the media range range[0..len) matches type: 3 for the
 * type itself, 2 for its "type/" + "*", 1 for "*" + "/" + "*", 0 for no match. */
static int range_match(const char *range, size_t len, const char *type) {
        const char *slash = strchr(type, '/');
        size_t major = (size_t) (slash - type);

        if (len == strlen(type) && strncasecmp(range, type, len) == 0)
                return 3;
        if (len == major + 2 && strncasecmp(range, type, major + 1) == 0 && range[major + 1] == '*')
                return 2;
        if (len == 3 && memcmp(range, "*/*", 3) == 0)
                return 1;
        return 0;
}

int listing_accept_quality(const char *accept, const char *type) {
        int best_match = 0, best_q = 0;
        const char *p = accept;

        if (!accept || accept[strspn(accept, " \t")] == 0)
                return 1000;

        while (*p) {
                const char *end = p + strcspn(p, ","), *params = p + strcspn(p, ",;");
                const char *range = p, *range_end = params;
                int q = 1000, m;

                trim(&range, &range_end);
                /* Parameters: only q matters; anything after it (accept-ext)
                 * is ignored. */
                for (const char *param = params; *param == ';' && param < end;) {
                        const char *start = param + 1, *stop = start + strcspn(start, ",;");

                        trim(&start, &stop);
                        if (stop - start >= 2 && (start[0] == 'q' || start[0] == 'Q') && start[1] == '=') {
                                q = parse_qvalue(start + 2, (size_t) (stop - start - 2));
                                break;
                        }
                        param = start + strcspn(start, ",;");
                }

                m = q >= 0 ? range_match(range, (size_t) (range_end - range), type) : 0;
                /* The most specific range decides; among equally specific
                 * ones (a client repeating itself) the first. */
                if (m > best_match) {
                        best_match = m;
                        best_q = q;
                }
                p = *end ? end + 1 : end;
        }
        return best_q;
}

bool listing_accept_json(const char *accept) {
        return listing_accept_quality(accept, "application/json") >
               listing_accept_quality(accept, "text/html");
}

static const char *type_name(ListingType t) {
        switch (t) {
        case LISTING_DIRECTORY:
                return "directory";
        case LISTING_FILE:
                return "file";
        default:
                return "other";
        }
}

/* The path of a request target up to its query, percent-decoded for
 * display; the raw path when it does not decode. */
static int url_display_path(const char *url, char **ret) {
        size_t len = strcspn(url, "?");
        char *s;
        int r;

        r = url_unescape(url, len, &s, NULL);
        if (r == -EINVAL)
                s = strndup(url, len);
        else if (r < 0)
                return r;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int render_entry_html(FILE *f, const ListingEntry *e) {
        _cleanup_free_ char *href = NULL;
        char size[LISTING_SIZE_MAX], time[LISTING_TIME_MAX];
        bool dir = e->type == LISTING_DIRECTORY;
        int r;

        r = url_escape_path(e->name, &href);
        if (r < 0)
                return r;

        fprintf(f, "<tr class=\"%s\"><td><a href=\"", type_name(e->type));
        /* url_escape_path keeps a few characters that HTML cares about
         * ('&', '\''), so the link is HTML-escaped as well. */
        listing_html_escape(f, href);
        fputs(dir ? "/\">" : "\">", f);
        listing_html_escape(f, e->name);
        fputs(dir ? "/</a></td>" : "</a></td>", f);
        if (e->has_size) {
                listing_format_size(e->size, size);
                fprintf(f, "<td class=\"size\">%s</td><td class=\"bytes\">%" PRIu64 "</td>", size, e->size);
        } else
                fputs("<td class=\"size\">-</td><td class=\"bytes\"></td>", f);
        if (e->has_mtime) {
                listing_format_time(e->mtime, time);
                fprintf(f, "<td class=\"mtime\"><time>%s</time></td></tr>\n", time);
        } else
                fputs("<td class=\"mtime\">-</td></tr>\n", f);
        return 0;
}

int listing_render_html(FILE *f, const Listing *l, const char *url) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = url_display_path(url, &path);
        if (r < 0)
                return r;

        fputs("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Index of ", f);
        listing_html_escape(f, path);
        fputs("</title>\n</head>\n<body>\n<h1>Index of ", f);
        listing_html_escape(f, path);
        fputs("</h1>\n<table>\n<thead><tr><th>Name</th><th>Size</th><th>Bytes</th>"
              "<th>Modified (UTC)</th></tr></thead>\n<tbody>\n",
              f);
        if (!streq(path, "/"))
                fputs("<tr class=\"parent\"><td><a "
                      "href=\"../\">../</a></td><td></td><td></td><td></td></tr>\n",
                      f);
        for (size_t i = 0; i < l->n_entries; i++) {
                r = render_entry_html(f, &l->entries[i]);
                if (r < 0)
                        return r;
        }
        fputs("</tbody>\n</table>\n", f);
        if (l->truncated)
                fprintf(f, "<p class=\"truncated\">Only the first %zu entries are listed.</p>\n",
                        l->max_entries);
        fputs("</body>\n</html>\n", f);
        return ferror(f) ? -EIO : 0;
}

int listing_render_json(FILE *f, const Listing *l) {
        fputc('[', f);
        for (size_t i = 0; i < l->n_entries; i++) {
                const ListingEntry *e = &l->entries[i];
                _cleanup_free_ char *href = NULL;
                char time[LISTING_TIME_MAX];
                int r;

                r = url_escape_path(e->name, &href);
                if (r < 0)
                        return r;

                fputs(i > 0 ? ",\n{\"name\":" : "\n{\"name\":", f);
                listing_json_string(f, e->name);
                fprintf(f, ",\"type\":\"%s\",\"size\":", type_name(e->type));
                if (e->has_size)
                        fprintf(f, "%" PRIu64, e->size);
                else
                        fputs("null", f);
                fputs(",\"mtime\":", f);
                if (e->has_mtime) {
                        listing_format_time(e->mtime, time);
                        listing_json_string(f, time);
                } else
                        fputs("null", f);
                if (e->type == LISTING_DIRECTORY) {
                        char *slashed = NULL;

                        if (asprintf(&slashed, "%s/", href) < 0)
                                return -ENOMEM;
                        free(href);
                        href = slashed;
                }
                fputs(",\"href\":", f);
                listing_json_string(f, href);
                fputc('}', f);
        }
        fputs("\n]\n", f);
        return ferror(f) ? -EIO : 0;
}
