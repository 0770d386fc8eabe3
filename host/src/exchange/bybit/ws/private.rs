//! The private WebSocket stream (one per process): authenticate, subscribe `order`,
//! `execution`, `position`, `wallet`, ping, reconnect; typed events on a bounded channel.
//!
//! After every [`PrivateStreamEvent::Connected`] the consumer must reconcile orders and
//! positions over REST: pushes sent while the stream was down are lost.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tracing::{info, warn};

use super::Backoff;
use super::public::{WsError, subscribe_requests};
use crate::exchange::bybit::messages::{
    BybitExecutionMsg, BybitOrderMsg, BybitPositionMsg, BybitPrivateMsg, BybitWalletMsg,
};
use crate::exchange::bybit::parse::{BybitPrivateEvent, parse_private};
use crate::exchange::bybit::sign::Credentials;

/// Settings of the private stream.
#[derive(Clone, Debug)]
pub struct PrivateStreamConfig {
    /// `wss://stream.bybit.com/v5/private` or the simulator's URL.
    pub url: String,
    /// Key and secret.
    pub credentials: Credentials,
    /// Topics (default `order`, `execution`, `position`, `wallet`).
    pub topics: Vec<String>,
    /// How far ahead the auth `expires` lies.
    pub auth_expiry: Duration,
    /// Give up on an auth or first reply after this long.
    pub auth_timeout: Duration,
    /// Interval of the application ping.
    pub ping_interval: Duration,
    /// Reconnect after this long without any frame (pongs count).
    pub idle_timeout: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// Capacity of the event channel.
    pub channel_capacity: usize,
}

impl PrivateStreamConfig {
    /// Defaults: the four topics, ping every 20 s, expires 10 s ahead.
    pub fn new(url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            url: url.into(),
            credentials,
            topics: ["order", "execution", "position", "wallet"]
                .map(String::from)
                .to_vec(),
            auth_expiry: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            channel_capacity: 1024,
        }
    }
}

/// What the private stream reports.
#[derive(Clone, Debug, PartialEq)]
pub enum PrivateStreamEvent {
    /// Authenticated and subscribed: reconcile over REST before trusting local state.
    Connected,
    /// The connection dropped.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// `order` rows.
    Order(BybitPrivateMsg<BybitOrderMsg>),
    /// `execution` / `execution.fast` rows.
    Execution(BybitPrivateMsg<BybitExecutionMsg>),
    /// `position` rows.
    Position(BybitPrivateMsg<BybitPositionMsg>),
    /// `wallet` rows.
    Wallet(BybitPrivateMsg<BybitWalletMsg>),
}

/// Cheap-to-clone handle of a running [`PrivateStreamTask`].
#[derive(Clone, Debug)]
pub struct PrivateStreamHandle {
    shutdown: mpsc::Sender<()>,
}

impl PrivateStreamHandle {
    /// Stop the task (it closes the socket).
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(()).await;
    }
}

/// Owns the private socket.
pub struct PrivateStreamTask {
    config: PrivateStreamConfig,
    events: mpsc::Sender<PrivateStreamEvent>,
    shutdown: mpsc::Receiver<()>,
}

enum Exit {
    Shutdown,
    Reconnect(String),
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl PrivateStreamTask {
    /// Spawn the task. Returns its handle, the event receiver and the join handle.
    pub fn spawn(
        config: PrivateStreamConfig,
    ) -> (
        PrivateStreamHandle,
        mpsc::Receiver<PrivateStreamEvent>,
        JoinHandle<()>,
    ) {
        let (event_tx, event_rx) = mpsc::channel(config.channel_capacity.max(1));
        let (stop_tx, stop_rx) = mpsc::channel(1);
        let task = Self {
            config,
            events: event_tx,
            shutdown: stop_rx,
        };
        let join = tokio::spawn(task.run());
        (PrivateStreamHandle { shutdown: stop_tx }, event_rx, join)
    }

    async fn run(mut self) {
        let mut backoff = Backoff::new(self.config.backoff_initial, self.config.backoff_max);
        loop {
            let reason = match self.session(&mut backoff).await {
                Ok(Exit::Shutdown) => return,
                Ok(Exit::Reconnect(reason)) => reason,
                Err(err) => err.to_string(),
            };
            let event = PrivateStreamEvent::Disconnected {
                reason: reason.clone(),
            };
            if self.events.send(event).await.is_err() {
                return;
            }
            let delay = backoff.next_delay();
            warn!(url = %self.config.url, %reason, delay_ms = delay.as_millis() as u64, "private stream lost, reconnecting");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.recv() => return,
            }
        }
    }

    async fn session(&mut self, backoff: &mut Backoff) -> Result<Exit, WsError> {
        let (mut ws, _) = crate::exchange::bybit::tls::connect_ws(&self.config.url).await?;
        let expires_ms = now_ms() + self.config.auth_expiry.as_millis() as i64;
        ws.send(Message::text(
            self.config.credentials.ws_auth_request(expires_ms),
        ))
        .await?;
        // Wait for the auth reply before subscribing.
        loop {
            let frame = tokio::time::timeout(self.config.auth_timeout, ws.next())
                .await
                .map_err(|_| WsError::Lost("no auth reply"))?
                .ok_or(WsError::Lost("closed during auth"))??;
            let Message::Text(text) = frame else { continue };
            if let BybitPrivateEvent::Control(c) = parse_private(text.as_str())?
                && c.op.as_deref() == Some("auth")
            {
                if !c.is_success() {
                    return Err(WsError::AuthRefused(c.message().to_owned()));
                }
                break;
            }
        }
        let requests = subscribe_requests("subscribe", &self.config.topics, 10)?;
        for req in &requests {
            ws.send(Message::text(req.as_str())).await?;
        }
        // Report Connected only once every subscription is active, so a reconciliation the
        // consumer starts then cannot miss a push.
        let mut acks = 0;
        while acks < requests.len() {
            let frame = tokio::time::timeout(self.config.auth_timeout, ws.next())
                .await
                .map_err(|_| WsError::Lost("no subscribe reply"))?
                .ok_or(WsError::Lost("closed during subscribe"))??;
            let Message::Text(text) = frame else { continue };
            if let BybitPrivateEvent::Control(c) = parse_private(text.as_str())?
                && c.op.as_deref() == Some("subscribe")
            {
                if !c.is_success() {
                    return Err(WsError::SubscribeRefused(c.message().to_owned()));
                }
                acks += 1;
            }
        }
        info!(url = %self.config.url, "private stream authenticated and subscribed");
        backoff.reset();
        if self
            .events
            .send(PrivateStreamEvent::Connected)
            .await
            .is_err()
        {
            return Ok(Exit::Shutdown);
        }
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.tick().await;
        loop {
            tokio::select! {
                frame = tokio::time::timeout(self.config.idle_timeout, ws.next()) => {
                    let frame = match frame {
                        Err(_) => return Ok(Exit::Reconnect("no frame within idle timeout".into())),
                        Ok(None) => return Ok(Exit::Reconnect("closed by server".into())),
                        Ok(Some(frame)) => frame?,
                    };
                    let text = match &frame {
                        Message::Text(text) => text.as_str(),
                        Message::Close(_) => return Ok(Exit::Reconnect("close frame".into())),
                        _ => continue,
                    };
                    let event = match parse_private(text) {
                        Ok(BybitPrivateEvent::Order(m)) => PrivateStreamEvent::Order(m),
                        Ok(BybitPrivateEvent::Execution(m)) => PrivateStreamEvent::Execution(m),
                        Ok(BybitPrivateEvent::Position(m)) => PrivateStreamEvent::Position(m),
                        Ok(BybitPrivateEvent::Wallet(m)) => PrivateStreamEvent::Wallet(m),
                        Ok(BybitPrivateEvent::Control(c)) => {
                            if !c.is_pong() && !c.is_success() {
                                return Err(WsError::SubscribeRefused(c.message().to_owned()));
                            }
                            continue;
                        }
                        Ok(BybitPrivateEvent::Other(_)) => continue,
                        Err(err) => {
                            // A lost private push means unknown state: reconnect and reconcile.
                            warn!(url = %self.config.url, error = %err, "unparsable private frame, reconnecting");
                            return Ok(Exit::Reconnect(err.to_string()));
                        }
                    };
                    if self.events.send(event).await.is_err() {
                        return Ok(Exit::Shutdown);
                    }
                }
                _ = ping.tick() => {
                    ws.send(Message::text(r#"{"op":"ping"}"#)).await?;
                }
                _ = self.shutdown.recv() => {
                    let _ = ws.close(None).await;
                    return Ok(Exit::Shutdown);
                }
            }
        }
    }
}
