#!/usr/bin/env bash
# The main job, as README.md gives it. Until `host run` lands (issue 4) this builds the host and
# every strategy (WASM and native) and runs `host quote` with each WASM strategy over the bundled
# market sample, printing each strategy's ladders.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/build-wasm.sh >/dev/null
cargo build --release -p host -p static-spread -p vol-scaled -p avellaneda-stoikov -p obi
for name in static-spread vol-scaled avellaneda-stoikov obi; do
  lib=${name//-/_}
  echo "== $name (target/plugins/$lib.wasm)"
  ./target/release/host quote --plugin "target/plugins/$lib.wasm" --params "config/strategies/$name.json" \
    < config/samples/market.jsonl
done
