//! Trailing-stop trigger, DCP, spot trading.

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::json;
use sim::{Category, SimConfig, SymbolConfig};
use std::time::Duration;

#[tokio::test]
async fn trailing_stop_closes_the_position() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.010"}),
        )
        .await;
    assert_eq!(r.code(), 0);
    assert!(!sim.position(KEY, "BTCUSDT").size.is_zero());
    let r = rest
        .post(
            "/v5/position/trading-stop",
            &json!({"category": "linear", "symbol": "BTCUSDT", "tpslMode": "Full", "positionIdx": 0, "trailingStop": "0.5"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let closed = sim
        .wait_until(Duration::from_secs(20), |s| {
            s.position(KEY, "BTCUSDT").size.is_zero()
        })
        .await;
    assert!(closed, "the trailing stop fired on a pull-back of 5 ticks");
    let last = sim.closed_orders(KEY).pop().unwrap();
    assert!(last.reduce_only && last.close_on_trigger);
    sim.shutdown().await;
}

#[tokio::test]
async fn dcp_cancels_orders_after_the_private_connection_is_gone() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let r = rest
        .post(
            "/v5/order/disconnected-cancel-all",
            &json!({"product": "DERIVATIVES", "timeWindow": 3}),
        )
        .await;
    assert_eq!(r.code(), 0);
    let mut ws = Ws::connect(&sim.private_url()).await;
    ws.auth(KEY, SECRET).await;
    ws.send(json!({"op": "subscribe", "args": ["dcp.future"]}))
        .await;
    assert_eq!(ws.until(|v| v["op"] == "subscribe").await["success"], true);
    let (b, _) = top(&rest, "BTCUSDT").await;
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": px(b * 0.9, 0.1)}),
        )
        .await;
    assert_eq!(r.code(), 0);
    drop(ws);
    let cancelled = sim
        .wait_until(Duration::from_secs(10), |s| s.open_orders(KEY).is_empty())
        .await;
    assert!(cancelled);
    assert_eq!(sim.closed_orders(KEY)[0].cancel_type, "CancelByDCP");
    sim.shutdown().await;
}

#[tokio::test]
async fn spot_orders_move_coin_balances() {
    let mut cfg = SimConfig::default();
    let mut spot = SymbolConfig::linear("ETHUSDT", "0.01", "0.0001", "1000", "3000");
    spot.category = Category::Spot;
    cfg.symbols.push(spot);
    let sim = start_with(cfg).await;
    let rest = Rest::new(&sim);
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "spot", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Market", "qty": "0.1000", "marketUnit": "baseCoin"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    assert_eq!(r.body["result"]["orderId"].as_str().unwrap().len(), 19);
    let w = sim.wallet(KEY).unwrap();
    assert_eq!(
        w.coins,
        vec![("ETH".to_string(), "0.1000".parse::<Decimal>().unwrap())]
    );
    assert!(w.usdt < Decimal::from(100_000 - 200));
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "spot", "symbol": "ETHUSDT", "side": "Sell", "orderType": "Limit", "qty": "1", "price": "9000"}),
        )
        .await;
    assert_eq!(r.code(), 170131);
    // Bybit's default unit of a spot market Buy is the quote coin: 600 USDT ≈ 0.2 ETH.
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "spot", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Market", "qty": "600"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let eth = sim.wallet(KEY).unwrap().coins[0].1;
    assert!(
        eth > "0.25".parse::<Decimal>().unwrap() && eth < "0.35".parse::<Decimal>().unwrap(),
        "{eth}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn replay_drives_the_book_trades_and_fills() {
    let t0 = now_ms();
    let lines = [
        json!({"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": t0, "data": {"s": "BTCUSDT", "b": [["16493.50", "0.006"], ["16493.00", "0.100"]], "a": [["16611.00", "0.029"], ["16612.00", "0.213"]], "u": 18521288, "seq": 7961638724_i64}, "cts": t0}),
        json!({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": t0 + 1500, "data": {"s": "BTCUSDT", "b": [["16493.50", "0"], ["16490.00", "1.000"]], "a": [], "u": 18521289, "seq": 7961638725_i64}, "cts": t0 + 1500}),
        json!({"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": t0 + 2500, "data": [{"T": t0 + 2500, "s": "BTCUSDT", "S": "Buy", "v": "0.500", "p": "16600.00", "L": "PlusTick", "i": "x", "BT": false, "seq": 1}]}),
    ];
    let path = std::env::temp_dir().join(format!("sim-replay-{}-{t0}.jsonl", std::process::id()));
    std::fs::write(
        &path,
        lines
            .iter()
            .map(|l| l.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let mut cfg = SimConfig::default();
    cfg.symbols[0].replay_file = Some(path.clone());
    let sim = start_with(cfg).await;
    let rest = Rest::new(&sim);
    let mut ws = Ws::connect(&sim.public_linear_url()).await;
    ws.send(json!({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]}))
        .await;
    ws.until(|v| v["op"] == "subscribe").await;
    let snap = ws.until(|v| v["type"] == "snapshot").await;
    assert_eq!(snap["data"]["u"], 18521288);
    assert_eq!(snap["data"]["b"][0][0], "16493.50");
    // A resting sell at the price the recorded trade will print.
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit", "qty": "0.001", "price": "16600.00", "timeInForce": "PostOnly"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    // The recorded delta is forwarded verbatim.
    let d = ws.until(|v| v["type"] == "delta").await;
    assert_eq!(d, lines[1]);
    let filled = sim
        .wait_until(Duration::from_secs(10), |s| !s.fills(KEY).is_empty())
        .await;
    assert!(
        filled,
        "the recorded trade through 16600 fills the resting sell"
    );
    let (b, a) = top(&rest, "BTCUSDT").await;
    assert_eq!((b, a), (16493.0, 16611.0));
    sim.shutdown().await;
    let _ = std::fs::remove_file(path);
}
