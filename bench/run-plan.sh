#!/usr/bin/env bash
# `stkc plan pipelines/stocks.stk` against the local AWS emulator (moto server) with
# everything applied: the whole process, every resource read in parallel (issue: plan/apply;
# target under 2 s), 20 runs. Starts its own moto from the test venv (tests/oracle/setup-venv.sh).
#   bash bench/run-plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
cargo build --release -q --workspace --bins
bin="$CARGO_TARGET_DIR/release"
py="$(bash tests/oracle/setup-venv.sh | tail -1)"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$(dirname "$py")/moto_server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
moto=$!
trap 'kill $moto; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
"$bin/stkc" package pipelines/stocks.stk --out "$dir/dist" --bootstrap "$bin/bootstrap" >/dev/null
"$bin/stkc" apply pipelines/stocks.stk --package "$dir/dist" --emulator --auto-approve >/dev/null
"$bin/stkc" plan pipelines/stocks.stk --package "$dir/dist" --emulator --detailed-exitcode >/dev/null
# 20 runs after 2 warm-ups; wall seconds of each, then the mean.
for i in $(seq 1 22); do
  /usr/bin/time -f "%e" -o "$dir/t" "$bin/stkc" plan pipelines/stocks.stk --package "$dir/dist" --emulator >/dev/null
  [ "$i" -gt 2 ] && cat "$dir/t"
done | awk '{ s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
  END { printf "stkc plan pipelines/stocks.stk, everything applied: mean %.3f s over %d runs (min %.3f, max %.3f)\n", s / NR, NR, min, max }'
