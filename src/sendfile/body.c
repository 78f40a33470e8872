/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* Responses written as bytes: when htparser does not take the file (an
 * original ashd front, or a multipart body, which is framing and ranges
 * interleaved). Transient mode writes with blocking calls, it has nothing
 * else to do. Persistent mode must not let one slow reader stall every other
 * request, so the socket is made non-blocking and what does not fit at once
 * is written from the event loop as the socket drains, with an idle timeout;
 * file ranges go with sendfile(2), which works on a Unix stream socket. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "sendfile.h"

int body_new(Sendfile *s, int sock, int file, Body **ret) {
        Body *b = calloc(1, sizeof(*b));

        if (!b) {
                safe_close(sock);
                safe_close(file);
                return -ENOMEM;
        }
        b->sendfile = s;
        b->sock = sock;
        b->file = file;
        *ret = b;
        return 0;
}

Body *body_free(Body *b) {
        if (!b)
                return NULL;
        if (b->io) {
                sd_event_source_disable_unref(b->io);
                b->sendfile->writers--;
                if (b->sendfile->handler)
                        handler_release(b->sendfile->handler);
        }
        sd_event_source_disable_unref(b->timer);
        safe_close(b->sock);
        safe_close(b->file);
        free(b->text);
        free(b);
        return NULL;
}

void body_add_text(Body *b, const char *data, size_t len) {
        if (len > 0 && b->n_segments < BODY_SEGMENTS_MAX)
                b->segments[b->n_segments++] = (BodySegment){.data = data, .length = len};
}

void body_add_file(Body *b, uint64_t offset, uint64_t length) {
        if (length > 0 && b->n_segments < BODY_SEGMENTS_MAX)
                b->segments[b->n_segments++] = (BodySegment){.offset = offset, .length = length};
}

/* Writes until done (1), the socket is full (0) or an error (-errno). */
static int body_write(Body *b) {
        while (b->current < b->n_segments) {
                BodySegment *seg = &b->segments[b->current];
                uint64_t left = seg->length - b->done;
                ssize_t n;

                if (seg->data)
                        n = send(b->sock, seg->data + b->done, left, MSG_NOSIGNAL);
                else {
                        off_t off = (off_t) (seg->offset + b->done);

                        n = sendfile(b->sock, b->file, &off, left > (1U << 30) ? (1U << 30) : left);
                        /* The file shrank under us: the response cannot be completed. */
                        if (n == 0)
                                return -ENODATA;
                }
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -errno;
                }
                b->done += n;
                if (b->done == seg->length) {
                        b->current++;
                        b->done = 0;
                }
        }
        return 1;
}

static int on_writable(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Body *b = userdata;
        uint64_t now;
        int r;

        r = body_write(b);
        if (r != 0) {
                if (r < 0 && r != -EPIPE && r != -ECONNRESET)
                        log_errno(LOG_WARNING, r, "Failed to write a response body: %m");
                body_free(b);
                return 0;
        }
        if (sd_event_now(sd_event_source_get_event(source), CLOCK_MONOTONIC, &now) >= 0)
                (void) sd_event_source_set_time(b->timer, now + WRITER_IDLE_USEC);
        return 0;
}

static int on_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        log_warning("Dropped a response body nobody read for %llu s",
                    (unsigned long long) (WRITER_IDLE_USEC / 1000000));
        body_free(userdata);
        return 0;
}

int body_send(Body *b) {
        _cleanup_(body_freep) Body *owned = b;
        Sendfile *s = b->sendfile;
        int flags, r;

        if (s->transient) {
                r = body_write(b);
                return r < 0 ? r : 0;
        }

        flags = fcntl(b->sock, F_GETFL);
        if (flags < 0 || fcntl(b->sock, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        r = body_write(b);
        if (r != 0)
                return r < 0 ? r : 0;

        if (s->writers >= WRITERS_MAX)
                return -EMFILE;
        r = sd_event_add_io(s->event, &b->io, b->sock, EPOLLOUT, on_writable, b);
        if (r < 0)
                return r;
        s->writers++;
        /* An idle exit waits for this body (released in body_free). */
        if (s->handler)
                handler_hold(s->handler);
        r = sd_event_add_time_relative(s->event, &b->timer, CLOCK_MONOTONIC, WRITER_IDLE_USEC, 0, on_idle,
                                       b);
        if (r < 0)
                return r;
        TAKE_PTR(owned);
        return 0;
}
