#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs (the corpus is gitignored):
#   - the committed tiny seeds in fuzz/seeds/<target>/
#   - capture_file: samples/*.pcap* and ../shared/captures/public (when
#     present), cut to 64 KiB (a cut capture is still a valid input: the
#     reader reports the truncation)
#   - http_upgrade: the HTTP heads found in the sample captures
#   - log_reader: samples/*.log and tests/data/logs/*, cut to 16 KiB
#   - tcp_ws_stream, inflate (structured inputs decoded with `arbitrary`):
#     a few deterministic pseudo-random blobs of several sizes
# Safe to run again: existing corpus files are kept, seeds are re-copied
# under stable names.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
corpus="$here/corpus"
targets=(capture_file tcp_ws_stream http_upgrade inflate log_reader)

for t in "${targets[@]}"; do
    mkdir -p "$corpus/$t"
    if [[ -d "$here/seeds/$t" ]]; then
        cp -f "$here/seeds/$t"/* "$corpus/$t/" 2>/dev/null || true
    fi
done

# Copies $1 to $2 cut to $3 bytes.
cut_copy() {
    head -c "$3" "$1" > "$2"
}

# capture_file
shopt -s nullglob
for f in "$root"/samples/*.pcap "$root"/samples/*.pcapng; do
    cut_copy "$f" "$corpus/capture_file/sample-$(basename "$f")" 65536
done
public="$root/../shared/captures/public"
if [[ -d "$public" ]]; then
    while IFS= read -r -d '' f; do
        name="public-$(echo "${f#"$public"/}" | tr '/' '_')"
        cut_copy "$f" "$corpus/capture_file/$name" 65536
    done < <(find "$public" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0)
fi
# A few damaged variants of the smallest sample: zero-length, header only,
# cut inside a record.
smallest="$here/seeds/capture_file/one-frame.pcap"
: > "$corpus/capture_file/empty"
cut_copy "$smallest" "$corpus/capture_file/header-only.pcap" 24
cut_copy "$smallest" "$corpus/capture_file/cut-record.pcap" 50

# http_upgrade: HTTP heads inside the sample captures.
if command -v python3 >/dev/null; then
    python3 - "$root/samples" "$corpus/http_upgrade" <<'EOF'
import pathlib, re, sys
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
for cap in sorted(src.glob("*.pcap*")):
    data = cap.read_bytes()
    for m in re.finditer(rb"(?:GET |HTTP/1\.[01] )[\x20-\x7e\r\n]*?\r\n\r\n", data):
        (dst / f"head-{cap.stem}-{n}").write_bytes(m.group(0))
        n += 1
        if n > 40:
            sys.exit(0)
EOF
fi

# log_reader
for f in "$root"/samples/*.log "$root"/tests/data/logs/*; do
    [[ -f "$f" ]] || continue
    cut_copy "$f" "$corpus/log_reader/$(basename "$(dirname "$f")")-$(basename "$f")" 16384
done

# Structured targets: deterministic pseudo-random blobs.
for t in tcp_ws_stream inflate; do
    for size in 16 64 256 1024 4096; do
        for i in 1 2; do
            out="$corpus/$t/random-$size-$i"
            [[ -f "$out" ]] && continue
            # sha256 chain: reproducible without a seeded RNG tool.
            seed="$t-$size-$i"
            : > "$out"
            while [[ $(stat -c %s "$out") -lt $size ]]; do
                seed="$(printf '%s' "$seed" | sha256sum | cut -d' ' -f1)"
                printf '%s' "$seed" | xxd -r -p >> "$out" 2>/dev/null || printf '%s' "$seed" >> "$out"
            done
            truncate -s "$size" "$out"
        done
    done
done

for t in "${targets[@]}"; do
    printf '%-14s %4d seeds\n' "$t" "$(find "$corpus/$t" -type f | wc -l)"
done
