/* SPDX-License-Identifier: MIT */
#pragma once

#include <magic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "handler.h"
#include "mime.h"
#include "range.h"
#include "request.h"

/* Longest Content-Type we send; longer overrides are refused (500). */
#define CONTENT_TYPE_MAX 256
/* Response heads are built on the stack in a buffer this big. */
#define HEAD_MAX 4096
/* Bodies written as bytes at once (persistent mode); more are refused. */
#define WRITERS_MAX 1024
/* A body writer that makes no progress for this long is dropped. */
#define WRITER_IDLE_USEC (120ULL * 1000000ULL)
/* Files libmagic has typed, remembered by identity. */
#define TYPE_CACHE_SIZE 256
/* Files known to have no precompressed sibling: 4096 entries, 160 KiB. */
#define SIBLING_CACHE_SETS 1024
#define SIBLING_CACHE_WAYS 4
/* How long "no sibling" is believed, at most: a sibling that appears next to
 * a file already served is served within this time. */
#define SIBLING_NONE_TRUST_NSEC 1000000000ULL

typedef struct Sendfile {
        const char *file;         /* -f */
        const char *content_type; /* -c */
        MimeTable *mime;          /* NULL without a readable mime.types */
        magic_t magic;            /* NULL when libmagic could not load */
        sd_event *event;          /* persistent mode: body writers run here */
        bool transient;
        uint64_t boundary_seed;
        uint64_t responses;
        size_t writers;
        uint64_t idle_exit_usec; /* --idle-exit */
        Handler *handler;        /* persistent mode: bodies in flight hold it */
} Sendfile;

static inline int64_t stat_mtime_nsec(const struct stat *st) {
        return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* mimetype.c: the Content-Type of a file, into buf: -c, else requested
 * (the X-Ash-Content-Type header, or NULL), else mime.types by name (text
 * types with a charset from libmagic, utf-8 unless it says otherwise), else
 * libmagic's type, else application/octet-stream. -EINVAL for an unusable
 * override. */
int content_type_for(Sendfile *s, const char *requested, const char *path, int fd, const struct stat *st,
                     char buf[static CONTENT_TYPE_MAX]);
void content_type_cache_clear(void);

/* siblings.c: files known to have no usable precompressed sibling, in
 * fixed memory (see there). Times are sibling_cache_now()'s: nanoseconds of
 * CLOCK_MONOTONIC_COARSE, 0 when there is no clock (nothing is cached then).
 * has_none: path, still the file st describes, was found without a sibling
 * less than SIBLING_NONE_TRUST_NSEC ago; add_none: it was, at now. */
uint64_t sibling_cache_now(void);
bool sibling_cache_has_none(const char *path, const struct stat *st, uint64_t now);
void sibling_cache_add_none(const char *path, const struct stat *st, uint64_t now);
/* Entries still believed at now (for tests). */
size_t sibling_cache_count(uint64_t now);
void sibling_cache_clear(void);

/* body.c: a response written as bytes: segments of text (head, multipart
 * framing) and ranges of the file, in order. */
#define BODY_SEGMENTS_MAX (2 * RANGE_MAX + 2)

typedef struct BodySegment {
        const char *data; /* NULL: from the file */
        uint64_t offset;  /* in the file */
        uint64_t length;
} BodySegment;

typedef struct Body {
        Sendfile *sendfile;
        int sock, file;
        char *text; /* owned: what text segments point into */
        BodySegment segments[BODY_SEGMENTS_MAX];
        size_t n_segments, current;
        uint64_t done; /* bytes of the current segment written */
        sd_event_source *io, *timer;
} Body;

/* Takes sock and file, closing them on failure too. */
int body_new(Sendfile *s, int sock, int file, Body **ret);
Body *body_free(Body *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Body *, body_free);
void body_add_text(Body *b, const char *data, size_t len);
void body_add_file(Body *b, uint64_t offset, uint64_t length);
/* Sends the body: to the end in transient mode; in persistent mode as far
 * as the socket takes it, the rest from the event loop. Takes b. */
int body_send(Body *b);

/* serve.c: answers one request on sock (which it closes). */
void serve_request(Sendfile *s, const Request *req, int sock);
