#!/usr/bin/env bash
# run.sh - run one libFuzzer target the way CI and ./dev fuzz do.
#
#   run.sh replay BINARY                 run every input kept in regressions/<target> once
#   run.sh fuzz BINARY SECONDS WORKDIR   fuzz for SECONDS from corpus/<target> and
#                                        regressions/<target>; new inputs go to
#                                        WORKDIR/corpus/<target>, crashes to
#                                        WORKDIR/crashes/<target>/
#
# <target> is BINARY's name without "fuzz_" (for seeds and regressions,
# http_parser reads http_request's). Exits non-zero on any crash, sanitizer
# report, leak, timeout or out-of-memory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=$1 binary=$2
target=$(basename "$binary")
target=${target#fuzz_}
# fuzz_http_parser reads what fuzz_http_request reads (the parser alone, without the
# server around it): the two share seeds and regression inputs.
inputs=$target
[ "$target" = http_parser ] && inputs=http_request
seeds="$here/corpus/$inputs"
regressions="$here/regressions/$inputs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A scratch folder per run, removed even when the target crashed; on tmpfs
# when there is room (the store fsyncs every commit, and grows a few MB a minute).
scratch=/tmp
if [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -ge 1048576 ]; then
    scratch=/dev/shm
fi
SWITCHBOARD_FUZZ_TMPDIR=$(mktemp -d "$scratch/switchboard-fuzz-run-XXXXXX")
export SWITCHBOARD_FUZZ_TMPDIR
trap 'rm -rf "$SWITCHBOARD_FUZZ_TMPDIR"' EXIT
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}

case "$mode" in
replay)
    shopt -s nullglob
    inputs=("$regressions"/*)
    if [ ${#inputs[@]} -eq 0 ]; then
        echo "$target: no regression inputs"
        exit 0
    fi
    "$binary" -timeout=10 -close_fd_mask=2 "${inputs[@]}"
    echo "$target: ${#inputs[@]} regression inputs replayed, no failure"
    ;;
fuzz)
    seconds=$3 work=$4
    mkdir -p "$work/corpus/$target" "$work/crashes/$target"
    dirs=("$work/corpus/$target")
    [ -d "$seeds" ] && dirs+=("$seeds")
    [ -d "$regressions" ] && dirs+=("$regressions")
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
        -print_final_stats=1 -artifact_prefix="$work/crashes/$target/" "${dirs[@]}"
    ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
