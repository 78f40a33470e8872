#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The system tier: ashd installed into a Debian bookworm tree and booted
# under a real systemd with systemd-nspawn (tests/system/test_system.py).
# The tree is made once with debootstrap and kept under $BUILD/system/base;
# each run boots a scratch copy and removes it. Needs root.
set -u

BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
        echo "system tier: needs root (debootstrap, systemd-nspawn)"
        echo "0 passed, 1 failed"
        exit 1
fi
if ! "$ROOT/tests/system/rootfs.sh" "$BUILD/system/base"; then
        echo "system tier: could not make the Debian tree"
        echo "0 passed, 1 failed"
        exit 1
fi
exec "$PYTHON" "$ROOT/tests/lib/runner.py" "$ROOT/tests/system"
