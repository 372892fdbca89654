#!/usr/bin/env bash
# Starts the real servers the tests use, on loopback and free ports, with their state in
# STATE_DIR: VictoriaMetrics (InfluxDB v2 write API stand-in) and InfluxDB 1.6 (v1 API),
# both from Debian's packages (installed here if missing), and, given the test venv's python
# (tests/oracle/setup-venv.sh), moto server as the AWS account. Prints `export NAME=VALUE`
# lines for the tests (STK_VM_URL, STK_INFLUX1_URL, STK_MOTO_URL, STK_MOTO_DEPLOY_URL). Stop them with
# `stop.sh STATE_DIR`.
# Facts about both servers: ../shared/LOCAL-SERVICES.md.
set -euo pipefail
state="${1:?usage: start.sh STATE_DIR [VENV_PYTHON]}"
venv_python="${2:-}"
mkdir -p "$state"

need=()
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
command -v influxd >/dev/null || need+=(influxdb)
if ((${#need[@]})); then
    echo "installing ${need[*]} (Debian packages)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2 ||
        { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() { # URL NAME LOG
    for _ in $(seq 1 100); do
        if curl -fs -o /dev/null "$1"; then return 0; fi
        sleep 0.1
    done
    echo "$2 did not start; its log:" >&2
    cat "$3" >&2
    return 1
}

vm_port="$(free_port)"
victoria-metrics -storageDataPath "$state/vm" -httpListenAddr "127.0.0.1:$vm_port" \
    -retentionPeriod=100y -search.latencyOffset=0s -loggerLevel=ERROR \
    >"$state/vm.log" 2>&1 &
echo $! >"$state/vm.pid"

influx_port="$(free_port)"
rpc_port="$(free_port)"
cat >"$state/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc_port"
[meta]
  dir = "$state/influx/meta"
[data]
  dir = "$state/influx/data"
  wal-dir = "$state/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$influx_port"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
influxd -config "$state/influxdb.conf" >"$state/influx.log" 2>&1 &
echo $! >"$state/influx.pid"

if [ -n "$venv_python" ]; then
    moto_port="$(free_port)"
    "$(dirname "$venv_python")/moto_server" -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 &
    echo $! >"$state/moto.pid"
    # A second account for the deploy tests (stkc plan/apply, stk-aws): they create Lambda
    # functions, after which moto's /moto-api/data.json (how the other tests read SNS
    # messages) fails (LOCAL-SERVICES.md).
    deploy_port="$(free_port)"
    "$(dirname "$venv_python")/moto_server" -H 127.0.0.1 -p "$deploy_port" >"$state/moto-deploy.log" 2>&1 &
    echo $! >"$state/moto-deploy.pid"
fi

wait_ready "http://127.0.0.1:$vm_port/health" VictoriaMetrics "$state/vm.log"
wait_ready "http://127.0.0.1:$influx_port/ping" "InfluxDB 1.6" "$state/influx.log"
echo "export STK_VM_URL=http://127.0.0.1:$vm_port"
echo "export STK_INFLUX1_URL=http://127.0.0.1:$influx_port"
if [ -n "$venv_python" ]; then
    wait_ready "http://127.0.0.1:$moto_port/moto-api/" "moto server" "$state/moto.log"
    echo "export STK_MOTO_URL=http://127.0.0.1:$moto_port"
    wait_ready "http://127.0.0.1:$deploy_port/moto-api/" "moto server (deploy)" "$state/moto-deploy.log"
    echo "export STK_MOTO_DEPLOY_URL=http://127.0.0.1:$deploy_port"
fi
