//! Orders over the trade WebSocket against the simulator on loopback: the same script over
//! REST and over WS gives the same acks and the same exchange state; a connection dropped
//! before the reply leaves the outcome unknown (and the order may well exist); a request while
//! the stream is down is refused without being sent.
//!
//! The drop is made by a loopback TCP relay between the host and the simulator that the test
//! cuts: the simulator's `close_ws` fault stops reading but still delivers replies already
//! scheduled, so it cannot lose a reply.

mod common;

use std::time::Duration;

use host::exchange::bybit::rest::RestClient;
use host::exchange::bybit::sign::{Credentials, Secret};
use host::exchange::bybit::ws::{TradeLink, TradeStreamConfig, TradeStreamTask};
use host::model::{Category, OrderLinkId, Side};
use host::router::batch::{AmendOrder, CancelOrder, CreateOrder, OrderRequest, TimeInForce};
use host::router::io::{OrderSender, SendOutcome};
use host::router::state::AckOutcome;
use rust_decimal::Decimal;
use tokio::sync::watch;

const KEY: &str = "simkey";
const SYMBOL: &str = "BTCUSDT";

fn credentials() -> Credentials {
    Credentials::new(KEY, Secret::new("simsecret"))
}

fn link(prefix: &str, side: Side, level: u8, seq: u64) -> OrderLinkId {
    OrderLinkId::new(prefix, SYMBOL, side, level, seq).unwrap()
}

/// `mid * factor` on BTCUSDT's 0.1 tick.
fn price(mid: Decimal, factor: &str) -> Decimal {
    (mid * factor.parse::<Decimal>().unwrap()).round_dp(1)
}

fn create(prefix: &str, side: Side, level: u8, seq: u64, px: Decimal) -> CreateOrder {
    CreateOrder {
        symbol: SYMBOL.into(),
        side,
        price: px,
        qty: "0.001".parse().unwrap(),
        link_id: link(prefix, side, level, seq),
        time_in_force: TimeInForce::PostOnly,
    }
}

fn amend(id: OrderLinkId, px: Option<Decimal>, qty: Option<&str>) -> AmendOrder {
    AmendOrder {
        symbol: SYMBOL.into(),
        link_id: id,
        order_id: None,
        price: px,
        qty: qty.map(|q| q.parse().unwrap()),
    }
}

fn cancel(id: OrderLinkId) -> CancelOrder {
    CancelOrder {
        symbol: SYMBOL.into(),
        link_id: id,
        order_id: None,
    }
}

/// Every request kind, each once, including items the exchange refuses.
fn script(p: &str, mid: Decimal) -> Vec<OrderRequest> {
    use OrderRequest as R;
    use Side::{Buy, Sell};
    let lin = Category::Linear;
    vec![
        R::Create(lin, create(p, Buy, 0, 1, price(mid, "0.95"))),
        R::CreateBatch(
            lin,
            vec![
                create(p, Buy, 1, 2, price(mid, "0.94")),
                create(p, Sell, 0, 3, price(mid, "1.05")),
                create(p, Sell, 1, 4, price(mid, "1.06")),
            ],
        ),
        R::Amend(
            lin,
            amend(link(p, Buy, 0, 1), Some(price(mid, "0.93")), None),
        ),
        R::AmendBatch(
            lin,
            vec![
                amend(link(p, Buy, 1, 2), None, Some("0.002")),
                amend(link(p, Sell, 0, 3), Some(price(mid, "1.07")), None),
            ],
        ),
        R::Cancel(lin, cancel(link(p, Sell, 1, 4))),
        // One known order, one that never existed (110001: gone).
        R::CancelBatch(
            lin,
            vec![cancel(link(p, Buy, 1, 2)), cancel(link(p, Buy, 9, 99))],
        ),
        R::Amend(
            lin,
            amend(link(p, Buy, 8, 98), Some(price(mid, "0.9")), None),
        ),
        // A repeated orderLinkId.
        R::Create(lin, create(p, Buy, 0, 1, price(mid, "0.92"))),
    ]
}

/// An ack without what differs between runs: the prefix in the link id, the order id's value.
fn normalise(out: &SendOutcome, prefix: &str) -> Vec<String> {
    out.acks
        .iter()
        .map(|a| {
            let outcome = match &a.outcome {
                AckOutcome::Accepted { order_id } => {
                    format!("accepted(id: {})", order_id.is_some())
                }
                other => format!("{other:?}"),
            };
            let id = a.link_id.as_str().trim_start_matches(prefix);
            format!(
                "{:?} {id} {outcome} code={:?} limited={}",
                a.kind, a.ret_code, out.rate_limited
            )
        })
        .collect()
}

/// The simulator's orders of `prefix`, without the prefix: (id, side, price, qty, status).
fn venue_orders(sim: &sim::SimHandle, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = sim
        .open_orders(KEY)
        .into_iter()
        .chain(sim.closed_orders(KEY))
        .filter(|o| o.order_link_id.starts_with(prefix))
        .map(|o| {
            format!(
                "{} {:?} {} {} {:?}",
                o.order_link_id.trim_start_matches(prefix),
                o.side,
                o.price_ticks,
                o.qty_lots,
                o.status
            )
        })
        .collect();
    v.sort();
    v
}

/// A TCP relay to `upstream` on 127.0.0.1:0; sending on the returned channel cuts every
/// connection open at that moment (later connections are relayed again).
async fn relay(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, watch::Sender<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cut_tx, cut_rx) = watch::channel(0u64);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let mut cut = cut_rx.clone();
            cut.borrow_and_update();
            tokio::spawn(async move {
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = cut.changed() => {} // both sockets drop here
                }
            });
        }
    });
    (addr, cut_tx)
}

async fn start_sim(ws_ack_delay_ms: u64) -> sim::SimHandle {
    let cfg = sim::SimConfig {
        ws_ack_delay_ms,
        ..sim::SimConfig::default()
    };
    let sim = sim::Sim::start(cfg).await.expect("sim starts");
    // Orders far from the market, and no fills: the state depends on the requests only.
    sim.pause_matching(true);
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_and_rest_give_the_same_acks_and_venue_state() {
    let sim = start_sim(10).await;
    let mid = sim.mid(sim::Category::Linear, SYMBOL).expect("mid");
    let client = RestClient::new(sim.rest_url(), Some(credentials()), Duration::from_secs(5))
        .expect("client");
    let rest = OrderSender::rest(client);
    let ws = OrderSender::connect_ws(
        TradeStreamConfig::new(sim.trade_url(), credentials()),
        Duration::from_secs(5),
    )
    .await
    .expect("trade stream up");
    assert_eq!((rest.transport(), ws.transport()), ("rest", "ws"));

    let mut acks = Vec::new();
    for (sender, prefix) in [(&rest, "r1"), (&ws, "w1")] {
        let mut got = Vec::new();
        for req in script(prefix, mid) {
            let out = sender.send(&req).await;
            let rl = out.rate_limit.expect("rate-limit headers on every answer");
            assert_eq!(rl.limit, Some(10), "{prefix}: {rl:?}");
            assert!(rl.server_time_ms.is_some(), "{prefix}: {rl:?}");
            got.extend(normalise(&out, prefix));
        }
        acks.push(got);
    }
    assert_eq!(acks[0], acks[1], "acks differ between REST and WS");
    // The script's expectations, so both agreeing on something wrong would not pass.
    let want_codes: Vec<&str> = acks[0]
        .iter()
        .map(|a| a.split(" code=").nth(1).unwrap())
        .collect();
    assert_eq!(
        want_codes,
        [
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(0) limited=false",
            "Some(110001) limited=false",
            "Some(110001) limited=false",
            "Some(110072) limited=false",
        ],
        "{:#?}",
        acks[0]
    );
    for i in [9, 10] {
        assert!(
            acks[0][i].contains("Rejected { order_gone: true }"),
            "{}",
            acks[0][i]
        );
    }

    let (by_rest, by_ws) = (venue_orders(&sim, "r1"), venue_orders(&sim, "w1"));
    assert_eq!(by_rest, by_ws, "venue state differs between REST and WS");
    assert_eq!(by_rest.len(), 4, "{by_rest:#?}");
    assert_eq!(
        by_rest.iter().filter(|o| o.ends_with("Cancelled")).count(),
        2,
        "{by_rest:#?}"
    );
    // Over WS, nothing went to the REST order endpoints.
    let ws_ops = sim
        .requests(KEY)
        .into_iter()
        .filter(|r| r.method == "WS")
        .count();
    assert_eq!(ws_ops, script("w1", mid).len());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_leaves_the_outcome_unknown_and_requests_while_down_are_refused() {
    // Replies come 1.5 s after execution, so the connection can be cut in between.
    let sim = start_sim(1_500).await;
    let mid = sim.mid(sim::Category::Linear, SYMBOL).expect("mid");
    let (relay_addr, cut) = relay(sim.addr()).await;
    let url = sim
        .trade_url()
        .replace(&sim.addr().to_string(), &relay_addr.to_string());
    let mut cfg = TradeStreamConfig::new(url, credentials());
    cfg.backoff_initial = Duration::from_millis(200);
    let (handle, _join) = TradeStreamTask::spawn(cfg);
    handle.wait_up(Duration::from_secs(5)).await.expect("up");
    let sender = OrderSender::ws(handle.clone());

    let order = create("d1", Side::Buy, 0, 1, price(mid, "0.95"));
    let id = order.link_id.to_string();
    let req = OrderRequest::Create(Category::Linear, order);
    let pending = tokio::spawn({
        let sender = sender.clone();
        async move { sender.send(&req).await }
    });
    let executed = sim
        .wait_until(Duration::from_secs(5), |s| {
            s.open_orders(KEY).iter().any(|o| o.order_link_id == id)
        })
        .await;
    assert!(executed, "the venue never executed the create");
    cut.send_modify(|n| *n += 1);
    let out = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("answered within the request timeout")
        .unwrap();
    assert_eq!(out.acks.len(), 1);
    assert_eq!(
        out.acks[0].outcome,
        AckOutcome::Unknown,
        "{:?}",
        out.acks[0]
    );
    assert_eq!(out.acks[0].ret_code, None);
    // Unknown, not failed: the order exists and reconciliation will find it.
    assert!(sim.open_orders(KEY).iter().any(|o| o.order_link_id == id));

    // It reconnects by itself, and the next request is answered.
    handle
        .wait_up(Duration::from_secs(10))
        .await
        .expect("reconnected");
    let out = sender
        .send(&OrderRequest::Cancel(
            Category::Linear,
            cancel(OrderLinkId::parse(&id).unwrap()),
        ))
        .await;
    assert!(
        matches!(out.acks[0].outcome, AckOutcome::Accepted { .. }),
        "{:?}",
        out.acks[0]
    );

    // Venue gone: the stream goes down and a request is refused without being sent.
    sim.shutdown().await;
    let down = handle
        .wait_link(Duration::from_secs(10), |l| {
            matches!(l, TradeLink::Down { .. })
        })
        .await;
    assert!(down.is_ok(), "{down:?}");
    let out = sender
        .send(&OrderRequest::Create(
            Category::Linear,
            create("d1", Side::Buy, 0, 2, price(mid, "0.95")),
        ))
        .await;
    assert_eq!(
        out.acks[0].outcome,
        AckOutcome::Rejected { order_gone: false },
        "{:?}",
        out.acks[0]
    );
    assert!(
        out.acks[0].message.contains("not connected"),
        "{:?}",
        out.acks[0]
    );
    handle.shutdown().await;
}
