#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs every fuzz target in $BUILD/fuzz for $FUZZ_SECONDS each, starting from
# its seed corpus in tests/fuzz/corpus/NAME (NAME without "fuzz-"). New
# inputs are kept in $BUILD/fuzz/corpus-NAME; a crash leaves its input in
# $BUILD/fuzz. Ends with "N passed, N failed", one test per target.
set -u
BUILD=${BUILD:-build}
SECONDS_EACH=${FUZZ_SECONDS:-60}
SRC=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
for bin in "$BUILD"/fuzz/fuzz-*; do
        [ -x "$bin" ] || continue
        name=${bin##*/fuzz-}
        work="$BUILD/fuzz/corpus-$name"
        mkdir -p "$work"
        echo "fuzz-$name: $SECONDS_EACH s"
        if "$bin" -max_total_time="$SECONDS_EACH" -max_len=8192 -print_final_stats=1 \
                -artifact_prefix="$BUILD/fuzz/crash-$name-" "$work" "$SRC/corpus/$name" >"$work.log" 2>&1; then
                pass=$((pass + 1))
                grep -E "stat::number_of_executed_units" "$work.log" || true
        else
                fail=$((fail + 1))
                tail -n 40 "$work.log"
        fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
