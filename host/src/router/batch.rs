//! Staged actions across symbols into rate-limited, batched order requests.
//!
//! Only each symbol's lowest pending stage is sendable now (later stages wait for the acks and
//! are recomputed by the next diff); inside it, cancels go before amends before creates. Each
//! (kind, category) group is cut into batches of at most 20 (linear) / 10 (spot) orders charged one
//! unit per order to the batch endpoint's budget; a lone order, or an order the batch budget
//! cannot take, uses the single-order endpoint's separate budget. What fits no budget is returned
//! as deferred. Requests are domain structs; the wire encoding lives in `exchange::bybit`.

use super::RouterError;
use super::diff::{Action, StagedAction};
use super::ratelimit::{Endpoint, LimitKey, RateLimiter};
use super::state::{WorkingOrder, WorkingOrders};
use crate::model::{Category, OrderLinkId, Side};
use rust_decimal::Decimal;
use smallvec::SmallVec;
use std::sync::Arc;

/// Time in force of new quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeInForce {
    /// Maker only (the default for quotes).
    #[default]
    PostOnly,
    /// Good till cancelled.
    Gtc,
}

/// Batch settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchConfig {
    /// Time in force of creates.
    pub time_in_force: TimeInForce,
}

/// A new limit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    /// Symbol.
    pub symbol: Arc<str>,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Our id.
    pub link_id: OrderLinkId,
    /// Time in force.
    pub time_in_force: TimeInForce,
}

/// An amend of a resting order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendOrder {
    /// Symbol.
    pub symbol: Arc<str>,
    /// Our id.
    pub link_id: OrderLinkId,
    /// Exchange id, when known (Bybit prefers it).
    pub order_id: Option<Arc<str>>,
    /// New price, if it changes.
    pub price: Option<Decimal>,
    /// New total quantity, if it changes.
    pub qty: Option<Decimal>,
}

/// A cancel of a resting order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    /// Symbol.
    pub symbol: Arc<str>,
    /// Our id.
    pub link_id: OrderLinkId,
    /// Exchange id, when known.
    pub order_id: Option<Arc<str>>,
}

/// One request to the exchange (REST or WS trade).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRequest {
    /// Single create.
    Create(Category, CreateOrder),
    /// Single amend.
    Amend(Category, AmendOrder),
    /// Single cancel.
    Cancel(Category, CancelOrder),
    /// Batch create.
    CreateBatch(Category, Vec<CreateOrder>),
    /// Batch amend.
    AmendBatch(Category, Vec<AmendOrder>),
    /// Batch cancel.
    CancelBatch(Category, Vec<CancelOrder>),
}

impl OrderRequest {
    /// The endpoint (and so the budget) this request uses.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Self::Create(..) => Endpoint::Create,
            Self::Amend(..) => Endpoint::Amend,
            Self::Cancel(..) => Endpoint::Cancel,
            Self::CreateBatch(..) => Endpoint::CreateBatch,
            Self::AmendBatch(..) => Endpoint::AmendBatch,
            Self::CancelBatch(..) => Endpoint::CancelBatch,
        }
    }

    /// Number of orders in the request.
    pub fn len(&self) -> usize {
        match self {
            Self::Create(..) | Self::Amend(..) | Self::Cancel(..) => 1,
            Self::CreateBatch(_, v) => v.len(),
            Self::AmendBatch(_, v) => v.len(),
            Self::CancelBatch(_, v) => v.len(),
        }
    }

    /// Whether the request holds no order (never produced by the planner).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One symbol's staged actions from its diff.
#[derive(Debug, Clone)]
pub struct SymbolActions<'a> {
    /// Symbol.
    pub symbol: Arc<str>,
    /// Category.
    pub category: Category,
    /// Actions sorted by stage.
    pub actions: &'a [StagedAction],
}

/// Why an action was not sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferReason {
    /// An earlier stage of the same symbol must be acknowledged first.
    LaterStage,
    /// No budget left in this window.
    RateLimited,
}

/// An action not sent now. Prefer re-diffing over resending it as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// Symbol.
    pub symbol: Arc<str>,
    /// The action.
    pub action: StagedAction,
    /// Why.
    pub reason: DeferReason,
}

/// Where a sent action is in the input of [`plan_requests`]: `symbols[symbol].actions[action]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentAction {
    /// Index of the symbol in the input.
    pub symbol: usize,
    /// Index of the action in that symbol's actions.
    pub action: usize,
}

impl SentAction {
    /// The action, looked up in the same input `symbols` the plan was made from.
    pub fn of<'a>(self, symbols: &[SymbolActions<'a>]) -> &'a StagedAction {
        &symbols[self.symbol].actions[self.action]
    }
}

/// What to send now and what waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Requests to send now, cancels first; their budget is already charged (a tick's one or
    /// two without a heap allocation).
    pub requests: SmallVec<[OrderRequest; 2]>,
    /// Every action inside `requests`, as indices into the input, for [`record_sent`] (a
    /// tick's few actions without a heap allocation).
    pub sent: SmallVec<[SentAction; 8]>,
    /// Actions that wait.
    pub deferred: Vec<Deferred>,
}

struct Item<'a> {
    symbol: &'a Arc<str>,
    action: &'a StagedAction,
    at: SentAction,
}

/// Plan the requests for `symbols` at `now_ms`, charging `limiter`.
pub fn plan_requests(
    symbols: &[SymbolActions<'_>],
    limiter: &mut RateLimiter,
    now_ms: i64,
    cfg: &BatchConfig,
) -> Plan {
    let total = symbols.iter().map(|s| s.actions.len()).sum();
    let mut plan = Plan {
        requests: SmallVec::new(),
        sent: SmallVec::with_capacity(total),
        deferred: Vec::new(),
    };
    // kind 0 cancel, 1 amend, 2 create; per category
    // On the stack: a batch's worth of orders per group (more spill to the heap).
    let mut groups: [[SmallVec<[Item<'_>; 20]>; 2]; 3] = Default::default();
    for (si, sa) in symbols.iter().enumerate() {
        let Some(first) = sa.actions.iter().map(|a| a.stage).min() else {
            continue;
        };
        for (ai, a) in sa.actions.iter().enumerate() {
            if a.stage > first {
                plan.deferred
                    .push(defer(&sa.symbol, a, DeferReason::LaterStage));
                continue;
            }
            let kind = match a.action {
                Action::Cancel { .. } => 0,
                Action::Amend { .. } => 1,
                Action::Create { .. } => 2,
            };
            groups[kind][category_index(sa.category)].push(Item {
                symbol: &sa.symbol,
                action: a,
                at: SentAction {
                    symbol: si,
                    action: ai,
                },
            });
        }
    }
    for (kind, per_category) in groups.iter().enumerate() {
        for (ci, items) in per_category.iter().enumerate() {
            let category = [Category::Linear, Category::Spot][ci];
            let (single, batch) = match kind {
                0 => (Endpoint::Cancel, Endpoint::CancelBatch),
                1 => (Endpoint::Amend, Endpoint::AmendBatch),
                _ => (Endpoint::Create, Endpoint::CreateBatch),
            };
            let single = LimitKey::new(single, category);
            let batch = LimitKey::new(batch, category);
            let mut rest = &items[..];
            while !rest.is_empty() {
                let take = if rest.len() == 1 && limiter.try_acquire(single, 1, now_ms) {
                    Some((1, false))
                } else {
                    let want = rest.len().min(category.max_batch()) as u32;
                    match limiter.acquire_up_to(batch, want, now_ms) {
                        0 => limiter.try_acquire(single, 1, now_ms).then_some((1, false)),
                        n => Some((n as usize, true)),
                    }
                };
                let Some((n, batched)) = take else {
                    for it in rest {
                        plan.deferred
                            .push(defer(it.symbol, it.action, DeferReason::RateLimited));
                    }
                    break;
                };
                let (chunk, tail) = rest.split_at(n);
                plan.requests.push(build(category, chunk, batched, cfg));
                plan.sent.extend(chunk.iter().map(|it| it.at));
                rest = tail;
            }
        }
    }
    plan
}

fn category_index(c: Category) -> usize {
    match c {
        Category::Linear => 0,
        Category::Spot => 1,
    }
}

fn defer(symbol: &Arc<str>, action: &StagedAction, reason: DeferReason) -> Deferred {
    Deferred {
        symbol: symbol.clone(),
        action: action.clone(),
        reason,
    }
}

fn build(category: Category, chunk: &[Item<'_>], batched: bool, cfg: &BatchConfig) -> OrderRequest {
    let cancel = |it: &Item<'_>| match &it.action.action {
        Action::Cancel {
            link_id, order_id, ..
        } => Some(CancelOrder {
            symbol: it.symbol.clone(),
            link_id: link_id.clone(),
            order_id: order_id.clone(),
        }),
        _ => None,
    };
    let amend = |it: &Item<'_>| match &it.action.action {
        Action::Amend {
            link_id,
            order_id,
            price,
            qty,
            ..
        } => Some(AmendOrder {
            symbol: it.symbol.clone(),
            link_id: link_id.clone(),
            order_id: order_id.clone(),
            price: *price,
            qty: *qty,
        }),
        _ => None,
    };
    let create = |it: &Item<'_>| match &it.action.action {
        Action::Create { link_id, quote } => Some(CreateOrder {
            symbol: it.symbol.clone(),
            side: quote.side,
            price: quote.price,
            qty: quote.qty,
            link_id: link_id.clone(),
            time_in_force: cfg.time_in_force,
        }),
        _ => None,
    };
    // A lone order is built as itself (no vector); every item of a chunk has the first's kind.
    let first = &chunk[0];
    match (&first.action.action, batched) {
        (Action::Cancel { .. }, false) => {
            OrderRequest::Cancel(category, cancel(first).expect("a cancel"))
        }
        (Action::Amend { .. }, false) => {
            OrderRequest::Amend(category, amend(first).expect("an amend"))
        }
        (Action::Create { .. }, false) => {
            OrderRequest::Create(category, create(first).expect("a create"))
        }
        (Action::Cancel { .. }, true) => OrderRequest::CancelBatch(category, each(chunk, cancel)),
        (Action::Amend { .. }, true) => OrderRequest::AmendBatch(category, each(chunk, amend)),
        (Action::Create { .. }, true) => OrderRequest::CreateBatch(category, each(chunk, create)),
    }
}

/// The orders `build` makes of `chunk`, in one allocation.
fn each<T>(chunk: &[Item<'_>], build: impl Fn(&Item<'_>) -> Option<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(chunk.len());
    out.extend(chunk.iter().filter_map(build));
    out
}

/// Record in the symbol's registry that `action` was sent at `now_ms` (pending states).
pub fn record_sent(
    working: &mut WorkingOrders,
    action: &Action,
    now_ms: i64,
) -> Result<(), RouterError> {
    match action {
        Action::Create { link_id, quote } => {
            working.insert(WorkingOrder::pending_new(link_id.clone(), quote, now_ms))
        }
        Action::Amend {
            link_id,
            price,
            qty,
            ..
        } => {
            let o = working
                .get_mut(link_id.as_str())
                .ok_or_else(|| RouterError::UnknownOrder(link_id.to_string()))?;
            let (p, q) = (price.unwrap_or(o.price), qty.unwrap_or(o.qty));
            o.mark_amend_sent(p, q, now_ms)
        }
        Action::Cancel { link_id, .. } => working
            .get_mut(link_id.as_str())
            .ok_or_else(|| RouterError::UnknownOrder(link_id.to_string()))?
            .mark_cancel_sent(now_ms),
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
