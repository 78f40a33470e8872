/* SPDX-License-Identifier: MIT */

/* A program that logs through log.h, for the journal tier.
 *
 *   log-probe IDENT PRIORITY MESSAGE [FIELD=VALUE...]
 *       logs one entry; prints "target journal|stderr" and "result R" (the
 *       return value of log_fields) on stdout, exits 0 if R is 0.
 *   log-probe --flood N IDENT
 *       logs N entries (field FLOOD_SEQ=i) as fast as it can and prints
 *       "sent X dropped Y" (Y: log_dropped()), then waits for a line or EOF
 *       on stdin and logs one more entry, "flood done", so that the drop
 *       report can be seen to reach the journal; prints "final R", exits 0. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PROBE_FIELDS_MAX 32

static const char *target_name(void) {
        return log_target() == LOG_TARGET_JOURNAL ? "journal" : "stderr";
}

static int parse_number(const char *s, unsigned long *ret) {
        char *end;

        errno = 0;
        *ret = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return -EINVAL;
        return 0;
}

static int flood(const char *count, const char *identifier) {
        unsigned long n, sent = 0;
        char line[64];
        int r;

        if (parse_number(count, &n) < 0) {
                fprintf(stderr, "log-probe: bad count '%s'\n", count);
                return EXIT_FAILURE;
        }
        log_open(identifier, LOG_DEBUG);
        for (unsigned long i = 0; i < n; i++) {
                char seq[24];
                const LogField fields[] = {{"FLOOD_SEQ", seq}, {NULL}};

                snprintf(seq, sizeof(seq), "%lu", i);
                if (log_fields(LOG_INFO, fields, "flood %lu", i) == 0)
                        sent++;
        }
        printf("sent %lu dropped %llu\n", sent, (unsigned long long) log_dropped());
        fflush(stdout);

        /* The caller resumes journald before letting us go on. */
        if (!fgets(line, sizeof(line), stdin))
                clearerr(stdin);
        r = log_notice("flood done");
        printf("final %d\n", r);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        LogField fields[PROBE_FIELDS_MAX + 1] = {};
        char names[PROBE_FIELDS_MAX][65];
        size_t n_fields = 0;
        unsigned long priority;
        int r;

        if (argc == 4 && streq(argv[1], "--flood"))
                return flood(argv[2], argv[3]);
        if (argc < 4 || parse_number(argv[2], &priority) < 0 || priority > LOG_DEBUG ||
            (size_t) (argc - 4) > PROBE_FIELDS_MAX) {
                fprintf(stderr, "usage: log-probe IDENT PRIORITY MESSAGE [FIELD=VALUE...]\n"
                                "       log-probe --flood N IDENT\n");
                return EXIT_FAILURE;
        }
        for (int i = 4; i < argc; i++) {
                const char *equals = strchr(argv[i], '=');
                size_t len = equals ? (size_t) (equals - argv[i]) : 0;

                /* Names are copied rather than cut in place: argv is what
                 * journald records as _CMDLINE. */
                if (!equals || len >= sizeof(names[0])) {
                        fprintf(stderr, "log-probe: '%s' is not FIELD=VALUE\n", argv[i]);
                        return EXIT_FAILURE;
                }
                memcpy(names[n_fields], argv[i], len);
                names[n_fields][len] = '\0';
                fields[n_fields] = (LogField){.name = names[n_fields], .value = equals + 1};
                n_fields++;
        }

        log_open(argv[1], LOG_DEBUG);
        printf("target %s\n", target_name());
        r = log_fields((int) priority, fields, "%s", argv[3]);
        printf("result %d\n", r);
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
