//! The host under the simulator's injected faults (`POST /sim/fault`), one fault per test:
//! dropped and silent streams, sequence gaps, 10006 bursts, failed and timed-out order
//! requests, PostOnly rejects. Each test waits on conditions (probe events, the host's view,
//! the venue's record) with deadlines, and ends with the host's view equal to the venue's.
//!
//! The tests run one at a time (they measure reaction times and request rates; two hosts and
//! two simulators per core would blur both).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::harness::{KEY, TestHost, linear};
use common::sim_fault;
use serde_json::json;
use tokio::time::Instant;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How a test's host quotes.
struct Setup {
    symbols: &'static [&'static str],
    volatility: f64,
    half_spread_bps: f64,
    levels: u32,
    stale_after_ms: u64,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            symbols: &["AAAUSDT", "BBBUSDT", "CCCUSDT"],
            volatility: 0.0005,
            half_spread_bps: 5.0,
            levels: 1,
            stale_after_ms: 5000,
        }
    }
}

impl Setup {
    /// Start the sim and the host, and wait until every symbol quotes both sides and the
    /// host's orders agree with the venue's. Symbols alternate between the WASM and the
    /// native build of static-spread.
    async fn start(self, instance_id: &str) -> TestHost {
        let sim_cfg = sim::SimConfig {
            symbols: self
                .symbols
                .iter()
                .map(|s| {
                    let mut c = linear(s, "0.01", "0.01", "100");
                    c.volatility = self.volatility;
                    c
                })
                .collect(),
            ..Default::default()
        };
        let mut body = format!(
            "[router]\nlevels = {levels}\nrequote_tolerance_ticks = 1\n\n[default_risk]\nmax_position = 100.0\nmax_open_orders = 6\nstale_after_ms = {stale}\n",
            levels = self.levels,
            stale = self.stale_after_ms,
        );
        for (i, s) in self.symbols.iter().enumerate() {
            let module = if i % 2 == 0 {
                common::wasm_plugin("static_spread")
            } else {
                common::native_plugin("static_spread")
            };
            body.push_str(&format!(
                "\n[[symbols]]\nsymbol = \"{s}\"\nstrategy = {{ module = \"{}\", params = {{ half_spread_bps = {:?}, min_spread_ticks = 1, levels = {}, level_spacing_bps = 2.0, size = 0.1 }} }}\n",
                module.display(),
                self.half_spread_bps,
                self.levels,
            ));
        }
        let host = TestHost::start(sim_cfg, instance_id, &body).await;
        assert!(
            host.wait_two_sided(self.symbols, 0, Duration::from_secs(30))
                .await,
            "not quoting both sides within 30 s: {:?}",
            host.ours()
        );
        host.orders_agree(Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("before the fault: {e}"));
        host
    }
}

/// After a fault: the host's orders and positions equal the venue's, no order-link id is
/// open twice, at most `levels` of ours rest per side, and no strategy is disabled.
async fn assert_consistent(host: &TestHost, levels: usize) {
    host.orders_agree(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    host.positions_agree(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        host.duplicate_link_ids().is_empty(),
        "{:?}",
        host.duplicate_link_ids()
    );
    // A replacement may rest beside the order it replaces for a moment; not for long.
    let settled = host
        .sim
        .wait_until(Duration::from_secs(5), |_| {
            host.most_per_side().is_none_or(|(_, _, n)| n <= levels)
        })
        .await;
    assert!(settled, "duplicate quotes: {:?}", host.most_per_side());
    assert_eq!(host.self_cross(), None, "our own quotes crossed");
    for s in host.view().await {
        assert!(
            s.disabled.is_none(),
            "{}: disabled: {:?}",
            s.symbol,
            s.disabled
        );
    }
}

/// Our order requests (POST `/v5/order/...`) the venue recorded under `key` from `since_ms`.
fn order_posts(host: &TestHost, key: &str, since_ms: i64) -> Vec<sim::RequestRecord> {
    host.sim
        .requests(key)
        .into_iter()
        .filter(|r| r.time_ms >= since_ms && r.method == "POST" && r.path.starts_with("/v5/order/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_stream_dropped_resyncs_and_resumes_quoting() {
    let _serial = SERIAL.lock().await;
    let setup = Setup::default();
    let symbols = setup.symbols;
    let host = setup.start("fp").await;
    let before: BTreeMap<String, u64> = host
        .view()
        .await
        .into_iter()
        .map(|s| (s.symbol, s.book_msgs))
        .collect();
    let open_before: BTreeSet<String> = host.ours().into_iter().map(|o| o.order_link_id).collect();
    let t0 = host.venue_now_ms();
    sim_fault(&host.sim, json!({"close_ws": "public"})).await;

    // The books come back (fresh snapshots on a new connection) and keep moving.
    let view = host
        .wait_view(Duration::from_secs(15), |v| {
            v.iter().all(|s| s.book_msgs > before[&s.symbol] + 20)
        })
        .await
        .unwrap_or_else(|v| panic!("books did not resume within 15 s: {v:?}"));
    for s in &view {
        assert!(s.disabled.is_none(), "{}: {:?}", s.symbol, s.disabled);
    }
    // Quotes on a book we cannot see were pulled, and fresh ones rest on both sides again.
    assert!(
        host.wait_two_sided(symbols, t0, Duration::from_secs(15))
            .await,
        "no fresh two-sided quotes within 15 s of the drop: {:?}",
        host.ours()
    );
    let still: Vec<String> = host
        .ours()
        .into_iter()
        .map(|o| o.order_link_id)
        .filter(|id| open_before.contains(id))
        .collect();
    assert!(
        still.is_empty(),
        "quotes from before the drop still rest: {still:?}"
    );
    assert_consistent(&host, 1).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_stream_dropped_reconciles_without_duplicates_or_orphans() {
    let _serial = SERIAL.lock().await;
    // Tight quotes on a busy market: our orders fill while the private stream is silent.
    let setup = Setup {
        half_spread_bps: 1.0,
        volatility: 0.001,
        ..Setup::default()
    };
    let host = setup.start("fv").await;
    let fills_before = host.sim.fills(KEY).len();
    // Pushes are lost from here: fills, cancels and position changes go unseen.
    sim_fault(&host.sim, json!({"stale_private": true})).await;
    let filled = host
        .sim
        .wait_until(Duration::from_secs(20), |s| {
            s.fills(KEY).len() >= fills_before + 3
        })
        .await;
    assert!(
        filled,
        "no fills of ours within 20 s while the private stream was silent"
    );
    // Freeze the market's fills so only a reconciliation can bring the host's view back, then
    // drop the silent connection: the host reconnects and reconciles.
    sim_fault(&host.sim, json!({"pause_matching": true})).await;
    let t1 = host.venue_now_ms();
    sim_fault(
        &host.sim,
        json!({"stale_private": false, "close_ws": "private"}),
    )
    .await;
    // The host reconnects and asks the venue about every order it tracks.
    let queried = host
        .sim
        .wait_until(Duration::from_secs(10), |s| {
            s.requests(KEY).iter().any(|r| {
                r.time_ms >= t1
                    && r.path == "/v5/order/realtime"
                    && r.query.contains("orderLinkId=")
            })
        })
        .await;
    assert!(queried, "no reconciliation query after the reconnect");
    assert_consistent(&host, 1).await;
    sim_fault(&host.sim, json!({"pause_matching": false})).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_gap_resyncs_the_book_and_quoting_resumes() {
    let _serial = SERIAL.lock().await;
    let mut host = Setup::default().start("fg").await;
    let before: BTreeMap<String, u64> = host
        .view()
        .await
        .into_iter()
        .map(|s| (s.symbol, s.resyncs))
        .collect();
    assert!(
        before.values().all(|r| *r == 0),
        "resyncs before the gap: {before:?}"
    );
    sim_fault(&host.sim, json!({"skip_seq": 3})).await;
    let view = host
        .wait_view(Duration::from_secs(10), |v| {
            v.iter().any(|s| s.resyncs > before[&s.symbol])
        })
        .await
        .unwrap_or_else(|v| panic!("no resync within 10 s of the gap: {v:?}"));
    let gapped: Vec<(String, u64)> = view
        .iter()
        .filter(|s| s.resyncs > before[&s.symbol])
        .map(|s| (s.symbol.clone(), s.resyncs))
        .collect();
    // Each resynced symbol quotes again from its fresh snapshot.
    let names: Vec<&str> = gapped.iter().map(|(s, _)| s.as_str()).collect();
    let resynced: BTreeMap<&str, u64> = gapped.iter().map(|(s, r)| (s.as_str(), *r)).collect();
    host.wait_quoted(&names, Duration::from_secs(10), |symbol, _, resyncs| {
        resynced.get(symbol).is_some_and(|r| resyncs >= *r)
    })
    .await
    .unwrap_or_else(|left| panic!("no quotes after the resync within 10 s: {left:?}"));
    assert!(
        host.wait_two_sided(&names, 0, Duration::from_secs(10))
            .await,
        "{names:?} not two-sided after the resync"
    );
    assert_consistent(&host, 1).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_public_stream_pulls_quotes_within_twice_the_stale_threshold() {
    let _serial = SERIAL.lock().await;
    let setup = Setup {
        symbols: &["AAAUSDT", "BBBUSDT"],
        stale_after_ms: 1000,
        ..Setup::default()
    };
    let symbols = setup.symbols;
    let host = setup.start("fs").await;
    let resyncs_before: u64 = host.view().await.iter().map(|s| s.resyncs).sum();
    let open_before: BTreeSet<String> = host.ours().into_iter().map(|o| o.order_link_id).collect();
    let started = Instant::now();
    sim_fault(&host.sim, json!({"stale_public": true})).await;
    // Every symbol shows none of ours at some moment within 2 s (twice the threshold).
    let emptied = std::sync::Mutex::new(BTreeMap::new());
    let pulled = host
        .sim
        .wait_until(Duration::from_secs(2), |_| {
            let ours = host.ours();
            let mut emptied = emptied.lock().unwrap();
            for s in symbols {
                if !ours.iter().any(|o| o.symbol == *s) {
                    emptied.entry(s.to_string()).or_insert(started.elapsed());
                }
            }
            emptied.len() == symbols.len()
        })
        .await;
    let emptied = emptied.into_inner().unwrap();
    let still: Vec<String> = host
        .ours()
        .into_iter()
        .map(|o| o.order_link_id)
        .filter(|id| open_before.contains(id))
        .collect();
    assert!(
        pulled,
        "quotes not pulled within 2 s of the stream going silent: emptied {emptied:?}, open {:?}",
        host.ours()
    );
    assert!(still.is_empty(), "quotes from before still rest: {still:?}");
    eprintln!("pulled after {emptied:?}");
    let view = host.view().await;
    assert!(
        view.iter().map(|s| s.resyncs).sum::<u64>() > resyncs_before,
        "no resync counted: {view:?}"
    );
    // The stream speaks again: quoting resumes.
    let t1 = host.venue_now_ms();
    sim_fault(&host.sim, json!({"stale_public": false})).await;
    assert!(
        host.wait_two_sided(symbols, t1, Duration::from_secs(15))
            .await,
        "no fresh quotes within 15 s of the stream resuming: {:?}",
        host.ours()
    );
    assert_consistent(&host, 1).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_10006_backs_off_and_recovers_within_the_budget() {
    let _serial = SERIAL.lock().await;
    let setup = Setup {
        volatility: 0.001,
        ..Setup::default()
    };
    let symbols = setup.symbols;
    let host = setup.start("fr").await;
    let rejections_before = host.sim.rate_limit_rejections(KEY);
    let t0 = host.venue_now_ms();
    const BURST: usize = 20;
    sim_fault(&host.sim, json!({"fail_next": BURST, "fail_code": 10006})).await;
    // The injected answers are recorded under no key (they come before authentication).
    let injected = |h: &TestHost| {
        h.sim
            .requests("")
            .into_iter()
            .filter(|r| r.time_ms >= t0 && r.ret_code == 10006)
            .count()
    };
    let consumed = host
        .sim
        .wait_until(Duration::from_secs(20), |_| injected(&host) >= BURST)
        .await;
    assert!(
        consumed,
        "only {} of {BURST} 10006 answers consumed in 20 s",
        injected(&host)
    );
    assert!(
        order_posts(&host, "", t0)
            .iter()
            .any(|r| r.ret_code == 10006),
        "no order request met the 10006 burst"
    );
    let t1 = host.venue_now_ms();
    // Recovery: order requests are accepted again and every symbol quotes both sides.
    let recovered = host
        .sim
        .wait_until(Duration::from_secs(15), |_| {
            order_posts(&host, KEY, t1)
                .iter()
                .filter(|r| r.ret_code == 0)
                .count()
                >= 3
        })
        .await;
    assert!(
        recovered,
        "no accepted order request within 15 s of the burst"
    );
    assert!(
        host.wait_two_sided(symbols, 0, Duration::from_secs(10))
            .await,
        "not two-sided after the burst: {:?}",
        host.ours()
    );
    assert_consistent(&host, 1).await;
    // Within the budget: no real 10006 from the venue, and the order requests of any one
    // endpoint (answered or refused) never exceeded the venue's 10 per second.
    assert_eq!(
        host.sim.rate_limit_rejections(KEY),
        rejections_before,
        "venue 10006 answers"
    );
    let mut sent = order_posts(&host, "", t0);
    sent.extend(order_posts(&host, KEY, t0));
    let (busiest, path) = common::busiest_second(&sent);
    eprintln!("busiest second after the burst: {busiest} on {path}");
    assert!(
        busiest <= 10,
        "{busiest} order units in one second on {path}"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_order_requests_are_reconciled_without_duplicates() {
    let _serial = SERIAL.lock().await;
    let setup = Setup {
        volatility: 0.001,
        ..Setup::default()
    };
    let host = setup.start("fe").await;
    let t0 = host.venue_now_ms();
    const FAILS: usize = 8;
    sim_fault(&host.sim, json!({"fail_next": FAILS, "fail_code": 502})).await;
    let failed = |h: &TestHost| {
        h.sim
            .requests("")
            .into_iter()
            .filter(|r| r.time_ms >= t0 && r.http_status == 502)
            .collect::<Vec<_>>()
    };
    let consumed = host
        .sim
        .wait_until(Duration::from_secs(20), |_| failed(&host).len() >= FAILS)
        .await;
    assert!(
        consumed,
        "only {} of {FAILS} 502 answers consumed",
        failed(&host).len()
    );
    assert!(
        failed(&host)
            .iter()
            .any(|r| r.method == "POST" && r.path.starts_with("/v5/order/")),
        "no order request met a 502: {:?}",
        failed(&host)
    );
    assert_consistent(&host, 1).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_order_requests_are_reconciled_without_duplicates() {
    let _serial = SERIAL.lock().await;
    let setup = Setup {
        volatility: 0.001,
        ..Setup::default()
    };
    let host = setup.start("ft").await;
    let t0 = host.venue_now_ms();
    // Longer than the host's 5 s request timeout: requests sent from now time out on our side,
    // their outcome unknown. (The simulator drops a request whose client went away; were it
    // executed late, the host would meet it as an untracked order and cancel it.)
    sim_fault(&host.sim, json!({"delay_ms": 6000})).await;
    // The first requests of the delay reach their timeout (a bound set by the fault).
    let timed_out = host
        .sim
        .wait_until(Duration::from_secs(10), |_| {
            host.venue_now_ms() >= t0 + 5_500
        })
        .await;
    assert!(timed_out);
    let t1 = host.venue_now_ms();
    sim_fault(&host.sim, json!({"delay_ms": 0})).await;
    // The host asks the venue about the orders whose requests timed out.
    let queried = host
        .sim
        .wait_until(Duration::from_secs(15), |s| {
            s.requests(KEY).iter().any(|r| {
                r.time_ms >= t1
                    && r.path == "/v5/order/realtime"
                    && r.query.contains("orderLinkId=")
            })
        })
        .await;
    assert!(queried, "no reconciliation query after the timeouts");
    // Requests sent just before the delay was lifted are answered (or dropped) within 6 s:
    // after that the venue's state is final.
    let all_landed = host
        .sim
        .wait_until(Duration::from_secs(10), |_| {
            host.venue_now_ms() >= t1 + 6_200
        })
        .await;
    assert!(all_landed);
    assert_consistent(&host, 1).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_only_rejects_are_handled_and_the_symbol_keeps_quoting() {
    let _serial = SERIAL.lock().await;
    // Quotes one tick or so from the touch on a fast market, and requests arriving 300 ms
    // late: many would take liquidity by the time they arrive.
    let setup = Setup {
        symbols: &["AAAUSDT", "BBBUSDT"],
        volatility: 0.003,
        half_spread_bps: 0.5,
        ..Setup::default()
    };
    let symbols = setup.symbols;
    let host = setup.start("fo").await;
    sim_fault(&host.sim, json!({"delay_ms": 300})).await;
    let post_only_rejects = |h: &TestHost| {
        h.sim
            .closed_orders(KEY)
            .into_iter()
            .filter(|o| {
                o.order_link_id.starts_with(&h.prefix)
                    && o.reject_reason == "EC_PostOnlyWillTakeLiquidity"
            })
            .count()
    };
    let rejected = host
        .sim
        .wait_until(Duration::from_secs(20), |_| post_only_rejects(&host) >= 3)
        .await;
    assert!(
        rejected,
        "only {} PostOnly rejects within 20 s",
        post_only_rejects(&host)
    );
    sim_fault(&host.sim, json!({"delay_ms": 0})).await;
    assert!(
        host.wait_two_sided(symbols, 0, Duration::from_secs(15))
            .await,
        "not two-sided after the rejects: {:?}",
        host.ours()
    );
    eprintln!("PostOnly rejects: {}", post_only_rejects(&host));
    assert_consistent(&host, 1).await;
    host.stop().await;
}
