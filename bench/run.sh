#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make bench: runs bench/bench.py (ashd's chain with and without its access
# log, and nginx, under wrk) with a real journald of its own for htparser's
# access log. As tests/journal/run.sh does, in a private mount namespace so
# that the host's /run and journal stay untouched: tmpfs on the journal
# folders, our journald.conf bound over the system one. There,
# /run/systemd/journal/socket (htparser's --access-log=journal) is ours.
# And in a private network namespace: all traffic stays on a loopback of
# its own, and the AF_UNIX datagram queue is set as systemd sets it.
# The journal gets more room than the journal tier's: every request of
# target A is an entry, and bench.py counts them after each run.
#
# Needs root (unshare, mount). Environment: BUILD (default: build), PYTHON
# (default: /usr/bin/python3), BENCH_SERVER_CPUS (journald is pinned with
# the servers, default CPU 0), BENCH_DGRAM_QLEN (512), BENCH_JOURNAL_SIZE
# (2g), and bench.py's BENCH_* variables.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
JOURNALD=/usr/lib/systemd/systemd-journald
SRC=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$SRC/build}
PYTHON=${PYTHON:-/usr/bin/python3}

fail() {
        echo "bench: $*" >&2
        exit 2
}

if [ "${ASHD_BENCH_NAMESPACE:-}" != "$$" ]; then
        [ "$(id -u)" = 0 ] || fail "needs root for a private mount namespace"
        command -v unshare >/dev/null || fail "unshare (util-linux) is not installed"
        [ -x "$JOURNALD" ] || fail "$JOURNALD is not installed"
        mkdir -p "$BUILD" || fail "cannot make $BUILD"
        BUILD=$(cd "$BUILD" && pwd)
        export BUILD PYTHON
        command -v ip >/dev/null || fail "ip (iproute2) is not installed"
        # exec keeps our pid, which marks the second run as the one inside.
        ASHD_BENCH_NAMESPACE=$$ exec unshare --mount --net --propagation private "$HERE/run.sh" "$@"
fi
unset ASHD_BENCH_NAMESPACE

# A network namespace of our own: a loopback that no other program on the
# machine shares (nor its ports), and net.unix.max_dgram_qlen as a systemd
# host has it. The kernel's default queue is 10 datagrams (Linux before
# 6.5); systemd raises it to 512 at boot, and journald's socket, made below,
# takes its length from it: with 10, htparser drops most access entries
# under load instead of waiting for journald (it never blocks).
ip link set dev lo up || fail "cannot bring up the loopback interface"
echo "${BENCH_DGRAM_QLEN:-512}" >/proc/sys/net/unix/max_dgram_qlen || fail "cannot set net.unix.max_dgram_qlen"

# Servers on the first CPU, the load generator on the others (bench.py
# does the same default); journald logs for the server, so it shares its CPU.
if [ -z "${BENCH_SERVER_CPUS+set}" ] && [ "$(nproc)" -ge 2 ]; then
        BENCH_SERVER_CPUS=0
fi
PIN=
if [ -n "${BENCH_SERVER_CPUS:-}" ]; then
        PIN="taskset -c $(echo "$BENCH_SERVER_CPUS" | tr ' ' ',')"
fi

tmp=$(mktemp -d /tmp/ashd-bench.XXXXXX) || fail "mktemp failed"
. "$HERE/../tests/lib/private-journald.sh"
bench_pid=

cleanup() {
        [ -z "$bench_pid" ] || kill -TERM "$bench_pid" 2>/dev/null
        [ -z "$bench_pid" ] || wait "$bench_pid" 2>/dev/null
        journald_stop
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# RuntimeMaxUse below the tmpfs size: old files are vacuumed, and bench.py
# counts each run's entries right after it.
journald_start "${BENCH_JOURNAL_SIZE:-2g}" 1536M RuntimeMaxFileSize=128M -- $PIN

# 10,000 idle connections and 1,000 wrk connections need descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

export BENCH_JOURNALD_PID="$journald_pid"
[ -z "${BENCH_SERVER_CPUS:-}" ] || export BENCH_SERVER_CPUS
# In the background, so that a signal to this script runs the cleanup at once.
"$PYTHON" "$HERE/bench.py" "$@" &
bench_pid=$!
wait "$bench_pid"
rc=$?
bench_pid=
exit $rc
