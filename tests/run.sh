#!/usr/bin/env bash
# The whole test suite, as the README states it: `bash tests/run.sh`.
# It installs and starts what the tests need (on loopback only), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Snapshot tests never rewrite their snapshots here: a difference is a failure.
export INSTA_UPDATE=no
# Property tests: bounded so the suite's time is predictable.
export PROPTEST_CASES="${PROPTEST_CASES:-512}"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets -q -- -D warnings

step "build (workspace, all targets)"
cargo build --workspace --all-targets

step "python venv for the oracle and service tests (DuckDB, aiosmtpd from PyPI)"
py="$(bash tests/oracle/setup-venv.sh | tail -n 1)"
export STK_PYTHON="$py"

step "servers for the service tests (VictoriaMetrics, InfluxDB 1.6, moto; loopback only)"
services="$(mktemp -d)"
trap 'bash tests/services/stop.sh "$services"' EXIT
eval "$(bash tests/services/start.sh "$services" "$py")"
echo "VictoriaMetrics at $STK_VM_URL, InfluxDB 1.6 at $STK_INFLUX1_URL, moto at $STK_MOTO_URL (deploy tests: $STK_MOTO_DEPLOY_URL)"

step "tests"
cargo test --workspace --no-fail-fast

step "oracle: alerts against DuckDB ASOF JOIN (100,000 records)"
STKC="$CARGO_TARGET_DIR/debug/stkc" "$py" tests/oracle/alerts_oracle.py

step "the shipped pipelines through the CLI"
stkc="$CARGO_TARGET_DIR/debug/stkc"
"$stkc" check --deny warnings pipelines/*.stk
"$stkc" fmt --check pipelines/*.stk
"$stkc" test pipelines/stocks.stk | tail -n 1
"$stkc" backtest pipelines/demo.stk --input pipelines/demo/ticks.jsonl | tail -n 6
lake="$(mktemp -d)"
"$stkc" run pipelines/demo.stk --lake "$lake" | tail -n 3
"$py" tests/oracle/lake_check.py "$lake" 18702
rm -rf "$lake"
