# Sourced by the bench scripts: paths, run length, the saslbench client built
# from shared/bench, a built Authmux, and a trap that stops every daemon the
# script started (its PIDs go into the `pids` array).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
SHARED=${SHARED:-$REPO/../shared/bench}
W=$REPO/bench/work
DUR=${DUR:-10}
WARM=${WARM:-2}
CONCS=${CONCS:-"1 8 32"}
mkdir -p "$W"
command -v saslauthd >/dev/null || { echo "install sasl2-bin" >&2; exit 1; }
gcc -O2 -pthread -o "$W/saslbench" "$SHARED/saslbench.c"
sh scripts/prepare.sh >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
