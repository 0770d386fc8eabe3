//! Strategy plugins: WASM (wasmtime) and native (libloading) loaders behind one interface.
