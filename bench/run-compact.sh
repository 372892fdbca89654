#!/usr/bin/env bash
# Compaction, JSON to partitioned Parquet (issue: Lambda runtime), side by side on the same
# NDJSON file: stkc's compact path (the Lambda's code) against pyarrow, polars and DuckDB,
# on one thread and on all cores. Peak resident memory of each from /usr/bin/time.
#   bash bench/run-compact.sh [TICKS [RUNS]]      default 1000000 ticks, 1 run of each
# With RUNS > 1 the engines take turns RUNS times (the machine is shared: take the best).
# Python peers go into a venv of their own under ~/.cache (pinned versions below).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
venv="$HOME/.cache/stkc-bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  pyarrow==22.0.0 polars==1.35.2 duckdb==2.0.1 orjson==3.13.0 >&2
py="$venv/bin/python"
cargo build --release -q -p stk-lake --example compact_bench
bench="$CARGO_TARGET_DIR/release/examples/compact_bench"
# Input and outputs in memory (/dev/shm) where there is one: the compact Lambda writes to S3,
# not to a disk, and ext4 creating 500 folders and files right after the previous run's were
# deleted made runs of every engine vary by up to 60%.
if [ -w /dev/shm ]; then dir="$(mktemp -d -p /dev/shm)"; else dir="$(mktemp -d)"; fi
trap 'rm -rf "$dir"' EXIT
f="$dir/ticks.json"
"$bench" gen "${1:-1000000}" "$f"
echo "== $(wc -l < "$f") ticks, $(du -m "$f" | cut -f1) MB NDJSON, 500 symbols, $(nproc) cores"
rss() { /usr/bin/time -f "    peak RSS %M KB" "$@"; }
for run in $(seq "${2:-1}"); do
  for t in 1 "$(nproc)"; do
    rm -rf "$dir/out"; rss "$bench" run "$f" "$t" "$dir/out"
    for e in pyarrow polars duckdb; do
      rm -rf "$dir/out"; rss "$py" bench/compact_peers.py "$e" "$f" "$t" "$dir/out"
    done
  done
done
