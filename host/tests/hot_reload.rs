//! Hot reload under load: the host runs against a simulator publishing 10 symbols quickly,
//! and the test edits the configuration and module files while it quotes. The probe reports
//! every strategy call and every reload; the control handle gives the host's view of its
//! orders to compare with the simulator's.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use host::app::{AppError, RunOptions, RunReport, run};
use host::reload::ReloadTrigger;
use host::runtime::{Control, Probe, ProbeEvent};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

const KEY: &str = "simkey";
const PREFIX: &str = "hr-";

fn symbols(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("SYM{i}USDT")).collect()
}

fn sim_config(n: usize) -> sim::SimConfig {
    sim::SimConfig {
        symbols: symbols(n)
            .iter()
            .map(|s| {
                let mut c = sim::SymbolConfig::linear(s, "0.01", "0.01", "100000", "100");
                c.publish_rate_hz = 50.0;
                c
            })
            .collect(),
        ..Default::default()
    }
}

/// One `[[symbols]]` entry.
struct Entry {
    symbol: String,
    module: String,
    params: String,
}

fn static_entry(symbol: &str, half_spread_bps: f64) -> Entry {
    Entry {
        symbol: symbol.into(),
        module: common::wasm_plugin("static_spread").display().to_string(),
        params: format!("{{ half_spread_bps = {half_spread_bps:?}, levels = 1, size = 0.1 }}"),
    }
}

fn config_text(dir: &Path, sim: &sim::SimHandle, entries: &[Entry], extra: &str) -> String {
    let mut text = format!("instance_id = \"hr\"\n{extra}\n");
    text.push_str(&common::sim_venue_toml(dir, sim));
    text.push_str(
        "\n[router]\nlevels = 1\n\n[default_risk]\nmax_position = 5.0\nmax_open_orders = 4\nstale_after_ms = 5000\n",
    );
    for e in entries {
        text.push_str(&format!(
            "\n[[symbols]]\nsymbol = \"{}\"\nstrategy = {{ module = \"{}\", params = {} }}\n",
            e.symbol, e.module, e.params
        ));
    }
    text
}

/// Replace `path` atomically (write a temporary file, rename), as editors and build tools do.
fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

struct Host {
    sim: sim::SimHandle,
    dir: tempfile::TempDir,
    path: PathBuf,
    probe: UnboundedReceiver<ProbeEvent>,
    control: Control,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    app: JoinHandle<Result<RunReport, AppError>>,
}

impl Host {
    async fn start(n_sim: usize, entries: &[Entry]) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let sim = sim::Sim::start(sim_config(n_sim))
            .await
            .expect("sim starts");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.toml");
        std::fs::write(&path, config_text(dir.path(), &sim, entries, "")).unwrap();
        let config = host::config::load(&path).expect("valid config");
        let (probe, rx) = Probe::channel();
        let control = Control::default();
        let opts = RunOptions {
            base_dir: dir.path().to_path_buf(),
            config_path: Some(path.clone()),
            reload: ReloadTrigger::default(),
            probe,
            control: control.clone(),
            ..Default::default()
        };
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = tokio::spawn(run(config, opts, async {
            let _ = stop_rx.await;
        }));
        Self {
            sim,
            dir,
            path,
            probe: rx,
            control,
            stop: Some(stop),
            app,
        }
    }

    fn write(&self, entries: &[Entry], extra: &str) {
        let text = config_text(self.dir.path(), &self.sim, entries, extra);
        replace_file(&self.path, text.as_bytes());
    }

    /// The next probe event matching `pick`, within `within`.
    async fn next<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&ProbeEvent) -> Option<T>,
    ) -> Option<T> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let ev = tokio::time::timeout_at(until, self.probe.recv())
                .await
                .ok()??;
            if let ProbeEvent::Rejected { error } = &ev {
                eprintln!("reload rejected: {error}");
            }
            if let Some(t) = pick(&ev) {
                return Some(t);
            }
        }
    }

    /// Wait until every symbol in `names` has quoted once.
    async fn wait_quoting(&mut self, names: &[String]) {
        let mut left: BTreeSet<String> = names.iter().cloned().collect();
        let ok = self
            .next(Duration::from_secs(30), |ev| match ev {
                ProbeEvent::Quoted {
                    symbol,
                    best: (Some(_), Some(_)),
                    ..
                } => {
                    left.remove(&**symbol);
                    left.is_empty().then_some(())
                }
                _ => None,
            })
            .await;
        assert!(ok.is_some(), "not quoting within 30 s: {left:?}");
    }

    /// The host's open orders equal the sim's (both by order-link id), allowing in-flight
    /// requests to land: polled until equal or `within` passes.
    async fn assert_orders_agree(&self, within: Duration) {
        let until = tokio::time::Instant::now() + within;
        loop {
            let host: BTreeSet<String> = self
                .control
                .snapshot()
                .await
                .expect("loop answers")
                .into_iter()
                .flat_map(|s| s.open_orders)
                .collect();
            let venue: BTreeSet<String> = self
                .sim
                .open_orders(KEY)
                .into_iter()
                .map(|o| o.order_link_id)
                .filter(|id| id.starts_with(PREFIX))
                .collect();
            if host == venue {
                return;
            }
            if tokio::time::Instant::now() > until {
                panic!(
                    "host and venue disagree: host only {:?}, venue only {:?}",
                    host.difference(&venue).collect::<Vec<_>>(),
                    venue.difference(&host).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop the host; it must exit cleanly leaving nothing open.
    async fn stop(mut self) -> RunReport {
        let _ = self.stop.take().unwrap().send(());
        let report = tokio::time::timeout(Duration::from_secs(30), self.app)
            .await
            .expect("host stops within 30 s")
            .expect("app task")
            .expect("app returns Ok");
        let left: Vec<_> = self
            .sim
            .open_orders(KEY)
            .into_iter()
            .filter(|o| o.order_link_id.starts_with(PREFIX))
            .collect();
        assert!(left.is_empty(), "left open: {left:?}");
        self.sim.shutdown().await;
        report
    }
}

/// Spread of a ladder's first level in bps of the mid.
fn spread_bps(best: (Option<f64>, Option<f64>), mid: f64) -> Option<f64> {
    Some((best.1? - best.0?) / mid * 1e4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_parameter_changes_apply_at_the_next_book_update() {
    let names = symbols(10);
    let entries = |hs: f64| -> Vec<Entry> {
        names
            .iter()
            .enumerate()
            .map(|(i, s)| static_entry(s, if i < 2 { hs } else { 5.0 }))
            .collect()
    };
    let mut host = Host::start(10, &entries(5.0)).await;
    host.wait_quoting(&names).await;
    let mut before: BTreeMap<String, u64> = BTreeMap::new();
    for s in host.control.snapshot().await.unwrap() {
        before.insert(s.symbol, s.book_msgs);
    }
    for generation in 1..=100u64 {
        let hs = if generation % 2 == 1 { 50.0 } else { 5.0 };
        host.write(&entries(hs), "");
        // Both changed symbols take the change; the others are not touched.
        let mut applied = BTreeSet::new();
        let ok = host
            .next(Duration::from_secs(10), |ev| match ev {
                ProbeEvent::Applied {
                    symbol,
                    generation: g,
                    ..
                } if *g == generation => {
                    applied.insert(symbol.to_string());
                    (applied.len() == 2).then_some(())
                }
                _ => None,
            })
            .await;
        assert!(
            ok.is_some(),
            "generation {generation} not applied: {applied:?}"
        );
        assert_eq!(
            applied,
            names[..2].iter().cloned().collect::<BTreeSet<_>>(),
            "only the changed symbols are touched"
        );
        // The first ladder of SYM0 at or after the apply carries the new value.
        let (g, spread) = host
            .next(Duration::from_secs(10), |ev| match ev {
                ProbeEvent::Quoted {
                    symbol,
                    generation: g,
                    best,
                    mid,
                    ..
                } if &**symbol == "SYM0USDT" => Some((*g, spread_bps(*best, *mid))),
                _ => None,
            })
            .await
            .expect("SYM0 quotes after the change");
        assert_eq!(
            g, generation,
            "a ladder of an older generation came after the apply"
        );
        let spread = spread.expect("two-sided");
        if hs > 10.0 {
            assert!(
                spread > 80.0,
                "generation {generation}: spread {spread} bps, want ~100"
            );
        } else {
            assert!(
                spread < 20.0,
                "generation {generation}: spread {spread} bps, want ~10"
            );
        }
        host.assert_orders_agree(Duration::from_secs(5)).await;
    }
    let snapshot = host.control.snapshot().await.unwrap();
    for s in &snapshot {
        assert_eq!(
            s.resyncs, 0,
            "{}: a book update was lost (resync)",
            s.symbol
        );
        assert!(
            s.book_msgs > before[&s.symbol],
            "{}: book stalled",
            s.symbol
        );
        assert!(s.disabled.is_none(), "{}: {:?}", s.symbol, s.disabled);
        let want = if names[..2].contains(&s.symbol) {
            100
        } else {
            0
        };
        assert_eq!(s.generation, want, "{}", s.symbol);
    }
    host.stop().await;
}

fn vol_entry(symbol: &str, module: &Path) -> Entry {
    Entry {
        symbol: symbol.into(),
        module: module.display().to_string(),
        params: "{ sample_interval_ms = 100, lambda = 0.8, vol_multiplier = 10.0, initial_sigma = 0.01, min_spread_ticks = 1, levels = 1, size = 0.1 }".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_module_swaps_keep_state_and_orders() {
    let names = symbols(10);
    let narrow = std::fs::read(common::wasm_plugin("vol_scaled")).unwrap();
    let wide = std::fs::read(common::wasm_plugin("vol_wide")).unwrap();
    let dir_module = |host_dir: &Path| host_dir.join("swap.wasm");
    // The module path is fixed before the host starts: write it into a directory we know.
    let scratch = tempfile::tempdir().unwrap();
    let module = dir_module(scratch.path());
    std::fs::write(&module, &narrow).unwrap();
    let entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == 0 {
                vol_entry(s, &module)
            } else {
                static_entry(s, 5.0)
            }
        })
        .collect();
    let mut host = Host::start(10, &entries).await;
    host.wait_quoting(&names).await;
    // Warm up: σ falls from the 1 % prior to the market's, so the spread shrinks far below
    // what a reset estimator would quote (2·10·1 % = 20 % of the mid).
    let warm = host
        .next(Duration::from_secs(30), |ev| match ev {
            ProbeEvent::Quoted {
                symbol, best, mid, ..
            } if &**symbol == "SYM0USDT" => spread_bps(*best, *mid).filter(|s| *s < 100.0),
            _ => None,
        })
        .await;
    assert!(warm.is_some(), "vol-scaled did not warm up within 30 s");
    let mut last_spread = warm.unwrap();
    for swap in 1..=20u64 {
        let to_wide = swap % 2 == 1;
        replace_file(&module, if to_wide { &wide } else { &narrow });
        // The last ladder of the old build, just before the swap: the ratio to the first
        // ladder of the new one isolates the build (σ moves only on its 100 ms grid).
        let mut before = last_spread;
        let carried = host
            .next(Duration::from_secs(10), |ev| match ev {
                ProbeEvent::Quoted {
                    symbol,
                    best,
                    mid,
                    generation,
                    ..
                } if &**symbol == "SYM0USDT" && *generation < swap => {
                    if let Some(s) = spread_bps(*best, *mid) {
                        before = s;
                    }
                    None
                }
                ProbeEvent::Applied {
                    symbol,
                    generation,
                    state_carried,
                    what,
                    ..
                } if &**symbol == "SYM0USDT" && *generation == swap => {
                    assert!(what.contains("module"), "{what}");
                    Some(*state_carried)
                }
                _ => None,
            })
            .await
            .unwrap_or_else(|| panic!("swap {swap} not applied within 10 s"));
        assert_eq!(carried, Some(true), "swap {swap}: state not handed over");
        let (g, spread) = host
            .next(Duration::from_secs(10), |ev| match ev {
                ProbeEvent::Quoted {
                    symbol,
                    generation,
                    best,
                    mid,
                    ..
                } if &**symbol == "SYM0USDT" => Some((*generation, spread_bps(*best, *mid))),
                _ => None,
            })
            .await
            .expect("quotes after the swap");
        assert_eq!(g, swap);
        let spread = spread.expect("two-sided");
        assert!(
            spread < 200.0,
            "swap {swap}: spread {spread} bps: σ was reset"
        );
        let ratio = spread / before;
        if to_wide {
            assert!((1.5..2.7).contains(&ratio), "swap {swap} to wide: ×{ratio}");
        } else {
            assert!(
                (0.37..0.67).contains(&ratio),
                "swap {swap} to narrow: ×{ratio}"
            );
        }
        last_spread = spread;
        host.assert_orders_agree(Duration::from_secs(5)).await;
    }
    let snapshot = host.control.snapshot().await.unwrap();
    let sym0 = snapshot.iter().find(|s| s.symbol == "SYM0USDT").unwrap();
    assert_eq!(sym0.generation, 20);
    assert!(sym0.disabled.is_none());
    for s in &snapshot {
        assert_eq!(s.resyncs, 0, "{}: resync during swaps", s.symbol);
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_changes_leave_the_old_configuration_running() {
    let names = symbols(3);
    let as_entry = |gamma: &str| Entry {
        symbol: "SYM2USDT".into(),
        module: common::wasm_plugin("avellaneda_stoikov")
            .display()
            .to_string(),
        params: format!(
            "{{ gamma = {gamma}, k = 0.5, sigma_mode = \"fixed\", sigma = 0.05, horizon_mode = \"rolling\", horizon_s = 60.0, levels = 1, size = 0.1 }}"
        ),
    };
    let good = || {
        vec![
            static_entry("SYM0USDT", 5.0),
            static_entry("SYM1USDT", 5.0),
            as_entry("0.1"),
        ]
    };
    let mut host = Host::start(3, &good()).await;
    host.wait_quoting(&names).await;
    let module_copy = host.dir.path().join("mine.wasm");
    std::fs::write(
        &module_copy,
        std::fs::read(common::wasm_plugin("static_spread")).unwrap(),
    )
    .unwrap();

    let text = std::fs::read_to_string(&host.path).unwrap();
    let bad_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "TOML syntax error",
            format!("{text}\n[[symbols]\n").into_bytes(),
            "host.toml",
        ),
        (
            "unknown key",
            format!("{text}\nspeed = 3\n").into_bytes(),
            "unknown field `speed`",
        ),
        (
            "negative gamma",
            config_text(
                host.dir.path(),
                &host.sim,
                &[
                    static_entry("SYM0USDT", 5.0),
                    static_entry("SYM1USDT", 5.0),
                    as_entry("-0.1"),
                ],
                "",
            )
            .into_bytes(),
            "gamma",
        ),
    ];
    for (what, bytes, needle) in bad_cases {
        replace_file(&host.path, &bytes);
        let error = host
            .next(Duration::from_secs(10), |ev| match ev {
                ProbeEvent::Rejected { error } => Some(error.clone()),
                ProbeEvent::Applied { symbol, what, .. } => {
                    panic!("{symbol} applied {what} from a bad config")
                }
                _ => None,
            })
            .await
            .unwrap_or_else(|| panic!("{what}: no rejection within 10 s"));
        assert!(error.contains(needle), "{what}: {error}");
        // The old configuration keeps quoting.
        host.wait_quoting(&names).await;
    }
    // A module built for another ABI version.
    let wrong_abi = host.dir.path().join("wrong-abi.wat");
    std::fs::write(&wrong_abi, common::wat_module(99, "i32.const 0", "", "")).unwrap();
    let mut entries = good();
    entries[1].module = wrong_abi.display().to_string();
    host.write(&entries, "");
    let error = host
        .next(Duration::from_secs(10), |ev| match ev {
            ProbeEvent::Rejected { error } => Some(error.clone()),
            ProbeEvent::Applied { symbol, what, .. } => {
                panic!("{symbol} applied {what} with a wrong-ABI module")
            }
            _ => None,
        })
        .await
        .expect("wrong-ABI module rejected");
    assert!(
        error.contains("wrong-abi.wat") && error.contains("ABI"),
        "{error}"
    );
    host.wait_quoting(&names).await;
    // A module file that is truncated mid-write, while the config points at it.
    let mut entries = good();
    entries[0].module = module_copy.display().to_string();
    host.write(&entries, "");
    let applied = host
        .next(Duration::from_secs(10), |ev| match ev {
            ProbeEvent::Applied { symbol, what, .. } if &**symbol == "SYM0USDT" => {
                Some(what.clone())
            }
            _ => None,
        })
        .await
        .expect("module path change applied");
    assert!(applied.contains("mine.wasm"), "{applied}");
    let full = std::fs::read(&module_copy).unwrap();
    std::fs::write(&module_copy, &full[..full.len() / 3]).unwrap();
    let error = host
        .next(Duration::from_secs(10), |ev| match ev {
            ProbeEvent::Rejected { error } => Some(error.clone()),
            _ => None,
        })
        .await
        .expect("truncated module rejected");
    assert!(error.contains("mine.wasm"), "{error}");
    host.wait_quoting(&names).await;
    let snapshot = host.control.snapshot().await.unwrap();
    let sym0 = snapshot.iter().find(|s| s.symbol == "SYM0USDT").unwrap();
    assert!(sym0.module.starts_with("mine.wasm@"), "{}", sym0.module);
    assert!(sym0.disabled.is_none());
    host.assert_orders_agree(Duration::from_secs(5)).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn symbols_are_added_and_removed_while_others_quote() {
    let names = symbols(4);
    let mut host = Host::start(
        4,
        &[
            static_entry("SYM0USDT", 5.0),
            static_entry("SYM1USDT", 5.0),
            static_entry("SYM2USDT", 5.0),
        ],
    )
    .await;
    host.wait_quoting(&names[..3]).await;
    // Add SYM3.
    host.write(
        &[
            static_entry("SYM0USDT", 5.0),
            static_entry("SYM1USDT", 5.0),
            static_entry("SYM2USDT", 5.0),
            static_entry("SYM3USDT", 5.0),
        ],
        "",
    );
    host.next(Duration::from_secs(10), |ev| match ev {
        ProbeEvent::Added { symbol } if &**symbol == "SYM3USDT" => Some(()),
        _ => None,
    })
    .await
    .expect("SYM3 added");
    host.wait_quoting(&names[3..]).await;
    let on_venue = host
        .sim
        .wait_until(Duration::from_secs(10), |s| {
            s.open_orders(KEY).iter().any(|o| o.symbol == "SYM3USDT")
        })
        .await;
    assert!(on_venue, "SYM3 orders never reached the venue");
    // Remove SYM1.
    host.write(
        &[
            static_entry("SYM0USDT", 5.0),
            static_entry("SYM2USDT", 5.0),
            static_entry("SYM3USDT", 5.0),
        ],
        "",
    );
    host.next(Duration::from_secs(10), |ev| match ev {
        ProbeEvent::Removed { symbol } if &**symbol == "SYM1USDT" => Some(()),
        _ => None,
    })
    .await
    .expect("SYM1 removed");
    let sym1_open = host
        .sim
        .open_orders(KEY)
        .into_iter()
        .filter(|o| o.symbol == "SYM1USDT")
        .count();
    assert_eq!(sym1_open, 0, "SYM1 orders left after removal");
    let others = vec!["SYM0USDT".to_string(), "SYM2USDT".into(), "SYM3USDT".into()];
    host.wait_quoting(&others).await;
    let snapshot = host.control.snapshot().await.unwrap();
    let running: BTreeSet<_> = snapshot.iter().map(|s| s.symbol.clone()).collect();
    assert_eq!(running, others.iter().cloned().collect());
    host.assert_orders_agree(Duration::from_secs(5)).await;
    host.stop().await;
}
