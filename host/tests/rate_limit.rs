//! The order budget under load: `host run` against the simulator with quotes that move every
//! tick, while the simulator's REST latency jumps between 0 and 150 ms (so requests of one
//! burst reach it later than those of the next). The simulator counts each request when it
//! arrives, in a rolling second, as Bybit does; it must never see the budget exceeded.

mod common;

use std::time::Duration;

use host::app::{RunOptions, run};
use serde_json::json;

const KEY: &str = "simkey";

fn config_text(dir: &std::path::Path, sim: &sim::SimHandle, transport: &str) -> String {
    let strategies = common::repo_root().join("config/strategies");
    format!(
        r#"instance_id = "rl"
{venue}

[router]
transport = "{transport}"
levels = 5
requote_tolerance_ticks = 0

[default_risk]
max_position = 0.5
max_open_orders = 10
stale_after_ms = 5000

[[symbols]]
symbol = "BTCUSDT"
strategy = {{ module = "{as_wasm}", params_file = "{strategies}/avellaneda-stoikov.json" }}
risk = {{ max_position = 0.05, max_order_size = 0.01 }}

[[symbols]]
symbol = "ETHUSDT"
strategy = {{ module = "{obi_wasm}", params_file = "{strategies}/obi.json" }}

[[symbols]]
symbol = "SOLUSDT"
strategy = {{ module = "{vol_native}", params = {{ initial_sigma = 0.0001, min_spread_ticks = 2, levels = 5, size = 0.5 }} }}
risk = {{ max_position = 20.0, max_order_size = 2.0 }}
"#,
        venue = common::sim_venue_toml(dir, sim),
        as_wasm = common::wasm_plugin("avellaneda_stoikov").display(),
        obi_wasm = common::wasm_plugin("obi").display(),
        vol_native = common::native_plugin("vol_scaled").display(),
        strategies = strategies.display(),
    )
}

/// Run the host on `transport` for `run_for` while the simulator's REST latency jumps; returns
/// (rate-limit rejections, busiest second's units, its path).
async fn run_under_jitter(transport: &str, run_for: Duration) -> (u64, u32, String) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let sim = sim::Sim::start(sim::SimConfig::default())
        .await
        .expect("sim starts");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    std::fs::write(&path, config_text(dir.path(), &sim, transport)).unwrap();
    let config = host::config::load(&path).expect("valid config");
    let opts = RunOptions {
        base_dir: dir.path().to_path_buf(),
        ..RunOptions::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = run(config, opts, async {
        let _ = stop_rx.await;
    });
    let driver = async {
        // Quoting has started once orders rest on the venue.
        let started = sim
            .wait_until(Duration::from_secs(30), |s| !s.open_orders(KEY).is_empty())
            .await;
        // Latency steps: a burst sent in a slow phase lands late, the next one on time.
        let until = tokio::time::Instant::now() + run_for;
        let mut slow = false;
        while tokio::time::Instant::now() < until {
            slow = !slow;
            let delay_ms = if slow { 150 } else { 0 };
            common::sim_fault(&sim, json!({ "delay_ms": delay_ms })).await;
            tokio::time::sleep(Duration::from_millis(if slow { 230 } else { 370 })).await;
        }
        common::sim_fault(&sim, json!({ "delay_ms": 0 })).await;
        let _ = stop_tx.send(());
        started
    };
    let (result, started) = tokio::join!(app, driver);
    assert!(started, "no order of ours rested within 30 s");
    let report = result.expect("app returns Ok");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let rejections = sim.rate_limit_rejections(KEY);
    let (units, path) = common::busiest_second(&sim.requests(KEY));
    let rejected_requests = sim
        .requests(KEY)
        .iter()
        .filter(|r| r.ret_code == 10006)
        .count();
    eprintln!(
        "{transport}: {rejections} units refused with 10006 ({rejected_requests} whole requests); busiest second: {units} units on {path}"
    );
    sim.shutdown().await;
    (rejections, units, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rest_never_exceeds_the_budget_under_latency_jumps() {
    let (rejections, units, path) = run_under_jitter("rest", Duration::from_secs(8)).await;
    assert_eq!(
        rejections, 0,
        "the simulator refused order units with 10006"
    );
    // The budget was busy: some endpoint ran at its budget (8 of Bybit's 10 per second).
    assert!(units >= 7, "busiest second only {units} units on {path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ws_never_exceeds_the_budget() {
    // The trade WebSocket shares the REST budgets; its replies carry the same headers.
    let (rejections, units, path) = run_under_jitter("ws", Duration::from_secs(6)).await;
    assert_eq!(
        rejections, 0,
        "the simulator refused order units with 10006"
    );
    assert!(units >= 7, "busiest second only {units} units on {path}");
}
