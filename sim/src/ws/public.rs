//! Public streams: subscribe/unsubscribe with Bybit's reply shapes, ping/pong, one forwarder
//! task per subscribed topic (snapshot first, then messages with a greater `u`; a lagging
//! subscriber gets a fresh snapshot).

use super::{req_id, send, spawn_writer};
use crate::config::Category;
use crate::engine::{PublicMsg, Utf8Bytes};
use crate::state::{Shared, TopicKind};
use axum::extract::ws::WebSocket;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// Serve one public connection.
pub async fn run(sock: WebSocket, shared: Arc<Shared>, cat: Category) {
    let conn_id = shared.conn_id();
    let (mut stream, tx) = spawn_writer(sock);
    let mut subs: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut kill = shared.ws_kill.subscribe();
    while let Some(msg) =
        super::next_or_killed(&mut stream, &mut kill, crate::state::WS_PUBLIC).await
    {
        let Ok(v) = msg else {
            send(
                &tx,
                json!({"success": false, "ret_msg": "error:request not json", "conn_id": conn_id, "op": ""}),
            )
            .await;
            continue;
        };
        let op = v.get("op").and_then(Value::as_str).unwrap_or("");
        let rid = req_id(&v);
        match op {
            "ping" => {
                let mut r =
                    json!({"success": true, "ret_msg": "pong", "conn_id": conn_id, "op": "ping"});
                if cat == Category::Linear {
                    r["req_id"] = json!(rid.clone().unwrap_or_default());
                } else if let Some(id) = &rid {
                    r["req_id"] = json!(id);
                }
                send(&tx, r).await;
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
                let mut fail: Option<String> = None;
                if cat == Category::Spot && args.len() > 10 {
                    fail = Some("args size >10".into());
                } else if args.is_empty() {
                    fail = Some("error:args is empty".into());
                }
                let mut to_start = Vec::new();
                if fail.is_none() {
                    for t in &args {
                        if op == "unsubscribe" {
                            match subs.remove(t) {
                                Some(h) => h.abort(),
                                None => {
                                    fail.get_or_insert(format!("error:not subscribed,topic:{t}"));
                                }
                            }
                            continue;
                        }
                        match shared.topics.get(&(cat, t.clone())) {
                            None => {
                                fail.get_or_insert(format!("error:handler not found,topic:{t}"));
                            }
                            Some(_) if subs.contains_key(t) => {
                                fail.get_or_insert(format!("error:already subscribed,topic:{t}"));
                            }
                            Some(&(mi, kind)) => to_start.push((t.clone(), mi, kind)),
                        }
                    }
                }
                let ok = fail.is_none();
                let ret_msg = match (&fail, cat) {
                    (Some(m), _) => m.clone(),
                    (None, Category::Spot) => op.to_string(),
                    (None, Category::Linear) => String::new(),
                };
                let mut r = json!({"success": ok, "ret_msg": ret_msg, "conn_id": conn_id});
                if cat == Category::Linear {
                    r["req_id"] = json!(rid.clone().unwrap_or_default());
                } else if let Some(id) = &rid {
                    r["req_id"] = json!(id);
                }
                r["op"] = json!(op);
                tokio::time::sleep(shared.ws_ack_delay).await;
                send(&tx, r).await;
                for (t, mi, kind) in to_start {
                    let h = tokio::spawn(forward(shared.clone(), mi, kind, tx.clone()));
                    subs.insert(t, h);
                }
            }
            _ => {
                send(
                    &tx,
                    json!({"success": false, "ret_msg": format!("error:handler not found,op:{op}"), "conn_id": conn_id, "op": op}),
                )
                .await;
            }
        }
    }
    for (_, h) in subs {
        h.abort();
    }
}

fn snapshot(shared: &Shared, mi: usize, kind: TopicKind) -> Option<PublicMsg> {
    let mut e = shared.engine();
    match kind {
        TopicKind::Book(k) => Some(e.book_snapshot(mi, k)),
        TopicKind::Ticker => Some(e.ticker_snapshot(mi)),
        TopicKind::Kline(i) => Some(e.kline_snapshot(mi, i)),
        TopicKind::Trade => None,
    }
}

async fn forward(shared: Arc<Shared>, mi: usize, kind: TopicKind, tx: mpsc::Sender<Utf8Bytes>) {
    let sender: broadcast::Sender<PublicMsg> = {
        let e = shared.engine();
        let t = &e.markets[mi].topics;
        match kind {
            TopicKind::Book(k) => t.books[k].clone(),
            TopicKind::Trade => t.trade.clone(),
            TopicKind::Ticker => t.ticker.clone(),
            TopicKind::Kline(_) => t.kline.clone(),
        }
    };
    let mut rx = sender.subscribe();
    drop(sender);
    let mut last_u = 0;
    if let Some(s) = snapshot(&shared, mi, kind) {
        last_u = s.u;
        if tx.send(s.text).await.is_err() {
            return;
        }
    }
    loop {
        match rx.recv().await {
            Ok(m) => {
                match kind {
                    TopicKind::Trade => {}
                    TopicKind::Kline(i) if m.u != i as u64 => continue,
                    TopicKind::Kline(_) => {}
                    _ if m.u <= last_u => continue,
                    _ => {}
                }
                last_u = m.u;
                if shared
                    .public_stale
                    .load(std::sync::atomic::Ordering::Relaxed)
                {
                    continue;
                }
                if tx.send(m.text).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if let Some(s) = snapshot(&shared, mi, kind) {
                    last_u = s.u;
                    if tx.send(s.text).await.is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
