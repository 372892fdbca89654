#!/usr/bin/env bash
# The scraper's producer and daemon against local stand-ins (issue: EC2 runtime, speed).
# Writes nothing to the repo; every server it starts is stopped on exit.
#
# 1. Producer throughput: runtime-ec2's producer_bench example (release) fills a spool with
#    synthetic ticks of 500 symbols, then drains it through Producer::send_once into
#      - moto server (Kinesis in Python: parses, base64-decodes and stores every record), and
#      - bench/kinesis_sink.py, a PutRecords endpoint that only acknowledges, so the figure
#        is the producer's own;
#    without packing and with pack = 10.
# 2. Daemon memory: the real stk-scraper (release) runs pipelines/stocks.stk with 500 symbols
#    polled every 5 s from bench/yahoo_standin.py (any symbol, Yahoo-shaped answers), Kinesis
#    at moto, for SECONDS; VmRSS is sampled every second from /proc, VmHWM read at the end.
#    Once with the file's endpoint (chart: 500 requests a poll, max_rps = 100, the most the
#    language allows) and once with `endpoint = quote` (batches of 100: 5 requests a poll).
#
#   bash bench/run-producer.sh [SECONDS]       default 60
# Environment: SCRAPER and PRODUCER_BENCH, prebuilt release binaries (default: built here);
# STKC, an stkc binary for `compile --emit ir` (default: a debug build); CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
py="$(bash tests/oracle/setup-venv.sh | tail -n 1)"
moto_bin="$(dirname "$py")/moto_server"
if [ -z "${SCRAPER:-}" ] || [ -z "${PRODUCER_BENCH:-}" ]; then
  cargo build --release -q -p stk-runtime-ec2 --bin stk-scraper --example producer_bench
  SCRAPER="$CARGO_TARGET_DIR/release/stk-scraper"
  PRODUCER_BENCH="$CARGO_TARGET_DIR/release/examples/producer_bench"
fi
if [ -z "${STKC:-}" ]; then
  cargo build -q -p stkc --bin stkc
  STKC="$CARGO_TARGET_DIR/debug/stkc"
fi
dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
# Copies: the shared target folder may be rebuilt by someone else while this runs.
cp "$SCRAPER" "$dir/stk-scraper"
cp "$PRODUCER_BENCH" "$dir/producer_bench"
scraper="$dir/stk-scraper"
bench="$dir/producer_bench"
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1

moto_port="$(free_port)"
"$moto_bin" -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
moto_pid=$!
pids+=($moto_pid)
sink_port="$(free_port)"
"$py" bench/kinesis_sink.py "$sink_port" >"$dir/sink.log" 2>&1 &
sink_pid=$!
pids+=($sink_pid)
yahoo_port="$(free_port)"
"$py" bench/yahoo_standin.py "$yahoo_port" >"$dir/yahoo.log" 2>&1 &
pids+=($!)
wait_port "$moto_port"; wait_port "$sink_port"; wait_port "$yahoo_port"

# CPU seconds (user + system) a process has used so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
bench_against() { # NAME PID PORT TICKS PACK
  local before
  before="$(cpu_of "$2")"
  echo "-- $1, pack = $5"
  /usr/bin/time -f "   producer_bench process: %U s user, %S s sys, %e s wall (fill included), peak RSS %M KB" \
    "$bench" --endpoint "http://127.0.0.1:$3" --ticks "$4" --pack "$5" --stream "bench-$5" \
    --dir "$dir"
  echo "   $1 used $(awk -v a="$before" -v b="$(cpu_of "$2")" 'BEGIN {printf "%.2f", b - a}') s of CPU"
}
echo "== producer: records/s sustained (spool drained through PutRecords, 500 symbols)"
for pack in 1 10; do
  bench_against "moto server" "$moto_pid" "$moto_port" $((20000 * pack)) "$pack"
  bench_against "bench/kinesis_sink.py" "$sink_pid" "$sink_port" 200000 "$pack"
done

# pipelines/stocks.stk with 500 symbols, pointed at the stand-in.
symbols="$(seq -f '"S%03g"' 0 499 | paste -sd, -)"
make_pipeline() { # ENDPOINT OUT
  sed -e "s|symbols = \[\"AAPL\", \"MSFT\", \"AMZN\", \"TSLA\"\]|symbols = [$symbols]\n  max_rps = 100\n  base_url = \"http://127.0.0.1:$yahoo_port\"|" \
    -e "s|endpoint = chart|endpoint = $1|" pipelines/stocks.stk >"$dir/$1.stk"
  grep -q 'max_rps = 100' "$dir/$1.stk" || { echo "the symbols line of stocks.stk changed" >&2; exit 1; }
  "$STKC" compile "$dir/$1.stk" --emit ir --out "$2" >/dev/null
}

for endpoint in chart quote; do
  make_pipeline "$endpoint" "$dir/$endpoint.json"
  stream="bench-daemon-$endpoint"
  "$py" - "$moto_port" "$stream" <<'EOF'
import sys, boto3
k = boto3.client("kinesis", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}")
k.create_stream(StreamName=sys.argv[2], ShardCount=1)
EOF
  metrics_port="$(free_port)"
  AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" RUST_LOG=warn "$scraper" \
    --pipeline "$dir/$endpoint.json" --stream "$stream" --metrics "127.0.0.1:$metrics_port" \
    --spool "$dir/spool-$endpoint.redb" --dead-letters "$dir/dead-$endpoint.jsonl" \
    2>"$dir/scraper-$endpoint.log" &
  pid=$!
  pids+=($pid)
  : >"$dir/rss"
  for _ in $(seq "$secs"); do
    sleep 1
    awk '/VmRSS/ {print $2}' "/proc/$pid/status" >>"$dir/rss"
  done
  hwm="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
  threads="$(awk '/Threads/ {print $2}' "/proc/$pid/status")"
  m="$(curl -s "http://127.0.0.1:$metrics_port/metrics")"
  kill -TERM "$pid"
  wait "$pid" || true
  metric() { echo "$m" | awk -v n="$1" '$1 == n {print $2}'; }
  # Steady state: the median of the second half of the samples.
  steady="$(tail -n $((secs / 2)) "$dir/rss" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  echo "== daemon, 500 symbols, endpoint = $endpoint, $secs s"
  echo "   RSS peak (VmHWM) $((hwm / 1024)) MiB ($hwm KB), steady (median of the last $((secs / 2)) s) $((steady / 1024)) MiB ($steady KB), threads $threads"
  echo "   polls $(metric stk_scraper_polled_total), parsed $(metric stk_scraper_parsed_total), emitted $(metric stk_scraper_emitted_total), sent $(metric stk_scraper_sent_total), errors $(metric stk_scraper_errors_total)"
  echo "   RSS samples (KB): $(paste -sd' ' "$dir/rss")"
  grep -iE 'warn|error' "$dir/scraper-$endpoint.log" | head -n 3 || true
done
