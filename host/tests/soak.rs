//! Soak: the host quotes 10 symbols with all four strategies (WASM and native) against the
//! simulator for a while (`QUOTER_SOAK_SECS`, default 120 s). Every ~2 s and at the end the
//! host's open orders and positions equal the venue's, our own quotes never cross, no order
//! request is answered 10006 once quoting is steady, and after shutdown none of ours is open.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use common::harness::{KEY, TestHost, linear, self_cross};
use tokio::time::Instant;

const DEFAULT_SOAK_SECS: u64 = 120;

/// `(sim instrument, [[symbols]] entry)` for each of the 10 symbols. Sizes fit each lot and the
/// sim's 5 USDT minimum notional.
fn universe() -> Vec<(sim::SymbolConfig, String)> {
    let strategies = common::repo_root().join("config/strategies");
    let strategies = strategies.display();
    let wasm = |name: &str| common::wasm_plugin(name).display().to_string();
    let native = |name: &str| common::native_plugin(name).display().to_string();
    let entry = |symbol: &str, module: String, params: String, risk: &str| {
        format!(
            "[[symbols]]\nsymbol = \"{symbol}\"\nstrategy = {{ module = \"{module}\", {params} }}\nrisk = {{ {risk} }}\n"
        )
    };
    let static_params = |size: &str| {
        format!(
            "params = {{ half_spread_bps = 5.0, min_spread_ticks = 1, skew_bps_per_unit = 0.0, levels = 2, level_spacing_bps = 2.0, size = {size}, size_multiplier = 1.5 }}"
        )
    };
    let obi_params = |size: &str| {
        format!(
            "params = {{ fair_mode = \"imbalance\", depth = 5, alpha = 0.5, half_spread_bps = 2.0, min_spread_ticks = 2, levels = 2, level_spacing_bps = 1.0, size = {size}, size_multiplier = 1.5 }}"
        )
    };
    vec![
        (
            linear("BTCUSDT", "0.10", "0.001", "60000"),
            entry(
                "BTCUSDT",
                wasm("avellaneda_stoikov"),
                format!("params_file = \"{strategies}/avellaneda-stoikov.json\""),
                "max_position = 0.05, max_order_size = 0.01",
            ),
        ),
        (
            linear("ETHUSDT", "0.01", "0.01", "3000"),
            entry(
                "ETHUSDT",
                wasm("obi"),
                format!("params_file = \"{strategies}/obi.json\""),
                "max_position = 0.5, max_order_size = 0.1",
            ),
        ),
        (
            linear("SOLUSDT", "0.01", "0.1", "150"),
            entry(
                "SOLUSDT",
                native("vol_scaled"),
                "params = { sample_interval_ms = 1000, lambda = 0.94, vol_multiplier = 2.0, min_spread = 0.02, max_spread = 5.0, min_spread_ticks = 2, initial_sigma = 0.0001, skew_bps_per_unit = 2.0, levels = 2, level_spacing_bps = 2.0, size = 0.5, size_multiplier = 1.5 }".into(),
                "max_position = 20.0, max_order_size = 2.0",
            ),
        ),
        (
            linear("BNBUSDT", "0.01", "0.01", "600"),
            entry(
                "BNBUSDT",
                native("avellaneda_stoikov"),
                "params = { gamma = 0.001, k = 5.0, sigma_mode = \"estimated\", sigma = 0.3, sample_interval_ms = 1000, sigma_lambda = 0.97, horizon_mode = \"rolling\", horizon_s = 60.0, q_unit = 0.05, levels = 2, level_spacing_bps = 1.0, size = 0.05, size_multiplier = 1.5 }".into(),
                "max_position = 1.0, max_order_size = 0.2",
            ),
        ),
        (
            linear("XRPUSDT", "0.0001", "1", "0.6"),
            entry("XRPUSDT", wasm("static_spread"), static_params("20"), "max_position = 400.0, max_order_size = 60.0"),
        ),
        (
            linear("DOGEUSDT", "0.00001", "1", "0.15"),
            entry("DOGEUSDT", native("static_spread"), static_params("100"), "max_position = 2000.0, max_order_size = 300.0"),
        ),
        (
            linear("ADAUSDT", "0.0001", "1", "0.45"),
            entry("ADAUSDT", native("obi"), obi_params("20"), "max_position = 400.0, max_order_size = 60.0"),
        ),
        (
            linear("LINKUSDT", "0.001", "0.1", "15"),
            entry(
                "LINKUSDT",
                wasm("vol_scaled"),
                "params = { sample_interval_ms = 1000, lambda = 0.94, vol_multiplier = 2.0, min_spread = 0.002, max_spread = 0.5, min_spread_ticks = 2, initial_sigma = 0.0001, levels = 2, level_spacing_bps = 2.0, size = 1.0, size_multiplier = 1.5 }".into(),
                "max_position = 20.0, max_order_size = 3.0",
            ),
        ),
        (
            linear("AVAXUSDT", "0.001", "0.1", "35"),
            entry("AVAXUSDT", wasm("static_spread"), static_params("0.5"), "max_position = 10.0, max_order_size = 2.0"),
        ),
        (
            linear("LTCUSDT", "0.01", "0.1", "80"),
            entry("LTCUSDT", wasm("obi"), obi_params("0.2"), "max_position = 4.0, max_order_size = 1.0"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_symbols_agree_with_the_venue_for_minutes() {
    let soak = Duration::from_secs(
        std::env::var("QUOTER_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SOAK_SECS),
    );
    let universe = universe();
    let names: Vec<String> = universe.iter().map(|(c, _)| c.symbol.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let sim_cfg = sim::SimConfig {
        symbols: universe
            .iter()
            .map(|(c, _)| {
                let mut c = c.clone();
                // ~56 % a year: a busy crypto market, within what the order budget can follow.
                c.volatility = 0.0001;
                c
            })
            .collect(),
        ..Default::default()
    };
    let mut body = String::from(
        "[router]\nlevels = 2\nrequote_tolerance_ticks = 1\n\n[default_risk]\nmax_position = 1.0\nmax_open_orders = 8\nstale_after_ms = 5000\n\n",
    );
    for (_, entry) in &universe {
        body.push_str(entry);
        body.push('\n');
    }
    let mut host = TestHost::start(sim_cfg, "sk", &body).await;

    // Every symbol quotes both sides on the venue (fills take quotes away all the time, so
    // not necessarily all at once).
    let two_sided = Mutex::new(BTreeSet::<String>::new());
    let all_quoted = host
        .sim
        .wait_until(Duration::from_secs(60), |sim| {
            let mut sides: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
            let ours = sim.open_orders(KEY);
            for o in ours.iter().filter(|o| o.order_link_id.starts_with("sk-")) {
                let e = sides.entry(o.symbol.as_str()).or_default();
                match o.side {
                    sim::Side::Buy => e.0 = true,
                    sim::Side::Sell => e.1 = true,
                }
            }
            let mut seen = two_sided.lock().unwrap();
            seen.extend(
                sides
                    .into_iter()
                    .filter(|(_, (b, a))| *b && *a)
                    .map(|(s, _)| s.to_string()),
            );
            seen.len() == names.len()
        })
        .await;
    assert!(
        all_quoted,
        "not every symbol quoted both sides within 60 s; only {:?}",
        two_sided.lock().unwrap()
    );
    // The opening burst (40 creates) is behind us once the first comparison agrees.
    host.orders_agree(Duration::from_secs(10)).await.unwrap();
    let steady_rejections = host.sim.rate_limit_rejections(KEY);
    let steady_from = host.venue_now_ms();
    eprintln!("steady after start-up; 10006 so far: {steady_rejections}");

    // A sampler checks our quotes on every venue change for the whole soak.
    let crossed = Mutex::new(None);
    let started = Instant::now();
    let sampler = host.sim.wait_until(soak, |sim| {
        let ours: Vec<sim::Order> = sim
            .open_orders(KEY)
            .into_iter()
            .filter(|o| o.order_link_id.starts_with("sk-"))
            .collect();
        match self_cross(&ours) {
            Some(c) => {
                *crossed.lock().unwrap() = Some(c);
                true
            }
            None => false,
        }
    });
    let checks = async {
        let mut rounds = 0u32;
        while started.elapsed() < soak {
            let round = Instant::now();
            check_round(&host).await;
            let rejections = host.sim.rate_limit_rejections(KEY);
            assert_eq!(
                rejections,
                steady_rejections,
                "10006 answers in steady state (round {rounds}, {:?} in)",
                started.elapsed()
            );
            rounds += 1;
            // The next round starts ~2 s after this one started (the round's own polling
            // counts): a pacing interval, not a wait for a condition.
            tokio::time::sleep_until(round + Duration::from_secs(2)).await;
        }
        rounds
    };
    let (cross_seen, rounds) = tokio::join!(sampler, checks);
    let crossed = crossed.into_inner().unwrap();
    assert!(
        !cross_seen && crossed.is_none(),
        "our own quotes crossed: {crossed:?}"
    );
    // The probe queued one small event per strategy call; nothing here needs them.
    host.drain_probe();
    check_round(&host).await;
    assert_eq!(host.sim.rate_limit_rejections(KEY), steady_rejections);

    let fills: Vec<sim::Fill> = host
        .sim
        .fills(KEY)
        .into_iter()
        .filter(|f| f.order_link_id.starts_with("sk-"))
        .collect();
    let steady_requests: Vec<sim::RequestRecord> = host
        .sim
        .requests(KEY)
        .into_iter()
        .filter(|r| r.time_ms >= steady_from)
        .collect();
    let (busiest, path) = common::busiest_second(&steady_requests);
    eprintln!(
        "soak {soak:?}: {rounds} rounds, {} fills, {} order requests in steady state, busiest second {busiest} on {path}",
        fills.len(),
        steady_requests
            .iter()
            .filter(|r| r.path.starts_with("/v5/order/") && r.method == "POST")
            .count(),
    );
    assert!(
        busiest <= 10,
        "{busiest} order units in one second on {path}"
    );
    assert!(!fills.is_empty(), "no fills of ours during the soak");
    // Book frames moved quotes: each such plan sent at once is a tick-to-order sample. (Not
    // necessarily on every symbol: with ten symbols under one 10-a-second order budget, a
    // symbol's book-driven plans may all wait for the budget, and a plan sent later is not
    // the frame's doing.)
    let view = host.view().await;
    let clocked: u64 = view.iter().map(|s| s.ticks_to_order).sum();
    assert!(
        clocked > 0,
        "no plan caused by a book frame was sent at once: {:?}",
        view.iter()
            .map(|s| (&s.symbol, s.book_msgs, s.ticks_to_order))
            .collect::<Vec<_>>()
    );
    let report = host.stop().await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.symbols.len(), 10);
    for s in &report.symbols {
        assert!(s.disabled.is_none(), "{}: {:?}", s.symbol, s.disabled);
    }
}

/// One periodic comparison of the host's view with the venue's.
async fn check_round(host: &TestHost) {
    host.orders_agree(Duration::from_secs(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    host.positions_agree(Duration::from_secs(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(host.self_cross(), None, "our own quotes crossed");
    assert!(
        host.duplicate_link_ids().is_empty(),
        "{:?}",
        host.duplicate_link_ids()
    );
    for s in host.view().await {
        assert!(
            s.disabled.is_none(),
            "{}: disabled: {:?}",
            s.symbol,
            s.disabled
        );
    }
    // Two levels a side; a replacement may briefly rest beside the order it replaces, but
    // never more than that.
    if let Some((symbol, side, n)) = host.most_per_side() {
        assert!(n <= 4, "{n} of our orders on {symbol} {side:?}");
    }
}
