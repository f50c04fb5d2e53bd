#!/usr/bin/env bash
# End-to-end performance figures of wsforensics (issue 5), checked against
# their targets.
#
#   scripts/bench.sh                          # 2 GiB capture, 3 runs each
#   BENCH_SIZE=600MiB BENCH_RUNS=5 scripts/bench.sh
#
# What it does, on a fresh machine:
#   1. cargo build --release --bins --examples (CARGO_TARGET_DIR respected);
#   2. generates, in BENCH_DIR, a big capture (BENCH_SIZE) and a small one
#      (BENCH_SMALL_SIZE) with the same connection mix (examples/gen_capture,
#      the same flags but --size), and a plain-text log with Java, Python
#      and Node.js stack traces (examples/gen_log); files already there with
#      the same size, seed and generator sources are reused;
#   3. warms the page cache, then takes the median of BENCH_RUNS runs of:
#      the bare walk of the capture (examples/bare_walk), `wsforensics
#      big.pcap` with default threads, with --threads 1 and --threads 2
#      (and nproc when it is more) and with --csv (frame rows written per
#      second), in rounds of one run each so that a busy spell of a shared
#      machine falls on all alike; then tshark's WebSocket dissection, peak
#      RSS on the big, the small and a mid-size capture, and the log reader
#      alone on one thread (examples/log_walk);
#   4. prints a table: each figure, its target, measured/target, PASS/FAIL.
#
# Exit status: 1 when a figure fails (unless BENCH_STRICT=0), 2 when a step
# cannot run.
#
# Environment (defaults in brackets):
#   BENCH_SIZE [2GiB]        size of the big capture (gen_capture units: 600MiB, 1.5GB...)
#   BENCH_SMALL_SIZE [50MB]  size of the small capture (RSS comparison)
#   BENCH_MID_SIZE [400MB]   a capture past the connections' warm-up, for the
#                            steady-state RSS printed beside the figures
#   BENCH_LOG_SIZE [512MiB]  size of the generated log
#   BENCH_SEED [1]           generator seed (captures and log)
#   BENCH_RUNS [3]           runs per measurement (the median is reported)
#   BENCH_DIR [target/bench-data]   where generated files and outputs go
#   BENCH_TSHARK [1]         0: skip tshark (it takes minutes on big captures)
#   BENCH_STRICT [1]         0: report only, exit 0 even when a figure fails
#   BENCH_BUILD [1]          0: do not build (use the binaries already built)
#   CARGO_TARGET_DIR [target]

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SIZE="${BENCH_SIZE:-2GiB}"
SMALL_SIZE="${BENCH_SMALL_SIZE:-50MB}"
MID_SIZE="${BENCH_MID_SIZE:-400MB}"
LOG_SIZE="${BENCH_LOG_SIZE:-512MiB}"
SEED="${BENCH_SEED:-1}"
RUNS="${BENCH_RUNS:-3}"
DIR="${BENCH_DIR:-$ROOT/target/bench-data}"
TSHARK="${BENCH_TSHARK:-1}"
STRICT="${BENCH_STRICT:-1}"
BUILD="${BENCH_BUILD:-1}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
BIN="$TARGET/release"
NPROC="$(nproc)"

die() {
	echo "bench: $*" >&2
	exit 2
}
note() { echo "bench: $*" >&2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number, not '$RUNS'"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
ERRLOG="$DIR/stderr.log"
: >"$ERRLOG"

# --- tools ---------------------------------------------------------------

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}
if [[ ! -x /usr/bin/time ]]; then
	note "installing GNU time (for peak RSS)"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get install -y time >>"$ERRLOG" 2>&1 ||
		{ as_root apt-get update >>"$ERRLOG" 2>&1 && as_root apt-get install -y time >>"$ERRLOG" 2>&1; } ||
		die "/usr/bin/time is missing and could not be installed (apt-get install time)"
fi

# --- build ---------------------------------------------------------------

if [[ "$BUILD" != 0 ]]; then
	note "building (cargo build --release --bins --examples, target $TARGET)"
	cargo build --release --bins --examples >>"$ERRLOG" 2>&1 || {
		tail -n 30 "$ERRLOG" >&2
		die "build failed"
	}
fi
for b in "$BIN/wsforensics" "$BIN/examples/gen_capture" "$BIN/examples/gen_log" "$BIN/examples/bare_walk" "$BIN/examples/log_walk"; do
	[[ -x "$b" ]] || die "$b missing (build first, or unset BENCH_BUILD=0)"
done

# --- inputs --------------------------------------------------------------

# A file is reused when its stamp (size, seed, generator sources) matches.
sources_hash() { cat "$@" | sha256sum | cut -c1-16; }
CAP_HASH="$(sources_hash examples/gen_capture.rs examples/common/capgen.rs)"
LOG_HASH="$(sources_hash examples/gen_log.rs benches/common/loggen.rs)"

generate() { # generate FILE STAMP CMD...
	local file="$1" stamp="$2"
	shift 2
	if [[ -f "$file" && -f "$file.stamp" && "$(cat "$file.stamp")" == "$stamp" ]]; then
		note "reusing $file ($stamp)"
		return
	fi
	note "generating $file ($stamp)"
	rm -f "$file.stamp"
	"$@" 2>>"$ERRLOG" || {
		tail -n 5 "$ERRLOG" >&2
		die "generating $file failed"
	}
	echo "$stamp" >"$file.stamp"
}

BIG="$DIR/big.pcap"
SMALL="$DIR/small.pcap"
MID="$DIR/mid.pcap"
LOG="$DIR/big.log"
# Same flags for both captures (same connection mix), only --size differs.
generate "$BIG" "size=$SIZE seed=$SEED gen=$CAP_HASH" "$BIN/examples/gen_capture" --size "$SIZE" --seed "$SEED" --out "$BIG"
generate "$SMALL" "size=$SMALL_SIZE seed=$SEED gen=$CAP_HASH" "$BIN/examples/gen_capture" --size "$SMALL_SIZE" --seed "$SEED" --out "$SMALL"
generate "$MID" "size=$MID_SIZE seed=$SEED gen=$CAP_HASH" "$BIN/examples/gen_capture" --size "$MID_SIZE" --seed "$SEED" --out "$MID"
generate "$LOG" "size=$LOG_SIZE seed=$SEED gen=$LOG_HASH" "$BIN/examples/gen_log" --size "$LOG_SIZE" --seed "$SEED" --out "$LOG"

BIG_BYTES=$(stat -c %s "$BIG")
SMALL_BYTES=$(stat -c %s "$SMALL")
LOG_BYTES=$(stat -c %s "$LOG")
note "warming the page cache"
cat "$BIG" "$SMALL" "$MID" "$LOG" >/dev/null

# --- measuring -----------------------------------------------------------

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }

# The runs of each command are kept by name: WALLS / RSSS / CPUS[NAME] are
# space-separated lists (seconds, peak RSS in KiB, user+sys seconds).
declare -A WALLS=() RSSS=() CPUS=()

# run_once NAME STDOUT CMD...: runs CMD once (stdout to STDOUT, stderr to
# the error log) and appends its figures to NAME's lists.
# PRE_RUN, if set, names a function called before the run.
run_once() {
	local name="$1" out="$2" t0 t1 rss user sys
	shift 2
	if [[ -n "${PRE_RUN:-}" ]]; then "$PRE_RUN"; fi
	t0=$(date +%s%N)
	if ! /usr/bin/time -f '%M %U %S' -o "$DIR/time.txt" "$@" >"$out" 2>>"$ERRLOG"; then
		tail -n 5 "$ERRLOG" >&2
		die "$name failed: $*"
	fi
	t1=$(date +%s%N)
	read -r rss user sys <"$DIR/time.txt"
	WALLS[$name]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b-a)/1e9}')"
	RSSS[$name]+=" $rss"
	CPUS[$name]+=" $(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u+s}')"
}

# summarize NAME: sets M_WALL (median seconds), M_RSS (median peak RSS,
# KiB), M_CPU (median user+sys seconds), M_WALL_LIST (every run's wall
# time) from NAME's runs, and prints them.
summarize() {
	local name="$1"
	read -r -a M_WALL_LIST <<<"${WALLS[$name]}"
	M_WALL=$(median "${M_WALL_LIST[@]}")
	M_RSS=$(median ${RSSS[$name]})
	M_CPU=$(median ${CPUS[$name]})
	printf '  %-44s %8.3f s  (runs: %s)  cpu %6.2f s  peak RSS %8s MiB\n' "$name" "$M_WALL" "${M_WALL_LIST[*]}" "$M_CPU" "$(mib "$M_RSS")" >&2
}

# measure NAME RUNS STDOUT CMD...: RUNS runs of CMD in a row, summarized.
measure() {
	local name="$1" runs="$2" out="$3" i
	shift 3
	for ((i = 1; i <= runs; i++)); do run_once "$name" "$out" "$@"; done
	summarize "$name"
}

echo >&2
note "big capture $BIG ($BIG_BYTES bytes), small $SMALL ($SMALL_BYTES bytes), log $LOG ($LOG_BYTES bytes)"
note "$NPROC cores, $RUNS run(s) each, median reported"

# The timings that are compared with each other run in rounds, one run of
# each per round, so that a slow spell of a shared machine falls on all of
# them alike rather than on whichever ran then.
CSV_DIR="$DIR/csv"
clean_csv() { rm -rf "$CSV_DIR"; }
N_BARE="bare walk (examples/bare_walk)"
N_MAIN="wsforensics big.pcap (default threads)"
N_T1="wsforensics big.pcap --threads 1"
N_T2="wsforensics big.pcap --threads 2"
N_TN="wsforensics big.pcap --threads $NPROC"
N_CSV="wsforensics big.pcap --csv DIR"
note "timing in $RUNS round(s): bare walk, main job, --threads 1$( ((NPROC >= 2)) && echo ", --threads 2")$( ((NPROC > 2)) && echo ", --threads $NPROC"), --csv"
for ((round = 1; round <= RUNS; round++)); do
	run_once "$N_BARE" /dev/null "$BIN/examples/bare_walk" "$BIG"
	run_once "$N_MAIN" /dev/null "$BIN/wsforensics" "$BIG"
	run_once "$N_T1" /dev/null "$BIN/wsforensics" "$BIG" --threads 1
	if ((NPROC >= 2)); then run_once "$N_T2" /dev/null "$BIN/wsforensics" "$BIG" --threads 2; fi
	if ((NPROC > 2)); then run_once "$N_TN" /dev/null "$BIN/wsforensics" "$BIG" --threads "$NPROC"; fi
	PRE_RUN=clean_csv run_once "$N_CSV" /dev/null "$BIN/wsforensics" "$BIG" --csv "$CSV_DIR"
done
summarize "$N_BARE"
T_BARE=$M_WALL
summarize "$N_MAIN"
T_MAIN=$M_WALL
RSS_BIG=$M_RSS
summarize "$N_T1"
T_1=$M_WALL
T_2=""
if ((NPROC >= 2)); then
	summarize "$N_T2"
	T_2=$M_WALL
fi
if ((NPROC > 2)); then summarize "$N_TN"; fi
summarize "$N_CSV"
T_CSV=$M_WALL
# What --csv adds: the median of the round-by-round differences (each pair
# ran back to back, so it shares the machine's mood).
read -r -a csv_walls <<<"${WALLS[$N_CSV]}"
read -r -a main_walls <<<"${WALLS[$N_MAIN]}"
diffs=()
for i in "${!csv_walls[@]}"; do diffs+=("$(awk -v a="${csv_walls[$i]}" -v b="${main_walls[$i]}" 'BEGIN {printf "%.3f", a-b}')"); done
T_CSV_COST=$(median "${diffs[@]}")
note "--csv minus summary-only, round by round: ${diffs[*]} s"
FRAME_ROWS=$(($(wc -l <"$CSV_DIR/frames.csv") - 1))
note "frames.csv: $FRAME_ROWS rows, $(stat -c %s "$CSV_DIR/frames.csv") bytes"

measure "wsforensics small.pcap (default threads)" "$RUNS" /dev/null "$BIN/wsforensics" "$SMALL"
RSS_SMALL=$M_RSS
# Not a figure: where the memory settles. The small capture ends a few
# percent into the life of its connections, before their permessage-deflate
# windows (32 KiB each, RFC 7692 context takeover) and their bookkeeping
# have filled; past that, the peak no longer follows the capture's size.
measure "wsforensics mid.pcap (default threads)" "$RUNS" /dev/null "$BIN/wsforensics" "$MID"
RSS_MID=$M_RSS

# The log reader alone, one parsing thread (RAYON_NUM_THREADS for the
# global pool and --threads for log_walk's own); one more thread reads.
measure "log_walk big.log (1 thread)" "$RUNS" "$DIR/log_walk.txt" env RAYON_NUM_THREADS=1 "$BIN/examples/log_walk" "$LOG" --threads 1
T_LOG=$M_WALL
CPU_LOG=$M_CPU
note "log_walk: $(grep -E '^(events|traces) ' "$DIR/log_walk.txt" | tr -s ' ' | paste -sd, -)"
measure "log_walk big.log ($NPROC threads)" 1 /dev/null "$BIN/examples/log_walk" "$LOG" --threads "$NPROC"

T_TSHARK=""
TSHARK_NOTE=""
if [[ "$TSHARK" == 0 ]]; then
	TSHARK_NOTE="skipped (BENCH_TSHARK=0)"
elif ! command -v tshark >/dev/null; then
	TSHARK_NOTE="skipped (tshark not installed: apt-get install tshark)"
else
	TS=(tshark -r "$BIG" -Y websocket -T fields -e frame.number -e tcp.stream -e websocket.opcode -e websocket.payload_length)
	# Sanity (not timed): tshark sees the WebSocket frames of the small capture.
	tshark -r "$SMALL" -Y websocket -T fields -e frame.number >"$DIR/tshark-small.txt" 2>>"$ERRLOG" || true
	note "tshark finds $(wc -l <"$DIR/tshark-small.txt") WebSocket packets in the small capture"
	measure "tshark -Y websocket (run 1)" 1 /dev/null "${TS[@]}"
	if awk -v t="$M_WALL" 'BEGIN {exit !(t > 60)}' || ((RUNS == 1)); then
		T_TSHARK=$M_WALL
		if ((RUNS == 1)); then TSHARK_NOTE="one run"; else TSHARK_NOTE="one run (it took more than 60 s)"; fi
	else
		first=$M_WALL
		measure "tshark -Y websocket (more runs)" $((RUNS - 1)) /dev/null "${TS[@]}"
		T_TSHARK=$(median "$first" "${M_WALL_LIST[@]}")
		TSHARK_NOTE="median of $RUNS runs"
	fi
fi

# --- the table -----------------------------------------------------------

FAILS=0
ROWS=()
# row FIGURE MEASURED UNIT OP TARGET: OP is le (measured <= target) or ge.
row() {
	local fig="$1" val="$2" unit="$3" op="$4" tgt="$5" ratio verdict sym
	if [[ -z "$val" ]]; then
		ROWS+=("$(printf '%-44s %14s %16s %7s  %s' "$fig" "n/a" "" "" "SKIP")")
		return
	fi
	ratio=$(awk -v v="$val" -v t="$tgt" 'BEGIN {printf "%.2f", v/t}')
	if [[ "$op" == le ]]; then
		sym="<="
		verdict=$(awk -v v="$val" -v t="$tgt" 'BEGIN {print (v <= t) ? "PASS" : "FAIL"}')
	else
		sym=">="
		verdict=$(awk -v v="$val" -v t="$tgt" 'BEGIN {print (v >= t) ? "PASS" : "FAIL"}')
	fi
	if [[ "$verdict" == FAIL ]]; then FAILS=$((FAILS + 1)); fi
	ROWS+=("$(printf '%-44s %10s %-3s %3s %8s %-3s %7s  %s' "$fig" "$val" "$unit" "$sym" "$tgt" "$unit" "$ratio" "$verdict")")
}
fmt() { awk -v v="$1" -v p="${2:-2}" 'BEGIN {printf "%.*f", p, v}'; }

row "main job / bare walk" "$(fmt "$(awk -v a="$T_MAIN" -v b="$T_BARE" 'BEGIN {print a/b}')")" "x" le 3
if [[ -n "$T_TSHARK" ]]; then
	row "speedup over tshark" "$(fmt "$(awk -v a="$T_TSHARK" -v b="$T_MAIN" 'BEGIN {print a/b}')" 1)" "x" ge 50
else
	row "speedup over tshark ($TSHARK_NOTE)" "" "" ge 50
fi
if [[ -n "$T_2" ]]; then
	row "speedup 2 threads over 1" "$(fmt "$(awk -v a="$T_1" -v b="$T_2" 'BEGIN {print a/b}')")" "x" ge 1.4
else
	row "speedup 2 threads over 1 (1 core)" "" "" ge 1.4
fi
row "peak RSS, big capture" "$(mib "$RSS_BIG")" "MiB" le 128
row "peak RSS big / small capture" "$(fmt "$(awk -v a="$RSS_BIG" -v b="$RSS_SMALL" 'BEGIN {print a/b}')")" "x" le 1.5
# The CSV figure is the rate at which rows are written: frame rows over the
# time --csv adds to the same run (medians of both). Over the whole run it
# cannot reach 2 M/s on this capture: at 2.7 KB of capture per frame that
# would be faster than the bare walk; it is printed below as well.
row "frame rows/s written by --csv" "$(fmt "$(awk -v n="$FRAME_ROWS" -v d="$T_CSV_COST" 'BEGIN {print (d > 0) ? n/d/1e6 : 999}')")" "M/s" ge 2
row "log reading, 1 thread" "$(fmt "$(awk -v n="$LOG_BYTES" -v t="$T_LOG" 'BEGIN {print n/t/1e6}')" 0)" "MB/s" ge 300

echo
echo "wsforensics bench: capture $SIZE ($BIG_BYTES bytes), small $SMALL_SIZE ($SMALL_BYTES bytes), log $LOG_SIZE, seed $SEED, $NPROC cores, median of $RUNS run(s)"
echo "  bare walk $(fmt "$T_BARE" 3) s ($(fmt "$(awk -v n="$BIG_BYTES" -v t="$T_BARE" 'BEGIN {print n/t/1e6}')" 0) MB/s); main $(fmt "$T_MAIN" 3) s ($(fmt "$(awk -v n="$BIG_BYTES" -v t="$T_MAIN" 'BEGIN {print n/t/1e6}')" 0) MB/s)"
echo "  --threads 1 $(fmt "$T_1" 3) s${T_2:+, --threads 2 $(fmt "$T_2" 3) s}"
echo "  --csv $(fmt "$T_CSV" 3) s for $FRAME_ROWS frame rows ($(fmt "$(awk -v n="$FRAME_ROWS" -v t="$T_CSV" 'BEGIN {print n/t/1e6}')") M/s over the whole run, $(fmt "$(awk -v n="$BIG_BYTES" -v f="$FRAME_ROWS" 'BEGIN {print (f > 0) ? n/f : 0}')" 0) capture bytes per frame); over the summary-only run it costs $(fmt "$T_CSV_COST" 3) s (median of the rounds' differences; 999 M/s below means no measurable cost)"
echo "  peak RSS big $(mib "$RSS_BIG") MiB, small $(mib "$RSS_SMALL") MiB; steady state: $MID_SIZE $(mib "$RSS_MID") MiB, big / $MID_SIZE $(fmt "$(awk -v a="$RSS_BIG" -v b="$RSS_MID" 'BEGIN {print a/b}')") x"
echo "  tshark: ${T_TSHARK:+$(fmt "$T_TSHARK" 1) s, }$TSHARK_NOTE"
echo "  log: $(fmt "$T_LOG" 3) s wall on 1 parsing thread, $(fmt "$CPU_LOG") s CPU ($(fmt "$(awk -v n="$LOG_BYTES" -v t="$CPU_LOG" 'BEGIN {print (t > 0) ? n/t/1e6 : 0}')" 0) MB per CPU-second, reader thread included)"
echo
printf '%-44s %14s %16s %7s  %s\n' "figure" "measured" "target" "ratio" "result"
printf '%s\n' "${ROWS[@]}"
echo
if ((FAILS > 0)); then
	echo "$FAILS figure(s) FAIL"
	[[ "$STRICT" == 0 ]] || exit 1
else
	echo "all figures PASS"
fi
