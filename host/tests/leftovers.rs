//! Orders left open by an earlier run of the same instance (same order-link id prefix):
//! `leftover_orders = "adopt"` takes them over as working orders (the diff then keeps, amends
//! or cancels them like its own), the default `cancel` removes them at start-up. Either way
//! nothing of ours stays open after the host stops.

mod common;

use std::time::Duration;

use common::harness::{KEY, TestHost};
use host::exchange::bybit::rest::RestClient;
use host::exchange::bybit::sign::{Credentials, Secret};

const SYM: &str = "LFTUSDT";

fn sim_cfg() -> sim::SimConfig {
    let mut c = common::harness::linear(SYM, "0.01", "0.01", "100");
    c.publish_rate_hz = 50.0;
    // No market orders: nothing fills, so the orders seen are the adopted ones or their
    // replacements, never refills.
    c.flow_a = 0.0;
    sim::SimConfig {
        symbols: vec![c],
        ..Default::default()
    }
}

fn body(policy: &str) -> String {
    format!(
        "[router]\nlevels = 1\nleftover_orders = \"{policy}\"\n\n[default_risk]\nmax_position = 5.0\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {{ module = \"{}\", params = {{ half_spread_bps = 5.0, levels = 1, size = 0.1 }} }}\n",
        common::wasm_plugin("static_spread").display()
    )
}

/// Two resting orders of instance `id`, as an earlier run would have left them: a bid and an
/// ask at the host's level 0, a little off where it will quote.
async fn leave_orders(sim: &sim::SimHandle, id: &str) -> [String; 2] {
    let client = RestClient::new(
        sim.rest_url(),
        Some(Credentials::new(KEY, Secret::new("simsecret"))),
        Duration::from_secs(5),
    )
    .unwrap();
    let links = [format!("{id}-{SYM}-b0-1"), format!("{id}-{SYM}-s0-2")];
    for (link, side, price) in [(&links[0], "Buy", "99.5"), (&links[1], "Sell", "100.5")] {
        let body = serde_json::json!({"category": "linear", "symbol": SYM, "side": side, "orderType": "Limit", "qty": "0.1", "price": price, "timeInForce": "PostOnly", "orderLinkId": link});
        client
            .post_signed::<serde_json::Value>("/v5/order/create", body.to_string())
            .await
            .expect("leftover order placed");
    }
    links
}

/// Until the host's loop runs (start-up reads and prepares every symbol first).
async fn wait_running(h: &TestHost) {
    let until = tokio::time::Instant::now() + Duration::from_secs(15);
    while h.control.snapshot().await.is_none() {
        assert!(
            tokio::time::Instant::now() < until,
            "the host's loop starts"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn is_open(sim: &sim::SimHandle, link: &str) -> bool {
    sim.open_orders(KEY).iter().any(|o| o.order_link_id == link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopted_leftovers_are_tracked_amended_and_cancelled_at_the_end() {
    let sim = sim::Sim::start(sim_cfg()).await.expect("sim starts");
    let links = leave_orders(&sim, "lo1").await;
    let h = TestHost::start_on(sim, "lo1", &body("adopt"), false).await;
    wait_running(&h).await;
    // The host tracks both as its own working orders and quotes with them: no new orders,
    // no cancel of either; they are amended to the strategy's prices (±5 bps of the mid).
    let view = h
        .wait_view(Duration::from_secs(15), |v| {
            v[0].open_orders.len() == 2 && links.iter().all(|l| v[0].open_orders.contains(l))
        })
        .await;
    if view.is_err() {
        for r in h.sim.requests(KEY) {
            eprintln!("{} {} {} {}", r.path, r.ret_code, r.query, r.body);
        }
    }
    assert!(view.is_ok(), "the host adopts both: {view:?}");
    let near_mid = |s: &sim::SimHandle| {
        let mid = s.mid(sim::Category::Linear, SYM).unwrap();
        s.open_orders(KEY).iter().all(|o| {
            let px = rust_decimal::Decimal::from(o.price_ticks) / rust_decimal::Decimal::from(100);
            (px - mid).abs() < mid * rust_decimal_macros::dec!(0.002)
        })
    };
    assert!(
        h.sim
            .wait_until(Duration::from_secs(10), |s| links
                .iter()
                .all(|l| is_open(s, l))
                && s.open_orders(KEY).len() == 2
                && near_mid(s))
            .await,
        "the adopted orders are amended to the quotes: {:?}",
        h.sim.open_orders(KEY)
    );
    let amends = h
        .sim
        .requests(KEY)
        .iter()
        .filter(|r| r.path.starts_with("/v5/order/amend") && r.ret_code == 0)
        .count();
    assert!(amends > 0, "moved by amends, not replaced");
    h.orders_agree(Duration::from_secs(5)).await.unwrap();
    // `stop` asserts nothing of ours (adopted ones included) is left open.
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_are_cancelled_by_default() {
    let sim = sim::Sim::start(sim_cfg()).await.expect("sim starts");
    let links = leave_orders(&sim, "lo2").await;
    // The sim serves the wall clock.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let h = TestHost::start_on(sim, "lo2", &body("cancel"), false).await;
    wait_running(&h).await;
    assert!(
        h.wait_two_sided(&[SYM], t, Duration::from_secs(15)).await,
        "the host quotes with new orders"
    );
    assert!(
        links.iter().all(|l| !is_open(&h.sim, l)),
        "the leftovers are gone"
    );
    let view = h.view().await;
    assert!(
        !links.iter().any(|l| view[0].open_orders.contains(l)),
        "and not tracked: {view:?}"
    );
    h.stop().await;
}
