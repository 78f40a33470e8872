/* SPDX-License-Identifier: MIT */
#pragma once

/* ashd-launch: a stand-in for a systemd socket unit plus a Type=notify
 * service, for the tests and the demo on machines whose PID 1 is not systemd.
 * It binds the listening sockets itself, starts the program with LISTEN_FDS,
 * LISTEN_PID and LISTEN_FDNAMES, listens on a NOTIFY_SOCKET and restarts the
 * program on the next connection after it exits. Every event is one line on
 * stdout, so that a test can follow along. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define USEC_PER_SEC 1000000ULL

/* Longest notify datagram we accept, as systemd's NOTIFY_BUFFER_MAX. */
#define NOTIFY_BUFFER_MAX 4096
/* Most fds one notify datagram may carry (FDSTORE=1); they are all closed. */
#define NOTIFY_FD_MAX 768

/* One --listen socket. */
typedef struct Listener {
        char *name; /* its LISTEN_FDNAMES entry */
        int family; /* AF_INET, AF_INET6 or AF_UNIX */
        int type;   /* SOCK_STREAM or SOCK_SEQPACKET */
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
                struct sockaddr_un un;
        } address;
        socklen_t address_length;
        char *path;        /* the unix socket path as given ("@..." when abstract) */
        char *unlink_path; /* the socket file we created, removed at exit */
        int fd;
        sd_event_source *io;
} Listener;

/* Who owns unix socket files, and their mode (SocketUser=, SocketGroup=, SocketMode=). */
typedef struct SocketOwnership {
        mode_t mode;
        uid_t uid; /* (uid_t) -1: leave as is */
        gid_t gid; /* (gid_t) -1: leave as is */
} SocketOwnership;

int listener_parse(const char *arg, Listener *ret);
int listener_open(Listener *l, const SocketOwnership *ownership);
int listener_format_address(const Listener *l, char **ret);
void listener_done(Listener *l);

/* The user PROGRAM runs as (--user). */
typedef struct User {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;
} User;

int user_lookup(const char *name, User *ret);
void user_done(User *u);

/* Everything the child needs between fork() and execvp(). */
typedef struct ExecConfig {
        char **argv;
        char **environment; /* --setenv NAME=VALUE, applied last */
        const int *fds;     /* the listening sockets, in option order */
        size_t n_fds;
        const char *fd_names;      /* LISTEN_FDNAMES */
        const char *notify_socket; /* NULL: no NOTIFY_SOCKET */
        uint64_t watchdog_usec;    /* 0: no WATCHDOG_USEC */
        const User *user;          /* NULL: keep our credentials */
} ExecConfig;

/* Exit statuses of the child before exec, as systemd's (see systemd.exec(5)). */
enum {
        EXIT_FDS = 202,
        EXIT_EXEC = 203,
        EXIT_STDIN = 208,
        EXIT_SIGNAL_MASK = 210,
        EXIT_GROUP = 216,
        EXIT_USER = 217,
        EXIT_SETSID = 220,
};

int child_spawn(const ExecConfig *c, pid_t *ret_pid);

int notify_open(int *ret_fd, char **ret_address);
int notify_receive(int fd, char *buf, size_t size, pid_t *ret_pid);

typedef enum NotifyAccess {
        NOTIFY_ACCESS_MAIN,
        NOTIFY_ACCESS_ALL,
} NotifyAccess;

/* The whole launcher: its settings, then the state of the one program. */
typedef struct Launcher {
        sd_event *event;

        Listener *listeners;
        size_t n_listeners;
        int *fds;
        char *fd_names;

        ExecConfig exec;
        User user;
        char **environment;
        bool lazy;
        bool once;
        bool use_notify;
        NotifyAccess notify_access;
        uint64_t watchdog_usec;
        unsigned start_limit_burst;
        uint64_t start_limit_interval_usec;
        uint64_t timeout_stop_usec;

        int notify_fd;
        char *notify_address;
        sd_event_source *notify_io;

        pid_t pid; /* the running program, 0 if none */
        bool ready;
        bool stopping;
        bool watchdog_fired;
        sd_event_source *child_source;
        sd_event_source *watchdog_timer;
        sd_event_source *kill_timer;
        uint64_t *start_times; /* the last start_limit_burst starts, oldest first */
        size_t n_start_times;
} Launcher;

int service_setup(Launcher *l);

void report(const char *format, ...) _printf_(1, 2);
