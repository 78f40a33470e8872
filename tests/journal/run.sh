#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The journal tier: runs tests/journal/test_*.py against a real journald of
# its own, in a private mount namespace so that the host's /run and journal
# stay untouched: tmpfs on the journal folders, our journald.conf bound over
# the system one. Ends with the runner's line "N passed, N failed" and its
# exit status. Needs root (unshare, mount).
#
# Environment: ASHD_SRC (default: this checkout), ASHD_BUILD (default:
# $ASHD_SRC/build), PYTHON (default: /usr/bin/python3).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ASHD_SRC=${ASHD_SRC:-$(cd "$HERE/../.." && pwd)}
ASHD_BUILD=${ASHD_BUILD:-$ASHD_SRC/build}
PYTHON=${PYTHON:-/usr/bin/python3}
JOURNALD=/usr/lib/systemd/systemd-journald
export ASHD_SRC ASHD_BUILD PYTHON

# A tier that cannot run counts as one failure, never as a silent pass.
fail() {
        echo "journal tier: $*"
        echo "0 passed, 1 failed"
        exit 1
}

if [ "${ASHD_JOURNAL_NAMESPACE:-}" != "$$" ]; then
        [ "$(id -u)" = 0 ] || fail "needs root for a private mount namespace"
        command -v unshare >/dev/null || fail "unshare (util-linux) is not installed"
        [ -x "$JOURNALD" ] || fail "$JOURNALD is not installed"
        # exec keeps our pid, which marks the second run as the one inside.
        ASHD_JOURNAL_NAMESPACE=$$ exec unshare --mount --propagation private "$HERE/run.sh" "$@"
fi
unset ASHD_JOURNAL_NAMESPACE

tmp=$(mktemp -d /tmp/ashd-journal-tier.XXXXXX) || fail "mktemp failed"
journald_pid=
runner_pid=

cleanup() {
        [ -z "$runner_pid" ] || kill -TERM "$runner_pid" 2>/dev/null
        if [ -n "$journald_pid" ]; then
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
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# /var/log/journal is hidden only if it exists: creating it on the host
# would turn on persistent storage for the host's own journald.
for d in /run/systemd/journal /run/log/journal /var/log/journal; do
        case $d in
        /run/*) mkdir -p "$d" || fail "cannot make $d" ;;
        *) [ -d "$d" ] || continue ;;
        esac
        mount -t tmpfs -o mode=0755,size=64m tmpfs "$d" || fail "cannot mount tmpfs on $d"
done

# Drop-ins would override our settings: hide them too.
for d in /etc/systemd/journald.conf.d /run/systemd/journald.conf.d /usr/lib/systemd/journald.conf.d; do
        [ -d "$d" ] || continue
        mount -t tmpfs -o mode=0755,size=1m tmpfs "$d" || fail "cannot mount tmpfs on $d"
done

cat >"$tmp/journald.conf" <<'EOF'
[Journal]
Storage=volatile
RateLimitIntervalSec=0
RateLimitBurst=0
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RuntimeMaxUse=32M
EOF
[ -f /etc/systemd/journald.conf ] || fail "/etc/systemd/journald.conf is missing"
mount --bind "$tmp/journald.conf" /etc/systemd/journald.conf || fail "cannot bind-mount journald.conf"

# Should this script be killed outright (a tier timeout), journald dies with it.
setpriv --pdeathsig KILL "$JOURNALD" >"$tmp/journald.log" 2>&1 </dev/null &
journald_pid=$!

# journald binds its sockets before it serves them; entries sent meanwhile
# wait in the socket's queue.
i=0
while ! [ -S /run/systemd/journal/socket ] || ! [ -S /run/systemd/journal/io.systemd.journal ]; do
        kill -0 "$journald_pid" 2>/dev/null || {
                cat "$tmp/journald.log"
                fail "journald exited at start"
        }
        [ $i -lt 1000 ] || fail "journald did not create its sockets within 10 s"
        sleep 0.01
        i=$((i + 1))
done

export ASHD_JOURNALD_PID="$journald_pid"
# In the background, so that a signal to this script runs the cleanup at once.
"$PYTHON" "$ASHD_SRC/tests/lib/runner.py" "$ASHD_SRC/tests/journal" &
runner_pid=$!
wait "$runner_pid"
rc=$?
runner_pid=
if [ $rc != 0 ] && [ -s "$tmp/journald.log" ]; then
        sed 's/^/journald: /' "$tmp/journald.log" >&2
fi
exit $rc
