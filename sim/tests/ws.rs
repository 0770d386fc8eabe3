//! WebSockets over loopback: public subscriptions and book consistency, private auth and
//! pushes after a fill, WS trade.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn levels(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l[0].as_str().unwrap().parse().unwrap(),
                l[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn book_snapshot_then_consistent_deltas() {
    let sim = start().await;
    let mut ws = Ws::connect(&sim.public_linear_url()).await;
    ws.send(json!({"req_id": "r1", "op": "subscribe", "args": ["orderbook.50.BTCUSDT"]}))
        .await;
    let reply = ws.next().await;
    assert_eq!(reply["success"], true);
    assert_eq!(reply["op"], "subscribe");
    assert_eq!(reply["req_id"], "r1");
    assert_eq!(reply["ret_msg"], "");
    assert!(reply["conn_id"].is_string());
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["topic"], "orderbook.50.BTCUSDT");
    let mut u = snap["data"]["u"].as_u64().unwrap();
    let mut seq = snap["data"]["seq"].as_i64().unwrap();
    let key = |p: f64| (p * 10.0).round() as i64;
    let mut bids: BTreeMap<i64, f64> = levels(&snap["data"]["b"])
        .into_iter()
        .map(|(p, s)| (key(p), s))
        .collect();
    let mut asks: BTreeMap<i64, f64> = levels(&snap["data"]["a"])
        .into_iter()
        .map(|(p, s)| (key(p), s))
        .collect();
    assert_eq!(bids.len(), 50);
    for _ in 0..40 {
        let d = ws.next().await;
        assert_eq!(d["type"], "delta");
        let du = d["data"]["u"].as_u64().unwrap();
        assert_eq!(du, u + 1, "u increments by one");
        let ds = d["data"]["seq"].as_i64().unwrap();
        assert!(ds > seq);
        u = du;
        seq = ds;
        assert!(d["ts"].is_i64() && d["cts"].is_i64());
        for (p, s) in levels(&d["data"]["b"]) {
            if s == 0.0 {
                assert!(bids.remove(&key(p)).is_some(), "deleting a known bid");
            } else {
                bids.insert(key(p), s);
            }
        }
        for (p, s) in levels(&d["data"]["a"]) {
            if s == 0.0 {
                assert!(asks.remove(&key(p)).is_some(), "deleting a known ask");
            } else {
                asks.insert(key(p), s);
            }
        }
        assert!(bids.len() <= 50 && asks.len() <= 50);
        let bb = *bids.keys().next_back().unwrap();
        let ba = *asks.keys().next().unwrap();
        assert!(bb < ba, "book never crossed");
    }
    // Compare with a fresh snapshot on a second connection: same levels at the same u
    // are not guaranteed in time, but the top must be close and the book uncrossed.
    sim.shutdown().await;
}

#[tokio::test]
async fn subscribe_failures_ping_trades_and_tickers() {
    let sim = start().await;
    let mut ws = Ws::connect(&sim.public_linear_url()).await;
    ws.send(json!({"op": "ping"})).await;
    let p = ws.next().await;
    assert_eq!(p["ret_msg"], "pong");
    assert_eq!(p["op"], "ping");
    assert_eq!(p["req_id"], "");
    ws.send(json!({"req_id": "x", "op": "subscribe", "args": ["orderbook.7.BTCUSDT"]}))
        .await;
    let f = ws.next().await;
    assert_eq!(f["success"], false);
    assert_eq!(
        f["ret_msg"],
        "error:handler not found,topic:orderbook.7.BTCUSDT"
    );
    ws.send(json!({"op": "subscribe", "args": ["tickers.ETHUSDT", "publicTrade.ETHUSDT"]}))
        .await;
    let ok = ws.next().await;
    assert_eq!(ok["success"], true);
    let snap = ws.until(|v| v["topic"] == "tickers.ETHUSDT").await;
    assert_eq!(snap["type"], "snapshot");
    assert!(snap["data"]["markPrice"].is_string());
    let delta = ws
        .until(|v| v["topic"] == "tickers.ETHUSDT" && v["type"] == "delta")
        .await;
    assert_eq!(delta["data"]["symbol"], "ETHUSDT");
    let trade = ws.until(|v| v["topic"] == "publicTrade.ETHUSDT").await;
    let t = &trade["data"][0];
    assert!(t["T"].is_i64() && t["p"].is_string() && t["v"].is_string());
    ws.send(json!({"req_id": "u", "op": "unsubscribe", "args": ["tickers.ETHUSDT"]}))
        .await;
    let un = ws.until(|v| v["op"] == "unsubscribe").await;
    assert_eq!(un["success"], true);
    // Garbage does not kill the connection.
    ws.s.send(tokio_tungstenite::tungstenite::Message::Text(
        "{not json".into(),
    ))
    .await
    .unwrap();
    ws.send(json!({"op": "ping", "req_id": "p2"})).await;
    ws.until(|v| v["op"] == "ping" && v["req_id"] == "p2").await;
    // Spot pong shape has no req_id when none sent.
    let mut spot = Ws::connect(&sim.public_spot_url()).await;
    spot.send(json!({"op": "ping"})).await;
    let p = spot.next().await;
    assert!(p.get("req_id").is_none());
    sim.shutdown().await;
}

use futures_util::SinkExt;

#[tokio::test]
async fn private_auth_and_pushes_after_a_fill() {
    let sim = start().await;
    let mut ws = Ws::connect(&sim.private_url()).await;
    ws.send(json!({"op": "subscribe", "args": ["order"]})).await;
    let no = ws.next().await;
    assert_eq!(no["success"], false);
    // Bad signature.
    let expires = now_ms() + 10_000;
    ws.send(json!({"op": "auth", "args": [KEY, expires, "00"]}))
        .await;
    let bad = ws.next().await;
    assert_eq!(bad["success"], false);
    assert_eq!(bad["ret_msg"], "Params Error");
    let ok = ws.auth(KEY, SECRET).await;
    assert_eq!(ok["success"], true);
    assert_eq!(ok["req_id"], "a1");
    ws.send(json!({"op": "subscribe", "args": ["order", "execution", "position", "wallet"]}))
        .await;
    let sub = ws.next().await;
    assert_eq!(sub["success"], true);
    ws.send(json!({"req_id": "pp", "op": "ping"})).await;
    let pong = ws.until(|v| v["op"] == "pong").await;
    assert_eq!(pong["req_id"], "pp");
    assert!(pong["args"][0].is_string());

    let rest = Rest::new(&sim);
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market", "qty": "0.002", "orderLinkId": "mkt-1"}),
        )
        .await;
    assert_eq!(r.code(), 0);
    let ex = ws.until(|v| v["topic"] == "execution").await;
    assert_eq!(ex["data"][0]["orderLinkId"], "mkt-1");
    assert_eq!(ex["data"][0]["isMaker"], false);
    let ord = ws
        .until(|v| v["topic"] == "order" && v["data"][0]["orderStatus"] == "Filled")
        .await;
    assert_eq!(ord["data"][0]["cumExecQty"], "0.002");
    let pos = ws.until(|v| v["topic"] == "position").await;
    assert_eq!(pos["data"][0]["side"], "Sell");
    assert_eq!(pos["data"][0]["size"], "0.002");
    ws.until(|v| v["topic"] == "wallet").await;
    // The record agrees.
    assert_eq!(
        sim.fills(KEY)
            .iter()
            .map(|f| f.qty)
            .sum::<rust_decimal::Decimal>(),
        "0.002".parse().unwrap()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ws_trade_create_and_cancel() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let (b, _) = top(&rest, "BTCUSDT").await;
    let mut ws = Ws::connect(&sim.trade_url()).await;
    ws.send(json!({"reqId": "early", "header": {"X-BAPI-TIMESTAMP": now_ms().to_string()}, "op": "order.create", "args": [{}]}))
        .await;
    let no = ws.next().await;
    assert_ne!(no["retCode"], 0);
    let a = ws.auth(KEY, SECRET).await;
    assert_eq!(a["retCode"], 0);
    assert!(a["connId"].is_string());
    ws.send(json!({"reqId": "c1", "header": {"X-BAPI-TIMESTAMP": now_ms(), "X-BAPI-RECV-WINDOW": "5000"},
                   "op": "order.create",
                   "args": [{"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                             "qty": "0.001", "price": px(b * 0.95, 0.1), "orderLinkId": "wst-1"}]}))
        .await;
    let r = ws.until(|v| v["reqId"] == "c1").await;
    assert_eq!(r["retCode"], 0, "{r}");
    assert_eq!(r["op"], "order.create");
    assert_eq!(r["data"]["orderLinkId"], "wst-1");
    assert_eq!(r["header"]["X-Bapi-Limit"], "10");
    assert_eq!(sim.open_orders(KEY).len(), 1);
    ws.send(
        json!({"reqId": "x1", "header": {"X-BAPI-TIMESTAMP": now_ms().to_string()},
                   "op": "order.cancel",
                   "args": [{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "wst-1"}]}),
    )
    .await;
    let r = ws.until(|v| v["reqId"] == "x1").await;
    assert_eq!(r["retCode"], 0, "{r}");
    assert!(sim.open_orders(KEY).is_empty());
    ws.send(json!({"op": "ping"})).await;
    let p = ws.until(|v| v["op"] == "pong").await;
    assert_eq!(p["retCode"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn many_symbols_stream_concurrently() {
    let mut cfg = sim::SimConfig {
        symbols: Vec::new(),
        ..sim::SimConfig::default()
    };
    for i in 0..250 {
        cfg.symbols.push(sim::SymbolConfig::linear(
            &format!("X{i:03}USDT"),
            "0.01",
            "0.1",
            "100000",
            "100",
        ));
    }
    let sim = start_with(cfg).await;
    let mut ws = Ws::connect(&sim.public_linear_url()).await;
    let args: Vec<String> = (0..250)
        .map(|i| format!("orderbook.1.X{i:03}USDT"))
        .collect();
    ws.send(json!({"op": "subscribe", "args": args})).await;
    assert_eq!(ws.until(|v| v["op"] == "subscribe").await["success"], true);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 250 {
        let m = ws.next().await;
        seen.insert(m["topic"].as_str().unwrap().to_string());
    }
    sim.shutdown().await;
}
