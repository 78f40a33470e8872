#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs every test tier against the build in $BUILD and ends with one line,
# "N passed, N failed", the sum over all tiers. Each tier prints its own
# "N passed, N failed" as its last line; a tier that dies without one counts
# as one failure. Exits non-zero if anything failed.
set -u

BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
export BUILD PYTHON
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ASHD_SRC="$ROOT"
export ASHD_BUILD="$(cd "$BUILD" && pwd)"
# Sanitizer builds: fail hard and loudly on the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

total_pass=0
total_fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_tier NAME SECONDS CMD...
run_tier() {
        name=$1
        limit=$2
        shift 2
        echo "=== $name"
        timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
        rc=$?
        cat "$log"
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
        if [ -n "$line" ]; then
                p=${line%% passed*}
                f=${line#*passed, }
                f=${f%% failed*}
        else
                p=0
                f=1
                echo "$name: no summary line (exit $rc): counted as one failure"
        fi
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
                f=1
                echo "$name: exit status $rc with no failed test: counted as one failure"
        fi
        total_pass=$((total_pass + p))
        total_fail=$((total_fail + f))
}

for t in "$BUILD"/tests/unit/test-*; do
        [ -x "$t" ] || continue
        run_tier "unit $(basename "$t")" 120 "$t"
done

run_tier "integration" 600 "$PYTHON" "$ROOT/tests/lib/runner.py" "$ROOT/tests/integration"
run_tier "journal" 300 "$ROOT/tests/journal/run.sh"
# A real systemd in a container, with the build installed into it. Not in
# the sanitizer build, whose programs need the sanitizer runtimes there.
if [ "${ASHD_SANITIZE:-}" != 1 ]; then
        run_tier "system" 900 env BUILD="$BUILD" "$ROOT/tests/system/run.sh"
fi
# A short fuzz run proves the targets work; "make fuzz" runs them longer.
# (Not in the sanitizer build: the fuzz targets carry their own sanitizers.)
if ls "$BUILD"/fuzz/fuzz-* >/dev/null 2>&1; then
        run_tier "fuzz" 300 env BUILD="$BUILD" FUZZ_SECONDS="${FUZZ_CHECK_SECONDS:-15}" "$ROOT/tests/fuzz/run.sh"
fi

echo "$total_pass passed, $total_fail failed" | tee "$BUILD/.last-summary"
[ "$total_fail" = 0 ]
