/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* The listening sockets: parsing NAME=SPEC, binding, and naming the bound
 * address for the "listen" report line. */

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "launch.h"

/* Whether name may appear in LISTEN_FDNAMES: as systemd's rule (no ':', no
 * control characters, at most 255 bytes), and no spaces either, so that the
 * report lines stay split on spaces. */
static bool fdname_is_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > 255)
                return false;
        for (const char *p = name; *p; p++)
                if (*p == ':' || *p <= ' ' || *p >= 0x7f)
                        return false;
        return true;
}

/* Parses a decimal port number 0..65535. */
static int parse_port(const char *s, uint16_t *ret) {
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* Parses ADDR:PORT, where ADDR is a numeric IPv4 address or [IPv6]. */
static int parse_inet(const char *spec, Listener *l) {
        _cleanup_free_ char *host = NULL;
        const char *port_string;
        uint16_t port;
        int r;

        if (spec[0] == '[') {
                const char *end = strchr(spec, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                host = strndup(spec + 1, end - spec - 1);
                port_string = end + 2;
                l->family = AF_INET6;
        } else {
                const char *colon = strrchr(spec, ':');
                if (!colon)
                        return -EINVAL;
                host = strndup(spec, colon - spec);
                port_string = colon + 1;
                l->family = AF_INET;
        }
        if (!host)
                return -ENOMEM;

        r = parse_port(port_string, &port);
        if (r < 0)
                return r;

        if (l->family == AF_INET) {
                l->address.in.sin_family = AF_INET;
                l->address.in.sin_port = htons(port);
                if (inet_pton(AF_INET, host, &l->address.in.sin_addr) != 1)
                        return -EINVAL;
                l->address_length = sizeof(l->address.in);
        } else {
                l->address.in6.sin6_family = AF_INET6;
                l->address.in6.sin6_port = htons(port);
                if (inet_pton(AF_INET6, host, &l->address.in6.sin6_addr) != 1)
                        return -EINVAL;
                l->address_length = sizeof(l->address.in6);
        }
        l->type = SOCK_STREAM;
        return 0;
}

/* Parses a unix socket path; a leading '@' names an abstract socket. */
static int parse_unix(const char *path, int type, Listener *l) {
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof(l->address.un.sun_path))
                return -EINVAL;
        if (path[0] == '@' && n == 1)
                return -EINVAL;

        l->family = AF_UNIX;
        l->type = type;
        l->address.un.sun_family = AF_UNIX;
        memcpy(l->address.un.sun_path, path, n);
        if (path[0] == '@')
                /* Abstract names are not NUL-terminated: the length says where they end. */
                l->address.un.sun_path[0] = '\0';
        else
                n++;
        l->address_length = offsetof(struct sockaddr_un, sun_path) + n;

        l->path = strdup(path);
        return l->path ? 0 : -ENOMEM;
}

/* Parses a --listen argument, NAME=SPEC, into a Listener that is not open yet. */
int listener_parse(const char *arg, Listener *ret) {
        Listener l = {
                .fd = -EBADF,
        };
        const char *eq, *spec;
        int r;

        eq = strchr(arg, '=');
        if (!eq)
                return -EINVAL;
        l.name = strndup(arg, eq - arg);
        if (!l.name)
                return -ENOMEM;
        if (!fdname_is_valid(l.name)) {
                listener_done(&l);
                return -EINVAL;
        }

        spec = eq + 1;
        if (strncmp(spec, "tcp:", 4) == 0)
                r = parse_inet(spec + 4, &l);
        else if (strncmp(spec, "unix:", 5) == 0)
                r = parse_unix(spec + 5, SOCK_SEQPACKET, &l);
        else if (strncmp(spec, "stream:", 7) == 0)
                r = parse_unix(spec + 7, SOCK_STREAM, &l);
        else
                r = -EINVAL;
        if (r < 0) {
                listener_done(&l);
                return r;
        }

        *ret = l;
        return 0;
}

/* Removes a socket file left behind at path by an earlier run; anything that
 * is not a socket stays, and binding over it fails. */
static int remove_stale_socket(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Binds a unix socket file with its final mode already set, so that it is
 * never reachable with a wider mode than asked for, then gives it its owner. */
static int bind_unix_file(int fd, Listener *l, const SocketOwnership *ownership) {
        _cleanup_free_ char *unlink_path = NULL;
        mode_t old_umask;
        int r;

        unlink_path = strdup(l->path);
        if (!unlink_path)
                return -ENOMEM;

        r = remove_stale_socket(l->path);
        if (r < 0)
                return r;

        old_umask = umask(~ownership->mode & 0777);
        r = bind(fd, &l->address.sa, l->address_length);
        umask(old_umask);
        if (r < 0)
                return -errno;
        l->unlink_path = TAKE_PTR(unlink_path);

        if (ownership->uid != (uid_t) -1 || ownership->gid != (gid_t) -1)
                if (chown(l->path, ownership->uid, ownership->gid) < 0)
                        return -errno;
        return 0;
}

/* Creates, binds and listens on the socket of l. */
int listener_open(Listener *l, const SocketOwnership *ownership) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = socket(l->family, l->type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;

        if (l->family == AF_UNIX && l->path[0] != '@') {
                r = bind_unix_file(fd, l, ownership);
                if (r < 0)
                        return r;
        } else {
                if (l->family != AF_UNIX) {
                        int one = 1;
                        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                                return -errno;
                }
                if (bind(fd, &l->address.sa, l->address_length) < 0)
                        return -errno;
        }

        if (listen(fd, SOMAXCONN) < 0)
                return -errno;

        if (l->family != AF_UNIX) {
                /* Learn the port the kernel picked for port 0. */
                socklen_t length = sizeof(l->address);
                if (getsockname(fd, &l->address.sa, &length) < 0)
                        return -errno;
                l->address_length = length;
        }

        l->fd = TAKE_FD(fd);
        return 0;
}

/* Formats the bound address as "127.0.0.1:PORT", "[::1]:PORT" or the unix path. */
int listener_format_address(const Listener *l, char **ret) {
        char host[INET6_ADDRSTRLEN];
        char *s = NULL;
        int r;

        switch (l->family) {
        case AF_INET:
                if (!inet_ntop(AF_INET, &l->address.in.sin_addr, host, sizeof(host)))
                        return -errno;
                r = asprintf(&s, "%s:%u", host, ntohs(l->address.in.sin_port));
                break;
        case AF_INET6:
                if (!inet_ntop(AF_INET6, &l->address.in6.sin6_addr, host, sizeof(host)))
                        return -errno;
                r = asprintf(&s, "[%s]:%u", host, ntohs(l->address.in6.sin6_port));
                break;
        case AF_UNIX:
                r = asprintf(&s, "%s", l->path);
                break;
        default:
                return -EAFNOSUPPORT;
        }
        if (r < 0)
                return -ENOMEM;

        *ret = s;
        return 0;
}

/* Closes the socket, removes its file and frees l. */
void listener_done(Listener *l) {
        l->io = sd_event_source_unref(l->io);
        l->fd = safe_close(l->fd);
        if (l->unlink_path)
                (void) unlink(l->unlink_path);
        free(l->unlink_path);
        free(l->path);
        free(l->name);
        l->unlink_path = l->path = l->name = NULL;
}
