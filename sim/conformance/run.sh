#!/usr/bin/env bash
# pybit conformance: build the sim binary in release, then run the pybit tests against it.
# Needs `pip install pybit pytest`. Honours CARGO_TARGET_DIR and SIM_BIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --release -p sim --bin sim
target="${CARGO_TARGET_DIR:-$root/target}"
export SIM_BIN="${SIM_BIN:-$target/release/sim}"
exec python3 -m pytest -q "$here/test_pybit.py" "$@"
