//! The strategy runtime: one loop task owning every symbol's state.
//!
//! Stream tasks and REST request tasks feed one bounded channel of [`LoopEvent`]s. Each round
//! the loop drains what is queued (books are applied message by message, so the latest state
//! wins), then quotes each dirty symbol once, diffs its ladder against its working orders, and
//! sends the lowest stage of every symbol's actions within the shared rate budget
//! ([`crate::router::batch::plan_requests`]). Request tasks report back as
//! [`LoopEvent::Sent`]; the diff runs again after the acks. A strategy error pulls that
//! symbol's quotes only.

pub mod apply;
pub mod control;
pub mod fills;
pub mod latency;
pub mod plan_key;
pub mod probe;
mod protection;
pub mod rest;
pub mod setup;
mod shutdown;
pub mod streams;
pub mod symbol;
pub mod sync;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::config::{DisconnectConfig, KillConfig};
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::exchange::bybit::ws::{PrivateStreamEvent, PublicStreamEvent};
use crate::model::Side;
use crate::model::{Category, LinkIdGen, OrderLinkId};
use crate::risk::{self, AccountGuard, KillAction, KillTrigger};
use crate::router::batch::{
    BatchConfig, CancelOrder, DeferReason, Deferred, OrderRequest, SymbolActions, plan_requests,
    record_sent,
};
use crate::router::diff::{Action, DiffOutcome};
use crate::router::io::{self, OrderSender, SendOutcome};
use crate::router::ratelimit::{KIND_AMEND, KIND_CANCEL, KIND_CREATE, RateLimiter};
use crate::router::state::{AckOutcome, OrderUpdate};
pub use apply::{ReloadBatch, ReloadReport};
pub use control::{Control, SymbolSnapshot};
pub use probe::{Probe, ProbeEvent};
use rest::{PositionState, find_open_order, order_update};
pub use streams::{PublicConn, PublicUrls};
pub use symbol::{SymbolSetup, SymbolState};

/// Errors of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A REST call failed.
    #[error(transparent)]
    Rest(#[from] RestError),
    /// The exchange does not list the instrument, or its rules are unusable.
    #[error("instrument {0} not available")]
    NoInstrument(String),
    /// Orders of ours were still open on the exchange when the shutdown deadline passed.
    #[error("{0} order(s) still open after the shutdown deadline")]
    OrdersLeftOpen(usize),
}

/// Events into the runtime loop.
#[derive(Debug)]
pub enum LoopEvent {
    /// From public connection `conn`.
    Public(usize, PublicStreamEvent),
    /// From the private stream.
    Private(PrivateStreamEvent),
    /// A request task finished.
    Sent(SendOutcome),
    /// A configuration or module reload, prepared off the loop.
    Reload(Box<ReloadBatch>),
    /// A symbol's open orders and position, read after a private reconnect.
    Synced {
        /// Symbol.
        symbol: Arc<str>,
        /// What the exchange showed.
        result: Result<sync::SyncResult, String>,
    },
    /// A snapshot of every symbol is asked for.
    Snapshot(tokio::sync::oneshot::Sender<Vec<SymbolSnapshot>>),
    /// A reconciliation query finished.
    Reconciled {
        /// Symbol.
        symbol: Arc<str>,
        /// The order queried.
        link_id: OrderLinkId,
        /// The open order found, `Ok(None)` when the exchange has none.
        found: Result<Option<Box<crate::exchange::bybit::messages::BybitOrderMsg>>, String>,
    },
    /// Clear the kill of a symbol, or of the account and every symbol (`None`).
    ClearKill(Option<String>),
    /// Raise a kill by hand on a symbol, or on the account (`None`).
    Kill(Option<String>, KillAction),
    /// A flatten order finished (its fills arrive as pushes).
    /// A trading-stop request finished.
    Protected {
        /// Symbol.
        symbol: Arc<str>,
        /// How it ended.
        result: risk::protect::SendResult,
    },
    /// A de-risk order finished (its fills arrive as pushes).
    Derisked {
        /// Symbol.
        symbol: Arc<str>,
        /// The exchange's error, if any.
        result: Result<(), String>,
    },
    /// A flatten order finished (its fills arrive as pushes).
    Flattened {
        /// Symbol.
        symbol: Arc<str>,
        /// The exchange's error, if any.
        result: Result<(), String>,
    },
}

/// Settings of the loop.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Our order-link id prefix (the instance id).
    pub prefix: String,
    /// Time in force of new quotes.
    pub batch: BatchConfig,
    /// Interval of the status lines.
    pub status_interval: Duration,
    /// A request unanswered this long is treated as outcome-unknown, ms.
    pub pending_timeout_ms: i64,
    /// Most events drained per round before acting.
    pub max_drain: usize,
    /// Where public streams connect.
    pub urls: PublicUrls,
    /// Observer of quotes and reloads (tests and benchmarks).
    pub probe: Probe,
    /// Kill switch settings.
    pub kill: KillConfig,
    /// Disconnect protection settings.
    pub disconnect: DisconnectConfig,
    /// Position protection per symbol (`risk.protect`, merged with `[default_risk]`).
    pub protect: HashMap<String, crate::config::ProtectConfig>,
    /// De-risk settings per symbol (`risk.derisk`).
    pub derisk: HashMap<String, crate::config::DeriskConfig>,
}

impl RuntimeConfig {
    /// Defaults for instance `prefix`, public streams at `urls`.
    pub fn new(prefix: &str, urls: PublicUrls) -> Self {
        Self {
            prefix: prefix.to_owned(),
            batch: BatchConfig::default(),
            status_interval: Duration::from_secs(5),
            pending_timeout_ms: 10_000,
            max_drain: 4096,
            urls,
            probe: Probe::default(),
            kill: KillConfig::default(),
            disconnect: DisconnectConfig::default(),
            protect: HashMap::new(),
            derisk: HashMap::new(),
        }
    }
}

/// The loop's state: every symbol, the id generator, the rate budget, in-flight requests.
pub struct Runtime {
    symbols: Vec<SymbolState>,
    /// Symbol name to its slot in `symbols` (looked up for every market-data message: a
    /// fast non-cryptographic hash; the keys are our own configured symbols).
    index: SymbolIndex,
    publics: Vec<Option<PublicConn>>,
    urls: PublicUrls,
    probe: Probe,
    client: RestClient,
    sender: OrderSender,
    ids: LinkIdGen,
    limiter: RateLimiter,
    cfg: RuntimeConfig,
    events_tx: mpsc::Sender<LoopEvent>,
    events_rx: mpsc::Receiver<LoopEvent>,
    inflight: JoinSet<()>,
    reconciling: HashSet<OrderLinkId>,
    syncs_inflight: HashSet<Arc<str>>,
    orphans_cancelled: HashSet<OrderLinkId>,
    stopping: bool,
    guard: AccountGuard,
    flattening: HashSet<Arc<str>>,
    protection: protection::PositionGuards,
    /// Symbols a market-data event touched since the last `act` (the common case: `act`
    /// then visits only these instead of every symbol).
    touched: Vec<usize>,
    /// Symbols whose plans wait for the rate budget, per category and order kind (cancel,
    /// amend, create), first come first released; entries of symbols since released by other
    /// means are skipped.
    budget_queue: [[VecDeque<Arc<str>>; 3]; 2],
    /// Any other event since the last `act`, or the timer: `act` visits every symbol.
    scan_all: bool,
    /// The account action `act` last propagated to the symbols.
    last_account: Option<KillAction>,
    /// Tick-to-order latency since the last status line.
    tick_to_order: latency::LatencyWindow,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What one symbol looked like at the end.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolSummary {
    /// Symbol.
    pub symbol: String,
    /// Final position.
    pub position: PositionState,
    /// Our fills seen.
    pub fills: u64,
    /// Why the strategy was disabled, if it was.
    pub disabled: Option<String>,
}

impl Runtime {
    /// A runtime over `symbols`; events arrive on `events_rx` (whose sender is `events_tx`).
    /// Call [`Runtime::start_streams`] before [`Runtime::run`].
    pub fn new(
        symbols: Vec<SymbolState>,
        client: RestClient,
        sender: OrderSender,
        ids: LinkIdGen,
        cfg: RuntimeConfig,
        events_tx: mpsc::Sender<LoopEvent>,
        events_rx: mpsc::Receiver<LoopEvent>,
    ) -> Self {
        let mut symbols = symbols;
        for s in &mut symbols {
            s.probe = cfg.probe.clone();
        }
        let index = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.symbol.clone(), i))
            .collect();
        let guard = AccountGuard::new(cfg.kill.clone(), cfg.disconnect.clone());
        let protection = protection::PositionGuards::new(&cfg.protect, &cfg.derisk);
        Self {
            symbols,
            index,
            publics: Vec::new(),
            urls: cfg.urls.clone(),
            probe: cfg.probe.clone(),
            client,
            sender,
            ids,
            limiter: io::rate_limiter(),
            cfg,
            events_tx,
            events_rx,
            inflight: JoinSet::new(),
            reconciling: HashSet::new(),
            syncs_inflight: HashSet::new(),
            orphans_cancelled: HashSet::new(),
            stopping: false,
            guard,
            flattening: HashSet::new(),
            protection,
            touched: Vec::new(),
            tick_to_order: latency::LatencyWindow::default(),
            budget_queue: Default::default(),
            scan_all: true,
            last_account: None,
        }
    }

    /// The symbols' states.
    pub fn symbols(&self) -> &[SymbolState] {
        &self.symbols
    }

    /// Quote until `shutdown` completes (or every event source is gone).
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut timer = tokio::time::interval(Duration::from_millis(250));
        let mut status = tokio::time::interval(self.cfg.status_interval);
        status.tick().await;
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                ev = self.events_rx.recv() => {
                    let Some(ev) = ev else { break };
                    self.handle(ev);
                    for _ in 0..self.cfg.max_drain {
                        match self.events_rx.try_recv() {
                            Ok(ev) => self.handle(ev),
                            Err(_) => break,
                        }
                    }
                }
                _ = timer.tick() => self.on_timer(),
                _ = status.tick() => self.log_status(),
                Some(_) = self.inflight.join_next(), if !self.inflight.is_empty() => {}
            }
            self.act();
        }
        self.stopping = true;
        info!("quoting stopped");
    }

    fn handle(&mut self, ev: LoopEvent) {
        let now = now_ms();
        if !matches!(
            ev,
            LoopEvent::Public(
                _,
                PublicStreamEvent::Book(_)
                    | PublicStreamEvent::Trade(_)
                    | PublicStreamEvent::Ticker(_)
            )
        ) {
            // Anything but market data may touch any symbol: the next `act` looks at all.
            self.scan_all = true;
        }
        match ev {
            LoopEvent::Public(conn, ev) => self.on_public(conn, ev, now),
            LoopEvent::Private(ev) => self.on_private(ev),
            LoopEvent::Reload(batch) => {
                self.apply_reload(*batch);
                self.clear_kills(None, "config reload");
            }
            LoopEvent::ClearKill(symbol) => self.clear_kills(symbol.as_deref(), "control command"),
            LoopEvent::Kill(None, action) => {
                self.raise_account(action, KillTrigger::Manual, "control command".into(), now)
            }
            LoopEvent::Kill(Some(symbol), action) => match self.index.get(symbol.as_str()) {
                Some(&i) => self.raise_symbol(
                    i,
                    action,
                    KillTrigger::Manual,
                    "control command".into(),
                    now,
                ),
                None => warn!(%symbol, "kill for a symbol not running"),
            },
            LoopEvent::Protected { symbol, result } => self.on_protected(&symbol, result),
            LoopEvent::Derisked { symbol, result } => self.on_derisked(&symbol, result),
            LoopEvent::Flattened { symbol, result } => {
                self.flattening.remove(&symbol);
                if let Err(error) = result {
                    warn!(%symbol, %error, "flatten order failed; retrying on the next tick");
                }
            }
            LoopEvent::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
            LoopEvent::Sent(out) => self.on_sent(out, now),
            LoopEvent::Synced { symbol, result } => self.on_synced(symbol, result),
            LoopEvent::Reconciled {
                symbol,
                link_id,
                found,
            } => {
                self.reconciling.remove(&link_id);
                let Some(&i) = self.index.get(&symbol) else {
                    return; // removed meanwhile
                };
                let s = &mut self.symbols[i];
                match found {
                    Ok(row) => {
                        let update = row.as_deref().and_then(|r| order_update(r).ok());
                        if let Some(o) = s.working.get_mut(link_id.as_str()) {
                            o.reconcile(update.as_ref());
                            info!(symbol = %s.symbol, %link_id, state = ?o.state(), "order reconciled");
                        }
                        s.route_dirty = true;
                    }
                    Err(e) => {
                        warn!(symbol = %s.symbol, %link_id, error = %e, "reconciliation query failed")
                    }
                }
            }
        }
    }

    fn on_public(&mut self, conn: usize, ev: PublicStreamEvent, now: i64) {
        match ev {
            PublicStreamEvent::Book(update) => {
                if let Some(&i) = self.index.get(update.symbol.as_str()) {
                    self.touched.push(i);
                    let s = &mut self.symbols[i];
                    s.book_read_at = update.read_at;
                    if let Err(e) = s.on_book(&update, now)
                        && e.resync_reason().is_some()
                    {
                        warn!(symbol = %s.symbol, error = %e, "book broken, resyncing; quotes pulled");
                        self.resync(i);
                        self.scan_all = true;
                    }
                }
                if let Some(h) = self.public_handle(conn) {
                    h.recycle(update);
                }
            }
            PublicStreamEvent::Trade(t) => {
                if let Some(&i) = self.index.get(t.symbol.as_str()) {
                    self.touched.push(i);
                    self.symbols[i].on_trade(&t);
                }
            }
            PublicStreamEvent::Ticker(t) => {
                if let Some(&i) = self.index.get(t.symbol.as_str()) {
                    self.touched.push(i);
                    self.symbols[i].on_ticker(&t);
                }
            }
            PublicStreamEvent::Connected => {}
            PublicStreamEvent::Disconnected { reason } => {
                warn!(conn, %reason, "public stream lost; its books wait for snapshots");
                for s in self.symbols.iter_mut().filter(|s| s.conn == conn) {
                    s.book.invalidate(crate::book::ResyncReason::Reconnected);
                    s.route_dirty = true;
                }
            }
        }
    }

    fn resync(&mut self, i: usize) {
        self.symbols[i].resyncs += 1;
        if let Some(h) = self.public_handle(self.symbols[i].conn) {
            let handle = h.clone();
            let symbol = self.symbols[i].symbol.clone();
            tokio::spawn(async move { handle.resync_book(&symbol).await });
        }
    }

    fn on_private(&mut self, ev: PrivateStreamEvent) {
        match ev {
            PrivateStreamEvent::Order(msg) => {
                for o in &msg.data {
                    if let Some(&i) = self.index.get(o.symbol.as_str())
                        && let Some(orphan) = self.symbols[i].on_order(o)
                    {
                        self.on_orphan(i, orphan);
                    }
                }
            }
            PrivateStreamEvent::Execution(msg) => {
                for e in &msg.data {
                    if let Some(&i) = self.index.get(e.symbol.as_str()) {
                        self.symbols[i].on_execution(e);
                    }
                }
            }
            PrivateStreamEvent::Position(msg) => {
                for p in &msg.data {
                    if let Some(&i) = self.index.get(p.symbol.as_str()) {
                        self.symbols[i].on_position(PositionState::from_msg(p));
                        self.audit_position(i, p);
                    }
                }
            }
            PrivateStreamEvent::Wallet(msg) => {
                let now = now_ms();
                if let Some(equity) = msg.data.iter().find_map(|w| w.total_equity) {
                    self.on_wallet_equity(equity, now);
                }
            }
            PrivateStreamEvent::Connected => {
                info!("private stream (re)connected; reconciling open orders");
                self.guard.private_down_since = None;
                self.sync_all();
                self.protection.on_reconnect();
                self.spawn_arm_dcp();
            }
            PrivateStreamEvent::Disconnected { reason } => {
                warn!(%reason, "private stream lost; reconnecting");
                self.guard.private_down_since.get_or_insert_with(now_ms);
            }
        }
    }

    /// Arm DCP with the configured window (nothing when DCP is off).
    fn spawn_arm_dcp(&mut self) {
        let Some(window) = self.guard.disconnect.dcp_window_s else {
            return;
        };
        let client = self.client.clone();
        self.inflight.spawn(async move {
            match risk::actions::arm_dcp(&client, window).await {
                Ok(()) => info!(window_s = window, "DCP armed"),
                Err(e) => warn!(error = %e, "cannot arm DCP"),
            }
        });
    }

    fn spawn_reconcile(&mut self, i: usize, link_id: OrderLinkId) {
        if !self.reconciling.insert(link_id.clone()) {
            return;
        }
        let client = self.client.clone();
        let tx = self.events_tx.clone();
        let category = self.symbols[i].instrument.category;
        let symbol = self.symbols[i].symbol.clone();
        self.inflight.spawn(async move {
            let found = find_open_order(&client, category, &symbol, link_id.as_str())
                .await
                .map(|o| o.map(Box::new))
                .map_err(|e| e.to_string());
            let _ = tx
                .send(LoopEvent::Reconciled {
                    symbol,
                    link_id,
                    found,
                })
                .await;
        });
    }

    /// An order of ours open on the exchange but unknown here (e.g. a create whose ack was
    /// lost and that reconciliation did not find yet): cancel it.
    fn on_orphan(&mut self, i: usize, u: OrderUpdate) {
        let Ok(link_id) = OrderLinkId::parse(&u.order_link_id) else {
            return; // not one of our ids: someone else's order, leave it
        };
        if !link_id.has_prefix(&self.cfg.prefix) || !self.orphans_cancelled.insert(link_id.clone())
        {
            return;
        }
        let s = &self.symbols[i];
        warn!(symbol = %s.symbol, %link_id, "untracked order of ours is open; cancelling it");
        let req = OrderRequest::Cancel(
            s.instrument.category,
            CancelOrder {
                symbol: s.symbol.clone(),
                link_id,
                order_id: Some(u.order_id.as_str().into()).filter(|id: &Arc<str>| !id.is_empty()),
            },
        );
        self.spawn_request(req);
    }

    fn spawn_request(&mut self, req: OrderRequest) {
        // Over the trade stream the frame is queued for the socket here, not when the task
        // first runs.
        let send = self.sender.start(req);
        let tx = self.events_tx.clone();
        self.inflight.spawn(async move {
            let out = send.await;
            let _ = tx.send(LoopEvent::Sent(out)).await;
        });
    }

    fn on_sent(&mut self, out: SendOutcome, now: i64) {
        out.feed(&mut self.limiter, now);
        if out.rate_limited {
            warn!(endpoint = ?out.key.endpoint, "rate limited (10006); waiting for the reset");
            if let Some((action, detail)) = self.guard.on_rate_limited(now) {
                self.raise_account(action, KillTrigger::RateLimit, detail, now);
            }
        }
        let mut storms = Vec::new();
        for ack in &out.acks {
            let Some(&i) = self.index.get(&ack.symbol) else {
                continue;
            };
            let s = &mut self.symbols[i];
            match &ack.outcome {
                AckOutcome::Unknown => {
                    warn!(symbol = %s.symbol, link_id = %ack.link_id, kind = ?ack.kind, error = %ack.message, "order request outcome unknown; will reconcile")
                }
                // Filled or cancelled before the request arrived: normal in a fast market.
                AckOutcome::Rejected { order_gone: true } => {
                    debug!(symbol = %s.symbol, link_id = %ack.link_id, kind = ?ack.kind, code = ?ack.ret_code, "order already gone")
                }
                AckOutcome::Rejected { .. } if ack.ret_code != Some(10006) => {
                    warn!(symbol = %s.symbol, link_id = %ack.link_id, kind = ?ack.kind, code = ?ack.ret_code, error = %ack.message, "order request rejected");
                    if let Some(storm) = self.guard.on_reject(&s.symbol, now) {
                        storms.push((i, storm));
                    }
                }
                _ => {}
            }
            if let Err(e) = s
                .working
                .apply_ack(ack.link_id.as_str(), ack.kind, &ack.outcome)
            {
                // Pruned after its final push arrived before this ack.
                debug!(symbol = %s.symbol, error = %e, "ack for an order no longer tracked");
            }
            s.route_dirty = true;
        }
        for (i, (action, detail)) in storms {
            self.raise_symbol(i, action, KillTrigger::RejectStorm, detail, now);
        }
    }

    fn on_timer(&mut self) {
        self.scan_all = true;
        let now = now_ms();
        let mut to_resync = Vec::new();
        let mut to_reconcile = Vec::new();
        let mut to_sync = Vec::new();
        let mut to_reconnect = Vec::new();
        for (i, s) in self.symbols.iter_mut().enumerate() {
            if let Err(e) = s.check_stale(now) {
                if s.stale_strikes >= 2 {
                    warn!(symbol = %s.symbol, error = %e, "book stale again without deltas; reconnecting its stream");
                    s.stale_strikes = 0;
                    to_reconnect.push(s.conn);
                } else {
                    warn!(symbol = %s.symbol, error = %e, "book stale, pulling quotes and resyncing");
                }
                to_resync.push(i);
            }
            for id in s.working.expire_pending(now, self.cfg.pending_timeout_ms) {
                warn!(symbol = %s.symbol, link_id = %id, "request unanswered; will reconcile");
            }
            if s.syncing {
                to_sync.push(i);
            }
            for o in s.working.needing_reconcile() {
                to_reconcile.push((i, o.link_id.clone()));
            }
            // Deferred actions (rate limit, later stages) are recomputed by a fresh diff.
            s.route_dirty = true;
        }
        if let Some(action) = self.guard.cfg.stale_data_action {
            for &i in &to_resync {
                self.raise_symbol(
                    i,
                    action,
                    KillTrigger::StaleData,
                    "no market data".into(),
                    now,
                );
            }
        }
        for i in to_resync {
            self.resync(i);
        }
        for (i, id) in to_reconcile {
            self.spawn_reconcile(i, id);
        }
        for i in to_sync {
            self.spawn_sync(i);
        }
        to_reconnect.dedup();
        for conn in to_reconnect {
            if let Some(h) = self.public_handle(conn) {
                h.reconnect();
            }
        }
        self.risk_timer(now);
    }

    /// A wallet reading (start-up REST read or push): the new base of the account's equity,
    /// with the symbols' current marks as references; then the account triggers.
    pub fn on_wallet_equity(&mut self, equity: rust_decimal::Decimal, now: i64) {
        let marks = self
            .symbols
            .iter()
            .filter_map(|s| Some((&s.symbol, s.mark()?)));
        self.guard.equity.on_wallet(equity, marks, now);
        self.check_equity(now);
    }

    /// Mark equity to market with the positions at the latest marks, then the triggers.
    fn mark_equity(&mut self, now: i64) {
        let rows = self
            .symbols
            .iter()
            .filter_map(|s| Some((&s.symbol, s.position.size, s.mark()?)));
        self.guard.equity.on_marks(rows, now);
        self.check_equity(now);
    }

    fn check_equity(&mut self, now: i64) {
        for (action, trigger, detail) in self.guard.equity.check(&self.guard.cfg) {
            self.raise_account(action, trigger, detail, now);
        }
    }

    /// Time-driven risk work: marking equity, the lost-stream kill, the dead man's switch,
    /// flattening.
    fn risk_timer(&mut self, now: i64) {
        self.mark_equity(now);
        if let Some((action, detail)) = self.guard.private_lost_due(now) {
            self.raise_account(action, KillTrigger::PrivateStreamLost, detail, now);
        }
        if self.guard.dead_man_due(now) {
            self.guard.dead_man_fired = true;
            warn!(
                down_ms = now - self.guard.private_down_since.unwrap_or(now),
                "dead man's switch: private stream down too long; cancelling every order over REST"
            );
            self.probe.emit(|| ProbeEvent::DeadMan { fired: true });
            for i in 0..self.symbols.len() {
                self.spawn_cancel_all(i);
            }
        } else if self.guard.dead_man_fired
            && self.guard.private_down_since.is_none()
            && self.reconciling.is_empty()
        {
            self.guard.dead_man_fired = false;
            info!("dead man's switch released: private stream back and reconciled");
            self.probe.emit(|| ProbeEvent::DeadMan { fired: false });
            for s in &mut self.symbols {
                s.quote_dirty = true;
            }
        }
        if self.stopping {
            return;
        }
        for i in 0..self.symbols.len() {
            let s = &self.symbols[i];
            if s.kill_action() == Some(KillAction::Flatten)
                && !s.position.size.is_zero()
                && s.instrument.category == Category::Linear
                && !self.flattening.contains(&s.symbol)
            {
                self.spawn_flatten(i);
            }
        }
        self.guard_positions(now);
    }

    /// The account's action, with the dead man's switch as a halt.
    fn account_action(&self) -> Option<KillAction> {
        risk::effective(
            self.guard.kill.action(),
            self.guard.dead_man_fired.then_some(KillAction::Halt),
        )
    }

    /// Raise `action` on symbol `i`; a harsher action than before is logged, reported and
    /// (cancel-all, flatten) acted on at once.
    fn raise_symbol(
        &mut self,
        i: usize,
        action: KillAction,
        trigger: KillTrigger,
        detail: String,
        now: i64,
    ) {
        let s = &mut self.symbols[i];
        if s.kill.raise(action, trigger, detail.clone(), now).is_none() {
            return;
        }
        s.route_dirty = true;
        let symbol = s.symbol.clone();
        warn!(%symbol, %action, %trigger, %detail, "kill switch raised");
        self.probe.emit(|| ProbeEvent::Kill {
            symbol: Some(symbol),
            action: Some(action),
            trigger: Some(trigger),
            detail,
        });
        if action >= KillAction::CancelAll {
            self.spawn_cancel_all(i);
        }
    }

    /// Raise `action` on the account (every symbol obeys it).
    fn raise_account(
        &mut self,
        action: KillAction,
        trigger: KillTrigger,
        detail: String,
        now: i64,
    ) {
        if self
            .guard
            .kill
            .raise(action, trigger, detail.clone(), now)
            .is_none()
        {
            return;
        }
        warn!(%action, %trigger, %detail, equity = ?self.guard.equity.equity(), "account kill switch raised");
        self.probe.emit(|| ProbeEvent::Kill {
            symbol: None,
            action: Some(action),
            trigger: Some(trigger),
            detail,
        });
        for i in 0..self.symbols.len() {
            self.symbols[i].route_dirty = true;
            if action >= KillAction::CancelAll {
                self.spawn_cancel_all(i);
            }
        }
    }

    /// Clear the kill of `symbol`, or of the account and every symbol.
    fn clear_kills(&mut self, symbol: Option<&str>, why: &str) {
        let mut cleared: Vec<(Option<Arc<str>>, KillTrigger)> = Vec::new();
        if symbol.is_none()
            && let Some(k) = self.guard.kill.clear()
        {
            cleared.push((None, k.trigger));
        }
        for s in &mut self.symbols {
            if symbol.is_some_and(|x| x != &*s.symbol) {
                continue;
            }
            if let Some(k) = s.kill.clear() {
                cleared.push((Some(s.symbol.clone()), k.trigger));
            }
            s.quote_dirty = true;
            s.route_dirty = true;
        }
        self.guard.reset_counters(symbol);
        // A cleared drawdown or daily-loss kill measures from now on; any other clear (a
        // parameter reload, a manual halt) keeps the peak and the day's start.
        if cleared.iter().any(|(s, t)| {
            s.is_none() && matches!(t, KillTrigger::Drawdown | KillTrigger::DailyLoss)
        }) {
            self.guard.equity.rebase();
        }
        for (symbol, trigger) in cleared {
            info!(symbol = symbol.as_deref().unwrap_or("<account>"), %trigger, %why, "kill switch cleared");
            self.probe.emit(|| ProbeEvent::Kill {
                symbol,
                action: None,
                trigger: Some(trigger),
                detail: why.to_owned(),
            });
        }
    }

    /// `cancel-all` for symbol `i` over REST (its pushes, or a reconciliation, update the
    /// working orders).
    fn spawn_cancel_all(&mut self, i: usize) {
        let client = self.client.clone();
        let (category, symbol) = (
            self.symbols[i].instrument.category,
            self.symbols[i].symbol.clone(),
        );
        self.inflight.spawn(async move {
            match risk::actions::cancel_all(&client, category, &symbol).await {
                Ok(()) => info!(%symbol, "cancel-all sent"),
                Err(e) => warn!(%symbol, error = %e, "cancel-all failed"),
            }
        });
    }

    /// One reduce-only IOC order closing symbol `i`'s position.
    fn spawn_flatten(&mut self, i: usize) {
        let s = &self.symbols[i];
        let size = s.position.size;
        let side = if size > rust_decimal::Decimal::ZERO {
            Side::Sell
        } else {
            Side::Buy
        };
        let qty = size.abs().min(s.instrument.max_qty);
        let (client, tx) = (self.client.clone(), self.events_tx.clone());
        let (category, symbol) = (s.instrument.category, s.symbol.clone());
        info!(%symbol, ?side, %qty, "flattening: reduce-only IOC");
        self.flattening.insert(symbol.clone());
        self.inflight.spawn(async move {
            let result = risk::actions::reduce_only_ioc(&client, category, &symbol, side, qty)
                .await
                .map_err(|e| e.to_string());
            let _ = tx.send(LoopEvent::Flattened { symbol, result }).await;
        });
    }

    fn log_status(&mut self) {
        let secs = self.cfg.status_interval.as_secs_f64().max(0.001);
        for s in &mut self.symbols {
            let book_msgs_per_s = (std::mem::take(&mut s.book_msgs) as f64 / secs).round();
            let protect = self.protection.describe(&s.symbol);
            info!(
                symbol = %s.symbol,
                mid = %s.mid().map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                bid = %s.desired_best.0.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                ask = %s.desired_best.1.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                position = %s.position.size,
                realised_pnl = %s.position.realised_pnl,
                unrealised_pnl = %s.position.unrealised_pnl,
                open_orders = s.open_orders(),
                fills = s.fills,
                book_msgs_per_s,
                module = %s.module,
                disabled = s.disabled.is_some(),
                kill = s.kill_action().map(|a| a.as_str()).unwrap_or("-"),
                clamps = s.clamps,
                clamped = %s.clamped.join(","),
                %protect,
                "status"
            );
        }
        if let Some(t) = self.tick_to_order.take() {
            let us = |d: Duration| (d.as_nanos() as f64 / 100.0).round() / 10.0;
            info!(
                plans = t.count,
                p50_us = us(t.p50),
                p99_us = us(t.p99),
                max_us = us(t.max),
                transport = self.sender.transport(),
                "tick to order (book frame read -> request ready)"
            );
        }
        let g = &self.guard;
        if g.equity.equity().is_some() || g.kill.active().is_some() || g.dead_man_fired {
            info!(
                equity = %g.equity.equity().map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
                drawdown = %g.equity.drawdown(),
                daily_loss = %g.equity.daily_loss(),
                kill = g.kill.action().map(|a| a.as_str()).unwrap_or("-"),
                dead_man = g.dead_man_fired,
                "account status"
            );
        }
    }

    /// Quote dirty symbols, diff, and send what the budget allows.
    fn act(&mut self) {
        let now = now_ms();
        let stopping = self.stopping;
        if !stopping {
            self.finish_retired();
        }
        let account = self.account_action();
        // Every symbol after a non-market event, a timer tick, a new account action or while
        // stopping; otherwise only those the market data touched (all others are unchanged).
        let all = std::mem::take(&mut self.scan_all) || stopping || account != self.last_account;
        self.last_account = account;
        let mut visit = std::mem::take(&mut self.touched);
        self.release_budget_waits(&mut visit, now);
        if all {
            visit.clear();
            visit.extend(0..self.symbols.len());
        } else {
            visit.sort_unstable();
            visit.dedup();
        }
        let mut faults = Vec::new();
        for &i in &visit {
            let s = &mut self.symbols[i];
            if s.account_kill != account {
                s.account_kill = account;
                s.quote_dirty = true;
                s.route_dirty = true;
            }
            if !stopping && s.budget_gated() {
                // Its plan could not be sent: the strategy follows the book, the plan waits.
                s.refresh_quote(now);
            }
            if let Some(fault) = s.strategy_fault.take() {
                faults.push((i, fault));
            }
        }
        if let Some(action) = self.guard.cfg.strategy_fault_action {
            for (i, fault) in faults {
                self.raise_symbol(i, action, KillTrigger::StrategyFault, fault, now);
            }
        }
        let mut outcomes: Vec<(usize, DiffOutcome)> = Vec::new();
        // Plans a book frame caused, with the frame's read time (index into `outcomes`).
        let mut clocked: Vec<(usize, Instant)> = Vec::new();
        for &i in &visit {
            let s = &mut self.symbols[i];
            // A frame's clock runs to this plan only: a later plan (a timer, an ack, the
            // budget) is not the frame's doing.
            let read_at = s.book_read_at.take();
            if !stopping && s.budget_gated() {
                continue;
            }
            if s.quote_dirty || s.route_dirty {
                s.working.prune_terminal();
                let out = s.plan(&mut self.ids, now, stopping);
                if !out.actions.is_empty() {
                    if let Some(t) = read_at {
                        clocked.push((outcomes.len(), t));
                    }
                    outcomes.push((i, out));
                }
            }
        }
        visit.clear();
        self.touched = visit;
        if outcomes.is_empty() {
            return;
        }
        let actions: Vec<SymbolActions<'_>> = outcomes
            .iter()
            .map(|(i, out)| SymbolActions {
                symbol: self.symbols[*i].symbol.clone(),
                category: self.symbols[*i].instrument.category,
                actions: &out.actions,
            })
            .collect();
        let plan = plan_requests(&actions, &mut self.limiter, now, &self.cfg.batch);
        // Which plans send something now (only looked at for clocked plans).
        let mut sending = vec![
            false;
            if clocked.is_empty() {
                0
            } else {
                outcomes.len()
            }
        ];
        for sent in &plan.sent {
            if let Some(flag) = sending.get_mut(sent.symbol) {
                *flag = true;
            }
            let s = &mut self.symbols[outcomes[sent.symbol].0];
            if let Err(e) = record_sent(&mut s.working, &sent.of(&actions).action, now) {
                warn!(symbol = %s.symbol, error = %e, "cannot record a sent action");
            }
        }
        drop(actions);
        self.queue_budget_waits(&plan.deferred);
        for req in plan.requests {
            self.spawn_request(req);
        }
        if !clocked.is_empty() {
            let ready = Instant::now();
            for (k, read_at) in clocked {
                if sending[k] {
                    self.symbols[outcomes[k].0].ticks_to_order += 1;
                    self.tick_to_order
                        .record(ready.saturating_duration_since(read_at));
                }
            }
        }
    }

    /// Release symbols waiting for the rate budget into `visit`, a few per order kind that has
    /// budget now (their plans take it; the rest wait their turn).
    fn release_budget_waits(&mut self, visit: &mut Vec<usize>, now: i64) {
        for (c, category) in [Category::Linear, Category::Spot].into_iter().enumerate() {
            if self.budget_queue[c].iter().all(VecDeque::is_empty) {
                continue;
            }
            let open = self.limiter.open_kinds(category, now);
            for (k, bit) in [KIND_CANCEL, KIND_AMEND, KIND_CREATE]
                .into_iter()
                .enumerate()
            {
                if open & bit == 0 {
                    continue;
                }
                let mut released = 0;
                while released < RELEASE_PER_KIND {
                    let Some(symbol) = self.budget_queue[c][k].pop_front() else {
                        break;
                    };
                    let Some(&i) = self.index.get(&symbol) else {
                        continue;
                    };
                    let s = &mut self.symbols[i];
                    if s.budget_wait & bit != 0 {
                        s.budget_wait = 0;
                        s.route_dirty = true;
                        visit.push(i);
                        released += 1;
                    }
                }
            }
        }
    }

    /// Queue the symbols whose actions waited for the rate budget, under the kinds they wait on.
    fn queue_budget_waits(&mut self, deferred: &[Deferred]) {
        for d in deferred {
            if d.reason != DeferReason::RateLimited {
                continue;
            }
            let Some(&i) = self.index.get(&d.symbol) else {
                continue;
            };
            let (k, bit) = match d.action.action {
                Action::Cancel { .. } => (0, KIND_CANCEL),
                Action::Amend { .. } => (1, KIND_AMEND),
                Action::Create { .. } => (2, KIND_CREATE),
            };
            let s = &mut self.symbols[i];
            if s.budget_wait & bit == 0 {
                s.budget_wait |= bit;
                let c = match s.instrument.category {
                    Category::Linear => 0,
                    Category::Spot => 1,
                };
                self.budget_queue[c][k].push_back(s.symbol.clone());
            }
        }
    }

    /// Per-symbol summary.
    pub fn summary(&self) -> Vec<SymbolSummary> {
        self.symbols
            .iter()
            .map(|s| SymbolSummary {
                symbol: s.symbol.to_string(),
                position: s.position,
                fills: s.fills,
                disabled: s.disabled.clone(),
            })
            .collect()
    }

    /// Close the loop's event channel (the stream tasks then stop).
    pub fn close_events(&mut self) {
        self.events_rx.close();
    }
}

/// Symbol name to its slot in the runtime's symbols.
type SymbolIndex = HashMap<Arc<str>, usize, foldhash::fast::RandomState>;

/// Symbols released per order kind and loop round when that kind has budget again.
const RELEASE_PER_KIND: usize = 4;

/// Convert the config's category.
pub fn category_of(c: crate::config::CategoryConfig) -> Category {
    match c {
        crate::config::CategoryConfig::Linear => Category::Linear,
        crate::config::CategoryConfig::Spot => Category::Spot,
    }
}
