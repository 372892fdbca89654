#!/usr/bin/env bash
# The transform handler's CPU work on a 10,000-record Kinesis event: Rust (the bootstrap's
# code) and Python with orjson, side by side on the same event file. Needs the test venv
# (tests/oracle/setup-venv.sh); installs orjson into it.
set -euo pipefail
cd "$(dirname "$0")/.."
py="$(bash tests/oracle/setup-venv.sh | tail -1)"
"$py" -m pip install --quiet --disable-pip-version-check "orjson==3.13.0" >&2
event="$(mktemp)"
trap 'rm -f "$event"' EXIT
cargo run --quiet --release -p stk-runtime-lambda --example transform_bench -- "${1:-10000}" "$event"
"$py" bench/transform_orjson.py "$event"
