/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* Directories one userspace resolution holds open at once (how deep its path
 * and the symlinks in it go); deeper is -ENAMETOOLONG, as is more than
 * 2 * PATH_MAX bytes of path and link targets still to resolve. The kernel
 * has neither limit: such paths are served only where openat2 works. */
#define BENEATH_DEPTH_MAX 256
/* Symlinks one resolution follows, as the kernel's MAXSYMLINKS; more is
 * -ELOOP. */
#define BENEATH_LINKS_MAX 40

/* Opens path, relative to the directory root_fd ("" is that directory),
 * with flags (O_PATH or a read-only open; O_CLOEXEC is added) and returns
 * the fd or -errno. Unless follow_symlinks, a ".." or a symlink that would
 * leave root_fd, and any absolute symlink, gives -EXDEV as openat2's
 * RESOLVE_BENEATH does. Magic links (/proc/PID/fd/N and the like) are not
 * followed, save with follow_symlinks where openat2 is missing. openat2 does
 * the work where the kernel has it and lets us call it, a resolution in
 * userspace with the same answers where it does not. */
int beneath_open(int root_fd, const char *path, int flags, bool follow_symlinks);
