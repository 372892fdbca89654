#!/usr/bin/env bash
# `stkc run --replay` end to end to the lake (issue: local mode): records/s at --speed max
# and peak resident memory, for replays of growing length (memory must not grow with it).
# The pipeline is pipelines/demo.stk (raw JSON + Parquet lake + the 1%-move alert); the
# ticks are compact_bench's generator (pipelines/stocks.stk's record, 500 symbols, 5 s apart).
#   bash bench/run-local.sh [--example] [--disk] [TICKS...]      default: 1000000 4000000
# --example runs stk-local's replay_bench example instead of the stkc binary: the same
# `stk_local::run` call with the CLI's options, without the >15 min release build of stkc.
# The replay file and the lake are in memory (/dev/shm) where there is one, so the figures are
# stkc's and not the disk's: on this VM's ext4 disk, runs right after another had written a
# few GB varied by up to 1.6x (writeback throttling: system time tripled). --disk puts them
# under $TMPDIR instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
example=0
if [ "${1:-}" = "--example" ]; then
  example=1
  shift
fi
disk=0
if [ "${1:-}" = "--disk" ]; then
  disk=1
  shift
fi
cargo build --release -q -p stk-lake --example compact_bench
gen="$CARGO_TARGET_DIR/release/examples/compact_bench"
if [ "$example" = 1 ]; then
  cargo build --release -q -p stk-local --example replay_bench
else
  cargo build --release -q -p stkc --bin stkc
fi
if [ "$disk" = 0 ] && [ -w /dev/shm ]; then dir="$(mktemp -d -p /dev/shm)"; else dir="$(mktemp -d)"; fi
trap 'rm -rf "$dir"' EXIT
for n in "${@:-1000000 4000000}"; do
  for ticks in $n; do
    "$gen" gen "$ticks" "$dir/ticks.json"
    # A new lake folder per run, all deleted at the end: ext4 creating files right where a
    # previous run's were just deleted (`recently_deleted`) made runs vary by a third.
    lake="$(mktemp -d -p "$dir" lake-XXXX)"
    echo "== $ticks ticks ($(du -m "$dir/ticks.json" | cut -f1) MB)"
    if [ "$example" = 1 ]; then
      cmd=("$CARGO_TARGET_DIR/release/examples/replay_bench" pipelines/demo.stk "$dir/ticks.json" "$lake")
    else
      cmd=("$CARGO_TARGET_DIR/release/stkc" run pipelines/demo.stk --replay "$dir/ticks.json"
        --speed max --lake "$lake")
    fi
    # stkc prints every alert to stdout; the example prints only its summary line.
    /usr/bin/time -f "peak RSS %M KB, %e s wall, %U s user, %S s sys" "${cmd[@]}" |
      grep -v '^ALERT' || true
  done
done
