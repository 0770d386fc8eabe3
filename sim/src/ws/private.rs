//! Private stream: `auth` (signature of `"GET/realtime" + expires`), then topics `order`,
//! `execution`, `execution.fast`, `position`, `wallet`, `dcp.*`.

use super::{req_id, send, spawn_writer};
use crate::auth;
use crate::state::Shared;
use axum::extract::ws::WebSocket;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

const TOPICS: [&str; 8] = [
    "order",
    "execution",
    "execution.fast",
    "position",
    "wallet",
    "dcp.future",
    "dcp.spot",
    "dcp.option",
];

/// Check auth args `[api_key, expires, signature]`; returns the account index.
pub fn check_auth(shared: &Shared, v: &Value) -> Result<usize, &'static str> {
    let args = v
        .get("args")
        .and_then(Value::as_array)
        .ok_or("Params Error")?;
    let key = args.first().and_then(Value::as_str).ok_or("Params Error")?;
    // Bybit accepts expires as a number or a numeric string (inferred from SDKs).
    let expires = args
        .get(1)
        .and_then(|e| e.as_i64().or_else(|| e.as_str()?.parse().ok()))
        .ok_or("Params Error")?;
    let sig = args.get(2).and_then(Value::as_str).ok_or("Params Error")?;
    let (acct, secret) = shared.keys.get(key).ok_or("Params Error")?;
    if expires <= shared.now_ms() {
        return Err("Params Error");
    }
    if !auth::signatures_match(&auth::ws_signature(secret, expires), sig) {
        return Err("Params Error");
    }
    Ok(*acct)
}

/// Serve one private connection.
pub async fn run(sock: WebSocket, shared: Arc<Shared>) {
    let conn_id = shared.conn_id();
    let (mut stream, tx) = spawn_writer(sock);
    let topics: Arc<Mutex<HashSet<&'static str>>> = Arc::default();
    let mut forwarder: Option<JoinHandle<()>> = None;
    let mut authed: Option<usize> = None;
    let mut dcp: Vec<(usize, crate::config::Category)> = Vec::new();
    let mut kill = shared.ws_kill.subscribe();
    while let Some(msg) =
        super::next_or_killed(&mut stream, &mut kill, crate::state::WS_PRIVATE).await
    {
        let Ok(v) = msg else {
            send(&tx, json!({"success": false, "ret_msg": "error:request not json", "conn_id": conn_id, "op": ""})).await;
            continue;
        };
        let op = v
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let rid = req_id(&v);
        let with_req = |mut r: Value| {
            if let Some(id) = &rid {
                r["req_id"] = json!(id);
            }
            r
        };
        match op.as_str() {
            "ping" => {
                let now = shared.now_ms();
                send(
                    &tx,
                    with_req(json!({"op": "pong", "args": [now.to_string()], "conn_id": conn_id})),
                )
                .await;
            }
            "auth" => {
                let refused = shared
                    .private_refused
                    .load(std::sync::atomic::Ordering::Relaxed);
                let res = if authed.is_some() {
                    Err("Repeat auth")
                } else if refused {
                    Err("Params Error")
                } else {
                    check_auth(&shared, &v)
                };
                match res {
                    Ok(acct) => {
                        authed = Some(acct);
                        let mut rx = shared.engine().private_tx[acct].subscribe();
                        let txc = tx.clone();
                        let tp = topics.clone();
                        let sh = shared.clone();
                        forwarder = Some(tokio::spawn(async move {
                            loop {
                                match rx.recv().await {
                                    Ok(m) => {
                                        let stale = sh
                                            .private_stale
                                            .load(std::sync::atomic::Ordering::Relaxed);
                                        let want = !stale
                                            && tp
                                                .lock()
                                                .map(|t| t.contains(m.topic))
                                                .unwrap_or(false);
                                        if want && txc.send(m.text).await.is_err() {
                                            return;
                                        }
                                    }
                                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                        continue;
                                    }
                                    Err(_) => return,
                                }
                            }
                        }));
                        send(&tx, with_req(json!({"success": true, "ret_msg": "", "op": "auth", "conn_id": conn_id}))).await;
                    }
                    Err(m) => {
                        send(&tx, with_req(json!({"success": false, "ret_msg": m, "op": "auth", "conn_id": conn_id}))).await;
                    }
                }
            }
            "subscribe" | "unsubscribe" => {
                let args: Vec<String> = v
                    .get("args")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut fail = None;
                if authed.is_none() {
                    // **UNCERTAIN** verbatim text (reference §4.1); nautilus mentions this one.
                    fail = Some("Request not authorized".to_string());
                } else {
                    let mut set = topics.lock().unwrap_or_else(|e| e.into_inner());
                    for a in &args {
                        match TOPICS.iter().find(|t| **t == a.as_str()) {
                            Some(t) if op == "subscribe" => {
                                let cat = match *t {
                                    "dcp.future" => Some(crate::config::Category::Linear),
                                    "dcp.spot" => Some(crate::config::Category::Spot),
                                    _ => None,
                                };
                                if let (Some(c), Some(a)) = (cat, authed)
                                    && set.insert(t)
                                {
                                    shared.dcp_attach(a, c);
                                    dcp.push((a, c));
                                } else {
                                    set.insert(t);
                                }
                            }
                            Some(t) => {
                                set.remove(t);
                            }
                            None => {
                                fail.get_or_insert(format!("error:handler not found,topic:{a}"));
                            }
                        }
                    }
                }
                let ok = fail.is_none();
                tokio::time::sleep(shared.ws_ack_delay).await;
                send(&tx, with_req(json!({"success": ok, "ret_msg": fail.unwrap_or_default(), "op": op, "conn_id": conn_id}))).await;
            }
            _ => {
                send(&tx, with_req(json!({"success": false, "ret_msg": format!("error:handler not found,op:{op}"), "op": op, "conn_id": conn_id}))).await;
            }
        }
    }
    if let Some(h) = forwarder {
        h.abort();
    }
    for (a, c) in dcp {
        shared.dcp_detach(a, c);
    }
}
