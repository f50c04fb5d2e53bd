#!/usr/bin/env bash
# Regenerates the manual pages in docs/man from the command-line definitions
# (tests/cli_reports.rs fails when they are stale).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin wsforensics
bin="${CARGO_TARGET_DIR:-target}/debug/wsforensics"
"$bin" man > docs/man/wsforensics.1
for sub in analyze explain completions; do
    "$bin" man "$sub" > "docs/man/wsforensics-$sub.1"
done
echo "docs/man: $(ls docs/man | tr '\n' ' ')"
