//! Position protection and de-risk against the simulator over real sockets. The sim's price
//! path is driven step by step (`volatility = 0`, no market-order flow, `SimHandle::set_mid`),
//! so the trailing stop and the break-even stop are set by the host, audited, and then
//! triggered by the sim, which closes the position with a stop order. Every wait has a
//! deadline; none sleeps and hopes.

mod common;

use std::time::Duration;

use common::harness::{KEY, TestHost};
use host::exchange::bybit::rest::RestClient;
use host::exchange::bybit::sign::{Credentials, Secret};
use host::risk::protect::{break_even_stop, trailing_target};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

const SYM: &str = "PRTUSDT";
const TICK: Decimal = dec!(0.01);

/// A still market: the mid moves only when the test moves it, and nothing fills our quotes.
fn still_sim() -> sim::SimConfig {
    let mut c = common::harness::linear(SYM, "0.01", "0.01", "100");
    c.volatility = 0.0;
    c.flow_a = 0.0;
    c.publish_rate_hz = 50.0;
    c.level_lots = 1000;
    sim::SimConfig {
        symbols: vec![c],
        ..Default::default()
    }
}

/// Config body: static-spread quoting 3% away (never filled here), `risk` added to
/// `[default_risk]`.
fn body(risk: &str) -> String {
    format!(
        "[router]\nlevels = 1\n\n[default_risk]\nmax_position = 5.0\nstale_after_ms = 2000\n{risk}\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {{ module = \"{}\", params = {{ half_spread_bps = 300.0, levels = 1, size = 0.1, level_spacing_bps = 2.0 }} }}\n",
        common::wasm_plugin("static_spread").display()
    )
}

async fn start(id: &str, risk: &str) -> TestHost {
    let h = TestHost::start(still_sim(), id, &body(risk)).await;
    assert!(
        h.wait_two_sided(&[SYM], 0, Duration::from_secs(15)).await,
        "the host quotes both sides"
    );
    h
}

/// A signed client of the test's own (the same account as the host).
fn client(h: &TestHost) -> RestClient {
    let creds = Credentials::new(KEY, Secret::new("simsecret"));
    RestClient::new(h.sim.rest_url(), Some(creds), Duration::from_secs(5)).expect("client")
}

/// Open a position with a market order of our own; returns the entry price.
async fn open(h: &TestHost, side: &str, qty: &str) -> Decimal {
    let body = json!({"category": "linear", "symbol": SYM, "side": side, "orderType": "Market", "qty": qty});
    client(h)
        .post_signed::<serde_json::Value>("/v5/order/create", body.to_string())
        .await
        .expect("market order accepted");
    let p = h.sim.position(KEY, SYM);
    assert!(!p.size.is_zero(), "the market order filled");
    p.avg_price
}

/// Move the sim's mid to `price` and wait until a market step has run there (moved the book
/// and checked the position's stops).
async fn drive_to(h: &TestHost, price: Decimal) {
    let at = h
        .sim
        .set_mid(sim::Category::Linear, SYM, price)
        .expect("known symbol");
    let stepped = h
        .sim
        .wait_until(Duration::from_secs(5), |s| {
            s.market_steps(sim::Category::Linear, SYM)
                .is_some_and(|n| n > at)
        })
        .await;
    assert!(stepped, "the market steps at {price}");
    assert_eq!(h.sim.mid(sim::Category::Linear, SYM), Some(price));
}

/// The order that closed the position: created by the position's stop, filled, reduce-only.
fn stop_order(h: &TestHost, stop_order_type: &str) -> Option<sim::Order> {
    h.sim.closed_orders(KEY).into_iter().find(|o| {
        o.stop_order_type == stop_order_type
            && o.reduce_only
            && o.order_link_id.is_empty()
            && o.status == sim::OrderStatus::Filled
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_stop_is_set_audited_and_closes_the_position() {
    let h = start(
        "pt1",
        "protect = { trailing_stop_bps = 50.0, activation_bps = 20.0 }",
    )
    .await;
    let entry = open(&h, "Buy", "1").await;
    let want = trailing_target(true, entry, TICK, dec!(50), Some(dec!(20)));
    let (distance, active) = (want.trailing_stop.unwrap(), want.active_price.unwrap());
    assert!(distance >= entry * dec!(0.005) && active >= entry * dec!(1.002));
    let set = |s: &sim::SimHandle| {
        let p = s.position(KEY, SYM);
        p.trailing_stop == distance && p.active_price == active
    };
    assert!(
        h.sim.wait_until(Duration::from_secs(5), set).await,
        "the host sets the trailing stop: want {distance} from {active}, sim has {:?}",
        h.sim.position(KEY, SYM)
    );

    // Someone changes it behind the host's back: the position push shows it, the host puts
    // its own back.
    let body = json!({"category": "linear", "symbol": SYM, "tpslMode": "Full", "positionIdx": 0, "trailingStop": "3"});
    client(&h)
        .post_signed::<serde_json::Value>("/v5/position/trading-stop", body.to_string())
        .await
        .expect("tamper accepted");
    assert_eq!(h.sim.position(KEY, SYM).trailing_stop, dec!(3));
    assert!(
        h.sim.wait_until(Duration::from_secs(5), set).await,
        "the audit restores the trailing stop: sim has {:?}",
        h.sim.position(KEY, SYM)
    );

    // The private stream drops: pushes may have been lost, so the host sets the stop again
    // after the reconnect (nothing else makes it send: the position did not change).
    let stop_requests = |s: &sim::SimHandle| {
        s.requests(KEY)
            .iter()
            .filter(|r| r.path == "/v5/position/trading-stop")
            .count()
    };
    let before = stop_requests(&h.sim);
    common::sim_fault(&h.sim, json!({"close_ws": "private"})).await;
    assert!(
        h.sim
            .wait_until(Duration::from_secs(10), |s| stop_requests(s) > before)
            .await,
        "the host re-arms the stop after the private reconnect"
    );
    assert!(set(&h.sim), "still in place");

    // Up past the activation price, five ticks a step: the stop arms and trails the high.
    let flat = |s: &sim::SimHandle| s.position(KEY, SYM).size.is_zero();
    let mut px = entry.round_dp(2);
    while px < active + dec!(0.5) {
        px += dec!(5) * TICK;
        drive_to(&h, px).await;
    }
    let top = px;
    assert!(!flat(&h.sim), "a rise does not trigger the stop");
    assert_eq!(
        h.sim.position(KEY, SYM).trail_extreme,
        top,
        "armed, trailing"
    );
    // Down: the stop fires `distance` below the high.
    while !flat(&h.sim) {
        px -= TICK;
        assert!(px > top - distance - dec!(0.1), "the stop fired by {px}");
        drive_to(&h, px).await;
    }
    assert!(
        h.sim.wait_until(Duration::from_secs(5), flat).await,
        "the trailing stop closed the position"
    );
    let order = stop_order(&h, "TrailingStop").expect("a TrailingStop order closed it");
    assert_eq!(order.side, sim::Side::Sell);
    assert!(px <= top - distance, "fired at {px}, high {top}");
    h.positions_agree(Duration::from_secs(5))
        .await
        .expect("the host sees the position flat");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_even_stop_arms_in_profit_and_closes_the_position() {
    let h = start(
        "pt2",
        "protect = { break_even_after_bps = 30.0, break_even_offset_ticks = 2 }",
    )
    .await;
    let entry = open(&h, "Sell", "1").await;
    let stop = break_even_stop(false, entry, TICK, 2);
    assert!(stop <= entry - dec!(0.02));
    let flat = |s: &sim::SimHandle| s.position(KEY, SYM).size.is_zero();
    // Down (profit for a short) one tick at a time: nothing until 30 bps, then the stop.
    let armed_at = entry * dec!(0.997);
    let mut px = entry.round_dp(2);
    while px > armed_at {
        assert!(
            h.sim.position(KEY, SYM).stop_loss.is_zero(),
            "no stop before {armed_at} (mark {px})"
        );
        px -= TICK;
        drive_to(&h, px).await;
    }
    assert!(
        h.sim
            .wait_until(Duration::from_secs(5), |s| s.position(KEY, SYM).stop_loss
                == stop)
            .await,
        "the host sets the break-even stop at {stop}: sim has {:?}",
        h.sim.position(KEY, SYM)
    );
    // The operator sees it in the status.
    let shown = format!("break_even armed sl={stop}");
    let view = h
        .wait_view(Duration::from_secs(5), |v| v[0].protect == shown)
        .await;
    assert!(view.is_ok(), "status shows {shown:?}: {view:?}");
    // Back up: the stop closes the position at break-even (plus the offset).
    while !flat(&h.sim) {
        px += TICK;
        assert!(px <= stop + TICK, "the stop fired by {px}");
        drive_to(&h, px).await;
    }
    let order = stop_order(&h, "StopLoss").expect("a StopLoss order closed it");
    assert_eq!(order.side, sim::Side::Buy);
    let fill = h
        .sim
        .fills(KEY)
        .into_iter()
        .rev()
        .find(|f| f.order_id == order.order_id)
        .expect("its fill");
    assert!(
        fill.price <= entry,
        "closed at {} for an entry of {entry}: no loss",
        fill.price
    );
    h.positions_agree(Duration::from_secs(5))
        .await
        .expect("the host sees the position flat");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derisk_brings_the_position_under_the_soft_limit() {
    let h = start("pt3", "derisk = { soft_position = 0.3, cooldown_ms = 200 }").await;
    open(&h, "Buy", "1").await;
    let under = |s: &sim::SimHandle| {
        let p = s.position(KEY, SYM).size;
        p <= dec!(0.3) && p > Decimal::ZERO
    };
    assert!(
        h.sim.wait_until(Duration::from_secs(5), under).await,
        "de-risk trims 1.0 to at most 0.3 within 5 s: sim has {}",
        h.sim.position(KEY, SYM).size
    );
    let trims: Vec<_> = h
        .sim
        .closed_orders(KEY)
        .into_iter()
        .filter(|o| o.reduce_only && o.order_link_id.is_empty() && o.side == sim::Side::Sell)
        .collect();
    assert!(!trims.is_empty(), "reduce-only orders did it");
    for o in &trims {
        assert_eq!(o.tif.as_str(), "IOC", "{o:?}");
        assert_eq!(o.order_type.as_str(), "Limit", "{o:?}");
    }
    assert_eq!(
        h.sim.position(KEY, SYM).size,
        dec!(0.3),
        "exactly the excess"
    );
    // Within the soft limit nothing more is sent (the cooldown has passed many times over
    // by the time the host agrees on the position).
    h.positions_agree(Duration::from_secs(5))
        .await
        .expect("the host sees 0.3");
    let n = h.sim.closed_orders(KEY).len();
    assert!(
        !h.sim
            .wait_until(Duration::from_millis(1500), |s| s.closed_orders(KEY).len()
                > n
                && s.position(KEY, SYM).size < dec!(0.3))
            .await,
        "no further trimming under the soft limit"
    );
    h.stop().await;
}
