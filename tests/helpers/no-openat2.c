/* SPDX-License-Identifier: MIT */

/* no-openat2 [--eperm] PROGRAM [ARGS...]: runs PROGRAM as on a kernel
 * without openat2(2), the way systemd-nspawn and container runtimes make it
 * look: a seccomp filter answers ENOSYS to it (EPERM with --eperm, as older
 * ones do) and allows every other call. The filter is inherited by
 * PROGRAM's children and shows as "Seccomp: 2" in /proc/PID/status. Exits
 * 127 when PROGRAM cannot be run, 126 when the filter cannot be installed. */

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The filter looks at system calls of the ABI this helper is built for (the
 * one of the programs it runs); calls of another ABI pass. */
#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_S390X
#endif

/* x32 calls come with the x86-64 audit arch and this bit in the number. */
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0
#endif

static int refuse_openat2(unsigned error) {
#ifdef AUDIT_ARCH_NATIVE
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(__u32) __X32_SYSCALL_BIT),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (error & SECCOMP_RET_DATA)),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog program = {
                .len = sizeof(filter) / sizeof(filter[0]),
                .filter = filter,
        };

        /* Without this, only a privileged process may install a filter. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0)
                return -errno;
        return 0;
#else
        return -EOPNOTSUPP; /* an architecture this helper does not know */
#endif
}

int main(int argc, char **argv) {
        unsigned error = ENOSYS;
        int r;

        if (argc > 1 && strcmp(argv[1], "--eperm") == 0) {
                error = EPERM;
                argv++;
                argc--;
        }
        if (argc < 2) {
                fprintf(stderr, "Usage: no-openat2 [--eperm] PROGRAM [ARGS...]\n");
                return 2;
        }
        r = refuse_openat2(error);
        if (r < 0) {
                fprintf(stderr, "no-openat2: cannot install the seccomp filter: %s\n", strerror(-r));
                return 126;
        }
        execvp(argv[1], argv + 1);
        fprintf(stderr, "no-openat2: cannot run %s: %s\n", argv[1], strerror(errno));
        return 127;
}
