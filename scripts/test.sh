#!/usr/bin/env bash
# The whole test suite, as README.md gives it. Builds everything once in the release profile
# (native plugins, WASM plugins and fixtures, host, sim), then runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "== building WASM modules" >&2
scripts/build-wasm.sh -p misbehave -p vol-wide

# One build of every target (libraries, cdylibs, binaries, tests, benches) with one feature set,
# so that `cargo test` below reuses it instead of rebuilding with dev-dependency features.
echo "== building the workspace (release, all targets)" >&2
cargo build --release --workspace --all-targets

echo "== cargo test (release)" >&2
cargo test --release --workspace

if [ -x sim/conformance/run.sh ]; then
  echo "== pybit conformance against the sim" >&2
  SIM_BIN="$root/target/release/sim" sim/conformance/run.sh
fi
