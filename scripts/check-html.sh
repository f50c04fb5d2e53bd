#!/usr/bin/env bash
# Renders an HTML incident report in headless Chromium and checks it: no
# console error or uncaught exception, no JavaScript dialog, no request
# outside the file, the page signals it is ready, the timeline has marks;
# saves a screenshot.
#
#   scripts/check-html.sh REPORT.html [options]
#   scripts/check-html.sh CAPTURE... [--log PATH]... [options]
#   scripts/check-html.sh [options]      # the bundled demo (below); saves
#                                        # docs/report-screenshot.png
#
# With captures, the report is made first with the `html_report` example
# (cargo run --release --example html_report) into a temporary file.
# Options, passed to scripts/check_html.py: --screenshot OUT.png,
# --drawer-screenshot OUT.png (the drill-down of the first problem close),
# --full-screenshot OUT.png (the whole page), --min-marks N, --chromium PATH,
# --width W, --height H, --timeout S.
set -euo pipefail
cd "$(dirname "$0")/.."

report=""
captures=()
gen_args=()
check_args=()
screenshot=""
while [ $# -gt 0 ]; do
    case "$1" in
        --log|--markdown) gen_args+=("$1" "$2"); shift 2 ;;
        --screenshot) screenshot="$2"; shift 2 ;;
        --drawer-screenshot|--full-screenshot|--min-marks|--chromium|--width|--height|--timeout) check_args+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *.html|*.htm) report="$1"; shift ;;
        *) captures+=("$1"); shift ;;
    esac
done

if [ -z "$report" ] && [ ${#captures[@]} -eq 0 ]; then
    # The demo: the samples recorded within the same ten seconds, analyzed
    # as one capture with their servers' logs: Python and Node handler
    # crashes (1011 with their stack traces), a killed server (1006),
    # application codes (4000, 4001, 4003, 1008), a browser's 1001.
    captures=(samples/py-handler-error-1011.pcap samples/py-close-codes.pcap samples/node-handler-error-1011.pcap
        samples/node-server-killed-1006.pcap samples/chromium-browser.pcap)
    for c in "${captures[@]}"; do
        gen_args+=(--log "${c%.pcap}.server.log")
    done
    check_args+=(--min-marks 5)
    if [ -z "$screenshot" ]; then
        mkdir -p docs
        screenshot=docs/report-screenshot.png
    fi
fi
[ -n "$screenshot" ] && check_args+=(--screenshot "$screenshot")

if [ -z "$report" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    report="$tmp/report.html"
    cargo run --quiet --release --example html_report -- "${captures[@]}" ${gen_args[@]+"${gen_args[@]}"} "$report"
fi
python3 scripts/check_html.py "$report" ${check_args[@]+"${check_args[@]}"}
