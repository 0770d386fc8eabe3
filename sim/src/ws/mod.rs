//! WebSockets: public (`/v5/public/{linear,spot}`), private (`/v5/private`), trade
//! (`/v5/trade`). One task owns each socket's writer; everything else sends through a bounded
//! channel.

pub mod private;
pub mod public;
pub mod trade;

use crate::engine::Utf8Bytes;
use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;

/// Queue depth of a connection's writer.
pub const OUT_CAPACITY: usize = 8192;

/// Split a socket: returns the reader and a sender feeding a writer task.
pub fn spawn_writer(sock: WebSocket) -> (SplitStream<WebSocket>, mpsc::Sender<Utf8Bytes>) {
    let (mut sink, stream) = sock.split();
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(OUT_CAPACITY);
    tokio::spawn(async move {
        // Feed everything already queued, then flush once: one write for a burst.
        'outer: while let Some(t) = rx.recv().await {
            if sink.feed(Message::Text(t)).await.is_err() {
                break;
            }
            // Let the other tasks woken by the same burst (one forwarder per topic) queue
            // their messages first; otherwise this task, woken by the first of them, would
            // run next and write each message on its own.
            tokio::task::yield_now().await;
            let mut n = 0;
            while n < 256 {
                match rx.try_recv() {
                    Ok(t) => {
                        if sink.feed(Message::Text(t)).await.is_err() {
                            break 'outer;
                        }
                        n += 1;
                    }
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    (stream, tx)
}

/// Next text frame as JSON; `None` when the socket is closed. Non-JSON text gives
/// `Some(Err(text))`.
pub async fn next_json(stream: &mut SplitStream<WebSocket>) -> Option<Result<Value, String>> {
    loop {
        match stream.next().await? {
            Ok(Message::Text(t)) => {
                return Some(serde_json::from_str::<Value>(t.as_str()).map_err(|_| t.to_string()));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Next JSON message, or `None` when the socket closed or a fault closes this kind.
pub async fn next_or_killed(
    stream: &mut SplitStream<WebSocket>,
    kill: &mut tokio::sync::watch::Receiver<(u64, u8)>,
    my_kind: u8,
) -> Option<Result<Value, String>> {
    loop {
        tokio::select! {
            m = next_json(stream) => return m,
            r = kill.changed() => {
                if r.is_err() || kill.borrow_and_update().1 & my_kind != 0 {
                    return None;
                }
            }
        }
    }
}

/// Send a JSON value.
pub async fn send(tx: &mpsc::Sender<Utf8Bytes>, v: Value) {
    let _ = tx.send(v.to_string().into()).await;
}

/// `req_id` of a request as a string, if present.
pub fn req_id(v: &Value) -> Option<String> {
    match v.get("req_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}
