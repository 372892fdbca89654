#!/usr/bin/env bash
# A Python venv for the oracle and service tests: DuckDB (oracle), aiosmtpd (mail), moto
# server (the AWS account), cargo-lambda (the Lambda Runtime API emulator), all pinned.
# Idempotent and quiet: creates "${STK_VENV:-$HOME/.cache/stkc-venv}" if missing, installs
# what is missing or at the wrong version, and prints the venv's python path as its last
# line (all other output goes to stderr), so callers can do: py=$(bash setup-venv.sh | tail -1)
set -euo pipefail

DUCKDB_VERSION="2.0.1"
AIOSMTPD_VERSION="1.4.6"
MOTO_VERSION="5.2.5"
# cargo-lambda's wheel carries the Lambda Runtime API emulator; --no-deps skips its 400 MB zig.
CARGO_LAMBDA_VERSION="1.9.2"
venv="${STK_VENV:-$HOME/.cache/stkc-venv}"
python="${PYTHON:-python3}"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
  "$python" -m venv "$venv" >&2
fi
have="$("$py" -c 'import duckdb, aiosmtpd, moto; print(duckdb.__version__, aiosmtpd.__version__, moto.__version__)' 2>/dev/null || true)"
if [ "$have" != "$DUCKDB_VERSION $AIOSMTPD_VERSION $MOTO_VERSION" ]; then
  "$py" -m pip install --quiet --disable-pip-version-check --no-input \
    "duckdb==$DUCKDB_VERSION" "aiosmtpd==$AIOSMTPD_VERSION" "moto[server]==$MOTO_VERSION" >&2
fi
if ! "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  "$py" -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" >&2
fi
echo "$py"
