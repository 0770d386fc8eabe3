//! REST over loopback: signed order lifecycle, auth failures, rate limits, PostOnly, batches.

mod common;

use common::*;
use serde_json::json;
use sim::{LimitConfig, SimConfig};

#[tokio::test]
async fn public_endpoints_answer_in_bybit_shapes() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let t = rest.get_public("/v5/market/time", "").await;
    assert_eq!(t.code(), 0);
    assert!(t.body["result"]["timeSecond"].is_string());
    let i = rest
        .get_public(
            "/v5/market/instruments-info",
            "category=linear&symbol=BTCUSDT",
        )
        .await;
    assert_eq!(
        i.body["result"]["list"][0]["priceFilter"]["tickSize"],
        "0.10"
    );
    assert_eq!(
        i.body["result"]["list"][0]["lotSizeFilter"]["qtyStep"],
        "0.001"
    );
    let all = rest
        .get_public("/v5/market/instruments-info", "category=linear")
        .await;
    assert_eq!(all.body["result"]["list"].as_array().unwrap().len(), 3);
    let (b, a) = top(&rest, "BTCUSDT").await;
    assert!(b < a);
    let bad = rest
        .get_public("/v5/market/orderbook", "category=linear&symbol=NOPE")
        .await;
    assert_eq!(bad.code(), 10001);
    let missing = rest.get_public("/v5/nothing/here", "").await;
    assert_eq!(missing.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn signed_order_lifecycle() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let (b, _) = top(&rest, "BTCUSDT").await;
    let price = px(b * 0.98, 0.1);
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                    "qty": "0.010", "price": price, "timeInForce": "GTC", "orderLinkId": "life-1"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let id = r.body["result"]["orderId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(r.header("x-bapi-limit").as_deref(), Some("10"));
    assert_eq!(r.header("x-bapi-limit-status").as_deref(), Some("9"));
    assert!(r.header("x-bapi-limit-reset-timestamp").is_some());

    // Duplicate orderLinkId.
    let dup = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                    "qty": "0.010", "price": price, "orderLinkId": "life-1"}),
        )
        .await;
    assert_eq!(dup.code(), 110072);

    let open = rest
        .get("/v5/order/realtime", "category=linear&symbol=BTCUSDT")
        .await;
    assert_eq!(open.code(), 0);
    assert_eq!(open.body["result"]["list"][0]["orderId"], id.as_str());
    assert_eq!(open.body["result"]["list"][0]["orderStatus"], "New");

    let new_price = px(b * 0.97, 0.1);
    let am = rest
        .post(
            "/v5/order/amend",
            &json!({"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "life-1", "price": new_price, "qty": "0.020"}),
        )
        .await;
    assert_eq!(am.code(), 0, "{}", am.body);
    let open = sim.open_orders(KEY);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].qty_lots, 20);

    let c = rest
        .post(
            "/v5/order/cancel",
            &json!({"category": "linear", "symbol": "BTCUSDT", "orderId": id}),
        )
        .await;
    assert_eq!(c.code(), 0);
    assert!(sim.open_orders(KEY).is_empty());
    let again = rest
        .post(
            "/v5/order/cancel",
            &json!({"category": "linear", "symbol": "BTCUSDT", "orderId": id}),
        )
        .await;
    assert_eq!(again.code(), 110001);
    let hist = rest
        .get("/v5/order/history", "category=linear&symbol=BTCUSDT")
        .await;
    assert_eq!(hist.body["result"]["list"][0]["orderStatus"], "Cancelled");
    assert_eq!(hist.body["result"]["list"][0]["cancelType"], "CancelByUser");

    // Validation codes.
    let cases = [
        (json!({"qty": "0.0105", "price": price}), 10001),
        (json!({"qty": "0.0001", "price": price}), 10001),
        (json!({"qty": "0.010", "price": "100.05"}), 10001),
        (json!({"qty": "0.001", "price": "1000.0"}), 110094),
        (json!({"qty": "1000", "price": price}), 110007),
    ];
    for (extra, code) in cases {
        let mut body =
            json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = rest.post("/v5/order/create", &body).await;
        assert_eq!(r.code(), code, "{body} -> {}", r.body);
    }
    let ro = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit",
                    "qty": "0.010", "price": price, "reduceOnly": true}),
        )
        .await;
    assert_eq!(ro.code(), 110017);
    let reqs = sim.requests(KEY);
    assert!(
        reqs.iter()
            .any(|r| r.path == "/v5/order/amend" && r.ret_code == 0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_failures_use_bybit_codes() {
    let sim = start().await;
    let mut rest = Rest::new(&sim);
    rest.key = "nope".into();
    let r = rest.get("/v5/order/realtime", "category=linear").await;
    assert_eq!(r.code(), 10003);
    assert_eq!(r.body["retMsg"], "API key is invalid.");

    let mut rest = Rest::new(&sim);
    rest.secret = "wrong".into();
    let r = rest.get("/v5/order/realtime", "category=linear").await;
    assert_eq!(r.code(), 10004);
    assert!(
        r.body["retMsg"]
            .as_str()
            .unwrap()
            .starts_with("error sign!")
    );

    let mut rest = Rest::new(&sim);
    rest.ts_offset_ms = -60_000;
    let r = rest.get("/v5/order/realtime", "category=linear").await;
    assert_eq!(r.code(), 10002);
    assert!(
        r.body["retMsg"]
            .as_str()
            .unwrap()
            .contains("recv_window[5000]")
    );
    rest.ts_offset_ms = 2_000;
    let r = rest.get("/v5/order/realtime", "category=linear").await;
    assert_eq!(r.code(), 10002);
    rest.ts_offset_ms = 0;
    assert_eq!(
        rest.get("/v5/order/realtime", "category=linear")
            .await
            .code(),
        0
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_10006_with_headers_and_batch_counting() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let (b, _) = top(&rest, "ETHUSDT").await;
    let price = px(b * 0.9, 0.01);
    let mut codes = Vec::new();
    for i in 0..12 {
        let r = rest
            .post(
                "/v5/order/create",
                &json!({"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit",
                        "qty": "0.01", "price": price, "orderLinkId": format!("rl-{i}")}),
            )
            .await;
        codes.push(r.code());
        if r.code() == 10006 {
            assert_eq!(r.body["retMsg"], "Too many visits");
            assert_eq!(r.header("x-bapi-limit-status").as_deref(), Some("0"));
            let reset: i64 = r
                .header("x-bapi-limit-reset-timestamp")
                .unwrap()
                .parse()
                .unwrap();
            assert!(reset > now_ms() - 1000);
        }
    }
    assert!(codes.iter().filter(|c| **c == 0).count() <= 10);
    assert!(codes.contains(&10006));
    assert!(sim.rate_limit_rejections(KEY) >= 1);

    // Batch: 8 items against the fresh budget of 10 of `create-batch` (limits are per
    // endpoint), then 5 more: 2 fit, 3 fail per item.
    let items: Vec<_> = (0..8)
        .map(|i| json!({"symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": price, "orderLinkId": format!("b1-{i}")}))
        .collect();
    let r = rest
        .post(
            "/v5/order/create-batch",
            &json!({"category": "linear", "request": items}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    assert_eq!(r.body["retExtInfo"]["list"].as_array().unwrap().len(), 8);
    let items: Vec<_> = (0..5)
        .map(|i| json!({"symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": price, "orderLinkId": format!("b2-{i}")}))
        .collect();
    let r = rest
        .post(
            "/v5/order/create-batch",
            &json!({"category": "linear", "request": items}),
        )
        .await;
    let ext: Vec<i64> = r.body["retExtInfo"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_i64().unwrap())
        .collect();
    assert_eq!(ext, vec![0, 0, 10006, 10006, 10006]);
    assert_eq!(r.body["result"]["list"][2]["orderId"], "");

    // Batch cancel with one unknown id: partial failure.
    let r = rest
        .post(
            "/v5/order/cancel-batch",
            &json!({"category": "linear", "request": [
                {"symbol": "ETHUSDT", "orderLinkId": "b1-0"},
                {"symbol": "ETHUSDT", "orderLinkId": "missing"}
            ]}),
        )
        .await;
    let ext = &r.body["retExtInfo"]["list"];
    assert_eq!(ext[0]["code"], 0);
    assert_eq!(ext[1]["code"], 110001);
    // Cancel-all.
    let r = rest
        .post(
            "/v5/order/cancel-all",
            &json!({"category": "linear", "symbol": "ETHUSDT"}),
        )
        .await;
    assert_eq!(r.code(), 0);
    assert_eq!(r.body["result"]["success"], "1");
    assert!(sim.open_orders(KEY).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn per_ip_limit_answers_http_403() {
    let cfg = SimConfig {
        limits: LimitConfig {
            ip_per_5s: 5,
            ..LimitConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = start_with(cfg).await;
    let rest = Rest::new(&sim);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(rest.get_public("/v5/market/time", "").await.status);
    }
    assert_eq!(&statuses[..5], &[200; 5]);
    assert_eq!(statuses[6], 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn postonly_crossing_is_created_then_cancelled() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let (_, a) = top(&rest, "BTCUSDT").await;
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                    "qty": "0.001", "price": px(a * 1.01, 0.1), "timeInForce": "PostOnly"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let id = r.body["result"]["orderId"].as_str().unwrap().to_string();
    let h = rest
        .get(
            "/v5/order/history",
            &format!("category=linear&orderId={id}"),
        )
        .await;
    let row = &h.body["result"]["list"][0];
    assert_eq!(row["orderStatus"], "Cancelled");
    assert_eq!(row["rejectReason"], "EC_PostOnlyWillTakeLiquidity");
    assert_eq!(row["cumExecQty"], "0.000");
    assert!(sim.fills(KEY).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn market_order_fills_and_updates_position_and_wallet() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "SOLUSDT", "side": "Buy", "orderType": "Market", "qty": "1.0"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    let fills = sim.fills(KEY);
    assert!(!fills.is_empty());
    let qty: rust_decimal::Decimal = fills.iter().map(|f| f.qty).sum();
    assert_eq!(qty, rust_decimal::Decimal::ONE);
    assert!(fills.iter().all(|f| !f.is_maker));
    let pos = sim.position(KEY, "SOLUSDT");
    assert_eq!(pos.size, rust_decimal::Decimal::ONE);
    let w = sim.wallet(KEY).unwrap();
    assert!(w.usdt < rust_decimal::Decimal::from(100_000)); // taker fee paid
    let p = rest
        .get("/v5/position/list", "category=linear&symbol=SOLUSDT")
        .await;
    assert_eq!(p.body["result"]["list"][0]["side"], "Buy");
    assert_eq!(p.body["result"]["list"][0]["size"], "1");
    let ex = rest.get("/v5/execution/list", "category=linear").await;
    assert_eq!(ex.body["result"]["list"][0]["execType"], "Trade");
    let wb = rest
        .get("/v5/account/wallet-balance", "accountType=UNIFIED")
        .await;
    assert_eq!(wb.body["result"]["list"][0]["accountType"], "UNIFIED");
    let ts = rest
        .post(
            "/v5/position/trading-stop",
            &json!({"category": "linear", "symbol": "SOLUSDT", "tpslMode": "Full", "positionIdx": 0, "stopLoss": "10"}),
        )
        .await;
    assert_eq!(ts.code(), 0, "{}", ts.body);
    // Reduce-only close.
    let r = rest
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "SOLUSDT", "side": "Sell", "orderType": "Market", "qty": "5", "reduceOnly": true}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.body);
    assert!(sim.position(KEY, "SOLUSDT").size.is_zero());
    sim.shutdown().await;
}

#[tokio::test]
async fn resting_orders_fill_from_market_flow() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    let (b, a) = top(&rest, "BTCUSDT").await;
    for (side, p) in [("Buy", b), ("Sell", a)] {
        let r = rest
            .post(
                "/v5/order/create",
                &json!({"category": "linear", "symbol": "BTCUSDT", "side": side, "orderType": "Limit",
                        "qty": "0.001", "price": px(p, 0.1), "timeInForce": "PostOnly"}),
            )
            .await;
        assert_eq!(r.code(), 0);
    }
    let filled = sim
        .wait_until(std::time::Duration::from_secs(20), |s| {
            !s.fills(KEY).is_empty()
        })
        .await;
    assert!(filled, "a quote at the touch gets filled by the flow");
    assert!(sim.fills(KEY).iter().all(|f| f.is_maker));
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_errors_not_crashes() {
    // Many bad orders in a row: lift the per-second limit rather than pace the requests.
    let cfg = SimConfig {
        limits: LimitConfig {
            order_per_s: 1000,
            ..LimitConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = start_with(cfg).await;
    let rest = Rest::new(&sim);
    let raw = |body: &str| {
        let ts = now_ms().to_string();
        let sig = hmac_hex(SECRET, &format!("{ts}{KEY}5000{body}"));
        reqwest::Client::new()
            .post(format!("{}/v5/order/create", sim.rest_url()))
            .header("X-BAPI-API-KEY", KEY)
            .header("X-BAPI-TIMESTAMP", ts)
            .header("X-BAPI-RECV-WINDOW", "5000")
            .header("X-BAPI-SIGN", sig)
            .body(body.to_string())
            .send()
    };
    let r: serde_json::Value = raw("{not json").await.unwrap().json().await.unwrap();
    assert_eq!(r["retCode"], 10001);
    let r: serde_json::Value = raw("[1,2]").await.unwrap().json().await.unwrap();
    assert_eq!(r["retCode"], 10001);
    let cases = [
        json!({}),
        json!({"category": "nope"}),
        json!({"category": "linear", "symbol": 5}),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Up", "orderType": "Limit", "qty": "1", "price": "1"}),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": ["1"], "price": "1"}),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "79228162514264337593543950335", "price": "0.1"}),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "79228162514264337593543950335"}),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "-1", "price": "100"}),
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "100", "orderLinkId": "has space"}),
    ];
    for body in cases {
        let r = rest.post("/v5/order/create", &body).await;
        assert_eq!(r.code(), 10001, "{body} -> {}", r.body);
    }
    let items: Vec<_> = (0..21)
        .map(|_| json!({"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "100"}))
        .collect();
    let r = rest
        .post(
            "/v5/order/create-batch",
            &json!({"category": "linear", "request": items}),
        )
        .await;
    assert_eq!(r.code(), 10001);
    let r = rest.get("/v5/order/realtime", "").await;
    assert_eq!(r.code(), 10001);
    // Still alive.
    assert_eq!(rest.get_public("/v5/market/time", "").await.code(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn open_orders_paginate_with_cursor() {
    let cfg = SimConfig {
        limits: LimitConfig {
            order_per_s: 100,
            ..LimitConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = start_with(cfg).await;
    let rest = Rest::new(&sim);
    let (b, _) = top(&rest, "ETHUSDT").await;
    let price = px(b * 0.8, 0.01);
    for batch in 0..3 {
        let items: Vec<_> = (0..20)
            .map(|i| json!({"symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": price, "orderLinkId": format!("pg-{batch}-{i}")}))
            .collect();
        let r = rest
            .post(
                "/v5/order/create-batch",
                &json!({"category": "linear", "request": items}),
            )
            .await;
        assert_eq!(r.code(), 0);
    }
    assert_eq!(sim.open_orders(KEY).len(), 60);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let q = if cursor.is_empty() {
            "category=linear&symbol=ETHUSDT&limit=50".to_string()
        } else {
            format!("category=linear&symbol=ETHUSDT&limit=50&cursor={cursor}")
        };
        let r = rest.get("/v5/order/realtime", &q).await;
        for o in r.body["result"]["list"].as_array().unwrap() {
            assert!(seen.insert(o["orderId"].as_str().unwrap().to_string()));
        }
        cursor = r.body["result"]["nextPageCursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 60);
    sim.shutdown().await;
}
