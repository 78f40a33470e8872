/* SPDX-License-Identifier: MIT */

/* The logging module: the journal's native protocol spoken over a
 * non-blocking datagram socket (sd_journal_send would block on a full
 * socket), and escaped one-line entries on stderr. Nothing here allocates
 * while logging: every entry is built on the stack. */

#define _GNU_SOURCE 1 /* program_invocation_short_name */

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* Bytes of MESSAGE; a longer one is cut and ends in "...". */
#define LOG_MESSAGE_MAX 4096
/* Fields per entry taken from the caller; any beyond are ignored. */
#define LOG_CALLER_FIELDS_MAX 64
/* PRIORITY, SYSLOG_IDENTIFIER, MESSAGE: every entry's first fields. */
#define LOG_OWN_FIELDS 3
/* Room for one more: ERRNO, or ASHD_DROPPED in the drop report. */
#define LOG_FIELDS_MAX (LOG_OWN_FIELDS + LOG_CALLER_FIELDS_MAX + 1)
/* journald's own limit on field names. */
#define LOG_FIELD_NAME_MAX 64
/* Each value's size in the one retry of an entry too big for a datagram. */
#define LOG_VALUE_CAP      2048
#define LOG_IDENTIFIER_MAX 64
/* Bytes of a stderr line; a longer one is cut and ends in "...". */
#define LOG_LINE_MAX       8192
#define LOG_DEFAULT_SOCKET "/run/systemd/journal/socket"

/* One entry, every field with its length resolved: fields[0..2] are PRIORITY,
 * SYSLOG_IDENTIFIER and MESSAGE, the rest come from the caller. */
typedef struct LogEntry {
        int priority;
        LogField fields[LOG_FIELDS_MAX];
        size_t n_fields;
} LogEntry;

static struct {
        LogTarget target;
        int fd; /* the journal socket, opened on first use */
        int max_priority;
        uint64_t dropped;
        char identifier[LOG_IDENTIFIER_MAX + 1];
        struct sockaddr_un address;
        socklen_t address_len; /* 0: the path set does not fit a socket address */
} log_state = {
        .target = LOG_TARGET_STDERR,
        .fd = -EBADF,
        .max_priority = LOG_INFO,
        .address = {.sun_family = AF_UNIX, .sun_path = LOG_DEFAULT_SOCKET},
        .address_len = offsetof(struct sockaddr_un, sun_path) + sizeof(LOG_DEFAULT_SOCKET),
};

static const char *const priority_names[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static const char *const priority_values[] = {"0", "1", "2", "3", "4", "5", "6", "7"};

static int clamp_priority(int priority) {
        if (priority < LOG_EMERG)
                return LOG_EMERG;
        if (priority > LOG_DEBUG)
                return LOG_DEBUG;
        return priority;
}

/* Reads ASHD_LOG_LEVEL (a name or a number), or returns fallback. */
static int level_from_environment(int fallback) {
        const char *e = getenv("ASHD_LOG_LEVEL");

        if (!e || !*e)
                return fallback;
        for (size_t i = 0; i < ELEMENTSOF(priority_names); i++)
                if (streq(e, priority_names[i]))
                        return (int) i;
        if (streq(e, "error"))
                return LOG_ERR;
        if (streq(e, "warn"))
                return LOG_WARNING;
        if (e[0] >= '0' && e[0] <= '7' && e[1] == '\0')
                return e[0] - '0';
        return fallback;
}

/* Whether stderr is the stream systemd connected to the journal for us
 * (JOURNAL_STREAM is inherited, so it only counts if it names our stderr). */
static bool stderr_is_journal_stream(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long device, inode;
        char *end;
        struct stat st;

        if (!e || !*e)
                return false;
        errno = 0;
        device = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end != ':')
                return false;
        e = end + 1;
        inode = strtoull(e, &end, 10);
        if (errno != 0 || end == e || *end != '\0')
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) device && st.st_ino == (ino_t) inode;
}

/* Whether something listens on the journal socket right now. */
static bool journal_listening(void) {
        _cleanup_close_ int fd = -EBADF;

        if (log_state.address_len == 0)
                return false;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return false;
        return connect(fd, (const struct sockaddr *) &log_state.address, log_state.address_len) >= 0;
}

static LogTarget choose_target(void) {
        const char *e = getenv("ASHD_LOG");

        if (e && streq(e, "journal"))
                return LOG_TARGET_JOURNAL;
        if (e && streq(e, "stderr"))
                return LOG_TARGET_STDERR;
        if (stderr_is_journal_stream())
                return LOG_TARGET_JOURNAL;
        if (!isatty(STDERR_FILENO) && journal_listening())
                return LOG_TARGET_JOURNAL;
        return LOG_TARGET_STDERR;
}

void log_open(const char *identifier, int max_priority) {
        int saved_errno = errno;

        if (!identifier)
                identifier = program_invocation_short_name;
        snprintf(log_state.identifier, sizeof(log_state.identifier), "%s", identifier);
        log_state.max_priority = level_from_environment(clamp_priority(max_priority));
        log_state.target = choose_target();
        /* The dropped count survives a second log_open(): those entries are
         * still unreported. */
        errno = saved_errno;
}

void log_close(void) {
        log_state.fd = safe_close(log_state.fd);
        log_state.target = LOG_TARGET_STDERR;
}

LogTarget log_target(void) {
        return log_state.target;
}

/* Sends use the new path at once; the automatic choice of target sees it at
 * the next log_open(). */
void log_set_journal_socket(const char *path) {
        size_t len;

        if (!path)
                path = LOG_DEFAULT_SOCKET;
        len = strlen(path);
        if (len == 0 || len >= sizeof(log_state.address.sun_path)) {
                log_state.address_len = 0;
                return;
        }
        memcpy(log_state.address.sun_path, path, len + 1);
        log_state.address_len = offsetof(struct sockaddr_un, sun_path) + len + 1;
}

uint64_t log_dropped(void) {
        return log_state.dropped;
}

/* Journal field names journald accepts; user fields must not start with '_'
 * (trusted fields) or a digit. */
static bool field_name_valid(const char *name) {
        size_t n;

        if (!name || name[0] == '_' || (name[0] >= '0' && name[0] <= '9'))
                return false;
        for (n = 0; name[n]; n++) {
                char c = name[n];

                if (n >= LOG_FIELD_NAME_MAX)
                        return false;
                if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        return false;
        }
        return n > 0;
}

/* Whether name is one of the fields every entry sets itself, which a caller
 * must not be able to duplicate. */
static bool field_name_reserved(const char *name) {
        return streq(name, "PRIORITY") || streq(name, "SYSLOG_IDENTIFIER") || streq(name, "MESSAGE");
}

static void entry_add(LogEntry *e, const char *name, const char *value, size_t len) {
        if (e->n_fields >= ELEMENTSOF(e->fields))
                return;
        e->fields[e->n_fields++] = (LogField){.name = name, .value = value, .len = len};
}

/* Starts an entry with its own three fields; message must outlive it. */
static void entry_init(LogEntry *e, int priority, const char *message, size_t message_len) {
        /* A program may log before log_open(), e.g. about its options. */
        if (!log_state.identifier[0])
                snprintf(log_state.identifier, sizeof(log_state.identifier), "%s",
                         program_invocation_short_name);
        e->priority = priority;
        e->n_fields = 0;
        entry_add(e, "PRIORITY", priority_values[priority], 1);
        entry_add(e, "SYSLOG_IDENTIFIER", log_state.identifier, strlen(log_state.identifier));
        entry_add(e, "MESSAGE", message, message_len);
}

static void entry_add_caller_fields(LogEntry *e, const LogField *fields) {
        size_t taken = 0;

        for (const LogField *f = fields; f && f->name && taken < LOG_CALLER_FIELDS_MAX; f++) {
                if (!f->value || !field_name_valid(f->name) || field_name_reserved(f->name))
                        continue;
                entry_add(e, f->name, f->value, f->len > 0 ? f->len : strlen(f->value));
                taken++;
        }
}

static int journal_socket(void) {
        if (log_state.fd < 0)
                log_state.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        return log_state.fd < 0 ? -errno : log_state.fd;
}

/* Writes the entry in the native protocol's "NAME=value\n" form into one
 * buffer, when every value is free of newlines and NULs (those need the
 * binary framing) and the whole fits. */
static bool journal_flatten(const LogEntry *e, size_t value_cap, struct iovec *ret) {
        static char buf[8192];
        size_t len = 0;

        for (size_t i = 0; i < e->n_fields; i++) {
                const LogField *f = &e->fields[i];
                size_t name_len = strlen(f->name), value_len = f->len < value_cap ? f->len : value_cap;

                if (name_len + value_len + 2 > sizeof(buf) - len || memchr(f->value, '\n', value_len) ||
                    memchr(f->value, '\0', value_len))
                        return false;
                memcpy(buf + len, f->name, name_len);
                len += name_len;
                buf[len++] = '=';
                memcpy(buf + len, f->value, value_len);
                len += value_len;
                buf[len++] = '\n';
        }
        *ret = (struct iovec){buf, len};
        return true;
}

/* Sends the entry as one datagram, each value cut to value_cap bytes. */
static int journal_send(const LogEntry *e, size_t value_cap) {
        struct iovec iov[LOG_FIELDS_MAX * 5];
        uint64_t lengths[LOG_FIELDS_MAX];
        size_t n = 0;
        struct msghdr mh = {
                .msg_name = &log_state.address,
                .msg_namelen = log_state.address_len,
                .msg_iov = iov,
        };
        int fd;

        if (log_state.address_len == 0)
                return -ENAMETOOLONG;
        fd = journal_socket();
        if (fd < 0)
                return fd;

        /* An entry that fits goes out as one piece: the kernel copies
         * one segment much faster than the ~60 an access entry has in
         * pieces (callgrind and /proc CPU per request, htparser). */
        if (journal_flatten(e, value_cap, &iov[0]))
                n = 1;
        else
                for (size_t i = 0; i < e->n_fields; i++) {
                        const LogField *f = &e->fields[i];
                        size_t len = f->len < value_cap ? f->len : value_cap;

                        iov[n++] = (struct iovec){(char *) f->name, strlen(f->name)};
                        /* "NAME=value\n" cannot carry a newline, and NUL is safer framed too. */
                        if (memchr(f->value, '\n', len) || memchr(f->value, '\0', len)) {
                                lengths[i] = htole64((uint64_t) len);
                                iov[n++] = (struct iovec){(char *) "\n", 1};
                                iov[n++] = (struct iovec){&lengths[i], sizeof(lengths[i])};
                        } else
                                iov[n++] = (struct iovec){(char *) "=", 1};
                        iov[n++] = (struct iovec){(char *) f->value, len};
                        iov[n++] = (struct iovec){(char *) "\n", 1};
                }
        mh.msg_iovlen = n;

        for (;;) {
                if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

typedef struct LineBuffer {
        char *data;
        size_t len, size;
        bool truncated;
} LineBuffer;

static void line_append(LineBuffer *b, const void *p, size_t len) {
        if (b->truncated || len > b->size - b->len) {
                b->truncated = true;
                return;
        }
        memcpy(b->data + b->len, p, len);
        b->len += len;
}

static void line_append_string(LineBuffer *b, const char *s) {
        line_append(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p, or 0 if there is none (overlong
 * forms, surrogates, beyond U+10FFFF, cut short). */
static size_t utf8_sequence_length(const unsigned char *p, size_t left) {
        unsigned char low = 0x80, high = 0xbf;
        size_t n;

        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                n = 3;
                if (p[0] == 0xe0)
                        low = 0xa0;
                else if (p[0] == 0xed)
                        high = 0x9f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                n = 4;
                if (p[0] == 0xf0)
                        low = 0x90;
                else if (p[0] == 0xf4)
                        high = 0x8f;
        } else
                return 0;
        if (left < n || p[1] < low || p[1] > high)
                return 0;
        for (size_t i = 2; i < n; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

/* Appends untrusted bytes so that they can never end the line or reach a
 * terminal as a control sequence: newlines, backslashes, C0 and C1 controls
 * and bytes that are not UTF-8 are escaped. */
static void line_append_escaped(LineBuffer *b, const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < len && !b->truncated;) {
                size_t n = p[i] < 0x80 ? 1 : utf8_sequence_length(p + i, len - i);
                char hex[5];

                if (p[i] == '\n') {
                        line_append(b, "\\n", 2);
                        i++;
                } else if (p[i] == '\\') {
                        line_append(b, "\\\\", 2);
                        i++;
                } else if (n == 0 || p[i] < 0x20 || p[i] == 0x7f ||
                           (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
                        /* A C1 control is escaped byte by byte, like invalid UTF-8. */
                        size_t k = n == 0 ? 1 : n;

                        for (size_t j = 0; j < k; j++) {
                                snprintf(hex, sizeof(hex), "\\x%02x", p[i + j]);
                                line_append(b, hex, 4);
                        }
                        i += k;
                } else {
                        line_append(b, p + i, n);
                        i += n;
                }
        }
}

/* Writes all of buf to stderr; a socket (the journal's stream) gets
 * MSG_NOSIGNAL so that a dead reader cannot kill us with SIGPIPE. */
static void stderr_write(const char *buf, size_t len) {
        while (len > 0) {
                ssize_t k = send(STDERR_FILENO, buf, len, MSG_NOSIGNAL);

                if (k < 0 && errno == ENOTSOCK)
                        k = write(STDERR_FILENO, buf, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                buf += k;
                len -= (size_t) k;
        }
}

/* Writes the entry as "IDENT[PID]: <level> message FIELD=value ..." in a
 * single write, so that lines of concurrent processes do not interleave. */
static void stderr_entry(const LogEntry *e) {
        char data[LOG_LINE_MAX];
        LineBuffer b = {.data = data, .size = sizeof(data) - 1}; /* room for the newline */
        char pid[32];

        line_append_escaped(&b, log_state.identifier, strlen(log_state.identifier));
        snprintf(pid, sizeof(pid), "[%d]: <", (int) getpid());
        line_append_string(&b, pid);
        line_append_string(&b, priority_names[e->priority]);
        line_append(&b, "> ", 2);
        line_append_escaped(&b, e->fields[2].value, e->fields[2].len);
        for (size_t i = LOG_OWN_FIELDS; i < e->n_fields; i++) {
                line_append(&b, " ", 1);
                line_append_string(&b, e->fields[i].name);
                line_append(&b, "=", 1);
                line_append_escaped(&b, e->fields[i].value, e->fields[i].len);
        }
        if (b.truncated) {
                if (b.len < 3)
                        b.len = 3;
                memcpy(b.data + b.len - 3, "...", 3);
        }
        b.data[b.len++] = '\n';
        stderr_write(b.data, b.len);
}

/* Puts one entry where it belongs: the journal if that is the target and
 * takes it, stderr if the journal is gone. Returns 0 or -EAGAIN. */
static int entry_emit(const LogEntry *e) {
        if (log_state.target == LOG_TARGET_JOURNAL) {
                int r = journal_send(e, SIZE_MAX);

                if (r == -EMSGSIZE)
                        r = journal_send(e, LOG_VALUE_CAP);
                if (r >= 0)
                        return 0;
                /* A full queue means a stalled journald: waiting for it would
                 * stall us too. */
                if (r == -EAGAIN || r == -ENOBUFS)
                        return -EAGAIN;
                /* Any other failure (no journald, refused): the entry is not lost. */
        }
        stderr_entry(e);
        return 0;
}

/* Reports the entries dropped so far, ahead of the next entry that gets through. */
static int report_dropped(void) {
        char message[64], count[24];
        LogEntry e;
        int r;

        snprintf(message, sizeof(message), "%" PRIu64 " log entries were dropped", log_state.dropped);
        snprintf(count, sizeof(count), "%" PRIu64, log_state.dropped);
        entry_init(&e, LOG_WARNING, message, strlen(message));
        entry_add(&e, "ASHD_DROPPED", count, strlen(count));
        r = entry_emit(&e);
        if (r < 0)
                return r;
        log_state.dropped = 0;
        return 0;
}

/* Formats and emits one entry; error (a negative errno, or 0) is what %m
 * prints and becomes ERRNO. */
static int log_dispatch(int priority, int error, const LogField *fields, const char *fmt, va_list ap) {
        char message[LOG_MESSAGE_MAX], errno_value[16];
        int saved_errno = errno, n, r;
        size_t message_len;
        LogEntry e;

        priority &= LOG_PRIMASK;
        if (priority > log_state.max_priority)
                return 0;

        /* glibc's %m prints strerror(errno). */
        if (error != 0)
                errno = error < 0 ? -error : error;
        n = vsnprintf(message, sizeof(message), fmt, ap);
        if (n < 0)
                message_len = 0;
        else if ((size_t) n >= sizeof(message)) {
                message_len = sizeof(message) - 1;
                memcpy(message + message_len - 3, "...", 3);
        } else
                message_len = (size_t) n;

        entry_init(&e, priority, message, message_len);
        entry_add_caller_fields(&e, fields);
        if (error != 0) {
                snprintf(errno_value, sizeof(errno_value), "%d", error < 0 ? -error : error);
                entry_add(&e, "ERRNO", errno_value, strlen(errno_value));
        }

        r = 0;
        if (log_state.dropped > 0)
                r = report_dropped();
        if (r >= 0)
                r = entry_emit(&e);
        if (r < 0)
                log_state.dropped++;

        errno = saved_errno;
        return r;
}

int log_fieldsv(int priority, const LogField *fields, const char *fmt, va_list ap) {
        return log_dispatch(priority, 0, fields, fmt, ap);
}

int log_fields(int priority, const LogField *fields, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_dispatch(priority, 0, fields, fmt, ap);
        va_end(ap);
        return r;
}

int log_errno(int priority, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_dispatch(priority, error, NULL, fmt, ap);
        va_end(ap);
        return error > 0 ? -error : error;
}
