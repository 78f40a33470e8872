# SPDX-License-Identifier: MIT
#
# A real systemd-journald of our own, for scripts already in a private mount
# namespace (unshare --mount --propagation private): sourced by
# tests/journal/run.sh and bench/run.sh. The caller defines fail() and $tmp
# (a scratch folder); journald_pid is set by journald_start.
#
#   journald_start LOG-TMPFS-SIZE RUNTIME-MAX-USE [EXTRA-CONF-LINE] [-- PREFIX-COMMAND...]
#   journald_stop

JOURNALD=${JOURNALD:-/usr/lib/systemd/systemd-journald}
journald_pid=

journald_start() {
        log_size=$1
        max_use=$2
        extra=
        shift 2
        if [ $# -gt 0 ] && [ "$1" != -- ]; then
                extra=$1
                shift
        fi
        [ "${1:-}" != -- ] || shift

        # /var/log/journal is hidden only if it exists: creating it on the
        # host would turn on persistent storage for the host's own journald.
        for d in /run/systemd/journal /run/log/journal /var/log/journal; do
                case $d in
                /run/*) mkdir -p "$d" || fail "cannot make $d" ;;
                *) [ -d "$d" ] || continue ;;
                esac
                size=$log_size
                [ "$d" != /run/systemd/journal ] || size=64m
                mount -t tmpfs -o mode=0755,size="$size" tmpfs "$d" || fail "cannot mount tmpfs on $d"
        done
        # Drop-ins would override our settings: hide them too.
        for d in /etc/systemd/journald.conf.d /run/systemd/journald.conf.d /usr/lib/systemd/journald.conf.d; do
                [ -d "$d" ] || continue
                mount -t tmpfs -o mode=0755,size=1m tmpfs "$d" || fail "cannot mount tmpfs on $d"
        done

        # Volatile, no rate limit (every access entry is kept, as the units
        # configure), no forwarding.
        {
                printf '[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\nReadKMsg=no\n'
                printf 'ForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n'
                printf 'RuntimeMaxUse=%s\n' "$max_use"
                [ -z "$extra" ] || printf '%s\n' "$extra"
        } >"$tmp/journald.conf"
        [ -f /etc/systemd/journald.conf ] || fail "/etc/systemd/journald.conf is missing"
        mount --bind "$tmp/journald.conf" /etc/systemd/journald.conf || fail "cannot bind-mount journald.conf"

        # Should the caller be killed outright (a tier timeout), journald
        # dies with it.
        "$@" setpriv --pdeathsig KILL "$JOURNALD" >"$tmp/journald.log" 2>&1 </dev/null &
        journald_pid=$!

        # journald binds its sockets before it serves them; entries sent
        # meanwhile wait in the socket's queue.
        i=0
        while ! [ -S /run/systemd/journal/socket ] || ! [ -S /run/systemd/journal/io.systemd.journal ]; do
                kill -0 "$journald_pid" 2>/dev/null || {
                        cat "$tmp/journald.log" >&2
                        fail "journald exited at start"
                }
                [ $i -lt 1000 ] || fail "journald did not create its sockets within 10 s"
                sleep 0.01
                i=$((i + 1))
        done
}

journald_stop() {
        [ -n "$journald_pid" ] || return 0
        # A test may have left it stopped; SIGTERM waits for SIGCONT.
        kill -CONT "$journald_pid" 2>/dev/null
        kill -TERM "$journald_pid" 2>/dev/null
        i=0
        while kill -0 "$journald_pid" 2>/dev/null && [ $i -lt 500 ]; do
                sleep 0.01
                i=$((i + 1))
        done
        kill -KILL "$journald_pid" 2>/dev/null
        wait "$journald_pid" 2>/dev/null
        journald_pid=
}
