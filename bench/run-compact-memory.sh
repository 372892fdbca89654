#!/usr/bin/env bash
# compact's peak resident memory on a Firehose-sized object (issue: Lambda runtime; target:
# under 2x the object's size, so the function fits in 512 MB). compact_bench feeds the file in
# 1 MiB chunks into the same streaming Compaction the Lambda feeds the S3 body into.
#   bash bench/run-compact-memory.sh [TICKS]     default 722000 (about 134 MiB of NDJSON)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
cargo build --release -q -p stk-lake --example compact_bench
bench="$CARGO_TARGET_DIR/release/examples/compact_bench"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$bench" gen "${1:-722000}" "$dir/object.json"
echo "== object: $(du -m "$dir/object.json" | cut -f1) MiB"
for t in 1 "$(nproc)"; do
  rm -rf "$dir/out"
  /usr/bin/time -f "    peak RSS %M KB" "$bench" run "$dir/object.json" "$t" "$dir/out"
done
