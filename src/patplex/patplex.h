/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "patconf.h"
#include "request.h"

typedef struct Patplex {
        sd_event *event;
        const char *config; /* CONFIG */
        const char *global; /* the global file, or NULL (-N) */
        PatConf *conf;      /* what serves now; replaced whole on reload */
} Patplex;

/* config.c: reads CONFIG and the global file into a new PatConf; errors are
 * logged with their file and line. */
int patplex_load(const Patplex *p, PatConf **ret);

/* serve.c: routes one request and hands it on; owns req and resp_fd. */
void patplex_serve(Patplex *p, Request *req, int resp_fd);
