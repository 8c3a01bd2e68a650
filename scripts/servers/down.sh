#!/usr/bin/env bash
# Stops the servers scripts/servers/up.sh started (by the pids it recorded in .servers/run; each
# server runs in its own process group, so its children stop too). SIGTERM first, SIGKILL after
# 5 s (SeaweedFS lingers ~15 s after its graceful shutdown has flushed everything). State in .servers/state is kept; `--purge` also deletes it (a fresh start next time).
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${TRADEML_SERVERS_DIR:-.servers}
run="$dir/run"
purge=false
[ "${1:-}" = "--purge" ] && purge=true

for name in temporal mlflow seaweedfs; do
  f="$run/$name.pid"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "servers/down: $name (pid $pid) still running 5 s after SIGTERM; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
      for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    echo "$name  stopped (pid $pid)"
  fi
  rm -f "$f"
done
if $purge; then
  rm -rf "$dir/state" "$dir/logs" "$dir/env"
  echo "servers/down: state purged ($dir/state)"
fi
exit 0
