/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

/* Opening a path beneath a directory fd: openat2(RESOLVE_BENEATH) where the
 * kernel has it and lets us call it, else the same resolution done one
 * component at a time in userspace. openat2 is missing before Linux 5.6, and
 * seccomp filters that cannot inspect its flags refuse it: systemd's
 * (systemd-nspawn, RestrictSUIDSGID=) with ENOSYS since systemd 248 and
 * EPERM before, container runtimes' default profiles with either. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beneath.h"
#include "log.h"

/* Set once openat2 is known to be missing or refused: from then on every
 * open takes the userspace way without asking the kernel again. */
static bool openat2_unavailable;

/* The directories from the root down to the one the resolution stands in.
 * fds[0] is the caller's root (not ours to close); the others are O_PATH fds
 * of the directories walked through, so ".." goes back to the one we came
 * from and never above fds[0], whatever is renamed meanwhile. */
typedef struct DirStack {
        int fds[BENEATH_DEPTH_MAX];
        size_t n;
} DirStack;

static void dir_stack_done(DirStack *s) {
        while (s->n > 1)
                safe_close(s->fds[--s->n]);
}

static int dir_stack_top(const DirStack *s) {
        return s->fds[s->n - 1];
}

static int dir_stack_pop(DirStack *s) {
        if (s->n == 1)
                return -EXDEV; /* ".." above the root, as RESOLVE_BENEATH says */
        safe_close(s->fds[--s->n]);
        return 0;
}

/* What is left of the path, kept at the end of buf so that a symlink's
 * target goes in front of it without moving it. Once a component has been
 * taken, rest is empty or starts with the '/' that followed it. */
typedef struct Remaining {
        char buf[2 * PATH_MAX];
        char *rest;
} Remaining;

static int remaining_init(Remaining *p, const char *path) {
        size_t len = strlen(path);

        if (len >= sizeof(p->buf))
                return -ENAMETOOLONG;
        p->rest = p->buf + sizeof(p->buf) - len - 1;
        memcpy(p->rest, path, len + 1);
        return 0;
}

/* Takes the next component into name: returns 1, or 0 when none is left.
 * *ret_last: no component follows; *ret_dir: only slashes follow, which
 * asks for a directory (and for a symlink there to be followed). */
static int remaining_next(Remaining *p, char name[static NAME_MAX + 1], bool *ret_last, bool *ret_dir) {
        char *start = p->rest + strspn(p->rest, "/"), *end;
        size_t len;

        if (!*start) {
                p->rest = start;
                return 0;
        }
        end = strchrnul(start, '/');
        len = end - start;
        if (len > NAME_MAX)
                return -ENAMETOOLONG;
        memcpy(name, start, len);
        name[len] = 0;
        p->rest = end;
        *ret_last = end[strspn(end, "/")] == 0;
        *ret_dir = *ret_last && *end == '/';
        return 1;
}

/* Puts the target of the symlink open (O_PATH|O_NOFOLLOW) at fd in front of
 * what is left, read into the free space before it. */
static int remaining_splice_link(Remaining *p, int fd) {
        size_t room = p->rest - p->buf;
        ssize_t n;

        if (room == 0)
                return -ENAMETOOLONG;
        n = readlinkat(fd, "", p->buf, room);
        if (n < 0)
                return -errno;
        if ((size_t) n == room) /* it may have been cut short */
                return -ENAMETOOLONG;
        if (n == 0)
                return -ENOENT; /* as the kernel answers for an empty target */
        /* RESOLVE_BENEATH refuses absolute targets even when they lead back
         * inside. This also keeps magic links shut: their text is an
         * absolute path or a pseudo name like "pipe:[42]", never followed. */
        if (p->buf[0] == '/')
                return -EXDEV;
        p->rest -= n;
        memmove(p->rest, p->buf, n);
        return 0;
}

static int open_in(int dir_fd, const char *name, int flags) {
        int fd = openat(dir_fd, name, flags | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

/* The last component, found not to be a symlink when *fd was opened. An
 * O_PATH open keeps that very fd; any other opens the name again with
 * O_NOFOLLOW, so that a symlink put in its place meanwhile fails (ELOOP)
 * instead of being followed out of the tree. */
static int open_last(int dir_fd, const char *name, int *fd, const struct stat *st, int flags,
                     bool want_dir) {
        if ((want_dir || flags & O_DIRECTORY) && !S_ISDIR(st->st_mode))
                return -ENOTDIR;
        if (flags & O_PATH)
                return TAKE_FD(*fd);
        return open_in(dir_fd, name, flags | O_NOFOLLOW);
}

/* RESOLVE_BENEATH in userspace. Every component is opened O_PATH|O_NOFOLLOW
 * in the directory fd the previous one gave, so the kernel never follows a
 * symlink: targets are read and resolved here, against the same stack. */
static int resolve(int root_fd, const char *path, int flags) {
        /* Set by hand: an initializer would zero all BENEATH_DEPTH_MAX fds. */
        _cleanup_(dir_stack_done) DirStack dirs;
        Remaining p;
        unsigned links = 0;
        int r;

        dirs.fds[0] = root_fd;
        dirs.n = 1;
        if (path[0] == '/')
                return -EXDEV;
        r = remaining_init(&p, path);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                char name[NAME_MAX + 1];
                bool last, want_dir;
                struct stat st;

                r = remaining_next(&p, name, &last, &want_dir);
                if (r <= 0)
                        return r < 0 ? r : open_in(dir_stack_top(&dirs), ".", flags);
                if (streq(name, "."))
                        continue;
                if (streq(name, "..")) {
                        r = dir_stack_pop(&dirs);
                        if (r < 0)
                                return r;
                        continue;
                }
                fd = open_in(dir_stack_top(&dirs), name, O_PATH | O_NOFOLLOW);
                if (fd < 0)
                        return fd;
                if (fstat(fd, &st) < 0)
                        return -errno;
                /* A final symlink stays unfollowed only when asked to, as
                 * with openat(O_NOFOLLOW); a trailing slash follows it. */
                if (S_ISLNK(st.st_mode) && (!last || want_dir || !(flags & O_NOFOLLOW))) {
                        if (++links > BENEATH_LINKS_MAX)
                                return -ELOOP;
                        r = remaining_splice_link(&p, fd);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (last)
                        return open_last(dir_stack_top(&dirs), name, &fd, &st, flags, want_dir);
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (dirs.n == BENEATH_DEPTH_MAX)
                        return -ENAMETOOLONG;
                dirs.fds[dirs.n++] = TAKE_FD(fd);
        }
}

static int open_kernel(int root_fd, const char *path, int flags, bool follow_symlinks) {
        struct open_how how = {
                .flags = flags | O_CLOEXEC,
                .resolve = RESOLVE_NO_MAGICLINKS | (follow_symlinks ? 0 : RESOLVE_BENEATH),
        };
        long fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));

        return fd < 0 ? -errno : (int) fd;
}

/* EPERM is also what openat2 answers for some paths, so it only counts as
 * "refused" when an O_PATH open of the root itself gets it too: that open
 * checks nothing that could say EPERM (no file is opened for access and a
 * failed lookup says EACCES), so only a filter refusing the call can. Were
 * it wrong, the userspace way gives the same answers, only slower. */
static bool openat2_refused(int root_fd) {
        int fd = open_kernel(root_fd, "", O_PATH, false);

        if (fd >= 0) {
                safe_close(fd);
                return false;
        }
        return fd == -EPERM || fd == -ENOSYS;
}

int beneath_open(int root_fd, const char *path, int flags, bool follow_symlinks) {
        int r;

        if (!openat2_unavailable) {
                r = open_kernel(root_fd, path, flags, follow_symlinks);
                /* EAGAIN: a rename or mount meanwhile kept the kernel from
                 * vouching for a ".."; the stack here needs no such check. */
                if (r == -EAGAIN && !follow_symlinks)
                        return resolve(root_fd, path, flags);
                if (r != -ENOSYS && !(r == -EPERM && openat2_refused(root_fd)))
                        return r;
                openat2_unavailable = true;
                log_errno(LOG_NOTICE, r, "openat2() is not available (%m), resolving paths in userspace");
        }
        /* follow-symlinks trusts every link in the tree, wherever it leads;
         * without openat2 that includes magic links, which nothing here can
         * tell from others. */
        if (follow_symlinks)
                return open_in(root_fd, *path ? path : ".", flags);
        return resolve(root_fd, path, flags);
}
