#!/usr/bin/env bash
# pybit conformance: build the sim binary in release, then run the pybit tests against it.
# Needs `pip install pybit pytest`. Honours CARGO_TARGET_DIR and SIM_BIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${SIM_BIN:-}" ] || [ ! -x "$SIM_BIN" ]; then
  cargo build --release -p sim --bin sim
  export SIM_BIN="$target/release/sim"
fi
exec python3 -m pytest -q "$here/test_pybit.py" "$@"
