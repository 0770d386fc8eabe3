//! Hot-reload latency: from a file save to the new quotes in effect, and the longest pause of
//! the loop while a change is applied.
//!
//! The host runs in-process against the simulator (10 symbols publishing at 50 Hz each); the
//! bench rewrites the configuration (parameter changes) or replaces a WASM module file
//! (module swaps, including compilation) and times, from just before the write, until the
//! probe reports the first ladder of the new generation. Run with
//! `cargo bench -p host --bench reload` (after `scripts/build-wasm.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use host::app::{RunOptions, run};
use host::runtime::{Probe, ProbeEvent};
use tokio::sync::mpsc::UnboundedReceiver;

const SYMBOLS: usize = 10;
const PARAM_CHANGES: usize = 60;
const MODULE_SWAPS: usize = 20;

fn plugins_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    std::env::var_os("QUOTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/plugins"))
}

fn sim_config() -> sim::SimConfig {
    sim::SimConfig {
        symbols: (0..SYMBOLS)
            .map(|i| {
                let mut c = sim::SymbolConfig::linear(
                    &format!("SYM{i}USDT"),
                    "0.01",
                    "0.01",
                    "100000",
                    "100",
                );
                c.publish_rate_hz = 50.0;
                c
            })
            .collect(),
        ..Default::default()
    }
}

fn config_text(
    dir: &Path,
    sim: &sim::SimHandle,
    half_spread_bps: f64,
    swap_module: &Path,
) -> String {
    std::fs::write(dir.join("creds"), "key=simkey\nsecret=simsecret\n").unwrap();
    let static_wasm = plugins_dir().join("static_spread.wasm");
    let mut text = format!(
        r#"environment = "custom"
instance_id = "rb"
[endpoints]
rest = "{}"
public_linear = "{}"
public_spot = "{}"
private = "{}"
trade = "{}"
[credentials]
api_key_env = "QUOTER_BENCH_UNSET_KEY"
api_secret_env = "QUOTER_BENCH_UNSET_SECRET"
file = "creds"
[router]
levels = 1
[default_risk]
max_position = 5.0
max_open_orders = 4
"#,
        sim.rest_url(),
        sim.public_linear_url(),
        sim.public_spot_url(),
        sim.private_url(),
        sim.trade_url()
    );
    for i in 0..SYMBOLS {
        let (module, params) = if i == 0 {
            (
                swap_module.display().to_string(),
                "{ sample_interval_ms = 100, initial_sigma = 0.0005, vol_multiplier = 10.0, levels = 1, size = 0.1 }".to_owned(),
            )
        } else {
            let hs = if i == 1 { half_spread_bps } else { 5.0 };
            (
                static_wasm.display().to_string(),
                format!("{{ half_spread_bps = {hs:?}, levels = 1, size = 0.1 }}"),
            )
        };
        text.push_str(&format!(
            "[[symbols]]\nsymbol = \"SYM{i}USDT\"\nstrategy = {{ module = \"{module}\", params = {params} }}\n"
        ));
    }
    text
}

fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Wait for the first ladder of `symbol` in `generation`; returns the pauses seen meanwhile.
async fn wait_first_quote(
    rx: &mut UnboundedReceiver<ProbeEvent>,
    symbol: &str,
    generation: u64,
) -> Vec<Duration> {
    let mut pauses = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = tokio::time::timeout_at(until, rx.recv())
            .await
            .expect("no new quotes within 20 s")
            .expect("probe open");
        match ev {
            ProbeEvent::Applied { pause, .. } => pauses.push(pause),
            ProbeEvent::Rejected { error } => panic!("reload rejected: {error}"),
            ProbeEvent::Quoted {
                symbol: s,
                generation: g,
                ..
            } if &*s == symbol && g == generation => return pauses,
            _ => {}
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms",
        v.len(),
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.9)),
        ms(percentile(&v, 0.99)),
        ms(*v.last().unwrap())
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("reload: bench");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = sim::Sim::start(sim_config()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let narrow =
            std::fs::read(plugins_dir().join("vol_scaled.wasm")).expect("build-wasm first");
        let wide = std::fs::read(plugins_dir().join("vol_wide.wasm"))
            .expect("build-wasm -p vol-wide first");
        let module = dir.path().join("swap.wasm");
        std::fs::write(&module, &narrow).unwrap();
        let path = dir.path().join("host.toml");
        std::fs::write(&path, config_text(dir.path(), &sim, 5.0, &module)).unwrap();
        let config = host::config::load(&path).unwrap();
        let (probe, mut rx) = Probe::channel();
        let opts = RunOptions {
            base_dir: dir.path().to_owned(),
            config_path: Some(path.clone()),
            probe,
            ..Default::default()
        };
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = tokio::spawn(run(config, opts, async {
            let _ = stop_rx.await;
        }));
        // Every symbol quoting.
        let mut quoting = std::collections::BTreeSet::new();
        while quoting.len() < SYMBOLS {
            if let Some(ProbeEvent::Quoted { symbol, .. }) = rx.recv().await {
                quoting.insert(symbol.to_string());
            }
        }
        let mut generation = 0;
        let mut param_latency = Vec::new();
        let mut pauses = Vec::new();
        for k in 0..PARAM_CHANGES {
            let hs = if k % 2 == 0 { 50.0 } else { 5.0 };
            generation += 1;
            let t0 = Instant::now();
            replace_file(&path, config_text(dir.path(), &sim, hs, &module).as_bytes());
            pauses.extend(wait_first_quote(&mut rx, "SYM1USDT", generation).await);
            param_latency.push(t0.elapsed());
        }
        let mut swap_latency = Vec::new();
        let mut swap_pauses = Vec::new();
        for k in 0..MODULE_SWAPS {
            generation += 1;
            let t0 = Instant::now();
            replace_file(&module, if k % 2 == 0 { &wide } else { &narrow });
            swap_pauses.extend(wait_first_quote(&mut rx, "SYM0USDT", generation).await);
            swap_latency.push(t0.elapsed());
        }
        println!(
            "hot reload, {SYMBOLS} symbols at 50 book msgs/s each; debounce {} ms",
            host::reload::DEBOUNCE.as_millis()
        );
        report("parameter change: save → new quotes", param_latency);
        report(
            "WASM module swap (compile included): save → new quotes",
            swap_latency,
        );
        let us = |v: &mut Vec<Duration>| {
            v.sort();
            format!(
                "p50={:.1} µs p99={:.1} µs max={:.1} µs",
                percentile(v, 0.5).as_secs_f64() * 1e6,
                percentile(v, 0.99).as_secs_f64() * 1e6,
                v.last().unwrap().as_secs_f64() * 1e6
            )
        };
        println!(
            "loop pause per parameter update (n={}): {}",
            pauses.len(),
            us(&mut pauses)
        );
        println!(
            "loop pause per module swap (n={}): {}",
            swap_pauses.len(),
            us(&mut swap_pauses)
        );
        let _ = stop.send(());
        app.await.unwrap().unwrap();
        sim.shutdown().await;
    });
}
