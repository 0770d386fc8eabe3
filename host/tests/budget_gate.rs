//! Plans wait for the order budget without starving anyone: with far more requotes than Bybit's
//! order budget admits (eight symbols whose quotes move with every book message, requote
//! tolerance 0), each symbol whose plan could not be sent waits its turn. Every symbol still
//! gets quoted on both sides and keeps being requoted, the budget runs full, and the venue
//! never answers 10006.

mod common;

use std::time::Duration;

use common::harness::{KEY, TestHost, linear};

fn body(symbols: &[String]) -> String {
    let module = common::wasm_plugin("avellaneda_stoikov");
    let params = common::repo_root().join("config/strategies/avellaneda-stoikov.json");
    let mut s = String::from(
        r#"[router]
levels = 2
requote_tolerance_ticks = 0

[default_risk]
max_position = 0.5
max_open_orders = 10
stale_after_ms = 5000
"#,
    );
    for sym in symbols {
        s.push_str(&format!(
            "\n[[symbols]]\nsymbol = \"{sym}\"\nstrategy = {{ module = \"{}\", params_file = \"{}\" }}\n",
            module.display(),
            params.display()
        ));
    }
    s
}

/// Whether the venue answered an order request naming `symbol` at or after `since_ms`.
fn requoted(sim: &sim::SimHandle, symbol: &str, since_ms: i64) -> bool {
    let needle = format!("\"symbol\":\"{symbol}\"");
    sim.requests(KEY).iter().any(|r| {
        r.time_ms >= since_ms
            && r.ret_code == 0
            && r.path.starts_with("/v5/order/")
            && r.body.contains(&needle)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saturated_budget_serves_every_symbol_in_turn() {
    let symbols: Vec<String> = (0..8).map(|i| format!("G{i}USDT")).collect();
    let sim_cfg = sim::SimConfig {
        symbols: symbols
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut c = linear(s, "0.1", "0.001", &format!("{}", 1000 + 100 * i));
                c.volatility = 0.001;
                c
            })
            .collect(),
        ..Default::default()
    };
    let host = TestHost::start(sim_cfg, "bg", &body(&symbols)).await;
    let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
    assert!(
        host.wait_two_sided(&names, 0, Duration::from_secs(60))
            .await,
        "not every symbol got a bid and an ask resting: {:?}",
        host.ours()
            .iter()
            .map(|o| (&o.symbol, o.side))
            .collect::<Vec<_>>()
    );
    // From here on every symbol must be requoted again: none waits forever behind the others.
    let since = host.venue_now_ms();
    let served = host
        .sim
        .wait_until(Duration::from_secs(30), |sim| {
            names.iter().all(|s| requoted(sim, s, since))
        })
        .await;
    let starved: Vec<&str> = names
        .iter()
        .copied()
        .filter(|s| !requoted(&host.sim, s, since))
        .collect();
    assert!(served, "not requoted within 30 s: {starved:?}");
    let (units, path) = common::busiest_second(&host.sim.requests(KEY));
    assert!(
        units >= 7,
        "the budget never ran full (busiest second {units} units on {path}): the test did not saturate it"
    );
    assert_eq!(
        host.sim.rate_limit_rejections(KEY),
        0,
        "the venue refused order units with 10006"
    );
    // Shutdown still cancels every order (`stop` checks the venue).
    host.stop().await;
}
