//! The trade WebSocket (`/v5/trade`, one per process): authenticate like the private stream,
//! send `order.*` ops each with a unique `reqId`, match replies to requests, ping, reconnect.
//!
//! Outcomes, as the order router needs them:
//! - a reply → `Ok(reply)` (its `retCode` may still be a business error);
//! - refused before anything was written (not connected, task stopped) → an error for which
//!   [`TradeError::outcome_unknown`] is false: nothing reached the exchange;
//! - written, then the connection dropped or no reply came in time → an error for which
//!   [`TradeError::outcome_unknown`] is true: the order may have been executed. Such a request
//!   is never resent; the caller reconciles.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::text::{json_plain, put_i64, put_u64};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use super::Backoff;
use super::public::WsError;
use crate::exchange::bybit::messages::BybitTradeReply;
use crate::exchange::bybit::parse::parse_trade_reply;
use crate::exchange::bybit::sign::Credentials;

/// Settings of the trade stream.
#[derive(Clone, Debug)]
pub struct TradeStreamConfig {
    /// `wss://stream.bybit.com/v5/trade` or the simulator's URL.
    pub url: String,
    /// Key and secret.
    pub credentials: Credentials,
    /// `X-BAPI-RECV-WINDOW` of every request, ms.
    pub recv_window_ms: u64,
    /// A request unanswered this long has an unknown outcome.
    pub request_timeout: Duration,
    /// How far ahead the auth `expires` lies.
    pub auth_expiry: Duration,
    /// Give up on a connect or auth reply after this long.
    pub auth_timeout: Duration,
    /// Interval of the application ping.
    pub ping_interval: Duration,
    /// Reconnect after this long without any frame (pongs count).
    pub idle_timeout: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// Capacity of the command channel.
    pub command_capacity: usize,
}

impl TradeStreamConfig {
    /// Defaults: 5 s receive window and request timeout, ping every 20 s.
    pub fn new(url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            url: url.into(),
            credentials,
            recv_window_ms: 5_000,
            request_timeout: Duration::from_secs(5),
            auth_expiry: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            command_capacity: 1024,
        }
    }
}

/// Why a trade request got no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TradeError {
    /// The stream is (re)connecting; nothing was sent.
    #[error("trade stream not connected")]
    NotConnected,
    /// The stream task is gone; nothing was sent.
    #[error("trade stream stopped")]
    Stopped,
    /// The connection dropped after the request was written: it may have been executed.
    #[error("trade connection lost before the reply")]
    Lost,
    /// No reply in time: the request may have been executed.
    #[error("no trade reply within {0:?}")]
    Timeout(Duration),
}

impl TradeError {
    /// The request may have reached the exchange: reconcile, never resend blindly.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Lost | Self::Timeout(_))
    }
}

type Reply = oneshot::Sender<Result<BybitTradeReply, TradeError>>;

/// Messages into the [`TradeStreamTask`].
#[derive(Debug)]
pub enum TradeCommand {
    /// Write `frame` (carrying `req_id`) and answer on `reply`.
    Request {
        /// The frame's `reqId`.
        req_id: String,
        /// The whole request frame.
        frame: String,
        /// Where the reply goes.
        reply: Reply,
    },
    /// Close the socket and stop.
    Shutdown,
}

/// A trade request built by [`TradeStreamHandle::start_with`], queued (or waiting for room in
/// the queue), whose reply is still to come.
#[derive(Debug)]
pub struct PendingRequest {
    /// The command when the queue was full at the start.
    unsent: Option<TradeCommand>,
    commands: mpsc::Sender<TradeCommand>,
    rx: oneshot::Receiver<Result<BybitTradeReply, TradeError>>,
    timeout: Duration,
}

impl PendingRequest {
    /// Queue the request if it is not yet, then wait for its reply (at most the handle's
    /// request timeout).
    pub async fn reply(self) -> Result<BybitTradeReply, TradeError> {
        if let Some(command) = self.unsent {
            self.commands
                .send(command)
                .await
                .map_err(|_| TradeError::Stopped)?;
        }
        match tokio::time::timeout(self.timeout, self.rx).await {
            Err(_) => Err(TradeError::Timeout(self.timeout)),
            // The task dropped the request: only after writing it (it answers otherwise).
            Ok(Err(_)) => Err(TradeError::Lost),
            Ok(Ok(reply)) => reply,
        }
    }
}

/// The connection state the task publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TradeLink {
    /// Connecting or authenticating.
    Connecting,
    /// Authenticated: requests are sent.
    Up,
    /// Lost, waiting to reconnect.
    Down {
        /// Why.
        reason: String,
    },
}

/// Cheap-to-clone handle of a running [`TradeStreamTask`].
#[derive(Clone, Debug)]
pub struct TradeStreamHandle {
    commands: mpsc::Sender<TradeCommand>,
    link: watch::Receiver<TradeLink>,
    ids: Arc<ReqIds>,
    recv_window_ms: u64,
    request_timeout: Duration,
}

#[derive(Debug)]
struct ReqIds {
    prefix: String,
    next: AtomicU64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn base36(n: u64) -> String {
    let mut out = String::new();
    push_base36(&mut out, n);
    out
}

/// Append `n` in base 36 (lower case), without allocating beyond `out`.
fn push_base36(out: &mut String, mut n: u64) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    // u64::MAX has 13 base-36 digits.
    let mut buf = [0u8; 13];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = DIGITS[(n % 36) as usize];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    // Masked to 7 bits (the digits are ASCII): the compiler sees one-byte characters.
    out.extend(buf[at..].iter().map(|&b| char::from(b & 0x7f)));
}

/// The `reqId` of request `n` of a connection whose ids start with `prefix`: `prefix-n` with
/// `n` in base 36.
pub fn trade_req_id(prefix: &str, n: u64) -> String {
    let mut out = String::with_capacity(prefix.len() + 14);
    out.push_str(prefix);
    out.push('-');
    push_base36(&mut out, n);
    out
}

/// A trade request frame: `{reqId, header{X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW}, op, args}`
/// with header values as strings (Bybit's docs; pybit sends numbers, both are accepted).
pub fn trade_request(
    req_id: &str,
    timestamp_ms: i64,
    recv_window_ms: u64,
    op: &str,
    arg: &serde_json::Value,
) -> String {
    trade_frame(req_id, timestamp_ms, recv_window_ms, op, &arg.to_string())
}

/// [`trade_request`] with the argument already JSON text (`arg_json`, e.g. the REST body the
/// router writes), written straight out: the order hot path builds no `serde_json::Value`.
pub fn trade_frame(
    req_id: &str,
    timestamp_ms: i64,
    recv_window_ms: u64,
    op: &str,
    arg_json: &str,
) -> String {
    trade_frame_with(req_id, timestamp_ms, recv_window_ms, op, |out| {
        out.extend_from_slice(arg_json.as_bytes())
    })
}

/// [`trade_frame`] with the argument written in place by `write_arg` (one JSON object, UTF-8),
/// so the body goes straight into the frame's buffer. The frame is checked as UTF-8 once,
/// whole, when it becomes a `String`.
pub fn trade_frame_with(
    req_id: &str,
    timestamp_ms: i64,
    recv_window_ms: u64,
    op: &str,
    write_arg: impl FnOnce(&mut Vec<u8>),
) -> String {
    // Room for a batch of eight or so amends: a regrowth costs more than the spare bytes (the
    // number writers copy fixed 24- or 32-byte heads, so they want that much spare room too).
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"reqId\":");
    json_str(&mut out, req_id);
    out.extend_from_slice(b",\"header\":{\"X-BAPI-TIMESTAMP\":\"");
    put_i64(&mut out, timestamp_ms);
    out.extend_from_slice(b"\",\"X-BAPI-RECV-WINDOW\":\"");
    put_u64(&mut out, recv_window_ms);
    out.extend_from_slice(b"\"},\"op\":");
    json_str(&mut out, op);
    out.extend_from_slice(b",\"args\":[");
    write_arg(&mut out);
    out.extend_from_slice(b"]}");
    crate::router::io::utf8(out)
}

/// `s` as a JSON string literal.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if json_plain(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(serde_json::Value::from(s).to_string().as_bytes());
    }
}

impl TradeStreamHandle {
    /// Send `op` (`order.create`, `order.amend-batch`, ...) with the single argument `arg`
    /// (the REST body of the same operation) and wait for its reply.
    pub async fn request(
        &self,
        op: &str,
        arg: &serde_json::Value,
    ) -> Result<BybitTradeReply, TradeError> {
        self.request_text(op, &arg.to_string()).await
    }

    /// [`Self::request`] with the argument as JSON text (`arg_json`, one object).
    pub async fn request_text(
        &self,
        op: &str,
        arg_json: &str,
    ) -> Result<BybitTradeReply, TradeError> {
        self.request_with(op, |out| out.extend_from_slice(arg_json.as_bytes()))
            .await
    }

    /// [`Self::request`] with the argument written into the frame by `write_arg` (one JSON
    /// object, UTF-8; the router writes the REST body there).
    pub async fn request_with(
        &self,
        op: &str,
        write_arg: impl FnOnce(&mut Vec<u8>),
    ) -> Result<BybitTradeReply, TradeError> {
        self.start_with(op, write_arg)?.reply().await
    }

    /// The first half of [`Self::request_with`], run at once: the frame is built and, unless
    /// the task's queue is full, queued for the socket before this returns (no task of the
    /// caller's needs to run first). [`PendingRequest::reply`] does the rest.
    pub fn start_with(
        &self,
        op: &str,
        write_arg: impl FnOnce(&mut Vec<u8>),
    ) -> Result<PendingRequest, TradeError> {
        if *self.link.borrow() != TradeLink::Up {
            return Err(TradeError::NotConnected);
        }
        // Unique for the life of the process (Bybit answers 20006 to a repeated reqId).
        let n = self.ids.next.fetch_add(1, Ordering::Relaxed);
        let req_id = trade_req_id(&self.ids.prefix, n);
        let frame = trade_frame_with(&req_id, now_ms(), self.recv_window_ms, op, write_arg);
        let (tx, rx) = oneshot::channel();
        let command = TradeCommand::Request {
            req_id,
            frame,
            reply: tx,
        };
        let unsent = match self.commands.try_send(command) {
            Ok(()) => None,
            // A full queue: the command waits in the pending request and is sent from there.
            Err(mpsc::error::TrySendError::Full(command)) => Some(command),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(TradeError::Stopped),
        };
        Ok(PendingRequest {
            unsent,
            commands: self.commands.clone(),
            rx,
            timeout: self.request_timeout,
        })
    }

    /// The current connection state.
    pub fn link(&self) -> TradeLink {
        self.link.borrow().clone()
    }

    /// Wait until authenticated, at most `timeout`; the last state otherwise.
    pub async fn wait_up(&self, timeout: Duration) -> Result<(), TradeLink> {
        self.wait_link(timeout, |l| *l == TradeLink::Up)
            .await
            .map(|_| ())
    }

    /// Wait until the connection state satisfies `f`, at most `timeout`; the last state
    /// otherwise.
    pub async fn wait_link(
        &self,
        timeout: Duration,
        f: impl Fn(&TradeLink) -> bool,
    ) -> Result<TradeLink, TradeLink> {
        let mut link = self.link.clone();
        match tokio::time::timeout(timeout, link.wait_for(|l| f(l))).await {
            Ok(Ok(l)) => Ok(l.clone()),
            Ok(Err(_)) => Err(TradeLink::Down {
                reason: "trade stream stopped".into(),
            }),
            Err(_) => Err(self.link()),
        }
    }

    /// Stop the task (pending requests end as [`TradeError::Lost`]).
    pub async fn shutdown(&self) {
        let _ = self.commands.send(TradeCommand::Shutdown).await;
    }
}

/// Owns the trade socket.
pub struct TradeStreamTask {
    config: TradeStreamConfig,
    commands: mpsc::Receiver<TradeCommand>,
    link: watch::Sender<TradeLink>,
}

enum Exit {
    Shutdown,
    Reconnect(String),
}

impl TradeStreamTask {
    /// Spawn the task. It runs until [`TradeStreamHandle::shutdown`] or until every handle is
    /// dropped.
    pub fn spawn(config: TradeStreamConfig) -> (TradeStreamHandle, JoinHandle<()>) {
        let (command_tx, command_rx) = mpsc::channel(config.command_capacity.max(1));
        let (link_tx, link_rx) = watch::channel(TradeLink::Connecting);
        let handle = TradeStreamHandle {
            commands: command_tx,
            link: link_rx,
            ids: Arc::new(ReqIds {
                prefix: base36(now_ms() as u64),
                next: AtomicU64::new(1),
            }),
            recv_window_ms: config.recv_window_ms,
            request_timeout: config.request_timeout,
        };
        let task = Self {
            config,
            commands: command_rx,
            link: link_tx,
        };
        (handle, tokio::spawn(task.run()))
    }

    async fn run(mut self) {
        let mut backoff = Backoff::new(self.config.backoff_initial, self.config.backoff_max);
        loop {
            self.link.send_replace(TradeLink::Connecting);
            let mut pending: HashMap<String, Reply> = HashMap::new();
            let exit = self.session(&mut backoff, &mut pending).await;
            // Written but unanswered: the exchange may have executed them.
            for (_, reply) in pending.drain() {
                let _ = reply.send(Err(TradeError::Lost));
            }
            let reason = match exit {
                Ok(Exit::Shutdown) => {
                    self.link.send_replace(TradeLink::Down {
                        reason: "stopped".into(),
                    });
                    return;
                }
                Ok(Exit::Reconnect(reason)) => reason,
                Err(err) => err.to_string(),
            };
            self.link.send_replace(TradeLink::Down {
                reason: reason.clone(),
            });
            let delay = backoff.next_delay();
            warn!(url = %self.config.url, %reason, delay_ms = delay.as_millis() as u64, "trade stream lost, reconnecting");
            // Refuse requests while down: nothing is written, so the outcome is known.
            let wake = tokio::time::sleep(delay);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    _ = &mut wake => break,
                    cmd = self.commands.recv() => match cmd {
                        None | Some(TradeCommand::Shutdown) => return,
                        Some(TradeCommand::Request { reply, .. }) => {
                            let _ = reply.send(Err(TradeError::NotConnected));
                        }
                    },
                }
            }
        }
    }

    async fn session(
        &mut self,
        backoff: &mut Backoff,
        pending: &mut HashMap<String, Reply>,
    ) -> Result<Exit, WsError> {
        let timeout = self.config.auth_timeout;
        let (mut ws, _) = tokio::time::timeout(
            timeout,
            crate::exchange::bybit::tls::connect_ws(&self.config.url),
        )
        .await
        .map_err(|_| WsError::Lost("connect timed out"))??;
        let expires_ms = now_ms() + self.config.auth_expiry.as_millis() as i64;
        ws.send(Message::text(
            self.config.credentials.ws_auth_request(expires_ms),
        ))
        .await?;
        loop {
            let frame = tokio::time::timeout(timeout, ws.next())
                .await
                .map_err(|_| WsError::Lost("no auth reply"))?
                .ok_or(WsError::Lost("closed during auth"))??;
            let Message::Text(text) = frame else { continue };
            if let Ok(r) = parse_trade_reply(text.as_str())
                && r.op == "auth"
            {
                if r.ret_code != 0 {
                    return Err(WsError::AuthRefused(r.ret_msg));
                }
                break;
            }
        }
        info!(url = %self.config.url, "trade stream authenticated");
        backoff.reset();
        self.link.send_replace(TradeLink::Up);

        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.tick().await;
        let idle = self.config.idle_timeout;
        let mut last_frame = Instant::now();
        loop {
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None | Some(TradeCommand::Shutdown) => {
                        let _ = ws.close(None).await;
                        return Ok(Exit::Shutdown);
                    }
                    Some(TradeCommand::Request { req_id, frame, reply }) => {
                        if reply.is_closed() {
                            continue; // the caller gave up before it was written
                        }
                        // Pending from before the write: a write that fails part-way leaves
                        // the outcome unknown.
                        pending.insert(req_id, reply);
                        ws.send(Message::text(frame)).await?;
                    }
                },
                frame = ws.next() => {
                    let frame = match frame {
                        None => return Ok(Exit::Reconnect("closed by server".into())),
                        Some(frame) => frame?,
                    };
                    last_frame = Instant::now();
                    let text = match &frame {
                        Message::Text(text) => text.as_str(),
                        Message::Close(_) => return Ok(Exit::Reconnect("close frame".into())),
                        _ => continue,
                    };
                    match parse_trade_reply(text) {
                        Ok(r) if r.op == "pong" => {}
                        Ok(r) => match r.req_id.as_deref().and_then(|id| pending.remove(id)) {
                            Some(reply) => {
                                let _ = reply.send(Ok(r));
                            }
                            None => {
                                warn!(op = %r.op, code = r.ret_code, msg = %r.ret_msg, req_id = ?r.req_id, "trade reply matches no pending request");
                            }
                        },
                        Err(err) => warn!(error = %err, "unparsable trade frame"),
                    }
                }
                _ = tokio::time::sleep_until(last_frame + idle) => {
                    return Ok(Exit::Reconnect("no frame within idle timeout".into()));
                }
                _ = ping.tick() => {
                    ws.send(Message::text(r#"{"op":"ping"}"#)).await?;
                    // Callers that timed out no longer wait for their replies.
                    pending.retain(|_, reply| !reply.is_closed());
                    debug!(pending = pending.len(), "trade ping");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handle whose command queue (of `capacity`) the test reads, link up while the
    /// returned sender lives.
    fn test_handle(
        capacity: usize,
    ) -> (
        TradeStreamHandle,
        mpsc::Receiver<TradeCommand>,
        watch::Sender<TradeLink>,
    ) {
        let (commands, rx) = mpsc::channel(capacity);
        let (link_tx, link) = watch::channel(TradeLink::Up);
        let handle = TradeStreamHandle {
            commands,
            link,
            ids: Arc::new(ReqIds {
                prefix: "t".into(),
                next: AtomicU64::new(1),
            }),
            recv_window_ms: 5_000,
            request_timeout: Duration::from_secs(5),
        };
        (handle, rx, link_tx)
    }

    fn queued_frame(rx: &mut mpsc::Receiver<TradeCommand>) -> Option<(String, String)> {
        match rx.try_recv().ok()? {
            TradeCommand::Request { req_id, frame, .. } => Some((req_id, frame)),
            TradeCommand::Shutdown => None,
        }
    }

    /// `start_with` queues the frame before anything is polled; when the queue is full the
    /// pending request queues it when awaited, and the reply reaches it either way.
    #[tokio::test]
    async fn start_with_queues_the_frame_at_once() {
        let (handle, mut rx, _link) = test_handle(1);
        let first = handle
            .start_with("order.amend", |out| out.extend_from_slice(b"{\"a\":1}"))
            .unwrap();
        let (req_id, frame) = queued_frame(&mut rx).expect("queued without a poll");
        assert!(
            frame.contains(&format!("\"reqId\":\"{req_id}\"")),
            "{frame}"
        );
        assert!(frame.contains("\"args\":[{\"a\":1}]"), "{frame}");
        drop(first);
        // Fill the queue, then start another: it waits in the pending request.
        let _filler = handle.start_with("order.amend", |out| out.extend_from_slice(b"{}"));
        let waiting = handle
            .start_with("order.cancel", |out| out.extend_from_slice(b"{\"b\":2}"))
            .unwrap();
        assert!(waiting.unsent.is_some());
        let answer = tokio::spawn(waiting.reply());
        assert!(queued_frame(&mut rx).is_some(), "the filler");
        let command = rx.recv().await.expect("queued by reply()");
        let TradeCommand::Request { frame, reply, .. } = command else {
            panic!("a request");
        };
        assert!(frame.contains("\"op\":\"order.cancel\""), "{frame}");
        reply.send(Err(TradeError::NotConnected)).unwrap();
        assert!(matches!(
            answer.await.unwrap(),
            Err(TradeError::NotConnected)
        ));
    }

    #[test]
    fn request_frame_has_bybit_shape() {
        let arg = serde_json::json!({"category": "linear", "symbol": "BTCUSDT"});
        let frame = trade_request("k1-3", 1_711_001_595_207, 5_000, "order.cancel", &arg);
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "reqId": "k1-3",
                "header": {"X-BAPI-TIMESTAMP": "1711001595207", "X-BAPI-RECV-WINDOW": "5000"},
                "op": "order.cancel",
                "args": [{"category": "linear", "symbol": "BTCUSDT"}],
            })
        );
    }

    #[test]
    fn frame_text_escapes_strings_and_embeds_the_body() {
        let body = r#"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"q-1"}"#;
        let frame = trade_frame("a\"b\\c", 7, 5_000, "order.amend", body);
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["reqId"], "a\"b\\c");
        assert_eq!(v["op"], "order.amend");
        assert_eq!(v["header"]["X-BAPI-TIMESTAMP"], "7");
        assert_eq!(
            v["args"][0],
            serde_json::from_str::<serde_json::Value>(body).unwrap()
        );
    }

    /// The frame as the `String` writer built it before the byte buffer.
    fn reference_frame(req_id: &str, ts: i64, rw: u64, op: &str, arg: &str) -> String {
        let json = |s: &str| serde_json::Value::from(s).to_string();
        format!(
            "{{\"reqId\":{},\"header\":{{\"X-BAPI-TIMESTAMP\":\"{ts}\",\"X-BAPI-RECV-WINDOW\":\"{rw}\"}},\"op\":{},\"args\":[{arg}]}}",
            json(req_id),
            json(op)
        )
    }

    proptest::proptest! {
        #[test]
        fn frames_are_the_bytes_of_the_string_writer(
            req_id in "(.{0,24}|[a-z0-9]{1,13}-[a-z0-9]{1,13})",
            ts in proptest::prelude::any::<i64>(),
            rw in proptest::prelude::any::<u64>(),
            op in "(order\\.[a-z-]{1,12}|.{0,12})",
            arg in "\\{.{0,40}\\}",
        ) {
            proptest::prop_assert_eq!(
                trade_frame(&req_id, ts, rw, &op, &arg),
                reference_frame(&req_id, ts, rw, &op, &arg)
            );
        }

        #[test]
        fn req_ids_are_prefix_dash_base36(n in proptest::prelude::any::<u64>()) {
            let id = trade_req_id("lu0u6893", n);
            let (prefix, digits) = id.split_once('-').unwrap();
            proptest::prop_assert_eq!(prefix, "lu0u6893");
            proptest::prop_assert_eq!(u64::from_str_radix(digits, 36).ok(), Some(n));
            proptest::prop_assert!(!digits.bytes().any(|b| b.is_ascii_uppercase()));
            proptest::prop_assert!(digits == "0" || !digits.starts_with('0'));
        }
    }

    #[test]
    fn req_ids_are_short_and_distinct() {
        for (n, want) in [
            (0, "0"),
            (35, "z"),
            (36, "10"),
            (1_711_001_595_207, "lu0u6893"),
        ] {
            assert_eq!(base36(n), want);
        }
        assert_eq!(base36(u64::MAX), "3w5e11264sgsf");
        assert_eq!(trade_req_id("lu0u6893", 36), "lu0u6893-10");
        // process prefix (ms since the epoch) + counter stays well under Bybit's 36 chars.
        assert!(trade_req_id(&base36(i64::MAX as u64), u64::MAX).len() <= 36);
    }

    #[test]
    fn only_written_requests_have_unknown_outcomes() {
        assert!(!TradeError::NotConnected.outcome_unknown());
        assert!(!TradeError::Stopped.outcome_unknown());
        assert!(TradeError::Lost.outcome_unknown());
        assert!(TradeError::Timeout(Duration::from_secs(1)).outcome_unknown());
    }
}
