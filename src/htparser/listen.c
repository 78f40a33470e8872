/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "listen.h"
#include "log.h"

int portspec_parse(const char *spec, PortSpec *ret) {
        PortSpec p = {.port = "80"};
        const char *params;
        size_t kind_len;

        params = strchr(spec, ':');
        kind_len = params ? (size_t) (params - spec) : strlen(spec);
        if (kind_len == 5 && strncmp(spec, "plain", 5) == 0)
                p.tls = false;
        else if (kind_len == 3 && strncmp(spec, "ssl", 3) == 0) {
                p.tls = true;
                strcpy(p.port, "443");
        } else {
                log_error("Invalid PORTSPEC '%s': it starts with plain: or ssl:", spec);
                return -EINVAL;
        }

        for (const char *s = params ? params + 1 : ""; *s;) {
                const char *end = strchrnul(s, ','), *eq = memchr(s, '=', end - s);
                size_t klen, vlen;

                if (!eq) {
                        log_error("Invalid PORTSPEC '%s': parameter without '='", spec);
                        return -EINVAL;
                }
                klen = eq - s;
                vlen = end - eq - 1;
                if (klen == 4 && strncmp(s, "port", 4) == 0 && vlen > 0 && vlen < sizeof(p.port) &&
                    strspn(eq + 1, "0123456789") >= vlen) {
                        memcpy(p.port, eq + 1, vlen);
                        p.port[vlen] = 0;
                } else if (klen == 4 && strncmp(s, "addr", 4) == 0 && vlen > 0 && vlen < sizeof(p.addr)) {
                        memcpy(p.addr, eq + 1, vlen);
                        p.addr[vlen] = 0;
                } else if (p.tls && klen == 4 && strncmp(s, "cert", 4) == 0 && vlen > 0 &&
                           vlen < sizeof(p.cert)) {
                        memcpy(p.cert, eq + 1, vlen);
                        p.cert[vlen] = 0;
                } else if (p.tls && klen == 3 && strncmp(s, "key", 3) == 0 && vlen > 0 &&
                           vlen < sizeof(p.key)) {
                        memcpy(p.key, eq + 1, vlen);
                        p.key[vlen] = 0;
                } else {
                        log_error("Invalid PORTSPEC '%s': unknown or bad parameter '%.*s'", spec, (int) klen,
                                  s);
                        return -EINVAL;
                }
                s = *end ? end + 1 : end;
        }
        if (p.tls && (!*p.cert) != (!*p.key)) {
                log_error("Invalid PORTSPEC '%s': cert= and key= go together", spec);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

static int listener_add(Server *s, int fd, bool tls, const char *name) {
        Listener *l, *all;
        int r;

        all = reallocarray(s->listeners, s->n_listeners + 1, sizeof(Listener));
        if (!all) {
                safe_close(fd);
                return -ENOMEM;
        }
        s->listeners = all;
        /* The array moved: the sources must find their listener again. */
        for (size_t i = 0; i < s->n_listeners; i++)
                sd_event_source_set_userdata(all[i].source, &all[i]);
        l = &s->listeners[s->n_listeners];
        *l = (Listener){.server = s, .fd = fd, .tls = tls, .name = strdup(name)};
        if (!l->name) {
                safe_close(fd);
                return -ENOMEM;
        }
        s->n_listeners++;
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(s->event, &l->source, fd, EPOLLIN, server_accept, l);
        if (r < 0)
                return r;
        return 0;
}

/* Binds one PORTSPEC's address (every address it resolves to). */
static int listen_portspec(Server *s, const char *spec) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        PortSpec p;
        int r, bound = 0;

        r = portspec_parse(spec, &p);
        if (r < 0)
                return r;
        if (p.tls) {
                s->has_tls_listener = true;
                if (*p.cert && (r = server_add_cert(s, p.cert, p.key)) < 0)
                        return r;
        }
        r = getaddrinfo(*p.addr ? p.addr : NULL, p.port, &hints, &ai);
        if (r != 0) {
                log_error("PORTSPEC '%s': %s", spec, gai_strerror(r));
                return -EINVAL;
        }
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                int fd, one = 1;

                fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        continue;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (a->ai_family == AF_INET6)
                        /* "every address" binds :: for both families when it can. */
                        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){*p.addr ? 1 : 0}, sizeof(int));
                if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
                        r = -errno;
                        safe_close(fd);
                        if (r == -EADDRINUSE && !*p.addr && a->ai_family == AF_INET && bound > 0)
                                continue; /* the dual-stack socket has it already */
                        log_errno(LOG_ERR, r, "PORTSPEC '%s': cannot listen: %m", spec);
                        freeaddrinfo(ai);
                        return r;
                }
                r = listener_add(s, fd, p.tls, spec);
                if (r < 0) {
                        freeaddrinfo(ai);
                        return r;
                }
                bound++;
        }
        freeaddrinfo(ai);
        if (bound == 0) {
                log_error("PORTSPEC '%s': no address to listen on", spec);
                return -EADDRNOTAVAIL;
        }
        return 0;
}

int listen_setup(Server *s, char **portspecs, int n) {
        _cleanup_strv_ char **names = NULL;
        int n_fds, r;

        n_fds = sd_listen_fds_with_names(true, &names);
        if (n_fds < 0)
                return log_errno(LOG_ERR, n_fds, "Failed to read the activated sockets: %m");
        for (int i = 0; i < n_fds; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "http";
                bool tls = streq(name, "https");

                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        log_error("Activated socket %d (%s) is not a listening stream socket", fd, name);
                        return -EINVAL;
                }
                if (tls)
                        s->has_tls_listener = true;
                r = listener_add(s, fd, tls, name);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "Failed to watch socket %s: %m", name);
        }
        for (int i = 0; i < n; i++) {
                r = listen_portspec(s, portspecs[i]);
                if (r < 0)
                        return r;
        }
        if (s->n_listeners == 0) {
                log_error("Nothing to listen on: no activated sockets and no PORTSPEC");
                return -EINVAL;
        }
        return 0;
}

void listen_done(Server *s) {
        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                safe_close(s->listeners[i].fd);
                free(s->listeners[i].name);
        }
        free(s->listeners);
        s->listeners = NULL;
        s->n_listeners = 0;
}
