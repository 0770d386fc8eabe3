//! The state of one quoted symbol: book, strategy instance, working orders, position.
//!
//! Owned by the runtime loop; every method is synchronous and short.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use plugin_api::{Fill, Inventory, Ladder, QuoteInput, SIDE_BUY, SIDE_SELL, Trade};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tracing::{debug, error, warn};

use super::apply::SymbolLimits;
use super::fills::PendingFills;
use super::plan_key::PlanKey;
use super::probe::{Probe, ProbeEvent};
use super::rest::{PositionState, order_update};
use crate::book::{BookError, BookUpdate, OrderBook};
use crate::exchange::bybit::market::{LastTrade, TickerMark};
use crate::exchange::bybit::messages::{BybitExecutionMsg, BybitOrderMsg, BybitSide};
use crate::model::{DesiredQuotes, Instrument, LinkIdGen, QuoteGrid};
use crate::plugin::{PluginError, StrategyInstance};
use crate::risk::{KillAction, KillState, effective, pulls_quotes};
use crate::router::diff::DiffOutcome;
use crate::router::limit_check::LimitMemo;
use crate::router::limits::ClampReason;
use crate::router::state::{
    ExchangeStatus, OrderUpdate, UpdateOutcome, WorkingOrder, WorkingOrders,
};
use crate::router::symbol::{SymbolConfig, plan_symbol_into, pull_symbol};

/// Everything needed to start quoting one symbol.
pub struct SymbolSetup {
    /// Trading rules.
    pub instrument: Instrument,
    /// The strategy instance for this symbol.
    pub strategy: StrategyInstance,
    /// Module file name, for the status line.
    pub module: String,
    /// Router settings (hard limits, requote tolerance).
    pub router: SymbolConfig,
    /// Ladder levels per side sent to the exchange.
    pub levels: usize,
    /// Maximum position passed to the strategy.
    pub max_position: f64,
    /// Target position passed to the strategy (`risk.target_position`, default 0).
    pub target_position: f64,
    /// Pull quotes when no book update came for this long, ms.
    pub stale_after_ms: i64,
    /// Position at start-up.
    pub position: PositionState,
    /// Position protection.
    pub protect: Option<crate::config::ProtectConfig>,
    /// De-risk settings.
    pub derisk: Option<crate::config::DeriskConfig>,
    /// Open orders of an earlier run taken over (`leftover_orders = "adopt"`).
    pub adopted: Vec<WorkingOrder>,
}

/// One symbol's live state.
pub struct SymbolState {
    /// Symbol.
    pub symbol: Arc<str>,
    /// Trading rules.
    pub instrument: Instrument,
    /// Local L2 book.
    pub book: OrderBook,
    /// Our orders on this symbol.
    pub working: WorkingOrders,
    /// Position as last reported by the exchange.
    pub position: PositionState,
    /// Module file name.
    pub module: String,
    /// The book changed: call the strategy before routing.
    pub quote_dirty: bool,
    /// Orders changed (ack, push) or actions were deferred: diff again.
    pub route_dirty: bool,
    /// Set when the strategy failed; the symbol's quotes stay pulled.
    pub disabled: Option<String>,
    /// Book messages since the last status line (the status line resets it).
    pub book_msgs: u64,
    /// Our fills since start.
    pub fills: u64,
    /// Our best bid and ask as last planned.
    pub desired_best: (Option<Decimal>, Option<Decimal>),
    /// The public connection carrying this symbol.
    pub conn: usize,
    /// Being removed: quotes pulled; dropped once no order of ours is open.
    pub retiring: bool,
    /// Reading its orders and position over REST after a private reconnect: no new order
    /// actions until done (working orders stay).
    pub syncing: bool,
    /// Book messages applied since start.
    pub book_total: u64,
    /// When the socket task read the last book frame applied since the last plan (the
    /// tick-to-order clock's start; see [`super::latency`]).
    pub book_read_at: Option<Instant>,
    /// Plans a book frame caused whose requests the loop made ready, since start.
    pub ticks_to_order: u64,
    /// Book resyncs since start.
    pub resyncs: u64,
    /// Stale checks failed since the last delta: a stream that answers resubscriptions with
    /// snapshots but sends no deltas is reconnected at the second strike.
    pub stale_strikes: u32,
    /// The reload generation this symbol runs (0: as started).
    pub generation: u64,
    /// Observer of quotes and reloads.
    pub probe: Probe,
    /// This symbol's kill switch.
    pub kill: KillState,
    /// The account's kill action (and the dead man's switch), mirrored by the loop.
    pub account_kill: Option<KillAction>,
    /// Plans whose quotes the hard limits clamped, since start.
    pub clamps: u64,
    /// The limits that clamped the last plan (`max_long`, `max_order_qty`, ...).
    pub clamped: Vec<&'static str>,
    /// A strategy failure not yet seen by the loop's kill triggers.
    pub strategy_fault: Option<String>,
    /// The order kinds (a mask of `router::ratelimit::KIND_*`) the last plan could not send for
    /// the rate budget: until the loop releases the symbol (budget back, position changed),
    /// its plans wait and only the strategy follows the book (see [`Self::budget_gated`]); a
    /// strategy pull or failure releases it at once.
    pub budget_wait: u8,
    /// The position `inventory_f64` was converted from.
    inventory_of: Option<PositionState>,
    /// Size, entry price, realised and unrealised PnL of `inventory_of`, as `f64`.
    inventory_f64: [f64; 4],
    mark_price: Option<Decimal>,
    /// Since when (ms) orders adopted at start-up wait for the first whole book instead of
    /// being pulled (`None` once the book was whole, or when nothing was adopted).
    adopted_hold: Option<Option<i64>>,
    /// Our fills not yet included in the last position reading; `position.size` counts
    /// them, so that sizing never lags a fill.
    pending_fills: PendingFills,
    reload_started: Option<Instant>,
    last_plan_key: Option<PlanKey>,
    /// The last plan's desired quotes: a buffer reused from plan to plan.
    desired: DesiredQuotes,
    /// The hard limits in ticks and lots at the last plan's position.
    limit_memo: LimitMemo,
    observe_pending: bool,
    tick_f64: f64,
    lot_f64: f64,
    /// The instrument's grids in integer form, for converting ladders.
    quote_grid: Option<QuoteGrid>,
    /// Instances replaced or refused, to be dropped off the loop (freeing a WASM instance
    /// returns its memory to the pool, which takes hundreds of microseconds).
    pub retired: Vec<StrategyInstance>,
    strategy: StrategyInstance,
    cfg: SymbolConfig,
    levels: usize,
    max_position: f64,
    target_position: f64,
    derisk_soft_position: f64,
    stale_after_ms: i64,
    /// The last public trade and the mark price, as the strategy's view gets them.
    last_trade: Trade,
    mark_f64: f64,
    /// Mid of the view behind the last ladder (for the probe).
    quoted_mid: f64,
    ladder: Box<Ladder>,
    has_ladder: bool,
    warned_dropped: bool,
}

thread_local! {
    /// The strategy input of the next call, shared by every symbol the thread runs: filled
    /// just before each call, it stays in cache, where a copy per symbol would be cold at
    /// every call once hundreds of symbols take turns.
    static INPUT: RefCell<Box<QuoteInput>> = RefCell::new(Box::default());
}

/// A strategy input but the book: what [`SymbolState`] adds to the book's view.
struct InputParts {
    now_ms: i64,
    last_trade: Trade,
    mark_price: f64,
    inventory: Inventory,
}

impl InputParts {
    /// Write the whole input (every field) from `book` and these parts.
    #[inline]
    fn write(&self, book: &OrderBook, input: &mut QuoteInput) {
        book.fill_view(&mut input.view);
        input.view.ts_local_ms = self.now_ms;
        input.view.last_trade = self.last_trade;
        input.view.mark_price = self.mark_price;
        input.inventory = self.inventory;
    }
}

/// Run `f` with this thread's strategy input (see [`INPUT`]).
fn with_input<R>(f: impl FnOnce(&mut QuoteInput) -> R) -> R {
    INPUT.with_borrow_mut(|input| f(input))
}

/// The config name of the limit behind a clamp.
fn clamp_name(r: ClampReason) -> &'static str {
    match r {
        ClampReason::MaxOrderQty => "max_order_size",
        ClampReason::MaxLong => "max_long",
        ClampReason::MaxShort => "max_short",
        ClampReason::MaxNotional => "max_notional",
        ClampReason::MaxOpenOrders => "max_open_orders",
    }
}

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

impl SymbolState {
    /// Start state from `setup`.
    pub fn new(setup: SymbolSetup) -> Result<Self, BookError> {
        let inst = setup.instrument;
        let book = OrderBook::new(&inst.symbol, inst.tick_size, inst.lot_size)?;
        let mut working = WorkingOrders::new();
        let adopted_hold = (!setup.adopted.is_empty()).then_some(None);
        for order in setup.adopted {
            let link_id = order.link_id.clone();
            if let Err(e) = working.insert(order) {
                warn!(symbol = %inst.symbol, %link_id, error = %e, "cannot adopt order");
            }
        }
        Ok(Self {
            symbol: inst.symbol.as_str().into(),
            book,
            working,
            position: setup.position,
            module: setup.module,
            quote_dirty: false,
            route_dirty: false,
            disabled: None,
            book_msgs: 0,
            fills: 0,
            desired_best: (None, None),
            conn: 0,
            retiring: false,
            syncing: false,
            book_total: 0,
            book_read_at: None,
            ticks_to_order: 0,
            resyncs: 0,
            stale_strikes: 0,
            generation: 0,
            probe: Probe::default(),
            kill: KillState::default(),
            account_kill: None,
            clamps: 0,
            clamped: Vec::new(),
            strategy_fault: None,
            budget_wait: 0,
            inventory_of: None,
            inventory_f64: [0.0; 4],
            mark_price: None,
            pending_fills: PendingFills::default(),
            adopted_hold,
            reload_started: None,
            last_plan_key: None,
            desired: DesiredQuotes::default(),
            limit_memo: LimitMemo::default(),
            observe_pending: false,
            tick_f64: f64_of(inst.tick_size),
            lot_f64: f64_of(inst.lot_size),
            quote_grid: QuoteGrid::new(&inst),
            retired: Vec::new(),
            strategy: setup.strategy,
            cfg: setup.router,
            levels: setup.levels,
            max_position: setup.max_position,
            target_position: setup.target_position,
            derisk_soft_position: setup.derisk.as_ref().map_or(0.0, |d| d.soft_position),
            stale_after_ms: setup.stale_after_ms,
            last_trade: Trade::default(),
            mark_f64: 0.0,
            quoted_mid: f64::NAN,
            ladder: Box::default(),
            has_ladder: false,
            warned_dropped: false,
            instrument: inst,
        })
    }

    /// Apply a book message; an error means the book needs a fresh snapshot.
    pub fn on_book(&mut self, update: &BookUpdate, now_ms: i64) -> Result<(), BookError> {
        self.book_msgs += 1;
        self.book_total += 1;
        match self.book.apply(update, now_ms) {
            Ok(_) => {
                if update.kind == crate::book::UpdateKind::Delta {
                    self.stale_strikes = 0;
                }
                self.quote_dirty = true;
                Ok(())
            }
            Err(e) => {
                self.route_dirty = true; // quotes are pulled until the book is whole
                Err(e)
            }
        }
    }

    /// Whether the book is older than the stale threshold (marks it for resync).
    pub fn check_stale(&mut self, now_ms: i64) -> Result<(), BookError> {
        let r = self.book.check_stale(now_ms, self.stale_after_ms);
        if r.is_err() {
            self.route_dirty = true;
            self.stale_strikes += 1;
        }
        r
    }

    /// Remember the last public trade for the strategy's view.
    pub fn on_trade(&mut self, t: &LastTrade) {
        self.last_trade = Trade {
            price: f64_of(t.price),
            size: f64_of(t.size),
            side: match t.side {
                BybitSide::Buy => SIDE_BUY,
                BybitSide::Sell => SIDE_SELL,
            },
            reserved: 0,
        };
    }

    /// Remember the mark price for the strategy's view.
    pub fn on_ticker(&mut self, t: &TickerMark) {
        if let Some(mark) = t.mark_price {
            self.mark_f64 = f64_of(mark);
            self.mark_price = Some(mark);
        }
    }

    /// Apply an `order` push (or a reconciliation row) to the working orders. Returns an
    /// update for an order that is open on the exchange but not tracked here.
    pub fn on_order(&mut self, o: &BybitOrderMsg) -> Option<OrderUpdate> {
        let update = match order_update(o) {
            Ok(u) => u,
            Err(e) => {
                warn!(symbol = %self.symbol, error = %e, "unusable order row");
                return None;
            }
        };
        match self.working.apply_update(&update) {
            UpdateOutcome::Unknown => {
                debug!(symbol = %self.symbol, link_id = %o.order_link_id, "push for an order we do not track");
                let open = matches!(
                    update.status,
                    ExchangeStatus::New | ExchangeStatus::PartiallyFilled
                );
                return open.then_some(update);
            }
            _ => self.route_dirty = true,
        }
        None
    }

    /// Pass one of our fills to the strategy.
    pub fn on_execution(&mut self, e: &BybitExecutionMsg) {
        if e.exec_type.as_deref().is_some_and(|t| t != "Trade") {
            return;
        }
        self.fills += 1;
        self.count_fill(e);
        let fill = Fill {
            price: f64_of(e.exec_price),
            size: f64_of(e.exec_qty),
            ts_ms: e.exec_time,
            side: match e.side {
                BybitSide::Buy => SIDE_BUY,
                BybitSide::Sell => SIDE_SELL,
            },
            reserved: 0,
        };
        debug!(symbol = %self.symbol, side = ?e.side, price = %e.exec_price, qty = %e.exec_qty, "fill");
        if self.disabled.is_none()
            && let Err(err) = self.strategy.on_fill(&fill)
        {
            error!(symbol = %self.symbol, module = %self.module, error = %err, "strategy fill callback failed, pulling quotes");
            self.disabled = Some(err.to_string());
            self.strategy_fault = self.disabled.clone();
        }
        self.quote_dirty = true;
    }

    /// Count one of our fills in the position at once (see [`PendingFills`]).
    fn count_fill(&mut self, e: &BybitExecutionMsg) {
        let qty = match e.side {
            BybitSide::Buy => e.exec_qty,
            BybitSide::Sell => -e.exec_qty,
        };
        if self.pending_fills.on_fill(e.seq, qty, self.position.seq) {
            self.position.size += qty;
            self.quote_dirty = true;
            self.budget_wait = 0;
        }
    }

    /// Take the exchange's position; our fills it does not include yet (a higher `seq`)
    /// stay counted on top of it.
    pub fn on_position(&mut self, mut p: PositionState) {
        p.size += self.pending_fills.on_position(p.seq);
        if p.size != self.position.size {
            self.quote_dirty = true;
            self.budget_wait = 0;
        }
        self.position = p;
    }

    /// Decide this round's actions: call the strategy when the book changed, then diff its
    /// ladder (or nothing, when pulling) against the working orders.
    pub fn plan(&mut self, ids: &mut LinkIdGen, now_ms: i64, stopping: bool) -> DiffOutcome {
        if self.syncing && !stopping {
            // Hold: the exchange's view is being read; act on it once it is in.
            self.route_dirty = false;
            return DiffOutcome::default();
        }
        let other_pull = stopping || pulls_quotes(self.kill_action()) || self.disabled.is_some();
        if let Some(since) = self.adopted_hold.as_mut() {
            // Orders adopted at start-up keep their place until the first whole book (at
            // most the stale-data threshold), instead of being pulled for want of one.
            let since = *since.get_or_insert(now_ms);
            if self.book.is_whole() || other_pull || now_ms - since > self.stale_after_ms {
                self.adopted_hold = None;
            } else {
                self.route_dirty = false;
                self.quote_dirty = false;
                return DiffOutcome::default();
            }
        }
        let quote = std::mem::take(&mut self.quote_dirty);
        let route = std::mem::take(&mut self.route_dirty);
        let kill = self.kill_action();
        let pull = stopping || self.pulls();
        if !pull && quote {
            self.call_strategy(now_ms);
        }
        if !pull && self.disabled.is_none() && self.has_ladder {
            let same = PlanKey::refresh(
                &mut self.last_plan_key,
                &self.ladder,
                self.tick_f64,
                self.lot_f64,
                self.position.size,
                kill,
            );
            if !route && same {
                // Same inputs as the last plan (ladder on the grids, position, kill state) and
                // no order changed since: the plan would be the same. Actions it deferred for
                // the rate budget are retried by the timer and after every ack.
                return DiffOutcome::default();
            }
            let mut cfg = self.cfg;
            if kill == Some(KillAction::ReduceOnly) {
                // No room on either side beyond flat: only the reducing side can rest, at
                // most the position.
                cfg.limits.max_long = Decimal::ZERO;
                cfg.limits.max_short = Decimal::ZERO;
            }
            match plan_symbol_into(
                &self.instrument,
                self.quote_grid.as_ref(),
                &cfg,
                self.position.size,
                &self.ladder,
                &self.working,
                ids,
                &mut self.desired,
                &mut self.limit_memo,
            ) {
                Ok(plan) => {
                    let desired = &self.desired;
                    let empty = desired.bids.is_empty() && desired.asks.is_empty();
                    if empty && !desired.dropped.is_empty() && !self.warned_dropped {
                        let reasons: Vec<_> = desired.dropped.iter().map(|d| d.reason).collect();
                        warn!(symbol = %self.symbol, module = %self.module, ?reasons, lot = %self.instrument.lot_size, min_qty = %self.instrument.min_qty, "every ladder level dropped; check the strategy's sizes against the instrument");
                    }
                    self.warned_dropped = empty && !desired.dropped.is_empty();
                    self.clamped.clear();
                    if !plan.clamps.is_empty() {
                        self.clamps += 1;
                        for c in &plan.clamps {
                            let name = clamp_name(c.reason);
                            if !self.clamped.contains(&name) {
                                self.clamped.push(name);
                            }
                        }
                        debug!(symbol = %self.symbol, clamped = ?self.clamped, position = %self.position.size, "quotes clamped by the hard limits");
                    }
                    self.desired_best = (desired.best_bid(), desired.best_ask());
                    return plan.diff;
                }
                Err(e) => {
                    warn!(symbol = %self.symbol, module = %self.module, error = %e, "ladder refused, pulling quotes");
                    self.has_ladder = false;
                }
            }
        }
        self.desired_best = (None, None);
        self.last_plan_key = None;
        pull_symbol(&self.instrument, &self.cfg, &self.working, ids).unwrap_or_else(|e| {
            error!(symbol = %self.symbol, error = %e, "cannot plan the pull");
            DiffOutcome::default()
        })
    }

    /// The kill action this symbol obeys: the harsher of its own and the account's.
    pub fn kill_action(&self) -> Option<KillAction> {
        effective(self.kill.action(), self.account_kill)
    }

    fn fill_input(&mut self, input: &mut QuoteInput, now_ms: i64) {
        self.input_parts(now_ms).write(&self.book, input);
    }

    /// Everything of the strategy input but the book, converting the position to `f64` if it
    /// changed since the last call.
    fn input_parts(&mut self, now_ms: i64) -> InputParts {
        if self.inventory_of != Some(self.position) {
            // Decimal to f64 only when the position changed (most calls follow book updates).
            self.inventory_of = Some(self.position);
            self.inventory_f64 = [
                f64_of(self.position.size),
                f64_of(self.position.entry_price),
                f64_of(self.position.realised_pnl),
                f64_of(self.position.unrealised_pnl),
            ];
        }
        let [position, avg_entry_price, realised_pnl, unrealised_pnl] = self.inventory_f64;
        InputParts {
            now_ms,
            last_trade: self.last_trade,
            mark_price: self.mark_f64,
            inventory: Inventory {
                position,
                avg_entry_price,
                realised_pnl,
                unrealised_pnl,
                max_position: self.max_position,
                target_position: self.target_position,
                soft_position: self.derisk_soft_position,
            },
        }
    }

    /// Whether this symbol's quotes are to be pulled rather than planned (apart from stopping).
    fn pulls(&self) -> bool {
        self.retiring
            || self.disabled.is_some()
            || !self.book.is_whole()
            || pulls_quotes(self.kill_action())
    }

    /// Whether orders of ours may be open on the exchange for this symbol: some are tracked
    /// as not finished (pending ones included), or its orders are being read back after a
    /// reconnect.
    pub fn may_have_open_orders(&self) -> bool {
        self.syncing || self.working.open().next().is_some()
    }

    /// Whether this symbol's plan waits for the rate budget: its last plan was deferred for it
    /// and it is not pulling its quotes (a pull is planned at once, whatever the budget).
    pub fn budget_gated(&self) -> bool {
        self.budget_wait != 0 && !self.pulls()
    }

    /// Call the strategy on a changed book without planning (the router has no budget to send
    /// a plan now): the strategy still sees every update, and the plan follows once the budget
    /// allows. Does nothing while the symbol holds (syncing, adopted orders) or pulls.
    pub fn refresh_quote(&mut self, now_ms: i64) {
        if !self.quote_dirty || self.syncing || self.adopted_hold.is_some() || self.pulls() {
            return;
        }
        self.quote_dirty = false;
        self.route_dirty = true;
        self.call_strategy(now_ms);
        if self.ladder.is_pull() || self.disabled.is_some() {
            // The strategy pulls its quotes (or failed): that plan goes now, budget or not.
            self.budget_wait = 0;
        }
    }

    /// Call the strategy on the current book now (what [`Self::plan`] does when the book
    /// changed); the caller clears `quote_dirty`. For benchmarks that time the stages apart.
    #[doc(hidden)]
    pub fn call_strategy(&mut self, now_ms: i64) {
        self.ladder.clear();
        let parts = self.input_parts(now_ms);
        let book = &self.book;
        // Written where the strategy reads it (a WASM instance's memory): no copy.
        let result = self
            .strategy
            .quote_with(|input| parts.write(book, input), &mut self.ladder);
        match result {
            Ok(touch) => {
                self.ladder.truncate_bids(self.levels);
                self.ladder.truncate_asks(self.levels);
                self.has_ladder = true;
                self.quoted_mid = touch.mid();
                self.observe_quote();
            }
            Err(err) => {
                error!(symbol = %self.symbol, module = %self.module, error = %err, "strategy failed, pulling quotes");
                self.disabled = Some(err.to_string());
                self.strategy_fault = self.disabled.clone();
                self.has_ladder = false;
            }
        }
    }

    fn observe_quote(&mut self) {
        if let Some(started) = self.reload_started.take() {
            // Once per reload: out of line, so that the common call does not pay its frame.
            #[cold]
            #[inline(never)]
            fn first_after_reload(s: &SymbolState, started: Instant) {
                let since_change = started.elapsed();
                tracing::info!(symbol = %s.symbol, generation = s.generation, since_change_ms = since_change.as_secs_f64() * 1e3, "first quotes after reload");
                s.probe.emit(|| ProbeEvent::FirstQuoteAfterReload {
                    symbol: s.symbol.clone(),
                    generation: s.generation,
                    since_change,
                });
            }
            first_after_reload(self, started);
        }
        self.probe.emit(|| {
            let l = &self.ladder;
            ProbeEvent::Quoted {
                symbol: self.symbol.clone(),
                book_msgs: self.book_total,
                resyncs: self.resyncs,
                generation: self.generation,
                best: (
                    l.bids().first().map(|q| q.price),
                    l.asks().first().map(|q| q.price),
                ),
                mid: self.quoted_mid,
            }
        });
    }

    /// Apply new limits and router settings in place; the next round re-plans.
    pub fn set_limits(&mut self, limits: SymbolLimits) {
        self.cfg = limits.router;
        self.levels = limits.levels;
        self.max_position = limits.max_position;
        self.target_position = limits.target_position;
        self.derisk_soft_position = limits.derisk.as_ref().map_or(0.0, |d| d.soft_position);
        self.stale_after_ms = limits.stale_after_ms;
        self.quote_dirty = true;
        self.route_dirty = true;
    }

    /// Offer new parameters to the running strategy.
    pub fn update_params(
        &mut self,
        params_json: &[u8],
    ) -> Result<plugin_api::UpdateOutcome, PluginError> {
        let out = self.strategy.update_params(params_json)?;
        self.quote_dirty = true;
        Ok(out)
    }

    /// Hand the running strategy's state to `next` and let it quote the current book; swap it
    /// in only if that ladder is valid (when the book is not whole, nobody quotes and the swap
    /// happens at once). Returns whether the state was carried over (`false`: `next` could not
    /// read it and starts fresh). On error the old strategy keeps running.
    pub fn swap_strategy(
        &mut self,
        mut next: StrategyInstance,
        module: String,
        now_ms: i64,
    ) -> Result<bool, String> {
        let carried = match self.strategy.save_state() {
            Ok(state) => match next.restore_state(&state) {
                Ok(()) => true,
                Err(e) => {
                    warn!(symbol = %self.symbol, error = %e, "new instance cannot read the old state; it starts fresh");
                    false
                }
            },
            Err(e) => {
                warn!(symbol = %self.symbol, error = %e, "old instance cannot save its state; the new one starts fresh");
                false
            }
        };
        if self.book.is_whole() {
            let mut trial = Ladder::default();
            let (first, mid) = with_input(|input| {
                self.fill_input(input, now_ms);
                (
                    next.quote(input, &mut trial),
                    input.view.mid().unwrap_or(f64::NAN),
                )
            });
            self.quoted_mid = mid;
            if let Err(e) = first {
                self.retired.push(next);
                return Err(format!("the new instance's first ladder failed: {e}"));
            }
            trial.truncate_bids(self.levels);
            trial.truncate_asks(self.levels);
            *self.ladder = trial;
            self.has_ladder = true;
        }
        let old = std::mem::replace(&mut self.strategy, next);
        self.retired.push(old);
        self.module = module;
        self.disabled = None;
        self.route_dirty = true;
        self.observe_pending = self.has_ladder;
        Ok(carried)
    }

    /// Mark the start of reload `generation`, first seen at `started`.
    pub fn begin_generation(&mut self, generation: u64, started: Instant) {
        self.generation = generation;
        self.reload_started = Some(started);
    }

    /// Report the ladder a swap produced (logs and probe), after the swap's timing.
    pub fn flush_observation(&mut self) {
        if std::mem::take(&mut self.observe_pending) {
            self.observe_quote();
        }
    }

    /// Undo [`Self::begin_generation`] after a refused change.
    pub fn cancel_generation(&mut self, previous: u64) {
        self.generation = previous;
        self.reload_started = None;
    }

    /// Mid price of the local book.
    pub fn mid(&self) -> Option<Decimal> {
        let (b, a) = (self.book.best_bid()?, self.book.best_ask()?);
        Some(((b.price + a.price) / Decimal::TWO).normalize())
    }

    /// The price positions are marked at: the ticker's mark price, else the book mid.
    pub fn mark(&self) -> Option<Decimal> {
        self.mark_price.or_else(|| self.mid())
    }

    /// Orders not known to be finished.
    pub fn open_orders(&self) -> usize {
        self.working.open().count()
    }
}

#[cfg(test)]
mod input_tests {
    use super::*;
    use crate::book::{Fixed, RawLevel, UpdateKind};

    fn level(price: &str, size: &str) -> RawLevel {
        RawLevel {
            price: Fixed::parse(price.as_bytes()).expect("price"),
            size: Fixed::parse(size.as_bytes()).expect("size"),
        }
    }

    /// `call_strategy` writes the input straight into a WASM instance's buffer, which holds
    /// the previous call's input or whatever the guest left there: the write must set every
    /// byte, so that the strategy sees what a fresh input would hold.
    #[test]
    fn input_write_sets_every_byte_whatever_was_there() {
        let mut book = OrderBook::new("BTCUSDT", Decimal::new(1, 1), Decimal::new(1, 3)).unwrap();
        for depth in [0usize, 1, 3, 20, 25] {
            let update = BookUpdate {
                kind: UpdateKind::Snapshot,
                symbol: "BTCUSDT".into(),
                depth: 50,
                ts_exchange_ms: 1_700_000_000_123,
                ts_match_ms: 0,
                update_id: 7,
                seq: 9,
                bids: (0..depth)
                    .map(|i| level(&format!("{}.5", 50_000 - i), "0.012"))
                    .collect(),
                asks: (0..depth)
                    .map(|i| level(&format!("{}.5", 50_001 + i), "1.5"))
                    .collect(),
                read_at: None,
            };
            book.apply(&update, 5).unwrap();
            let parts = InputParts {
                now_ms: 1_700_000_000_456,
                last_trade: Trade {
                    price: 50_000.5,
                    size: 0.3,
                    side: SIDE_SELL,
                    reserved: 0,
                },
                mark_price: 50_001.25,
                inventory: Inventory {
                    position: -0.25,
                    avg_entry_price: 49_000.0,
                    realised_pnl: 1.5,
                    unrealised_pnl: -2.5,
                    max_position: 1.0,
                    target_position: 0.1,
                    soft_position: 0.8,
                },
            };
            let mut fresh = QuoteInput::default();
            parts.write(&book, &mut fresh);
            for garbage in [0x00u8, 0xA5, 0xFF] {
                let mut reused: QuoteInput = bytemuck::cast([garbage; size_of::<QuoteInput>()]);
                parts.write(&book, &mut reused);
                assert_eq!(
                    bytemuck::bytes_of(&reused),
                    bytemuck::bytes_of(&fresh),
                    "depth {depth}, garbage {garbage:#x}"
                );
            }
        }
    }
}
