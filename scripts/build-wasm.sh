#!/usr/bin/env bash
# Build every strategy plugin (plugins/*) for wasm32-unknown-unknown and copy the modules to
# <target>/plugins/<name>.wasm, where <target> is $CARGO_TARGET_DIR (default: target/).
#
# Route 1: rustup's wasm32-unknown-unknown target, when it is installed.
# Route 2 (offline machines): Debian's rustc-web/cargo-web/rust-web-src/lld, building std from
#          source with -Zbuild-std. Installs those packages with apt-get when missing.
# Extra crates to build (test fixtures) can be passed as arguments: `build-wasm.sh -p my-crate`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/plugins"
mkdir -p "$out"

packages=()
for dir in plugins/*/; do
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n1)
  packages+=(-p "$name")
done
packages+=("$@")

wasm_dir=""
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "build-wasm: using rustup's wasm32-unknown-unknown target" >&2
  CARGO_TARGET_DIR="$target/wasm" cargo build --profile wasm --target wasm32-unknown-unknown "${packages[@]}"
else
  if [ ! -x /usr/bin/rustc ] || [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ] || ! command -v rust-lld >/dev/null; then
    echo "build-wasm: installing Debian's Rust toolchain with the std sources (rustc-web cargo-web rust-web-src lld-22)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq rustc-web cargo-web rust-web-src lld-22 >/dev/null
  fi
  echo "build-wasm: building std from source with Debian's $(/usr/bin/rustc --version)" >&2
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target/wasm" \
    /usr/bin/cargo build --profile wasm --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort "${packages[@]}"
fi
wasm_dir="$target/wasm/wasm32-unknown-unknown/wasm"
for f in "$wasm_dir"/*.wasm; do
  cp "$f" "$out/"
done
ls -l "$out"/*.wasm >&2
