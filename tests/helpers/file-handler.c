/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* A persistent handler for the zero-copy tests: "GET /OFFSET/LENGTH/PATH"
 * answers with LENGTH bytes of the file /PATH from OFFSET. When htparser
 * announces X-Ash-Accept-Body-Fd, the open file travels with the head
 * ("X-Ash-Body-Fd: OFFSET LENGTH") and htparser sends it; otherwise the
 * bytes are written. "--claim-more" announces one byte more than the file
 * has, to see a bad header refused; "--no-fd" never attaches the file. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "fdpass.h"
#include "handler.h"
#include "log.h"
#include "response.h"

static bool claim_more, no_fd;

static void on_request(Handler *h, Request *req, int resp_fd, void *userdata) {
        _cleanup_(req_freep) Request *r = req;
        _cleanup_close_ int fd = resp_fd, file = -EBADF;
        unsigned long long offset, length;
        char head[256], path[4096];
        struct stat st;
        int n;

        if (sscanf(r->rest, "%llu/%llu/%4000s", &offset, &length, path + 1) != 3) {
                (void) response_simple(fd, 400, "want OFFSET/LENGTH/PATH");
                return;
        }
        path[0] = '/';
        file = open(path, O_RDONLY | O_CLOEXEC);
        if (file < 0 || fstat(file, &st) < 0 || offset + length > (unsigned long long) st.st_size) {
                (void) response_simple(fd, 404, "no such file or range");
                return;
        }
        if (claim_more)
                length = st.st_size - offset + 1;

        if (req_header_get(r, "X-Ash-Accept-Body-Fd") && !no_fd) {
                n = snprintf(head, sizeof(head),
                             "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             "Content-Length: %llu\r\nX-Ash-Body-Fd: %llu %llu\r\n\r\n",
                             length, offset, length);
                if (fdpass_send(fd, head, n, file) < 0)
                        log_warning("Failed to send the head with the file");
                return;
        }

        n = snprintf(
                head, sizeof(head),
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n\r\n",
                length);
        if (write(fd, head, n) != n)
                return;
        off_t off = offset;
        while (length > 0) {
                ssize_t k = sendfile(fd, file, &off, length);
                if (k <= 0)
                        break;
                length -= k;
        }
}

int main(int argc, char **argv) {
        HandlerOptions ho = {.on_request = on_request};

        log_open(NULL, LOG_INFO);
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--claim-more"))
                        claim_more = true;
                else if (streq(argv[i], "--no-fd"))
                        no_fd = true;
        }
        return handler_run(&ho, NULL);
}
