#!/usr/bin/env bash
# Stops the servers start.sh started (by their PIDs in STATE_DIR) and removes their state.
set -uo pipefail
state="${1:?usage: stop.sh STATE_DIR}"
for f in "$state"/*.pid; do
    [ -e "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null
done
sleep 0.2
rm -rf "$state"
