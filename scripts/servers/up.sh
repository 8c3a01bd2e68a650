#!/usr/bin/env bash
# Starts the real servers TradeML's live suites use, on loopback, on fixed ports, with their state
# in the git-ignored folder .servers/state (logs in .servers/logs, pids in .servers/run):
#   - Temporal dev server (`temporal server start-dev`): gRPC + Web UI, SQLite state
#   - MLflow tracking server: SQLite backend store, proxied artifacts (--serve-artifacts),
#     Host-header check limited to the loopback address it serves (--allowed-hosts)
#   - SeaweedFS (`weed server -s3`): S3 API with one identity, the bucket created (no bucket is
#     auto-created on upload, as on AWS: a mistyped bucket is an error, not a new bucket)
# Waits until each is healthy, writes .servers/env (source it: `. .servers/env`) and prints one
# line per server. Idempotent: servers already up (and healthy) are kept.
# Needs `bash scripts/servers/install.sh` first. Stop them with `bash scripts/servers/down.sh`.
# Ports (override with the variables): TRADEML_TEMPORAL_PORT (17233; UI = TRADEML_TEMPORAL_UI_PORT,
# 18233), TRADEML_MLFLOW_PORT (15000), TRADEML_S3_PORT (18333; SeaweedFS also binds 19333, 29333,
# 18380, 28380, 18888, 28888, 28333 — TRADEML_SEAWEED_PORT_BASE shifts them). See docs/servers.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
dir=${TRADEML_SERVERS_DIR:-.servers}
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
venv="$dir/venv" state="$dir/state" run="$dir/run" logs="$dir/logs"
host=127.0.0.1
t_port=${TRADEML_TEMPORAL_PORT:-17233}
t_ui=${TRADEML_TEMPORAL_UI_PORT:-18233}
t_http=${TRADEML_TEMPORAL_HTTP_PORT:-17243}
t_metrics=${TRADEML_TEMPORAL_METRICS_PORT:-17244}
m_port=${TRADEML_MLFLOW_PORT:-15000}
s3_port=${TRADEML_S3_PORT:-18333}
sw=${TRADEML_SEAWEED_PORT_BASE:-0}
sw_master=$((19333 + sw)) sw_volume=$((18380 + sw)) sw_filer=$((18888 + sw))
bucket=${TRADEML_S3_BUCKET:-trademl}
region=us-east-1
timeout_s=${TRADEML_SERVERS_TIMEOUT_S:-300}

for bin in temporal mlflow weed; do
  [ -x "$venv/bin/$bin" ] || { echo "servers/up: $venv/bin/$bin not found; run: bash scripts/servers/install.sh" >&2; exit 1; }
done
command -v curl >/dev/null 2>&1 || { echo "servers/up: curl not found (apt-get install curl)" >&2; exit 1; }
mkdir -p "$state/temporal" "$state/mlflow/artifacts" "$state/seaweedfs/data" "$run" "$logs"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
pid_of() { [ -f "$run/$1.pid" ] && cat "$run/$1.pid" || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# check_ports NAME PORT...: fails (before anything starts) when a port NAME needs is taken by
# something other than NAME itself.
check_ports() {
  local name=$1; shift
  alive "$name" && return 0
  for p in "$@"; do
    if port_busy "$p"; then
      echo "servers/up: port $host:$p needed by $name is already in use by another process; stop it or choose other ports (see docs/servers.md)" >&2
      exit 1
    fi
  done
}

# start NAME CMD...: starts CMD in its own session (so down.sh can stop its process group) unless
# NAME is already running.
start() {
  local name=$1; shift
  if alive "$name"; then was_up+=" $name "; return 0; fi
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
}

# wait_healthy NAME T0 CHECK...: polls CHECK until it succeeds; fails with the log's tail when the
# process dies or the timeout passes.
wait_healthy() {
  local name=$1 t0=$2; shift 2
  local deadline=$(( $(date +%s) + timeout_s ))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      echo "servers/up: $name exited while starting; last lines of $logs/$name.log:" >&2
      tail -n 20 "$logs/$name.log" >&2 || true
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "servers/up: $name not healthy after ${timeout_s} s (check: $*); last lines of $logs/$name.log:" >&2
      tail -n 20 "$logs/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

# --- S3 identity: a random secret per state folder, never committed -----------------------------
s3_config="$state/seaweedfs/s3.json"
if [ ! -f "$s3_config" ]; then
  secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
  umask 077
  printf '{"identities":[{"name":"trademl","credentials":[{"accessKey":"trademl","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' "$secret" >"$s3_config"
  umask 022
fi
s3_key=trademl
s3_secret=$(sed -E 's/.*"secretKey":"([^"]+)".*/\1/' "$s3_config")

# --- start all three, then wait (they boot in parallel) ------------------------------------------
check_ports temporal "$t_port" "$t_ui" "$t_http" "$t_metrics"
check_ports mlflow "$m_port"
check_ports seaweedfs "$s3_port" "$sw_master" "$((sw_master + 10000))" "$sw_volume" "$((sw_volume + 10000))" "$sw_filer" "$((sw_filer + 10000))" "$((s3_port + 10000))"
t0_all=$(now)
was_up=""
start temporal \
  "$venv/bin/temporal" server start-dev --ip "$host" --port "$t_port" --ui-port "$t_ui" \
  --http-port "$t_http" --metrics-port "$t_metrics" --db-filename "$state/temporal/temporal.db" \
  --ui-disable-news-fetch --log-level warn
# MLflow ≥ 3.5 rejects requests whose Host header is not allowed (403 "Invalid Host header"); the
# server is reached as 127.0.0.1:<port> or localhost:<port> only, so exactly those are allowed.
start mlflow \
  "$venv/bin/mlflow" server --host "$host" --port "$m_port" --workers 1 \
  --backend-store-uri "sqlite:///$state/mlflow/mlflow.db" \
  --serve-artifacts --artifacts-destination "$state/mlflow/artifacts" \
  --allowed-hosts "$host:$m_port,localhost:$m_port"
start seaweedfs \
  "$venv/bin/weed" server -dir="$state/seaweedfs/data" -ip="$host" -ip.bind="$host" \
  -master.port="$sw_master" -master.port.grpc="$((sw_master + 10000))" -master.volumeSizeLimitMB=64 -master.telemetry=false \
  -volume.port="$sw_volume" -volume.port.grpc="$((sw_volume + 10000))" -volume.max=0 -volume.preStopSeconds=0 \
  -filer -filer.port="$sw_filer" -filer.port.grpc="$((sw_filer + 10000))" \
  -s3 -s3.port="$s3_port" -s3.port.grpc="$((s3_port + 10000))" -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false -s3.config="$s3_config"

temporal_ok() {
  "$venv/bin/temporal" operator cluster health --address "$host:$t_port" 2>/dev/null | grep -q SERVING &&
    curl -sf -o /dev/null "http://$host:$t_ui/"
}
mlflow_ok() {
  [ "$(curl -sf "http://$host:$m_port/health")" = "OK" ] &&
    curl -sf -o /dev/null "http://$host:$m_port/api/2.0/mlflow/experiments/search?max_results=1"
}
s3() { curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$region:s3" --user "$s3_key:$s3_secret" "$@"; }
s3_ok() {
  local code
  code=$(s3 -X PUT "http://$host:$s3_port/$bucket") || return 1
  [ "$code" = 200 ] || [ "$code" = 409 ] || return 1 # 409: BucketAlreadyOwnedByYou
  [ "$(s3 -I "http://$host:$s3_port/$bucket")" = 200 ]
}

wait_healthy temporal "$t0_all" temporal_ok
t_temporal=$(elapsed "$t0_all")
wait_healthy seaweedfs "$t0_all" s3_ok
t_s3=$(elapsed "$t0_all")
wait_healthy mlflow "$t0_all" mlflow_ok # slowest: first start migrates its SQLite schema
t_mlflow=$(elapsed "$t0_all")

env_file="$dir/env"
umask 077
cat >"$env_file" <<EOF
# Written by scripts/servers/up.sh: source it (\`. $env_file\`) to point TradeML and its live suites
# at the local servers. Holds the local S3 secret: do not commit or share it.
export TEMPORAL_ADDRESS=$host:$t_port
export TEMPORAL_NAMESPACE=default
export TRADEML_TEMPORAL_UI=http://$host:$t_ui
export MLFLOW_TRACKING_URI=http://$host:$m_port
export TRADEML_S3_ENDPOINT=http://$host:$s3_port
export TRADEML_S3_BUCKET=$bucket
export AWS_ENDPOINT_URL_S3=http://$host:$s3_port
export AWS_ACCESS_KEY_ID=$s3_key
export AWS_SECRET_ACCESS_KEY=$s3_secret
export AWS_REGION=$region
export TRADEML_SERVERS_PYTHON=$venv/bin/python
EOF
umask 022

how() { case "$was_up" in *" $1 "*) echo "already running" ;; *) echo "ready after $2 s" ;; esac; }
echo "temporal   up ($(how temporal "$t_temporal"))  gRPC $host:$t_port  UI http://$host:$t_ui  pid $(pid_of temporal)  state $state/temporal"
echo "mlflow     up ($(how mlflow "$t_mlflow"))  http://$host:$m_port  (sqlite, --serve-artifacts, --allowed-hosts $host:$m_port,localhost:$m_port)  pid $(pid_of mlflow)"
echo "seaweedfs  up ($(how seaweedfs "$t_s3"))  S3 http://$host:$s3_port  bucket $bucket  pid $(pid_of seaweedfs)"
echo "env        . $env_file"
