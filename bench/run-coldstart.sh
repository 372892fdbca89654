#!/usr/bin/env bash
# Lambda cold start under cargo-lambda's Runtime API emulator: the stkc bootstrap
# (release-small, as deployed) against a Python handler importing pyarrow (issue: Lambda
# runtime). Needs the test venv (cargo-lambda) and the bench venv (pyarrow 22.0.0).
#   bash bench/run-coldstart.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
cargo build -q --profile release-small -p stk-runtime-lambda --bin bootstrap
cargo build -q --workspace --bins   # stkc (debug is enough: it only writes the compiled pipeline)
py="$(bash tests/oracle/setup-venv.sh | tail -1)"
venv="$HOME/.cache/stkc-bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check pyarrow==22.0.0 >&2
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$CARGO_TARGET_DIR/debug/stkc" compile pipelines/stocks.stk --emit ir --format json > "$dir/pipeline.json"
"$py" bench/coldstart.py "$(dirname "$py")/cargo-lambda" "$CARGO_TARGET_DIR/release-small/bootstrap" \
  "$dir/pipeline.json" "$venv/bin/python" "${1:-10}"
