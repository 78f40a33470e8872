/* SPDX-License-Identifier: MIT */
#pragma once

/* Ownership helpers in the manner of systemd: cleanup attributes that free or
 * close what a variable owns when it goes out of scope, and TAKE_* to hand the
 * ownership on. Every early return in the code base relies on these. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_     __attribute__((sentinel))
#define _noreturn_     __attribute__((noreturn))
#define _likely_(x)    (__builtin_expect(!!(x), 1))
#define _unlikely_(x)  (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_GENERIC(var, type, nullvalue) \
        ({                                 \
                type *_pvar_ = &(var);     \
                type _var_ = *_pvar_;      \
                *_pvar_ = (nullvalue);     \
                _var_;                     \
        })
#define TAKE_PTR(ptr) TAKE_GENERIC(ptr, typeof(ptr), NULL)
#define TAKE_FD(fd)   TAKE_GENERIC(fd, int, -EBADF)

/* Closes fd if it is valid and returns -EBADF, so that "fd = safe_close(fd)"
 * leaves the variable invalid. errno is preserved for the caller. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Frees a NULL-terminated array of strings. */
static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

static inline void strv_freep(char ***l) {
        strv_free(*l);
}

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_   _cleanup_(strv_freep)

/* Defines name##p(type **) calling func on a non-NULL pointer, for
 * _cleanup_(name##p) on types with their own destructor. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        func(*p);               \
        }

/* Returns -errno of the last failed call, never 0, for "return negative_errno();"
 * right after a libc call that failed. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
