#!/bin/sh
# SPDX-License-Identifier: MIT
#
# rootfs.sh DIR: a Debian bookworm tree for the system tier, made once with
# debootstrap and kept (DIR/.complete names the package list it was made
# with; a different list makes it anew). The mirror is the one this
# machine's apt uses, read at run time.
set -eu

dir=$1
packages="systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,curl,iproute2,procps,python3,libssl3,libmagic1,media-types,passwd"
if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$packages" ]; then
        exit 0
fi

mirror=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
        [ -f "$f" ] || continue
        mirror=$(sed -n -e 's/^URIs: *\([^ ]*\).*/\1/p' -e 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' "$f" |
                grep -v security | head -n 1)
        [ -n "$mirror" ] && break
done
[ -n "$mirror" ] || { echo "rootfs.sh: no Debian mirror in the apt sources" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir"
debootstrap --variant=minbase --include="$packages" bookworm "$dir" "$mirror" >"$dir.log" 2>&1 ||
        { tail -n 20 "$dir.log" >&2; exit 1; }
rm -f "$dir"/var/cache/apt/archives/*.deb
# No console to log in on; the tests enter with nsenter.
chroot "$dir" systemctl mask console-getty.service >/dev/null 2>&1
echo "$packages" >"$dir/.complete"
