/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* Certificates that systemd hands over as credentials. ashd.service has
 *   LoadCredential=tls:/etc/ashd/tls
 * which copies every file of that root-only directory into
 * $CREDENTIALS_DIRECTORY as tls_FILE, readable by htparser alone; so the
 * key never needs to be readable by the ashd user on disk. Each NAME.pem
 * there (a certificate chain) goes with NAME.key. */

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htparser.h"
#include "log.h"
#include "macro.h"

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n > m && streq(s + n - m, suffix);
}

static void free_names(struct dirent **names, int n) {
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

int server_add_credential_certs(Server *s, const char *prefix) {
        const char *dir = secure_getenv("CREDENTIALS_DIRECTORY");
        struct dirent **names = NULL;
        size_t plen = strlen(prefix);
        int n, added = 0, r = 0;

        if (!dir || !*dir) {
                log_error("--tls-credentials=%s: no $CREDENTIALS_DIRECTORY (LoadCredential=%s:DIR in the "
                          "unit)",
                          prefix, prefix);
                return -ENOENT;
        }
        /* Sorted, so the default certificate (the first) does not depend
         * on the order of the directory. */
        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return log_errno(LOG_ERR, -errno, "Cannot read %s: %m", dir);

        for (int i = 0; i < n && r >= 0; i++) {
                const char *name = names[i]->d_name;
                _cleanup_free_ char *key = NULL, *path = NULL;

                if (strncmp(name, prefix, plen) != 0 || name[plen] != '_' || !has_suffix(name, ".pem"))
                        continue;
                if (asprintf(&key, "%.*s.key", (int) (strlen(name) - 4), name) < 0 ||
                    asprintf(&path, "%s/%s", dir, key) < 0) {
                        r = -ENOMEM;
                        log_error("Out of memory");
                        break;
                }
                if (access(path, F_OK) < 0) {
                        r = -ENOENT;
                        log_error("Credential %s has no key %s beside it", name, key);
                        break;
                }
                r = server_add_cert(s, name, key);
                if (r < 0)
                        log_error("Out of memory");
                else
                        added++;
        }
        free_names(names, n);
        return r < 0 ? r : added;
}
