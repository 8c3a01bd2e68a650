#!/usr/bin/env bash
# Installs the benchmark peer of bench/study.ts (bench/peer/study.py: a vectorised pandas + xgboost 1.7
# pipeline doing the same work as the nightly's stages) into bench/peer/.venv (git-ignored), with the
# exact versions of bench/peer/requirements.txt (no dependency resolution: every package is pinned
# there). Idempotent: a no-op when the stamp matches the requirements. Product code never imports it.
#
#   bash scripts/peer.sh        # then: npx tsx bench/study.ts --peer
set -euo pipefail
cd "$(dirname "$0")/.."
req=bench/peer/requirements.txt
venv=bench/peer/.venv
stamp=$venv/STAMP
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "peer: $venv ready ($(cat "$venv/VERSIONS" 2>/dev/null || echo installed))"
  exit 0
fi
PY=$(command -v python3 || true)
if [ -z "$PY" ] || ! "$PY" -m venv --help >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip >/dev/null
  PY=$(command -v python3)
fi
echo "peer: installing $req into $venv"
rm -rf "$venv"
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: -r "$req"
"$venv/bin/python" -c 'import numpy, pandas, xgboost, pyarrow; print(f"numpy {numpy.__version__}, pandas {pandas.__version__}, xgboost {xgboost.__version__}, pyarrow {pyarrow.__version__}")' > "$venv/VERSIONS"
echo "$want" > "$stamp"
echo "peer: ready ($(cat "$venv/VERSIONS"))"
