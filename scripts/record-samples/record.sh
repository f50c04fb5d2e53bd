#!/usr/bin/env bash
# Re-record every wsforensics sample capture from scratch (see samples/README.md).
#
#   scripts/record-samples/record.sh [SCENARIO...]     (default: all)
#
# Needs root (tcpdump on lo/any), tcpdump, tshark, editcap, python3 (venv), node + npm,
# chromium for the browser scenario and cargo (crates.io) for rust-panic, whose server is
# built into ../target-rs-sample, outside the repo. It installs nothing system-wide: it only
# checks for those tools, makes a Python venv in scripts/record-samples/.venv
# (pinned by requirements.txt) and runs `npm ci` in scripts/record-samples/node.
# Every run overwrites samples/<name>.{pcap,pcapng,server.log,client.log,tshark.tsv}.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SAMPLES="$ROOT/samples"
ORACLE="$ROOT/scripts/tshark_oracle.py"
VENV="$HERE/.venv"
NODE_DIR="$HERE/node"
WORK="$(mktemp -d /tmp/record-samples.XXXXXX)"
PY="$VENV/bin/python"

ALL_SCENARIOS=(py-echo-plain py-echo-deflate py-handler-error-1011 py-close-codes
               node-echo-plain node-echo-deflate node-handler-error-1011
               node-server-killed-1006 chromium-browser
               violations-websockets violations-ws handshake-websockets handshake-ws
               rust-panic)

TCPDUMP_PID=""
BG_PIDS=()

log() { printf '[record] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n "$TCPDUMP_PID" ]]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

check_tools() {
    [[ $EUID -eq 0 ]] || die "must run as root (packet capture)"
    local t
    for t in tcpdump tshark editcap capinfos python3 node npm ss; do
        command -v "$t" >/dev/null || die "missing tool: $t (apt-get install -y tcpdump tshark iproute2 ...)"
    done
}

setup_deps() {
    if [[ ! -x "$PY" ]] || ! "$PY" -c 'import websockets' 2>/dev/null; then
        log "creating Python venv $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
    fi
    local want have
    want="$(sed -n 's/^websockets==//p' "$HERE/requirements.txt")"
    have="$("$PY" -c 'import websockets; print(websockets.__version__)')"
    [[ "$want" == "$have" ]] || "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
    if [[ ! -d "$NODE_DIR/node_modules/ws" ]]; then
        log "npm ci in $NODE_DIR"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# wait_for CMD... : retry a check for up to 10 s
wait_for() {
    local i
    for i in $(seq 1 200); do
        if "$@"; then return 0; fi
        sleep 0.05
    done
    die "timed out waiting for: $*"
}

port_listening() { [[ -n "$(ss -Hltn "sport = :$1")" ]]; }
file_has() { grep -q -- "$2" "$1" 2>/dev/null; }

# capture_start FILE IFACE PRECISION(micro|nano) PORT...
capture_start() {
    local file="$1" iface="$2" precision="$3"
    shift 3
    local filter="" port
    for port in "$@"; do
        filter+="${filter:+ or }tcp port $port"
    done
    rm -f "$file"
    : > "$WORK/tcpdump.err"
    tcpdump -i "$iface" -Z root --immediate-mode -U -s 0 \
        --time-stamp-precision="$precision" -w "$file" "$filter" 2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    wait_for file_has "$WORK/tcpdump.err" "listening on"
}

capture_stop() {
    sleep 0.3  # let the last packets reach the ring buffer
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=""
    log "tcpdump: $(grep -h 'captured' "$WORK/tcpdump.err" | tr '\n' ' ')"
}

# start_bg LOGFILE CMD... : start a server in the background, its pid in $BG_PID
start_bg() {
    local out="$1"
    shift
    "$@" >>"$out" 2>&1 &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

stop_bg() {  # stop_bg PID [SIGNAL]
    local pid="$1" sig="${2:-TERM}"
    kill -s "$sig" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# oracle CAPTURE [DECODE-AS]
oracle() {
    local cap="$1" decode="${2:-}"
    if [[ -n "$decode" ]]; then
        python3 "$ORACLE" "$cap" --decode-as "$decode" > "$cap.tshark.tsv"
    else
        python3 "$ORACLE" "$cap" > "$cap.tshark.tsv"
    fi
    log "$(basename "$cap"): $(($(wc -l < "$cap.tshark.tsv") - 1)) WebSocket frames, $(stat -c %s "$cap") bytes"
}

# ------------------------------------------------------------------ Python scenarios

# py_scenario NAME MODE PORT IFACE PRECISION COMPRESSION [--debug]
py_run() {
    local name="$1" mode="$2" port="$3" iface="$4" precision="$5" compression="$6"
    local debug="${7:-}"
    local cap="$SAMPLES/$name.pcap"
    [[ "$precision" == nano-pcapng ]] && cap="$WORK/$name.pcap"
    local tsprec="micro"
    [[ "$precision" == nano* ]] && tsprec="nano"
    rm -f "$SAMPLES/$name".{pcap,pcapng,server.log,client.log,pcap.tshark.tsv,pcapng.tshark.tsv}

    capture_start "$cap" "$iface" "$tsprec" "$port"
    start_bg "$WORK/$name.server.out" "$PY" "$HERE/py_scenarios.py" server "$mode" \
        --port "$port" --compression "$compression" --log "$SAMPLES/$name.server.log" $debug
    local server_pid="$BG_PID"
    wait_for port_listening "$port"
    "$PY" "$HERE/py_scenarios.py" client "$mode" --port "$port" --compression "$compression" \
        --log "$SAMPLES/$name.client.log" --server-pid "$server_pid"
    sleep 0.2
    stop_bg "$server_pid" TERM
    capture_stop
    if [[ -s "$WORK/$name.server.out" ]]; then
        log "unexpected server output:"; cat "$WORK/$name.server.out" >&2
    fi
    if [[ "$precision" == nano-pcapng ]]; then
        editcap -F pcapng "$cap" "$SAMPLES/$name.pcapng"
        cap="$SAMPLES/$name.pcapng"
    fi
    oracle "$cap" "tcp.port==$port,http"
}

scenario_py-echo-plain()         { py_run py-echo-plain echo 8765 lo micro none; }
scenario_py-echo-deflate()       { py_run py-echo-deflate echo 8765 lo nano-pcapng deflate; }
scenario_py-handler-error-1011() { py_run py-handler-error-1011 crash 8766 lo micro deflate; }
scenario_py-close-codes()        { py_run py-close-codes close-codes 8767 any micro deflate --debug; }

# ------------------------------------------------------------------ Node scenarios

# node_run NAME SERVER-MODE CLIENT-MODE PORT PRECISION DEFLATE(on|off)
node_run() {
    local name="$1" smode="$2" cmode="$3" port="$4" precision="$5" deflate="$6"
    local cap="$SAMPLES/$name.pcap"
    rm -f "$SAMPLES/$name".{pcap,pcapng,server.log,client.log,pcap.tshark.tsv,pcapng.tshark.tsv}
    capture_start "$cap" lo "$precision" "$port"
    start_bg "$SAMPLES/$name.server.log" node "$NODE_DIR/scenarios.js" server "$smode" \
        --port "$port" --deflate "$deflate"
    local server_pid="$BG_PID"
    wait_for port_listening "$port"
    if [[ "$cmode" == killed ]]; then
        # the client keeps talking; the server is killed with SIGKILL mid-connection
        start_bg "$SAMPLES/$name.client.log" node "$NODE_DIR/scenarios.js" client "$cmode" \
            --port "$port" --deflate "$deflate"
        local client_pid="$BG_PID"
        wait_for file_has "$SAMPLES/$name.server.log" "request seq=3 "
        sleep 0.1
        log "kill -9 node server (pid $server_pid)"
        stop_bg "$server_pid" KILL
        wait "$client_pid" || die "client failed"
    else
        node "$NODE_DIR/scenarios.js" client "$cmode" --port "$port" --deflate "$deflate" \
            >"$SAMPLES/$name.client.log" 2>&1
        sleep 0.2
        stop_bg "$server_pid" TERM
    fi
    capture_stop
    oracle "$cap" "tcp.port==$port,http"
}

scenario_node-echo-plain()           { node_run node-echo-plain echo echo 9001 micro off; }
scenario_node-echo-deflate()         { node_run node-echo-deflate echo echo 9001 micro on; }
scenario_node-handler-error-1011()   { node_run node-handler-error-1011 app app 9002 nano off; }
scenario_node-server-killed-1006()   { node_run node-server-killed-1006 app killed 9003 micro off; }

# ------------------------------------------------------------------ headless Chromium

scenario_chromium-browser() {
    local name=chromium-browser port=8080
    local chromium
    chromium="$(command -v chromium || command -v chromium-browser || true)"
    if [[ -z "$chromium" ]]; then
        log "chromium not installed (apt-get install -y chromium): skipping $name"
        return 0
    fi
    local cap="$SAMPLES/$name.pcap"
    rm -f "$SAMPLES/$name".{pcap,server.log,client.log,pcap.tshark.tsv}
    capture_start "$cap" lo micro "$port"
    start_bg "$SAMPLES/$name.server.log" node "$NODE_DIR/scenarios.js" server browser \
        --port "$port" --deflate on
    local server_pid="$BG_PID"
    wait_for port_listening "$port"
    local profile
    profile="$(mktemp -d "$WORK/chromium.XXXXXX")"
    start_bg "$WORK/chromium.out" "$chromium" --headless --no-sandbox --disable-gpu \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" "http://127.0.0.1:$port/"
    local chromium_pid="$BG_PID"
    # the page closes one socket itself and reports /done; then chromium is stopped
    # with SIGTERM while the other socket is open (the browser closes it with 1001)
    wait_for file_has "$SAMPLES/$name.server.log" "page reported /done"
    sleep 0.5
    stop_bg "$chromium_pid" TERM
    sleep 0.2
    stop_bg "$server_pid" TERM
    capture_stop
    # Chromium's own chatter (not saved) goes to $WORK/chromium.out
    oracle "$cap"
}

# ------------------------------------------------------------------ protocol violations

# violations_run NAME LIB(websockets|ws) PORT RAW-PORT
# A raw-socket client (violations.py rawclient) breaks one rule per TCP connection
# against the library's server on PORT; then a raw-socket server on RAW-PORT sends a
# masked frame to the library's client. One capture for both ports.
violations_run() {
    local name="$1" lib="$2" port="$3" raw_port="$4"
    local cap="$SAMPLES/$name.pcap"
    rm -f "$SAMPLES/$name".{pcap,server.log,client.log,rawserver.log,libclient.log,pcap.tshark.tsv}
    capture_start "$cap" lo micro "$port" "$raw_port"
    if [[ "$lib" == websockets ]]; then
        start_bg "$WORK/$name.server.out" "$PY" "$HERE/violations.py" server --port "$port" \
            --log "$SAMPLES/$name.server.log"
    else
        start_bg "$SAMPLES/$name.server.log" node "$NODE_DIR/violations.js" server --port "$port"
    fi
    local server_pid="$BG_PID"
    wait_for port_listening "$port"
    "$PY" "$HERE/violations.py" rawclient --port "$port" --log "$SAMPLES/$name.client.log"
    sleep 0.2
    stop_bg "$server_pid" TERM
    # the masked-server-frame connection: raw server, real client
    start_bg "$WORK/$name.rawserver.out" "$PY" "$HERE/violations.py" rawserver --port "$raw_port" \
        --log "$SAMPLES/$name.rawserver.log"
    local raw_pid="$BG_PID"
    wait_for port_listening "$raw_port"
    if [[ "$lib" == websockets ]]; then
        "$PY" "$HERE/violations.py" libclient --port "$raw_port" --log "$SAMPLES/$name.libclient.log"
    else
        node "$NODE_DIR/violations.js" client --port "$raw_port" >"$SAMPLES/$name.libclient.log" 2>&1
    fi
    wait "$raw_pid" || die "raw server failed"
    stop_bg "$raw_pid"  # already exited: only drops it from BG_PIDS
    capture_stop
    local f
    for f in "$WORK/$name.server.out" "$WORK/$name.rawserver.out"; do
        if [[ -s "$f" ]]; then log "unexpected output:"; cat "$f" >&2; fi
    done
    python3 "$ORACLE" "$cap" --decode-as "tcp.port==$port,http" --decode-as "tcp.port==$raw_port,http" \
        > "$cap.tshark.tsv"
    log "$(basename "$cap"): $(($(wc -l < "$cap.tshark.tsv") - 1)) WebSocket frames, $(stat -c %s "$cap") bytes"
}

scenario_violations-websockets() { violations_run violations-websockets websockets 8770 8771; }
scenario_violations-ws()         { violations_run violations-ws ws 9010 9011; }

# ------------------------------------------------------------------ opening-handshake rules

# handshake_run NAME LIB(websockets|ws) PORT RAW-PORT
# A raw-socket client (handshake.py rawclient) sends one bad upgrade request per TCP
# connection to the library's server on PORT (server-side rules: what status does it
# answer?); then the library's client connects once per case to a raw-socket server on
# RAW-PORT that answers with a bad 101 (client-side rules: does the client fail the
# connection?). One capture for both ports. See samples/README.md, "Handshake captures".
handshake_run() {
    local name="$1" lib="$2" port="$3" raw_port="$4"
    local cap="$SAMPLES/$name.pcap"
    rm -f "$SAMPLES/$name".{pcap,server.log,client.log,rawserver.log,libclient.log,pcap.tshark.tsv}
    capture_start "$cap" lo micro "$port" "$raw_port"
    if [[ "$lib" == websockets ]]; then
        start_bg "$WORK/$name.server.out" "$PY" "$HERE/handshake.py" server --port "$port" \
            --log "$SAMPLES/$name.server.log"
    else
        start_bg "$SAMPLES/$name.server.log" node "$NODE_DIR/handshake.js" server --port "$port"
    fi
    local server_pid="$BG_PID"
    wait_for port_listening "$port"
    "$PY" "$HERE/handshake.py" rawclient --port "$port" --log "$SAMPLES/$name.client.log"
    sleep 0.2
    stop_bg "$server_pid" TERM
    start_bg "$WORK/$name.rawserver.out" "$PY" "$HERE/handshake.py" rawserver --port "$raw_port" \
        --log "$SAMPLES/$name.rawserver.log"
    local raw_pid="$BG_PID"
    wait_for port_listening "$raw_port"
    if [[ "$lib" == websockets ]]; then
        "$PY" "$HERE/handshake.py" libclient --port "$raw_port" --log "$SAMPLES/$name.libclient.log"
    else
        node "$NODE_DIR/handshake.js" client --port "$raw_port" \
            --cases "$("$PY" "$HERE/handshake.py" client-cases)" >"$SAMPLES/$name.libclient.log" 2>&1
    fi
    wait "$raw_pid" || die "raw server failed"
    stop_bg "$raw_pid"  # already exited: only drops it from BG_PIDS
    capture_stop
    local f
    for f in "$WORK/$name.server.out" "$WORK/$name.rawserver.out"; do
        if [[ -s "$f" ]]; then log "unexpected output:"; cat "$f" >&2; fi
    done
    python3 "$ORACLE" "$cap" --decode-as "tcp.port==$port,http" --decode-as "tcp.port==$raw_port,http" \
        > "$cap.tshark.tsv"
    log "$(basename "$cap"): $(($(wc -l < "$cap.tshark.tsv") - 1)) WebSocket frames, $(stat -c %s "$cap") bytes"
}

scenario_handshake-websockets() { handshake_run handshake-websockets websockets 8772 8773; }
scenario_handshake-ws()         { handshake_run handshake-ws ws 9012 9013; }

# ------------------------------------------------------------------ Rust tokio-tungstenite

# A tokio-tungstenite server (rust-server/, a standalone cargo project built outside
# the repo) whose request handler panics. rust-server/client.py runs three clients:
# a healthy one (1000), one whose panic the server catches through the JoinHandle
# (Close 1011 "internal error"), and one whose panic unwinds the connection task
# (the stream is dropped, no Close frame: 1006). See samples/README.md.
RUST_SERVER_DIR="$HERE/rust-server"
RUST_SERVER_TARGET="${RUST_SERVER_TARGET:-$(dirname "$ROOT")/target-rs-sample}"

scenario_rust-panic() {
    local name=rust-panic-1011 port=8790
    local cap="$SAMPLES/$name.pcap"
    command -v cargo >/dev/null || die "missing tool: cargo (needed for $name)"
    log "cargo build (target dir $RUST_SERVER_TARGET)"
    (cd "$RUST_SERVER_DIR" && CARGO_TARGET_DIR="$RUST_SERVER_TARGET" cargo build --locked -q) \
        || die "cargo build of $RUST_SERVER_DIR failed"
    local server="$RUST_SERVER_TARGET/debug/rust-panic-server"
    rm -f "$SAMPLES/$name".{pcap,server.log,client.log,pcap.tshark.tsv}
    capture_start "$cap" lo micro "$port"
    # stderr (env_logger and the panic hook with its backtrace) is the server log
    start_bg "$SAMPLES/$name.server.log" env RUST_BACKTRACE=1 RUST_LOG=info "$server" --port "$port"
    local server_pid="$BG_PID"
    wait_for port_listening "$port"
    "$PY" "$RUST_SERVER_DIR/client.py" --port "$port" --log "$SAMPLES/$name.client.log"
    sleep 0.2
    stop_bg "$server_pid" TERM
    capture_stop
    oracle "$cap" "tcp.port==$port,http"
}

# ------------------------------------------------------------------ main

main() {
    check_tools
    setup_deps
    mkdir -p "$SAMPLES"
    local scenarios=("$@")
    [[ ${#scenarios[@]} -gt 0 ]] || scenarios=("${ALL_SCENARIOS[@]}")
    local s
    for s in "${scenarios[@]}"; do
        declare -F "scenario_$s" >/dev/null || die "unknown scenario: $s"
        log "=== $s"
        "scenario_$s"
    done
    log "checking the oracles against what the scenarios sent"
    python3 "$HERE/check_samples.py" --samples "$SAMPLES"
    if [[ -e "$SAMPLES/violations-websockets.pcap" && -e "$SAMPLES/violations-ws.pcap" ]]; then
        log "writing samples/violations-expected.json (observed reactions, cross-checked with the logs)"
        "$PY" "$HERE/violations.py" expected --samples "$SAMPLES"
    fi
    if [[ -e "$SAMPLES/handshake-websockets.pcap" && -e "$SAMPLES/handshake-ws.pcap" ]]; then
        log "writing samples/handshake-expected.json (observed reactions, cross-checked with the logs)"
        "$PY" "$HERE/handshake.py" expected --samples "$SAMPLES"
    fi
    log "done"
}

main "$@"
