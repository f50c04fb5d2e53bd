#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for a given time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; the targets default to all of them.
# Environment:
#   FUZZ_JOBS=N        run N targets at a time (default 1)
#   FUZZ_KEEP_GOING=1  keep fuzzing after a crash (libFuzzer fork mode,
#                      -ignore_crashes) instead of stopping at the first
#   FUZZ_SANITIZER=S   cargo-fuzz sanitizer (default none: the crate is
#                      `#![forbid(unsafe_code)]`, the targets hunt panics,
#                      overflows and memory growth; AddressSanitizer would
#                      only watch the dependencies' unsafe code and makes
#                      every thread spawn costly: log_reader, which spawns
#                      a reader thread per call, ran at ~20 execs/s under
#                      it, ~700 without). Use `address` to include it.
#
# Installs cargo-fuzz if missing, seeds fuzz/corpus/ (fuzz/seed.sh), builds
# with debug assertions (integer overflow panics, as in `cargo test`), then
# prints per target: seconds run, executions (libFuzzer's final stats) and
# crashes (new files in fuzz/artifacts/<target>/). Logs go to
# fuzz/artifacts/<target>/fuzz.log. Exits 1 if any target crashed.
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer=address, ...) to rustc;
# RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail

secs="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null && ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

bash "$root/fuzz/seed.sh" >&2

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Per-target input size limits (bytes).
max_len() {
    case "$1" in
        capture_file) echo 65536 ;;
        log_reader) echo 16384 ;;
        tcp_ws_stream) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

san="${FUZZ_SANITIZER:-none}"
echo "building ${targets[*]} (sanitizer: $san)" >&2
cargo fuzz build --debug-assertions --sanitizer "$san" >&2

run_one() {
    local t="$1"
    local art="$root/fuzz/artifacts/$t"
    mkdir -p "$art" "$root/fuzz/corpus/$t"
    local log="$art/fuzz.log"
    local before after start end
    before="$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)"
    local extra=()
    if [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]]; then
        extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    fi
    start="$(date +%s)"
    cargo fuzz run --debug-assertions --sanitizer "$san" "$t" "$root/fuzz/corpus/$t" -- \
        -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${extra[@]}" >"$log" 2>&1 || true
    end="$(date +%s)"
    after="$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)"
    # Executions: libFuzzer's final stats line; in fork mode (no such line)
    # the last status line's "#N".
    local execs
    execs="$(awk '/stat::number_of_executed_units:/ {n=$2} END {print n}' "$log")"
    if [[ -z "$execs" ]]; then
        execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
    fi
    printf '%-14s %6ss %12s execs %3d crashes  (%s)\n' "$t" "$((end - start))" "${execs:-?}" "$((after - before))" "$log"
}

summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
jobs_max="${FUZZ_JOBS:-1}"
for t in "${targets[@]}"; do
    while [[ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]]; do
        wait -n || true
    done
    run_one "$t" >>"$summary" &
done
wait

printf '%-14s %7s %18s %11s\n' target seconds executions crashes
sort "$summary"
if awk '{ if ($4 + 0 > 0) bad = 1 } END { exit !bad }' "$summary"; then
    echo "crashes found: see fuzz/artifacts/<target>/ (reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --debug-assertions --sanitizer '$san' <target> <file>)" >&2
    exit 1
fi
