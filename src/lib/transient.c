/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "transient.h"

#define ENV_VERSION     "HTTP_VERSION"
#define ENV_PREFIX      "REQ_"
#define DEFAULT_VERSION "HTTP/1.1"

/* Whether an environment entry belongs to the request a handler was started
 * for, and so must not leak from the parent into the next one's. */
static bool env_is_request_entry(const char *e) {
        size_t l = strlen(ENV_VERSION);

        if (strncmp(e, ENV_PREFIX, strlen(ENV_PREFIX)) == 0)
                return true;
        return strncmp(e, ENV_VERSION, l) == 0 && (e[l] == '=' || e[l] == 0);
}

int transient_argv(char *const *cmd, const Request *r, char ***ret) {
        _cleanup_strv_ char **argv = NULL;
        size_t n = 0;

        if (!cmd || !cmd[0])
                return -EINVAL;
        while (cmd[n])
                n++;

        argv = calloc(n + 4, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        /* calloc keeps the array NULL-terminated at every step, so the cleanup
         * frees exactly what was copied so far. */
        for (size_t i = 0; i < n; i++) {
                argv[i] = strdup(cmd[i]);
                if (!argv[i])
                        return -ENOMEM;
        }
        argv[n] = strdup(r->method);
        if (!argv[n])
                return -ENOMEM;
        argv[n + 1] = strdup(r->url);
        if (!argv[n + 1])
                return -ENOMEM;
        argv[n + 2] = strdup(r->rest);
        if (!argv[n + 2])
                return -ENOMEM;

        *ret = TAKE_PTR(argv);
        return 0;
}

/* Makes "REQ_NAME=value" for a header, or returns -EINVAL if its name cannot
 * become a portable variable name once upper-cased with '-' turned into '_'. */
static int env_header_entry(const ReqHeader *h, char **ret) {
        size_t ln = strlen(h->name), lv = strlen(h->value), lp = strlen(ENV_PREFIX);
        _cleanup_free_ char *e = NULL;
        char *p;

        if (ln == 0)
                return -EINVAL;
        e = malloc(lp + ln + 1 + lv + 1);
        if (!e)
                return -ENOMEM;
        memcpy(e, ENV_PREFIX, lp);
        p = e + lp;
        for (const char *s = h->name; *s; s++) {
                char c = *s;

                if (c >= 'a' && c <= 'z')
                        c -= 'a' - 'A';
                else if (c == '-')
                        c = '_';
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        return -EINVAL;
                *p++ = c;
        }
        *p++ = '=';
        memcpy(p, h->value, lv + 1);

        *ret = TAKE_PTR(e);
        return 0;
}

/* Builds the environment. Of headers that map to the same variable (repeated
 * headers, or names differing only in case or '-' against '_'), the first
 * one wins, as req_header_get() would answer. */
int transient_env(char *const *base, const Request *r, char ***ret) {
        _cleanup_strv_ char **env = NULL;
        size_t n_base = 0, n = 0, first_header;

        while (base && base[n_base])
                n_base++;

        env = calloc(n_base + 1 + r->n_headers + 1, sizeof(char *));
        if (!env)
                return -ENOMEM;

        for (size_t i = 0; i < n_base; i++) {
                if (env_is_request_entry(base[i]))
                        continue;
                env[n] = strdup(base[i]);
                if (!env[n++])
                        return -ENOMEM;
        }

        if (asprintf(&env[n], ENV_VERSION "=%s", r->version) < 0) {
                env[n] = NULL;
                return -ENOMEM;
        }
        n++;

        first_header = n;
        for (size_t i = 0; i < r->n_headers; i++) {
                _cleanup_free_ char *e = NULL;
                bool seen = false;
                size_t key_len;
                int k;

                k = env_header_entry(&r->headers[i], &e);
                if (k == -EINVAL)
                        continue;
                if (k < 0)
                        return k;

                key_len = strchr(e, '=') - e + 1;
                for (size_t j = first_header; j < n && !seen; j++)
                        seen = strncmp(env[j], e, key_len) == 0;
                if (!seen)
                        env[n++] = TAKE_PTR(e);
        }

        *ret = TAKE_PTR(env);
        return 0;
}

/* Makes fd the target descriptor of the exec'd program. dup2() onto itself
 * leaves close-on-exec set, so that case clears it instead. */
static int child_install_fd(int fd, int target) {
        if (fd == target)
                return fcntl(fd, F_SETFD, 0);
        return dup2(fd, target);
}

/* The forked child. Only async-signal-safe calls are made here, since the
 * parent may have threads; everything was allocated before the fork. */
static _noreturn_ void transient_child(int resp_fd, char **argv, char **envp) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;

        /* The mask and ignored signals survive exec; an event loop blocks its
         * signals and servers ignore SIGPIPE, neither of which the handler
         * expects. */
        sigemptyset(&none);
        sigemptyset(&sa.sa_mask);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || sigaction(SIGPIPE, &sa, NULL) < 0)
                _exit(127);

        if (child_install_fd(resp_fd, STDIN_FILENO) < 0 || child_install_fd(resp_fd, STDOUT_FILENO) < 0)
                _exit(127);
        if (resp_fd > STDERR_FILENO)
                close(resp_fd);

        /* execvpe() is execve() for a path and searches PATH for a bare name,
         * as the original ashd's "exec" does; it does not allocate. */
        execvpe(argv[0], argv, envp);
        _exit(127);
}

int transient_spawn(char *const *cmd, const Request *r, int resp_fd, pid_t *ret_pid) {
        _cleanup_strv_ char **argv = NULL, **envp = NULL;
        pid_t pid;
        int k;

        if (resp_fd < 0)
                return -EBADF;

        k = transient_argv(cmd, r, &argv);
        if (k < 0)
                return k;
        k = transient_env(environ, r, &envp);
        if (k < 0)
                return k;

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                transient_child(resp_fd, argv, envp);

        *ret_pid = pid;
        return 0;
}

/* Turns the part of a variable name after REQ_ into a header name: words
 * split at '_', each capitalised, joined with '-'. */
static void header_name_from_env(const char *s, size_t len, char *buf) {
        bool word_start = true;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '_') {
                        buf[i] = '-';
                        word_start = true;
                        continue;
                }
                if (word_start && c >= 'a' && c <= 'z')
                        c -= 'a' - 'A';
                else if (!word_start && c >= 'A' && c <= 'Z')
                        c += 'a' - 'A';
                buf[i] = c;
                word_start = false;
        }
        buf[len] = 0;
}

int transient_request(int argc, char *const *argv, char *const *envp, Request **ret) {
        _cleanup_(req_freep) Request *req = NULL;
        const char *version = DEFAULT_VERSION;
        size_t lp = strlen(ENV_PREFIX), lv = strlen(ENV_VERSION);
        int k;

        if (argc < 3 || !argv)
                return -EINVAL;

        for (char *const *e = envp; e && *e; e++)
                if (strncmp(*e, ENV_VERSION, lv) == 0 && (*e)[lv] == '=') {
                        version = *e + lv + 1;
                        break;
                }

        k = req_new(argv[argc - 3], argv[argc - 2], version, argv[argc - 1], &req);
        if (k < 0)
                return k;

        for (char *const *e = envp; e && *e; e++) {
                char name[REQ_NAME_MAX + 1];
                const char *eq;
                size_t len;

                if (strncmp(*e, ENV_PREFIX, lp) != 0)
                        continue;
                eq = strchr(*e + lp, '=');
                if (!eq || eq == *e + lp)
                        continue;
                len = eq - (*e + lp);
                if (len > REQ_NAME_MAX)
                        return -E2BIG;
                header_name_from_env(*e + lp, len, name);
                k = req_header_add(req, name, eq + 1);
                if (k < 0)
                        return k;
        }

        *ret = TAKE_PTR(req);
        return 0;
}
