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
JOURNALD=/usr/lib/systemd/systemd-journald
ASHD_SRC=${ASHD_SRC:-$(cd "$HERE/../.." && pwd)}
ASHD_BUILD=${ASHD_BUILD:-$ASHD_SRC/build}
PYTHON=${PYTHON:-/usr/bin/python3}
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
. "$ASHD_SRC/tests/lib/private-journald.sh"
runner_pid=

cleanup() {
        [ -z "$runner_pid" ] || kill -TERM "$runner_pid" 2>/dev/null
        journald_stop
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

journald_start 64m 32M

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
