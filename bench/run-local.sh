#!/usr/bin/env bash
# `stkc run --replay` end to end to the lake (issue: local mode): records/s at --speed max
# and peak resident memory, for replays of growing length (memory must not grow with it).
# The pipeline is pipelines/demo.stk (raw JSON + Parquet lake + the 1%-move alert); the
# ticks are compact_bench's generator (pipelines/stocks.stk's record, 500 symbols, 5 s apart).
#   bash bench/run-local.sh [TICKS...]      default: 1000000 4000000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
cargo build --release -q -p stk-lake --example compact_bench
cargo build --release -q -p stkc --bin stkc
gen="$CARGO_TARGET_DIR/release/examples/compact_bench"
stkc="$CARGO_TARGET_DIR/release/stkc"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for n in "${@:-1000000 4000000}"; do
  for ticks in $n; do
    "$gen" gen "$ticks" "$dir/ticks.json"
    rm -rf "$dir/lake"
    echo "== $ticks ticks ($(du -m "$dir/ticks.json" | cut -f1) MB)"
    /usr/bin/time -f "peak RSS %M KB, %e s wall, %U s user, %S s sys" \
      "$stkc" run pipelines/demo.stk --replay "$dir/ticks.json" --speed max --lake "$dir/lake" >/dev/null
  done
done
