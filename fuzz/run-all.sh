#!/usr/bin/env bash
# Builds every cargo-fuzz target, then runs each for SECONDS, one after the
# other, from fuzz/corpus/<target>/ (seeded by fuzz/seed.sh if missing).
# Prints one line per target and writes the same lines to fuzz/last-run.txt:
#
#   <target> seconds=<s> execs=<n> execs_per_sec=<n> crash=<yes|no>
#
# A crash, a timeout, an out-of-memory or a failed start writes its input to
# fuzz/artifacts/<target>/ and makes the script exit 1 (after the other
# targets ran); a failed build exits 2. libFuzzer's output per target is kept
# in fuzz/logs/<target>.log. FUZZ_REPORT names another file for the lines
# (relative to fuzz/), so two runs can go side by side on two cores.
#
# Usage: fuzz/run-all.sh SECONDS [TARGET...]      (default: every target)
#        nice -n 10 fuzz/run-all.sh 60
# Environment: CARGO_TARGET_DIR and CARGO_BUILD_JOBS are honoured;
# FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS="-jobs=2").
set -uo pipefail

secs=${1:-}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 64
fi
shift
fuzz=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz" || exit 2

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz targets found" >&2
    exit 2
fi

echo "building ${#targets[@]} targets..." >&2
cargo +nightly fuzz build || { echo "cargo fuzz build failed" >&2; exit 2; }
[ -d corpus ] || ./seed.sh >&2

mkdir -p logs
report=${FUZZ_REPORT:-last-run.txt}
: > "$report"
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    marker=$(mktemp)
    log=logs/$t.log
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -detect_leaks=0 -print_final_stats=1 ${FUZZ_ARGS:-} \
        > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    execs=${execs:-0}
    new=$(find "artifacts/$t" -type f -newer "$marker")
    rm -f "$marker"
    crash=no
    if [ "$rc" -ne 0 ] || [ -n "$new" ]; then
        crash=yes
        status=1
    fi
    line="$t seconds=$secs execs=$execs execs_per_sec=$((execs / secs)) crash=$crash"
    echo "$line" | tee -a "$report"
    if [ "$crash" = yes ]; then
        [ -z "$new" ] || echo "$new" | sed 's|^|    artifact: fuzz/|'
        echo "    log: fuzz/$log (exit status $rc)"
    fi
done
exit "$status"
