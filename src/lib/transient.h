/* SPDX-License-Identifier: MIT */
#pragma once

/* Transient handlers (ashd(7)): one request, then exit. The handler gets the
 * response socket on stdin and stdout, the method, URL and rest string as its
 * last three arguments, each header NAME as the environment variable
 * REQ_NAME (upper case, '-' turned into '_'), and HTTP_VERSION. */

#include <sys/types.h>

#include "request.h"

/* cmd + method, url, rest, NULL-terminated, newly allocated. */
int transient_argv(char *const *cmd, const Request *r, char ***ret);
/* base (may be NULL) without any REQ_* or HTTP_VERSION entries, plus those of
 * the request. A header whose name cannot form a variable name is left out. */
int transient_env(char *const *base, const Request *r, char ***ret);
/* Forks and execs cmd as a transient handler with resp_fd on stdin and
 * stdout; returns the child's pid. resp_fd stays open in the caller. */
int transient_spawn(char *const *cmd, const Request *r, int resp_fd, pid_t *ret_pid);
/* The receiving side: the request a transient handler was started for, from
 * its argv (last three arguments) and environment. Header names come back in
 * a canonical form ("REQ_CONTENT_TYPE" → "Content-Type"). -EINVAL if argc < 3. */
int transient_request(int argc, char *const *argv, char *const *envp, Request **ret);
