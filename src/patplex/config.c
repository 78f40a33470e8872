/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "messages.h"
#include "patplex.h"

/* A configuration error, with its file and line as journal fields. */
static void log_config_error(const char *file, unsigned line, const char *error) {
        char number[16] = "";
        LogField fields[] = {
                {"MESSAGE_ID", MESSAGE_ID_CONFIG_ERROR},
                {"CONFIG_FILE", file},
                {"CONFIG_LINE", number},
                {},
        };

        if (line > 0)
                snprintf(number, sizeof(number), "%u", line);
        else
                fields[2] = (LogField){};
        log_fields(LOG_ERR, fields, "%s", error);
}

/* conf_error() says "FILE:LINE: what"; the line becomes its own field. */
static void log_reader_error(const char *path, ConfReader *reader, int r) {
        const char *error = reader ? conf_error(reader) : NULL;
        unsigned line = 0;

        if (!error) {
                _cleanup_free_ char *msg = NULL;

                if (asprintf(&msg, "%s: %s", path, strerror(-r)) < 0)
                        return;
                log_config_error(path, 0, msg);
                return;
        }
        /* An included file names itself at the start of the message. */
        const char *colon = strchr(error, ':');
        _cleanup_free_ char *file = colon ? strndup(error, colon - error) : NULL;
        if (colon)
                line = strtoul(colon + 1, NULL, 10);
        log_config_error(file ? file : path, line, error);
}

static int load_file(PatConf *c, const char *path) {
        _cleanup_(conf_freep) ConfReader *reader = NULL;
        int r;

        r = conf_open(path, &reader);
        if (r >= 0)
                r = patconf_parse(c, reader);
        if (r < 0)
                log_reader_error(path, reader, r);
        return r;
}

int patplex_load(const Patplex *p, PatConf **ret) {
        _cleanup_(patconf_freep) PatConf *c = NULL;
        const char *name;
        unsigned line;
        int r;

        r = patconf_new(&c);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Cannot read the configuration: %m");
        r = load_file(c, p->config);
        if (r < 0)
                return r;
        /* The global file comes after CONFIG, so that its stanzas lose ties. */
        if (p->global && access(p->global, F_OK) == 0) {
                r = load_file(c, p->global);
                if (r < 0)
                        return r;
        }
        r = patconf_finish(c, &line, &name);
        if (r < 0) {
                _cleanup_free_ char *msg = NULL;

                if (asprintf(&msg, "%s:%u: handler '%s' is not defined", p->config, line, name) >= 0)
                        log_config_error(p->config, line, msg);
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
