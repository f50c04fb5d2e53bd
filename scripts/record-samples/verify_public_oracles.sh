#!/usr/bin/env bash
# Prove that scripts/tshark_oracle.py reproduces the shipped public oracles:
# regenerate every ../shared/captures/public/*/*.tshark.tsv into a temp dir and
# compare byte for byte. The decode-as rule of each file is taken from the
# summary table of ../shared/captures/public/README.md.
#
#   scripts/record-samples/verify_public_oracles.sh [PUBLIC_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PUBLIC="${1:-$ROOT/../shared/captures/public}"
OUT="$(mktemp -d /tmp/oracle-check.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT
tshark --version | head -1
same=0; differ=0
while read -r file decode; do
    args=()
    [[ "$decode" != "-" ]] && args=(--decode-as "$decode")
    out="$OUT/$(echo "$file" | tr / _).tsv"
    python3 "$ROOT/scripts/tshark_oracle.py" "$PUBLIC/$file" "${args[@]}" > "$out"
    if cmp -s "$out" "$PUBLIC/$file.tshark.tsv"; then
        echo "identical  $file  (decode-as: $decode)"
        same=$((same + 1))
    else
        echo "DIFFERENT  $file  (decode-as: $decode)"
        diff "$PUBLIC/$file.tshark.tsv" "$out" | head -5 || true
        differ=$((differ + 1))
    fi
done < <(python3 - "$PUBLIC/README.md" <<'PY'
import sys
for line in open(sys.argv[1], encoding="utf-8"):
    cells = [c.strip() for c in line.split("|")]
    if len(cells) > 10 and "/" in cells[1] and cells[1].split()[0].endswith((".pcap", ".pcapng")):
        print(cells[1].split()[0], cells[9])
PY
)
echo "$same passed, $differ failed"
[[ $differ -eq 0 ]]
