//! Fault injection through `POST /sim/fault`.

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;

async fn fault(sim: &sim::SimHandle, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/fault", sim.rest_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn rest_failures_and_order_rejections() {
    let sim = start().await;
    let rest = Rest::new(&sim);
    fault(&sim, json!({"fail_next": 2, "fail_code": 10016})).await;
    assert_eq!(rest.get_public("/v5/market/time", "").await.code(), 10016);
    assert_eq!(
        rest.get("/v5/order/realtime", "category=linear")
            .await
            .code(),
        10016
    );
    assert_eq!(rest.get_public("/v5/market/time", "").await.code(), 0);
    fault(&sim, json!({"fail_next": 1, "fail_code": 503})).await;
    assert_eq!(rest.get_public("/v5/market/time", "").await.status, 503);
    fault(&sim, json!({"reject_orders": 1, "reject_code": 110007})).await;
    let body = json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "1000.0", "timeInForce": "GTC"});
    assert_eq!(rest.post("/v5/order/create", &body).await.code(), 110007);
    let mut ok = body.clone();
    ok["qty"] = json!("0.010");
    assert_eq!(rest.post("/v5/order/create", &ok).await.code(), 0);
    // Clock skew makes a correct client's timestamp look stale.
    fault(&sim, json!({"clock_skew_ms": 120000})).await;
    assert_eq!(
        rest.get("/v5/order/realtime", "category=linear")
            .await
            .code(),
        10002
    );
    fault(&sim, json!({"clock_skew_ms": 0})).await;
    assert_eq!(
        rest.get("/v5/order/realtime", "category=linear")
            .await
            .code(),
        0
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ws_close_gap_and_stale() {
    let sim = start().await;
    let mut ws = Ws::connect(&sim.public_linear_url()).await;
    ws.send(json!({"op": "subscribe", "args": ["orderbook.50.ETHUSDT"]}))
        .await;
    ws.until(|v| v["op"] == "subscribe").await;
    let snap = ws.until(|v| v["type"] == "snapshot").await;
    let mut u = snap["data"]["u"].as_u64().unwrap();
    let d = ws.next().await;
    assert_eq!(d["data"]["u"].as_u64().unwrap(), u + 1);
    u += 1;
    fault(&sim, json!({"skip_seq": 1})).await;
    let mut gap = false;
    for _ in 0..50 {
        let d = ws.next().await;
        let du = d["data"]["u"].as_u64().unwrap();
        if du != u + 1 {
            assert_eq!(du, u + 2);
            gap = true;
            break;
        }
        u = du;
    }
    assert!(gap, "a sequence gap was injected");

    fault(&sim, json!({"stale_public": true})).await;
    // Drain what was queued before the fault, then expect silence.
    let quiet = async {
        loop {
            match tokio::time::timeout(Duration::from_millis(400), ws.s.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(_))) => continue,
                Ok(_) => return false,
            }
        }
    };
    assert!(
        tokio::time::timeout(WAIT, quiet).await.unwrap(),
        "stream went silent"
    );
    fault(&sim, json!({"stale_public": false})).await;
    ws.next().await;

    fault(&sim, json!({"close_ws": "public"})).await;
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.s.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection closed by the fault");
    sim.shutdown().await;
}
