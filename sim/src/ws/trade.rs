//! Order entry over WebSocket (`/v5/trade`): auth, `order.create/amend/cancel` and the batch
//! variants, with Bybit's request/response shapes; shares the account's rate limits.

use super::private::check_auth;
use super::{send, spawn_writer};
use crate::auth;
use crate::engine::ApiError;
use crate::rest::trade::{BatchOp, amend_one, batch, cancel_one, create_one};
use crate::state::Shared;
use axum::extract::ws::WebSocket;
use serde_json::{Value, json};
use std::sync::Arc;

fn rest_path(op: &str) -> Option<&'static str> {
    Some(match op {
        "order.create" => "/v5/order/create",
        "order.amend" => "/v5/order/amend",
        "order.cancel" => "/v5/order/cancel",
        "order.create-batch" => "/v5/order/create-batch",
        "order.amend-batch" => "/v5/order/amend-batch",
        "order.cancel-batch" => "/v5/order/cancel-batch",
        _ => return None,
    })
}

/// Serve one trade connection.
pub async fn run(sock: WebSocket, shared: Arc<Shared>) {
    let conn_id = shared.conn_id();
    let (mut stream, tx) = spawn_writer(sock);
    let mut authed: Option<usize> = None;
    let mut kill = shared.ws_kill.subscribe();
    while let Some(msg) =
        super::next_or_killed(&mut stream, &mut kill, crate::state::WS_TRADE).await
    {
        let Ok(v) = msg else {
            send(&tx, json!({"retCode": 10001, "retMsg": "Request parameter error.", "op": "", "connId": conn_id})).await;
            continue;
        };
        let op = v
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let req_id = v.get("reqId").cloned();
        match op.as_str() {
            "ping" => {
                let now = shared.now_ms();
                send(&tx, json!({"retCode": 0, "retMsg": "OK", "op": "pong", "data": [now.to_string()], "connId": conn_id})).await;
            }
            "auth" => {
                let r = if authed.is_some() {
                    json!({"retCode": 20001, "retMsg": "Repeat auth", "op": "auth", "connId": conn_id})
                } else {
                    match check_auth(&shared, &v) {
                        Ok(a) => {
                            authed = Some(a);
                            json!({"retCode": 0, "retMsg": "OK", "op": "auth", "connId": conn_id})
                        }
                        Err(_) => {
                            json!({"retCode": 10004, "retMsg": "Invalid sign", "op": "auth", "connId": conn_id})
                        }
                    }
                };
                send(&tx, r).await;
            }
            _ => {
                let reply = order_op(&shared, authed, &op, &v, &conn_id);
                let mut reply = reply;
                if let Some(id) = &req_id {
                    reply["reqId"] = id.clone();
                }
                let (tx, delay) = (tx.clone(), shared.ws_ack_delay);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    send(&tx, reply).await;
                });
            }
        }
    }
}

fn order_op(shared: &Shared, authed: Option<usize>, op: &str, v: &Value, conn_id: &str) -> Value {
    let now = shared.now_ms();
    let Some(path) = rest_path(op) else {
        return json!({"retCode": 10404, "retMsg": format!("op {op} not supported"), "op": op, "data": {}, "connId": conn_id});
    };
    let Some(acct) = authed else {
        return json!({"retCode": 10003, "retMsg": "Request not authorized", "op": op, "data": {}, "connId": conn_id});
    };
    let err = |e: ApiError, hdr: Value| json!({"retCode": e.code, "retMsg": e.msg, "op": op, "data": {}, "retExtInfo": {}, "header": hdr, "connId": conn_id});
    let h = v.get("header").cloned().unwrap_or(json!({}));
    // pybit sends X-BAPI-TIMESTAMP as a number, others as a string: accept both.
    let num = |k: &str| {
        h.get(k)
            .and_then(|x| x.as_i64().or_else(|| x.as_str()?.parse().ok()))
    };
    let ts = num("X-BAPI-TIMESTAMP");
    let rw = num("X-BAPI-RECV-WINDOW").unwrap_or(auth::DEFAULT_RECV_WINDOW_MS);
    match ts {
        Some(ts) if auth::timestamp_ok(now, ts, rw) => {}
        _ => {
            return err(
                ApiError::new(
                    10002,
                    format!(
                        "invalid request, please check your server timestamp or recv_window param. req_timestamp[{}],server_timestamp[{now}],recv_window[{rw}]",
                        ts.unwrap_or(0)
                    ),
                ),
                json!({}),
            );
        }
    }
    let Some(arg) = v
        .get("args")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    else {
        return err(ApiError::param("Request parameter error."), json!({}));
    };
    let units = arg
        .get("request")
        .and_then(Value::as_array)
        .map(|a| a.len().max(1) as u32)
        .unwrap_or(1);
    let key = shared.engine().accounts[acct].api_key.clone();
    let st = shared.limiter().take(
        &format!("{key}:{path}"),
        shared.limits.order_per_s,
        1000,
        now,
        units,
    );
    let hdr = json!({
        "X-Bapi-Limit": st.limit.to_string(),
        "X-Bapi-Limit-Status": st.remaining.to_string(),
        "X-Bapi-Limit-Reset-Timestamp": st.reset_ms.to_string(),
        "Traceid": format!("{:032x}", now as u128 * 7919),
        "Timenow": now.to_string(),
    });
    if st.granted < units {
        shared.record().rejected(&key, (units - st.granted) as u64);
    }
    if st.granted == 0 {
        return err(ApiError::new(10006, "Too many visits"), hdr);
    }
    let res = {
        let mut e = shared.engine();
        match op {
            "order.create" => crate::engine::matching::parse_category(arg)
                .and_then(|c| create_one(&mut e, acct, arg, c)),
            "order.amend" => amend_one(&mut e, acct, arg),
            "order.cancel" => cancel_one(&mut e, acct, arg),
            "order.create-batch" => batch(&mut e, acct, arg, BatchOp::Create, st.granted),
            "order.amend-batch" => batch(&mut e, acct, arg, BatchOp::Amend, st.granted),
            _ => batch(&mut e, acct, arg, BatchOp::Cancel, st.granted),
        }
    };
    let code = res.as_ref().err().map(|e| e.code).unwrap_or(0);
    shared.record().push(
        &key,
        crate::record::RequestRecord {
            time_ms: now,
            method: "WS".into(),
            path: op.to_string(),
            query: String::new(),
            body: v.to_string(),
            ret_code: code,
            http_status: 101,
        },
    );
    match res {
        Ok((data, ext)) => {
            json!({"retCode": 0, "retMsg": "OK", "op": op, "data": data, "retExtInfo": ext, "header": hdr, "connId": conn_id})
        }
        Err(e) => err(e, hdr),
    }
}
