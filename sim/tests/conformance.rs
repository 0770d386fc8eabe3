//! Conformance: for every sample in `shared/bybit-v5/samples/` with a sim counterpart, the
//! sim's message of that kind has the same field names and value types (recursively; arrays
//! are compared by their first element). Deltas are compared on the fields they carry.

mod common;

use common::*;
use serde_json::{Value, json};
use sim::{Category, SimConfig, SymbolConfig};
use std::path::PathBuf;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bybit-v5/samples")
}

fn load(name: &str) -> Value {
    let p = samples_dir().join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Collect differences of `sim` against `sample` under `path`.
fn compare(sample: &Value, sim: &Value, path: &str, subset: bool, out: &mut Vec<String>) {
    match (sample, sim) {
        // Maps keyed by coin: compare the value types only.
        (Value::Object(a), Value::Object(b)) if path.ends_with("cumFeeDetail") => {
            if let (Some(x), Some(y)) = (a.values().next(), b.values().next()) {
                compare(x, y, &format!("{path}.*"), subset, out);
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => compare(va, vb, &format!("{path}.{k}"), subset, out),
                    None if subset => {}
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                compare(x, y, &format!("{path}[0]"), subset, out);
            }
        }
        // A sample's null (e.g. preListingInfo) may be null in the sim too.
        (a, b) if kind(a) == kind(b) => {}
        (a, b) => out.push(format!(
            "{path}: sample {} vs sim {} ({b})",
            kind(a),
            kind(b)
        )),
    }
}

struct Checker {
    errors: Vec<String>,
    checked: usize,
}

impl Checker {
    fn check(&mut self, sample: &str, sim: &Value) {
        self.check_opt(sample, sim, false);
    }
    fn check_subset(&mut self, sample: &str, sim: &Value) {
        self.check_opt(sample, sim, true);
    }
    fn check_opt(&mut self, sample: &str, sim: &Value, subset: bool) {
        let s = load(sample);
        let mut out = Vec::new();
        compare(&s, sim, "", subset, &mut out);
        for e in out {
            self.errors.push(format!("{sample}: {e}"));
        }
        self.checked += 1;
    }
}

/// Order budget per second and endpoint of the conformance walk.
const ORDER_PER_S: u32 = 100;

#[tokio::test]
async fn sim_messages_match_the_samples() {
    assert!(
        samples_dir().is_dir(),
        "samples not found at {}",
        samples_dir().display()
    );
    let mut cfg = SimConfig::default();
    let mut spot = SymbolConfig::linear("BTCUSDT", "0.1", "0.000001", "83", "60000");
    spot.category = Category::Spot;
    cfg.symbols.push(spot);
    cfg.accounts[0].usdt = "100000".parse().unwrap();
    // A budget the walk through every message never exhausts; 10006 is provoked on purpose.
    cfg.limits.order_per_s = ORDER_PER_S;
    let sim = start_with(cfg).await;
    let rest = Rest::new(&sim);
    let mut c = Checker {
        errors: Vec::new(),
        checked: 0,
    };

    // Public REST.
    c.check(
        "rest-server-time-response.json",
        &rest.get_public("/v5/market/time", "").await.body,
    );
    c.check(
        "rest-instruments-info-linear.json",
        &rest
            .get_public(
                "/v5/market/instruments-info",
                "category=linear&symbol=BTCUSDT",
            )
            .await
            .body,
    );
    c.check(
        "rest-instruments-info-spot.json",
        &rest
            .get_public(
                "/v5/market/instruments-info",
                "category=spot&symbol=BTCUSDT",
            )
            .await
            .body,
    );
    c.check(
        "rest-orderbook-response.json",
        &rest
            .get_public("/v5/market/orderbook", "category=linear&symbol=BTCUSDT")
            .await
            .body,
    );
    c.check(
        "rest-tickers-spot-response.json",
        &rest
            .get_public("/v5/market/tickers", "category=spot&symbol=BTCUSDT")
            .await
            .body,
    );
    c.check(
        "rest-tickers-inverse-response.json",
        &rest
            .get_public("/v5/market/tickers", "category=linear&symbol=BTCUSDT")
            .await
            .body,
    );

    // Public WS (start early so trades accumulate meanwhile).
    let mut ws = Ws::connect(&sim.public_linear_url()).await;
    ws.send(json!({"req_id": "1", "op": "subscribe", "args": ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT", "kline.5.BTCUSDT"]})).await;
    c.check(
        "ws-subscribe-response-public-linear.json",
        &ws.until(|v| v["op"] == "subscribe").await,
    );
    c.check(
        "ws-orderbook-snapshot.json",
        &ws.until(|v| v["type"] == "snapshot" && v["topic"] == "orderbook.50.BTCUSDT")
            .await,
    );
    c.check(
        "ws-orderbook-delta.json",
        &ws.until(|v| v["type"] == "delta" && v["topic"] == "orderbook.50.BTCUSDT")
            .await,
    );
    c.check(
        "ws-public-trade.json",
        &ws.until(|v| v["topic"] == "publicTrade.BTCUSDT").await,
    );
    c.check(
        "ws-ticker-linear-perp-snapshot.json",
        &ws.until(|v| v["topic"] == "tickers.BTCUSDT" && v["type"] == "snapshot")
            .await,
    );
    c.check_subset(
        "ws-ticker-linear-delta.json",
        &ws.until(|v| v["topic"] == "tickers.BTCUSDT" && v["type"] == "delta")
            .await,
    );
    c.check(
        "ws-kline.json",
        &ws.until(|v| v["topic"] == "kline.5.BTCUSDT").await,
    );
    c.check(
        "rest-kline-response.json",
        &rest
            .get_public(
                "/v5/market/kline",
                "category=linear&symbol=BTCUSDT&interval=5",
            )
            .await
            .body,
    );
    ws.send(json!({"op": "ping"})).await;
    c.check(
        "ws-pong-public-linear.json",
        &ws.until(|v| v["op"] == "ping").await,
    );
    ws.send(json!({"req_id": "3", "op": "unsubscribe", "args": ["publicTrade.BTCUSDT"]}))
        .await;
    c.check(
        "ws-unsubscribe-response.json",
        &ws.until(|v| v["op"] == "unsubscribe").await,
    );
    ws.send(json!({"req_id": "dcp.future", "op": "subscribe", "args": ["dcp.future"]}))
        .await;
    c.check(
        "ws-subscribe-failure-handler-not-found.json",
        &ws.until(|v| v["op"] == "subscribe").await,
    );

    let mut sp = Ws::connect(&sim.public_spot_url()).await;
    sp.send(json!({"req_id": "10001", "op": "subscribe", "args": ["tickers.BTCUSDT"]}))
        .await;
    c.check(
        "ws-subscribe-response-public-spot.json",
        &sp.until(|v| v["op"] == "subscribe").await,
    );
    c.check(
        "ws-ticker-spot.json",
        &sp.until(|v| v["topic"] == "tickers.BTCUSDT").await,
    );
    sp.send(json!({"op": "ping"})).await;
    c.check(
        "ws-pong-public-spot.json",
        &sp.until(|v| v["op"] == "ping").await,
    );
    let args: Vec<String> = (0..11).map(|i| format!("tickers.X{i}")).collect();
    sp.send(json!({"op": "subscribe", "args": args})).await;
    c.check(
        "ws-subscribe-failure-args-size.json",
        &sp.until(|v| v["op"] == "subscribe").await,
    );

    // Private WS.
    let mut pv = Ws::connect(&sim.private_url()).await;
    pv.send(json!({"op": "auth", "args": [KEY, now_ms() - 1000, "00"]}))
        .await;
    c.check(
        "ws-private-auth-failure-params-error.json",
        &pv.until(|v| v["op"] == "auth").await,
    );
    c.check(
        "ws-private-auth-response-with-req-id.json",
        &pv.auth(KEY, SECRET).await,
    );
    pv.send(json!({"op": "subscribe", "args": ["order", "execution", "execution.fast", "position", "wallet"]})).await;
    c.check(
        "ws-subscribe-response-private.json",
        &pv.until(|v| v["op"] == "subscribe").await,
    );
    pv.send(json!({"req_id": "test", "op": "ping"})).await;
    c.check(
        "ws-pong-private.json",
        &pv.until(|v| v["op"] == "pong").await,
    );

    // Orders via REST.
    let (b, _) = top(&rest, "BTCUSDT").await;
    let price = px(b * 0.95, 0.1);
    let r = rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": price, "orderLinkId": "c-1"})).await;
    c.check("rest-create-order-response.json", &r.body);
    c.check(
        "rest-order-realtime-response.json",
        &rest
            .get("/v5/order/realtime", "category=linear&symbol=BTCUSDT")
            .await
            .body,
    );
    let r = rest.post("/v5/order/amend", &json!({"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "c-1", "qty": "0.002"})).await;
    c.check("rest-amend-order-response.json", &r.body);
    let r = rest
        .post(
            "/v5/order/cancel",
            &json!({"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "c-1"}),
        )
        .await;
    c.check("rest-cancel-order-response.json", &r.body);
    let items: Vec<Value> = (0..2).map(|i| json!({"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": price, "orderLinkId": format!("cb-{i}")})).collect();
    let r = rest
        .post(
            "/v5/order/create-batch",
            &json!({"category": "linear", "request": items}),
        )
        .await;
    c.check("rest-batch-create-response.json", &r.body);
    let r = rest.post("/v5/order/amend-batch", &json!({"category": "linear", "request": [{"symbol": "BTCUSDT", "orderLinkId": "cb-0", "qty": "0.002"}]})).await;
    c.check("rest-batch-amend-response.json", &r.body);
    let r = rest.post("/v5/order/cancel-batch", &json!({"category": "linear", "request": [{"symbol": "BTCUSDT", "orderLinkId": "cb-0"}, {"symbol": "BTCUSDT", "orderLinkId": "zz"}]})).await;
    c.check("rest-batch-cancel-response-partial-failure.json", &r.body);
    let r = rest
        .post(
            "/v5/order/cancel-all",
            &json!({"category": "linear", "symbol": "BTCUSDT"}),
        )
        .await;
    c.check("rest-cancel-all-response.json", &r.body);
    let (_, a) = top(&rest, "BTCUSDT").await;
    let r = rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": px(a * 1.01, 0.1), "timeInForce": "PostOnly"})).await;
    let id = r.body["result"]["orderId"].as_str().unwrap().to_string();
    c.check(
        "rest-order-history-postonly-cancelled.json",
        &rest
            .get(
                "/v5/order/history",
                &format!("category=linear&orderId={id}"),
            )
            .await
            .body,
    );

    // A fill: market order.
    let r = rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.010"})).await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let exec = pv.until(|v| v["topic"] == "execution").await;
    c.check("ws-execution.json", &exec);
    c.check("ws-execution-linear-xrp.json", &exec);
    c.check(
        "ws-order-option-filled.json",
        &pv.until(|v| v["topic"] == "order").await,
    );
    c.check(
        "ws-position-linear-long.json",
        &pv.until(|v| v["topic"] == "position").await,
    );
    c.check(
        "ws-wallet.json",
        &pv.until(|v| v["topic"] == "wallet").await,
    );
    c.check(
        "rest-execution-list-response.json",
        &rest.get("/v5/execution/list", "category=linear").await.body,
    );
    c.check(
        "rest-position-list-inverse-response.json",
        &rest
            .get("/v5/position/list", "category=linear&symbol=BTCUSDT")
            .await
            .body,
    );
    c.check(
        "rest-wallet-balance-response.json",
        &rest
            .get("/v5/account/wallet-balance", "accountType=UNIFIED")
            .await
            .body,
    );
    c.check("rest-trading-stop-response.json", &rest.post("/v5/position/trading-stop", &json!({"category": "linear", "symbol": "BTCUSDT", "tpslMode": "Full", "positionIdx": 0, "takeProfit": px(a * 2.0, 0.1)})).await.body);
    c.check(
        "rest-dcp-info-response.json",
        &rest.get("/v5/account/query-dcp-info", "").await.body,
    );
    let r = rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market", "qty": "0.010", "reduceOnly": true})).await;
    assert_eq!(r.code(), 0);
    // execution.fast has no id.
    let fast = pv.until(|v| v["topic"] == "execution.fast").await;
    c.check("ws-execution-fast.json", &fast);
    assert!(fast.get("id").is_none());
    c.check(
        "ws-position-linear-flat.json",
        &pv.until(|v| v["topic"] == "position" && v["data"][0]["size"] == "0")
            .await,
    );

    // Errors and plain envelopes.
    c.check("rest-error-10001-qty.json", &rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.0001", "price": price})).await.body);
    c.check("rest-error-110007.json", &rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "1000", "price": price})).await.body);
    c.check("rest-error-110017.json", &rest.post("/v5/order/create", &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": price, "reduceOnly": true})).await.body);
    let mut bad = Rest::new(&sim);
    bad.key = "x".into();
    c.check(
        "rest-error-10003.json",
        &bad.get("/v5/order/realtime", "category=linear").await.body,
    );
    let mut bad = Rest::new(&sim);
    bad.secret = "x".into();
    c.check(
        "rest-error-10004.json",
        &bad.get("/v5/order/realtime", "category=linear").await.body,
    );
    let mut bad = Rest::new(&sim);
    bad.ts_offset_ms = -100_000;
    c.check(
        "rest-error-10002.json",
        &bad.get("/v5/order/realtime", "category=linear").await.body,
    );
    c.check(
        "rest-error-10002-past.json",
        &bad.get("/v5/order/realtime", "category=linear").await.body,
    );
    let mut last = Value::Null;
    for _ in 0..=ORDER_PER_S {
        last = rest
            .post(
                "/v5/order/cancel-all",
                &json!({"category": "linear", "symbol": "ETHUSDT"}),
            )
            .await
            .body;
        if last["retCode"] == 10006 {
            break;
        }
    }
    c.check("rest-error-10006.json", &last);
    c.check("rest-envelope-ok.json", &rest.post("/v5/position/set-leverage", &json!({"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "10", "sellLeverage": "10"})).await.body);

    // Trade WS.
    let mut tw = Ws::connect(&sim.trade_url()).await;
    c.check("ws-trade-auth-response.json", &tw.auth(KEY, SECRET).await);
    tw.send(json!({"op": "ping"})).await;
    c.check("ws-trade-pong.json", &tw.until(|v| v["op"] == "pong").await);
    tw.send(json!({"reqId": "test-005", "header": {"X-BAPI-TIMESTAMP": now_ms().to_string(), "X-BAPI-RECV-WINDOW": "8000"}, "op": "order.create",
        "args": [{"symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.2", "price": "100", "category": "linear", "timeInForce": "PostOnly"}]})).await;
    c.check(
        "ws-trade-create-response.json",
        &tw.until(|v| v["op"] == "order.create").await,
    );
    tw.send(json!({"op": "order.create-batch", "header": {"X-BAPI-TIMESTAMP": now_ms().to_string()},
        "args": [{"category": "linear", "request": [{"symbol": "ETHUSDT", "qty": "0.1", "price": "100", "orderType": "Limit", "timeInForce": "GTC", "orderLinkId": "batch-000", "side": "Buy", "positionIdx": 1}]}]})).await;
    c.check(
        "ws-trade-create-batch-response.json",
        &tw.until(|v| v["op"] == "order.create-batch").await,
    );

    eprintln!("checked {} samples", c.checked);
    assert!(c.checked >= 50, "only {} samples checked", c.checked);
    assert!(c.errors.is_empty(), "mismatches:\n{}", c.errors.join("\n"));
    sim.shutdown().await;
}
