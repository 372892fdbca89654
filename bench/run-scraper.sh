#!/usr/bin/env bash
# Side-by-side scraper benchmarks (issue: EC2 runtime). Writes nothing to the repo.
#   bash bench/run-scraper.sh            needs ../shared/fixtures/yahoo (the recorded pages)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stkc-target}"
fixtures="${STK_SHARED_FIXTURES:-../shared/fixtures}/yahoo"
py="$(bash tests/oracle/setup-venv.sh | tail -n 1)"
"$py" -m pip install --quiet --disable-pip-version-check "beautifulsoup4==4.12.3" "lxml==5.3.0"
cargo build --release --workspace --examples -q
bench="$CARGO_TARGET_DIR/release/examples/page_bench"
for page in "quote-page-AAPL-2023-05-07-finstreamer-rootAppMain.recorded.json AAPL" \
            "quote-page-DRV-2018-04-reactid-rootAppMain.html DRV"; do
  set -- $page
  echo "== $1 ($(wc -c <"$fixtures/$1") bytes)"
  "$bench" "$fixtures/$1" "$2" 5 | tail -n 1
  "$py" bench/page_bs4.py "$fixtures/$1" "$2" 5 | tail -n 1
done
