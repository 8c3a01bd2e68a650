#!/usr/bin/env bash
# Installs the native gradient-boosting libraries TradeML binds through koffi from their PyPI wheels
# into .native/ (git-ignored). Idempotent: a no-op (milliseconds) when the pinned versions are there.
#
#   lightgbm==4.7.0     → .native/py/lightgbm/lib/lib_lightgbm.so   (models/lightgbm/binding.ts)
#   xgboost-cpu==3.2.0  → .native/py/xgboost/lib/libxgboost.so      (models/xgboost/binding.ts, xgboost_lib: wheel)
#
# xgboost-cpu is XGBoost's own CPU-only PyPI wheel: the same libxgboost as the `xgboost` wheel
# without the CUDA kernels (5.6 MB instead of a few hundred MB), with its libgomp vendored.
# Only the shared libraries are used; nothing of the Python packages is imported by TradeML.
# lib_lightgbm.so links the system libgomp.so.1 (Debian libgomp1, a dependency of libxgboost0).
# Override the versions with LIGHTGBM_VERSION / XGBOOST_VERSION (the stamp then differs → reinstall).
set -euo pipefail
cd "$(dirname "$0")/.."

LIGHTGBM_VERSION=${LIGHTGBM_VERSION:-4.7.0}
XGBOOST_VERSION=${XGBOOST_VERSION:-3.2.0}
root=.native
dest=$root/py
stamp=$root/STAMP
want="lightgbm==$LIGHTGBM_VERSION xgboost-cpu==$XGBOOST_VERSION"
lgbm=$dest/lightgbm/lib/lib_lightgbm.so
xgb=$dest/xgboost/lib/libxgboost.so

report() {
  echo "native: lib_lightgbm.so $(realpath "$lgbm") (lightgbm $LIGHTGBM_VERSION)"
  echo "native: libxgboost.so   $(realpath "$xgb") (xgboost $XGBOOST_VERSION)"
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$lgbm" ] && [ -f "$xgb" ]; then
  report
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
apt_install() {
  echo "native: installing Debian packages: $*"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# lib_lightgbm.so needs the system OpenMP runtime
ldconfig -p 2>/dev/null | grep -q 'libgomp.so.1 ' || [ -e /usr/lib/x86_64-linux-gnu/libgomp.so.1 ] || apt_install libgomp1

PY=$(command -v python3 || true)
if [ -z "$PY" ] || ! "$PY" -m pip --version >/dev/null 2>&1; then
  apt_install python3 python3-pip
  PY=$(command -v python3)
fi

echo "native: installing $want into $dest"
mkdir -p "$root"
tmp=$(mktemp -d "$root/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# --target is not an "externally managed" install (PEP 668): nothing outside .native/ is touched
"$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --no-compile --only-binary=:all: \
  --target "$tmp" "lightgbm==$LIGHTGBM_VERSION" "xgboost-cpu==$XGBOOST_VERSION"
for f in "$tmp/lightgbm/lib/lib_lightgbm.so" "$tmp/xgboost/lib/libxgboost.so"; do
  [ -f "$f" ] || { echo "native: the wheels did not contain $f" >&2; exit 1; }
done
# swap in atomically so a concurrent reader never sees a half-installed folder
rm -rf "$dest.old"
[ -d "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp" "$dest"
rm -rf "$dest.old"
trap - EXIT
echo "$want" > "$stamp"
report
