#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The one list of Debian packages ashd needs, by purpose. The Makefile calls
# "deps.sh install KIND" before building or testing; packaging reads the
# lists with "deps.sh list KIND".
#
#   deps.sh list build|test|run|package|bench|all
#                                      print the package names, one per line
#   deps.sh missing KIND               print those not installed
#   deps.sh install KIND               as root: install the missing ones
#                                      (apt-get update once, only if needed)
set -eu

# systemd: its pkg-config file (systemd.pc) names the unit, tmpfiles,
# sysusers and catalog directories that "make install" uses.
build="
gcc
make
libc6-dev
pkg-config
systemd
libsystemd-dev
libssl-dev
libmagic-dev
check
"

# What the test tiers run: real clients, systemd's own tools and journald,
# unshare for a private journal, clang for the fuzz and sanitizer builds,
# debootstrap and systemd-nspawn for the system tier's booted Debian,
# strace for the system-call budgets (tests/integration/test_syscalls.py).
test="
curl
python3
systemd
systemd-container
debootstrap
util-linux
clang
libclang-rt-14-dev
openssl
mandoc
strace
"

# What "make deb" and "make rpm" need beyond the build list: Debian's
# package tools (build-essential is implied by every source package, dh and
# dh_installsysusers come with debhelper 13), lintian to check the result,
# and rpm for rpmbuild/rpmspec. In "all" so that the test tiers can build
# the packages.
package="
build-essential
dpkg-dev
debhelper
lintian
rpm
"

# What "make bench" needs (bench/, issue 8): wrk drives the load and
# nginx (Debian's own build; nginx-light is only a transitional package in
# bookworm) is the server ashd is measured against. Not in "all": "make
# check" must not need them. Installing nginx where systemd runs starts
# nginx.service on port 80; the benchmark never uses it (it runs its own
# nginx by hand, with -c and -p in a scratch folder).
bench="
wrk
nginx
"

run="
libsystemd0
libssl3
libmagic1
media-types
"

list() {
        case "$1" in
        build) printf '%s\n' $build ;;
        test) printf '%s\n' $test ;;
        run) printf '%s\n' $run ;;
        package) printf '%s\n' $package ;;
        bench) printf '%s\n' $bench ;;
        all) printf '%s\n' $build $test $run $package | sort -u ;;
        *) echo "deps.sh: unknown kind '$1' (build, test, run, package, bench, all)" >&2; exit 2 ;;
        esac
}

missing() {
        for p in $(list "$1"); do
                s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
                [ "$s" = installed ] || echo "$p"
        done
}

cmd=${1:-}
kind=${2:-all}
case "$cmd" in
list) list "$kind" ;;
missing) missing "$kind" ;;
install)
        need=$(missing "$kind")
        [ -z "$need" ] && exit 0
        if [ "$(id -u)" != 0 ]; then
                echo "deps.sh: missing packages:" $need >&2
                echo "deps.sh: run as root: sudo $0 install $kind" >&2
                exit 1
        fi
        echo "deps.sh: installing:" $need >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
        ;;
*)
        echo "usage: deps.sh list|missing|install [build|test|run|package|bench|all]" >&2
        exit 2
        ;;
esac
