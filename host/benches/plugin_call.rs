//! Cost of one strategy call, native vs WASM, with a 20-level market view; plus module compile
//! and instance creation time. Needs the plugins built (scripts/build-wasm.sh and
//! `cargo build --release -p <plugin>`). Run: `cargo bench -p host --bench plugin_call`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use host::plugin::{PluginLimits, PluginRuntime};
use plugin_api::{Inventory, Ladder, Level, MarketView, QuoteInput};

const STRATEGIES: &[(&str, &str)] = &[
    ("static-spread", "static_spread"),
    ("vol-scaled", "vol_scaled"),
    ("avellaneda-stoikov", "avellaneda_stoikov"),
    ("obi", "obi"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `<target>/release`: the directory holding this bench binary's `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn native_path(lib: &str) -> PathBuf {
    profile_dir().join(format!("lib{lib}.so"))
}

/// `$QUOTER_WASM_DIR/<lib>.wasm`, by default `<target>/plugins/` (where build-wasm.sh puts
/// the modules for the same `CARGO_TARGET_DIR`).
fn wasm_path(lib: &str) -> PathBuf {
    std::env::var_os("QUOTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile_dir().parent().unwrap().join("plugins"))
        .join(format!("{lib}.wasm"))
}

fn params(name: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("config/strategies")
            .join(format!("{name}.json")),
    )
    .unwrap()
}

/// Twenty distinct inputs cycled through, so that time-grid strategies see time pass.
fn inputs() -> Vec<QuoteInput> {
    (0..20)
        .map(|i| {
            let mut view = MarketView::new("BTCUSDT");
            let mid = 65_000.0 + i as f64 * 0.5;
            let bids: Vec<Level> = (0..20)
                .map(|k| Level::new(mid - 0.05 - k as f64 * 0.1, 0.5 + k as f64 * 0.01))
                .collect();
            let asks: Vec<Level> = (0..20)
                .map(|k| Level::new(mid + 0.05 + k as f64 * 0.1, 0.4 + k as f64 * 0.02))
                .collect();
            view.set_bids(&bids);
            view.set_asks(&asks);
            view.ts_exchange_ms = 1_700_000_000_000 + i * 1000;
            view.tick_size = 0.1;
            view.lot_size = 0.001;
            QuoteInput {
                view,
                inventory: Inventory {
                    position: 0.05,
                    max_position: 1.0,
                    ..Default::default()
                },
            }
        })
        .collect()
}

fn quote_calls(c: &mut Criterion) {
    let rt = PluginRuntime::new(PluginLimits::default()).unwrap();
    let inputs = inputs();
    let mut group = c.benchmark_group("quote_call");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for &(name, lib) in STRATEGIES {
        for (kind, path) in [("native", native_path(lib)), ("wasm", wasm_path(lib))] {
            let mut inst = rt.load(&path).unwrap().instantiate(&params(name)).unwrap();
            let mut out = Ladder::default();
            let mut i = 0usize;
            group.bench_function(BenchmarkId::new(name, kind), |b| {
                b.iter(|| {
                    i = (i + 1) % inputs.len();
                    inst.quote(black_box(&inputs[i]), &mut out).unwrap();
                    black_box(&out);
                })
            });
        }
    }
    group.finish();
}

fn module_setup(c: &mut Criterion) {
    let rt = PluginRuntime::new(PluginLimits::default()).unwrap();
    let mut group = c.benchmark_group("wasm_setup");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let (name, lib) = STRATEGIES[2];
    let path = wasm_path(lib);
    let bytes = std::fs::read(&path).unwrap();
    group.bench_function(BenchmarkId::new("compile", name), |b| {
        b.iter(|| black_box(rt.load_bytes(&path, &bytes).unwrap()))
    });
    group.finish();

    let module = rt.load(&path).unwrap();
    let params = params(name);
    let mut group = c.benchmark_group("wasm_setup");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::new("instantiate_and_create", name), |b| {
        b.iter(|| black_box(module.instantiate(&params).unwrap()))
    });
    group.finish();
}

/// Instantiation alone: a minimal hand-written module whose create does nothing.
fn bare_instantiate(c: &mut Criterion) {
    let rt = PluginRuntime::new(PluginLimits::default()).unwrap();
    let exports = [
        ("quoter_abi_version", "(result i32)", "i32.const 2"),
        ("quoter_alloc", "(param i32) (result i32)", "i32.const 4096"),
        ("quoter_scratch_ptr", "(result i32)", "i32.const 4096"),
        ("quoter_create", "(param i32) (result i32)", "i32.const 0"),
        ("quoter_update", "(param i32) (result i32)", "i32.const 0"),
        ("quoter_input_ptr", "(result i32)", "i32.const 8192"),
        ("quoter_output_ptr", "(result i32)", "i32.const 16384"),
        ("quoter_fill_ptr", "(result i32)", "i32.const 20480"),
        ("quoter_error_ptr", "(result i32)", "i32.const 24576"),
        ("quoter_quote", "(result i32)", "i32.const 0"),
        ("quoter_on_fill", "(result i32)", "i32.const 0"),
        ("quoter_save_state", "(result i32)", "i32.const 0"),
        (
            "quoter_restore_state",
            "(param i32) (result i32)",
            "i32.const 0",
        ),
    ];
    let funcs: String = exports
        .iter()
        .map(|(n, sig, body)| format!("(func (export \"{n}\") {sig} {body})\n"))
        .collect();
    let wat = format!("(module (memory (export \"memory\") 1)\n{funcs})");
    let module = rt
        .load_bytes(std::path::Path::new("bare.wat"), wat.as_bytes())
        .unwrap();
    c.bench_function("wasm_setup/instantiate_bare_module", |b| {
        b.iter(|| black_box(module.instantiate(b"{}").unwrap()))
    });
    // The boundary alone: copy the 800-byte input in, call a quote that does nothing, copy the
    // 400-byte ladder out and check it.
    let mut inst = module.instantiate(b"{}").unwrap();
    let inputs = inputs();
    let mut out = Ladder::default();
    let mut i = 0usize;
    c.bench_function("quote_call/bare-module/wasm", |b| {
        b.iter(|| {
            i = (i + 1) % inputs.len();
            inst.quote(black_box(&inputs[i]), &mut out).unwrap();
            black_box(&out);
        })
    });
}

criterion_group!(benches, quote_calls, module_setup, bare_instantiate);
criterion_main!(benches);
