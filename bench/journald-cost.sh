#!/bin/sh
# SPDX-License-Identifier: MIT
#
# What journald itself spends per entry, by the shape of the entry: the
# access entry htparser sends (16 fields), the same without its empty ones,
# and a bare 3-field entry; 40,000 of each, twice, to a private journald on
# CPU 0 (the sender on CPU 1). bench/RESULTS.md quotes it. Run by hand, as
# root: bench/journald-cost.sh
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
N=${N:-40000}

fail() {
        echo "journald-cost: $*" >&2
        exit 2
}

if [ "${ASHD_JCOST_NAMESPACE:-}" != "$$" ]; then
        [ "$(id -u)" = 0 ] || fail "needs root for a private mount namespace"
        ASHD_JCOST_NAMESPACE=$$ exec unshare --mount --propagation private "$0" "$@"
fi

tmp=$(mktemp -d /tmp/ashd-jcost.XXXXXX) || fail "mktemp failed"
. "$HERE/../tests/lib/private-journald.sh"
trap 'journald_stop; rm -rf "$tmp"' EXIT
journald_start 1g 768M -- taskset -c 0

ticks() {
        awk '{print $14 + $15}' "/proc/$journald_pid/stat"
}

for kind in access no-empty bare access no-empty bare; do
        t0=$(ticks)
        taskset -c 1 python3 - "$kind" "$N" <<'PY' || fail "sending failed"
import socket, sys
kind, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/run/systemd/journal/socket")
access = ("PRIORITY=6\nSYSLOG_IDENTIFIER=htparser\n"
          "MESSAGE=127.0.0.1 - - [02/Dec/2026:12:00:00 +0000] \"GET /1k.bin HTTP/1.1\" 200 1024 \"-\" \"-\"\n"
          "MESSAGE_ID=a4f5e1b2c3d44e5f8a9b0c1d2e3f4a5b\nHTTP_METHOD=GET\nHTTP_URL=/1k.bin\nHTTP_VERSION=HTTP/1.1\n"
          "HTTP_STATUS=200\nHTTP_BYTES=1024\nHTTP_DURATION_USEC=%d\nHTTP_HOST=127.0.0.1:8080\nHTTP_REFERER=\n"
          "HTTP_USER_AGENT=\nREMOTE_ADDR=127.0.0.1\nREMOTE_PORT=%d\nTLS=0\n")
shapes = {
    "access": access,
    "no-empty": access.replace("HTTP_REFERER=\nHTTP_USER_AGENT=\n", ""),
    "bare": "PRIORITY=6\nSYSLOG_IDENTIFIER=htparser\nMESSAGE=GET /1k.bin 200 %d %d\n",
}
for i in range(n):
    s.send((shapes[kind] % (100 + i % 97, 40000 + i % 50)).encode())
PY
        # Until journald has taken everything: its CPU time stops growing.
        prev=-1
        for _ in $(seq 300); do
                cur=$(ticks)
                [ "$cur" = "$prev" ] && break
                prev=$cur
                sleep 0.2
        done
        t1=$(ticks)
        hz=$(getconf CLK_TCK)
        echo "$kind: $(( (t1 - t0) * 1000000 / hz / N )) us of journald per entry"
done
