/* SPDX-License-Identifier: MIT */
#pragma once

/* Logging for programs (library modules never log). Structured entries go to
 * the journal over its native protocol on a non-blocking socket when the
 * journal is the destination, and readable lines go to stderr otherwise, so a
 * slow or stopped journald never blocks an event loop: an entry that cannot
 * be sent at once is counted as dropped, and the count is reported in the
 * journal as soon as sending works again.
 *
 * The destination is chosen by log_open(): ASHD_LOG=journal|stderr forces
 * one; otherwise the journal when stderr is already connected to it
 * (JOURNAL_STREAM, as under a systemd service) or when the journal socket
 * accepts entries and stderr is not a terminal; stderr in every other case. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

typedef struct LogField {
        const char *name;  /* journal field name: A-Z, 0-9, _ ; not starting with _ */
        const char *value; /* untrusted data is fine here, never in the message */
        size_t len;        /* 0: strlen(value) */
} LogField;

typedef enum LogTarget {
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
} LogTarget;

/* identifier becomes SYSLOG_IDENTIFIER; NULL: program_invocation_short_name.
 * max_priority drops entries above it (ASHD_LOG_LEVEL=debug|info|... in the
 * environment overrides it). Safe to call again. */
void log_open(const char *identifier, int max_priority);
void log_close(void);
LogTarget log_target(void);
/* For tests and the journal tier: the path of the journal socket
 * (default /run/systemd/journal/socket). */
void log_set_journal_socket(const char *path);

/* One entry: PRIORITY, SYSLOG_IDENTIFIER, MESSAGE formatted from fmt, and
 * fields (an array ended by a {NULL} entry, or NULL). Returns 0, or -EAGAIN
 * when the entry was dropped because the journal could not take it. */
int log_fields(int priority, const LogField *fields, const char *fmt, ...) _printf_(3, 4);
int log_fieldsv(int priority, const LogField *fields, const char *fmt, va_list ap) _printf_(3, 0);

/* Entries dropped since log_open() and not yet reported. */
uint64_t log_dropped(void);

#define log_error(...)   log_fields(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_fields(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...)  log_fields(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...)    log_fields(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...)   log_fields(LOG_DEBUG, NULL, __VA_ARGS__)

/* Logs at priority and returns error (a negative errno), for
 * "return log_errno(LOG_ERR, r, "...: %m")". %m prints strerror(-error). */
int log_errno(int priority, int error, const char *fmt, ...) _printf_(3, 4);
