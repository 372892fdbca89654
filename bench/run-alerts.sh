#!/usr/bin/env bash
# Side-by-side alert benchmarks (issue: alert expressions). Writes nothing to the repo.
#   bash bench/run-alerts.sh [ROWS...]     default: 1000000 10000000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
py="$(bash tests/oracle/setup-venv.sh | tail -n 1)"
cargo build --release -q -p stk-lake --example alert_bench
bench="$CARGO_TARGET_DIR/release/examples/alert_bench"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for n in "${@:-1000000 10000000}"; do
  for rows in $n; do
    f="$dir/ticks-$rows.parquet"
    "$bench" gen "$rows" "$f"
    echo "== $rows rows, 500 symbols"
    "$bench" stream "$f"
    "$py" bench/alerts_python.py "$f"
    for t in 1 2; do
      "$bench" batch "$f" "$t"
      "$py" bench/alerts_duckdb.py "$f" "$t"
    done
  done
done
