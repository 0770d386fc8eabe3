#!/usr/bin/env bash
# The main job, as README.md gives it: build every strategy (WASM and native) and the host, then
# run `host run` on the paper venue (the embedded simulator, no keys) for 30 seconds: three
# symbols quoted from one process, a status line per symbol every 5 s, and an ordered shutdown
# that cancels every order and exits 0 once the venue shows none of ours open.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/build-wasm.sh >/dev/null
cargo build --release -p host -p static-spread -p vol-scaled -p avellaneda-stoikov -p obi
echo "== host run --config config/paper.toml --duration-s 30"
RUST_LOG=${RUST_LOG:-info} ./target/release/host run --config config/paper.toml --duration-s 30
