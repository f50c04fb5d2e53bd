#!/usr/bin/env bash
# Peak memory of wsforensics on large hostile inputs.
#
#   scripts/bench-resources.sh            # all cases, bound 256 MiB
#   BOUND_MIB=128 scripts/bench-resources.sh log-line bomb
#
# Builds the release binary and examples/gen_hostile, generates each input
# (in $WORK, a temporary directory removed at the end unless KEEP=1; inputs
# already there are reused), runs wsforensics on it under /usr/bin/time -v,
# checks the exit status and that the output says what it must, and prints
# the peak resident set size. Fails if any case exceeds BOUND_MIB.
#
# Cases (tests/resources.rs runs small versions of the same inputs):
#   log-line     a server log whose second line is 1 GiB long (--log)
#   short-conns  1 000 000 short WebSocket connections, one every 100 us
#                (100 s of capture: all within the flow table's 2-minute
#                linger for closed connections)
#   huge-frame   a frame declaring 2^63-1 payload bytes, 1 GiB of them captured
#   bomb         a permessage-deflate message inflating to 16 GiB (16 MiB on
#                the wire), default --max-message (64 MiB)
#   bogus-epb    a 330 MB pcapng with an Enhanced Packet Block claiming
#                268435452 bytes near its start
#   bogus-nrb    the same with a Name Resolution Block claiming 268435452 bytes
#
# Needs about 4 GB of disk in $WORK. /usr/bin/time comes from the `time`
# package (apt-get install -y time).

set -euo pipefail
cd "$(dirname "$0")/.."

BOUND_MIB=${BOUND_MIB:-256}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
    CASES=(log-line short-conns huge-frame bomb bogus-epb bogus-nrb)
fi

if [ ! -x /usr/bin/time ]; then
    echo "bench-resources: /usr/bin/time not found; installing the time package" >&2
    apt-get install -y time >&2
fi

cargo build --release --quiet --bin wsforensics --example gen_hostile
BIN=$CARGO_TARGET_DIR/release/wsforensics
GEN=$CARGO_TARGET_DIR/release/examples/gen_hostile

if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d)
    [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
echo "inputs in $WORK, bound ${BOUND_MIB} MiB"

# gen FILE KIND ARGS...: generates FILE unless it exists.
gen() {
    local out=$1
    shift
    if [ ! -s "$out" ]; then
        "$GEN" "$@" --out "$out"
    fi
}

failed=0
rows=()

# run NAME INPUT PATTERN ARGS...: runs wsforensics ARGS, expects exit 0
# and PATTERN (grep -E) in its standard output.
run() {
    local name=$1 input=$2 pattern=$3
    shift 3
    local t=$WORK/$name.time out=$WORK/$name.out err=$WORK/$name.err rc=0
    /usr/bin/time -v -o "$t" "$BIN" "$@" >"$out" 2>"$err" || rc=$?
    local kb wall size verdict=ok
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")
    kb=${kb:-0}
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$t")
    size=$(du -h --apparent-size "$input" | cut -f1)
    if [ "$rc" -ne 0 ]; then
        verdict="FAIL: exit $rc ($(tail -n 1 "$err"))"
    elif ! grep -qE "$pattern" "$out"; then
        verdict="FAIL: output lacks /$pattern/"
    elif [ "$kb" -gt $((BOUND_MIB * 1024)) ]; then
        verdict="FAIL: above ${BOUND_MIB} MiB"
    fi
    [ "$verdict" = ok ] || failed=1
    rows+=("$(printf '%-12s %8s %10.1f MiB %10s   %s' "$name" "$size" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" "$wall" "$verdict")")
    echo "${rows[-1]}"
}

sample=samples/py-handler-error-1011.pcap
for c in "${CASES[@]}"; do
    case $c in
    log-line)
        gen "$WORK/huge.log" log-line --len 1GiB
        run log-line "$WORK/huge.log" 'log damage: .*line 2: line of 1073741864 bytes' "$sample" --log "$WORK/huge.log"
        ;;
    short-conns)
        gen "$WORK/many.pcap" short-conns --count 1000000 --spacing-us 100
        run short-conns "$WORK/many.pcap" 'WebSocket connections: 1000000 ' "$WORK/many.pcap"
        ;;
    huge-frame)
        gen "$WORK/frame.pcap" huge-frame --captured 1GiB
        run huge-frame "$WORK/frame.pcap" 'WebSocket connections: 1 ' "$WORK/frame.pcap"
        ;;
    bomb)
        gen "$WORK/bomb.pcap" bomb --inflated 16GiB
        run bomb "$WORK/bomb.pcap" 'inflate-cap-exceeded: 1' "$WORK/bomb.pcap"
        ;;
    bogus-epb)
        gen "$WORK/bogus-epb.pcapng" bogus-block --type 6 --len 268435452 --before 1000 --after 400000
        run bogus-epb "$WORK/bogus-epb.pcapng" 'capture damage: .*: corrupt block header: block type 0x6 claims 268435452 bytes' "$WORK/bogus-epb.pcapng"
        ;;
    bogus-nrb)
        gen "$WORK/bogus-nrb.pcapng" bogus-block --type 4 --len 268435452 --before 1000 --after 400000
        run bogus-nrb "$WORK/bogus-nrb.pcapng" 'capture damage: .*: corrupt block: length 268435452 at the start' "$WORK/bogus-nrb.pcapng"
        ;;
    *)
        echo "unknown case $c" >&2
        exit 2
        ;;
    esac
done

echo
printf '%-12s %8s %14s %10s   %s\n' case input "peak RSS" wall verdict
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
    echo "bench-resources: FAILED (bound ${BOUND_MIB} MiB)" >&2
    exit 1
fi
echo "bench-resources: every case within ${BOUND_MIB} MiB"
