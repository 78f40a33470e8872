/* SPDX-License-Identifier: MIT */
#pragma once

/* Where htparser listens: the sockets systemd passes (by name: "http" plain,
 * "https" TLS) and the original ashd's PORTSPECs on the command line. */

#include "htparser.h"

/* A PORTSPEC, "plain:port=PORT,addr=ADDRESS" (both parameters optional;
 * port 80, every address) or "ssl:port=PORT,addr=ADDRESS,cert=FILE,key=FILE"
 * (port 443). */
typedef struct PortSpec {
        bool tls;
        char port[8];
        char addr[64];
        char cert[256]; /* ssl: only */
        char key[256];
} PortSpec;

/* Parses one PORTSPEC; -EINVAL with a message on stderr if it is wrong. */
int portspec_parse(const char *spec, PortSpec *ret);

/* Takes the activated sockets and binds every PORTSPEC, logging what fails.
 * Fails when there is nothing to listen on. */
int listen_setup(Server *s, char **portspecs, int n);
void listen_done(Server *s);
