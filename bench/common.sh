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

# The real saslauthd and Authmux, both -n 5 with mechanism $MECH, in run
# directories $W/run-<name>; their PIDs join `pids`.
start_saslauthd() { # name, extra flags
  local dir=$W/run-$1; rm -rf "$dir"; mkdir -p "$dir"
  saslauthd -a "$MECH" -n 5 -m "$dir" ${2:-}
  for _ in $(seq 50); do [ -S "$dir/mux" ] && [ -s "$dir/saslauthd.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$dir/saslauthd.pid")")
}
start_authmux() { # name, extra flags
  local dir=$W/run-$1; rm -rf "$dir"
  AUTHMUX_CONFIG= bin/authmux saslauthd -f -a "$MECH" -n 5 -m "$dir" ${2:-} 2> "$W/$1.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$dir/mux" ] && break; sleep 0.1; done
}
