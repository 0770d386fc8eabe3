//! Order state machine and the per-symbol registry of working orders.
//!
//! Inputs arrive in any order: REST/WS-trade acks of our requests and private-stream pushes.
//! The machine never goes backwards:
//! - lifecycle rank `Submitted < Open < terminal`; a push or ack can only raise it;
//! - a terminal state inferred from an ack (cancel accepted, create rejected) can be replaced by a
//!   terminal state the exchange reports, but a reported terminal state is final;
//! - a push older than the last applied one (`updatedTime`, then `cumExecQty`) is stale; the
//!   filled quantity is still raised to the maximum seen;
//! - after an accepted amend, pushes not showing the amended price/qty are older than the amend
//!   and do not restore the old price/qty.
//!
//! A request whose outcome is unknown (timeout, 5xx, 10016) leaves the order in
//! [`OrderState::Unknown`] until a push or [`WorkingOrder::reconcile`] resolves it: never a resend.

use super::RouterError;
use crate::model::{OrderLinkId, Quote, Side};
use rust_decimal::Decimal;
use std::sync::Arc;

/// Bybit `orderStatus` values (domain form, parsed by [`parse_order_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeStatus {
    /// Resting, nothing filled (also `Created`, `Active`).
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Conditional order not yet triggered (open).
    Untriggered,
    /// Conditional order just triggered (transient, open).
    Triggered,
    /// Fully filled.
    Filled,
    /// Cancelled (derivatives: may carry fills).
    Cancelled,
    /// Spot: cancelled after a partial fill.
    PartiallyFilledCanceled,
    /// Rejected.
    Rejected,
    /// Conditional order cancelled before triggering.
    Deactivated,
}

/// Parse a Bybit `orderStatus` string.
pub fn parse_order_status(s: &str) -> Result<ExchangeStatus, RouterError> {
    Ok(match s {
        "New" | "Created" | "Active" => ExchangeStatus::New,
        "PartiallyFilled" => ExchangeStatus::PartiallyFilled,
        "Untriggered" => ExchangeStatus::Untriggered,
        "Triggered" => ExchangeStatus::Triggered,
        "Filled" => ExchangeStatus::Filled,
        "Cancelled" => ExchangeStatus::Cancelled,
        "PartiallyFilledCanceled" => ExchangeStatus::PartiallyFilledCanceled,
        "Rejected" => ExchangeStatus::Rejected,
        "Deactivated" => ExchangeStatus::Deactivated,
        other => return Err(RouterError::UnknownStatus(other.to_owned())),
    })
}

/// The state of one of our orders as the router sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Create sent, not yet acknowledged or seen on the stream.
    PendingNew,
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Amend sent, not yet acknowledged.
    PendingAmend,
    /// Cancel sent, not yet acknowledged.
    PendingCancel,
    /// Fully filled (terminal).
    Filled,
    /// Cancelled, possibly after partial fills (terminal).
    Cancelled,
    /// Rejected by the exchange (terminal).
    Rejected,
    /// The outcome of a request is unknown; needs reconciliation before any new request.
    Unknown,
}

impl OrderState {
    /// Filled, cancelled or rejected.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Cancelled | Self::Rejected)
    }

    /// Waiting for an ack or for reconciliation: the router must not touch the order.
    pub const fn is_frozen(self) -> bool {
        matches!(
            self,
            Self::PendingNew | Self::PendingAmend | Self::PendingCancel | Self::Unknown
        )
    }
}

/// An order update from the private stream or a REST order query (domain form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderUpdate {
    /// Exchange order id.
    pub order_id: String,
    /// Our orderLinkId as reported.
    pub order_link_id: String,
    /// Status.
    pub status: ExchangeStatus,
    /// Order price.
    pub price: Decimal,
    /// Order quantity (total, including the filled part).
    pub qty: Decimal,
    /// Cumulative filled quantity.
    pub cum_exec_qty: Decimal,
    /// Exchange `updatedTime`, ms.
    pub updated_ms: i64,
}

/// Which request an ack answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Create.
    Create,
    /// Amend.
    Amend,
    /// Cancel.
    Cancel,
}

/// What an ack (REST response, batch item, WS-trade response) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// Accepted (retCode 0); the exchange order id if the response carried one.
    Accepted {
        /// Exchange order id.
        order_id: Option<String>,
    },
    /// Rejected with a business error. `order_gone` when the code says the order no longer
    /// exists or is already finished (110001, 110008, 110010, 170213...).
    Rejected {
        /// The order is known to be gone.
        order_gone: bool,
    },
    /// No usable answer: timeout, 5xx, 10016. The request may or may not have happened.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lifecycle {
    Submitted,
    Open,
    Filled,
    Cancelled,
    Rejected,
}

impl Lifecycle {
    fn rank(self) -> u8 {
        match self {
            Self::Submitted => 0,
            Self::Open => 1,
            _ => 2,
        }
    }

    fn from_status(status: ExchangeStatus) -> Self {
        use ExchangeStatus as S;
        match status {
            S::New | S::PartiallyFilled | S::Untriggered | S::Triggered => Self::Open,
            S::Filled => Self::Filled,
            S::Cancelled | S::PartiallyFilledCanceled | S::Deactivated => Self::Cancelled,
            S::Rejected => Self::Rejected,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingOp {
    Create,
    Amend { price: Decimal, qty: Decimal },
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    op: PendingOp,
    sent_ms: i64,
    outcome_unknown: bool,
}

/// One of our orders and everything known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingOrder {
    /// Our id.
    pub link_id: OrderLinkId,
    /// Exchange id, once known.
    pub order_id: Option<Arc<str>>,
    /// Side.
    pub side: Side,
    /// Ladder level it was created for.
    pub level: u8,
    /// Last known price on the exchange (requested price while pending new).
    pub price: Decimal,
    /// Last known total quantity (including the filled part).
    pub qty: Decimal,
    /// Cumulative filled quantity.
    pub cum_exec_qty: Decimal,
    lifecycle: Lifecycle,
    terminal_reported: bool,
    pending: Option<Pending>,
    needs_reconcile: bool,
    last_update: Option<(i64, Decimal)>,
    acked_amend: Option<(Decimal, Decimal)>,
}

impl WorkingOrder {
    /// A new order for `quote`, create request sent at `now_ms`.
    pub fn pending_new(link_id: OrderLinkId, quote: &Quote, now_ms: i64) -> Self {
        Self {
            link_id,
            order_id: None,
            side: quote.side,
            level: quote.level,
            price: quote.price,
            qty: quote.qty,
            cum_exec_qty: Decimal::ZERO,
            lifecycle: Lifecycle::Submitted,
            terminal_reported: false,
            pending: Some(Pending {
                op: PendingOp::Create,
                sent_ms: now_ms,
                outcome_unknown: false,
            }),
            needs_reconcile: false,
            last_update: None,
            acked_amend: None,
        }
    }

    /// An open order of ours found on the exchange at start-up (left by an earlier run with
    /// the same instance id) and taken over: `side` and `level` come from its link id, the rest
    /// from the exchange's row. `None` when the row is not open or has no price.
    pub fn adopted(link_id: OrderLinkId, side: Side, level: u8, row: &OrderUpdate) -> Option<Self> {
        if !matches!(
            row.status,
            ExchangeStatus::New | ExchangeStatus::PartiallyFilled
        ) || row.price <= Decimal::ZERO
        {
            return None;
        }
        let quote = Quote {
            side,
            level,
            price: row.price,
            qty: row.qty,
        };
        let mut order = Self::pending_new(link_id, &quote, row.updated_ms);
        order.apply_update(row).then_some(order)
    }

    /// The current state.
    #[inline]
    pub fn state(&self) -> OrderState {
        match self.lifecycle {
            Lifecycle::Filled => return OrderState::Filled,
            Lifecycle::Cancelled => return OrderState::Cancelled,
            Lifecycle::Rejected => return OrderState::Rejected,
            Lifecycle::Submitted | Lifecycle::Open => {}
        }
        if self.needs_reconcile {
            return OrderState::Unknown;
        }
        match self.pending {
            Some(p) if p.outcome_unknown => OrderState::Unknown,
            Some(Pending {
                op: PendingOp::Create,
                ..
            }) => OrderState::PendingNew,
            Some(Pending {
                op: PendingOp::Amend { .. },
                ..
            }) => OrderState::PendingAmend,
            Some(Pending {
                op: PendingOp::Cancel,
                ..
            }) => OrderState::PendingCancel,
            None if self.lifecycle == Lifecycle::Submitted => OrderState::PendingNew,
            // `cum_exec_qty > 0` without `Decimal`'s out-of-line comparison.
            None if !self.cum_exec_qty.is_sign_negative() && !self.cum_exec_qty.is_zero() => {
                OrderState::PartiallyFilled
            }
            None => OrderState::New,
        }
    }

    /// Whether the exchange itself reported the terminal state (not only inferred from an ack).
    pub fn terminal_reported(&self) -> bool {
        self.terminal_reported
    }

    /// Quantity still resting: `qty - cum_exec_qty` (zero once terminal).
    #[inline]
    pub fn leaves_qty(&self) -> Decimal {
        if self.lifecycle.rank() == 2 {
            Decimal::ZERO
        } else if self.cum_exec_qty.is_zero() {
            // Nothing filled (the usual case): no arithmetic.
            if self.qty.is_sign_negative() {
                Decimal::ZERO
            } else {
                self.qty
            }
        } else {
            (self.qty - self.cum_exec_qty).max(Decimal::ZERO)
        }
    }

    /// Price and total quantity a pending amend asks for, if one is in flight.
    pub fn amend_target(&self) -> Option<(Decimal, Decimal)> {
        match self.pending {
            Some(Pending {
                op: PendingOp::Amend { price, qty },
                ..
            }) => Some((price, qty)),
            _ => None,
        }
    }

    /// Whether a cancel is in flight.
    pub fn cancel_pending(&self) -> bool {
        matches!(
            self.pending,
            Some(Pending {
                op: PendingOp::Cancel,
                ..
            })
        )
    }

    /// Record that an amend to `price`/`qty` (total) was sent.
    pub fn mark_amend_sent(
        &mut self,
        price: Decimal,
        qty: Decimal,
        now_ms: i64,
    ) -> Result<(), RouterError> {
        self.check_idle("amend")?;
        self.pending = Some(Pending {
            op: PendingOp::Amend { price, qty },
            sent_ms: now_ms,
            outcome_unknown: false,
        });
        Ok(())
    }

    /// Record that a cancel was sent.
    pub fn mark_cancel_sent(&mut self, now_ms: i64) -> Result<(), RouterError> {
        self.check_idle("cancel")?;
        self.pending = Some(Pending {
            op: PendingOp::Cancel,
            sent_ms: now_ms,
            outcome_unknown: false,
        });
        Ok(())
    }

    fn check_idle(&self, op: &'static str) -> Result<(), RouterError> {
        let state = self.state();
        if matches!(state, OrderState::New | OrderState::PartiallyFilled) {
            Ok(())
        } else {
            Err(RouterError::InvalidTransition {
                link_id: self.link_id.to_string(),
                state,
                op,
            })
        }
    }

    /// Apply the ack of a `kind` request.
    pub fn apply_ack(&mut self, kind: RequestKind, outcome: &AckOutcome) {
        if let AckOutcome::Accepted { order_id: Some(id) } = outcome
            && self.order_id.is_none()
        {
            self.order_id = Some(id.as_str().into());
        }
        let matches_pending = matches!(
            (self.pending.map(|p| p.op), kind),
            (Some(PendingOp::Create), RequestKind::Create)
                | (Some(PendingOp::Cancel), RequestKind::Cancel)
                | (Some(PendingOp::Amend { .. }), RequestKind::Amend)
        );
        if matches!(outcome, AckOutcome::Unknown) {
            if matches_pending && let Some(p) = self.pending.as_mut() {
                p.outcome_unknown = true;
            }
            return;
        }
        let pending = if matches_pending {
            self.pending.take()
        } else {
            None
        };
        let terminal = self.lifecycle.rank() == 2;
        match (kind, outcome) {
            (RequestKind::Create, AckOutcome::Accepted { .. }) => self.raise(Lifecycle::Open),
            (RequestKind::Create, AckOutcome::Rejected { .. }) => {
                if self.lifecycle == Lifecycle::Submitted {
                    self.lifecycle = Lifecycle::Rejected;
                }
            }
            (RequestKind::Amend, AckOutcome::Accepted { .. }) => {
                if let Some(Pending {
                    op: PendingOp::Amend { price, qty },
                    ..
                }) = pending
                    && !terminal
                {
                    self.price = price;
                    self.qty = qty;
                    self.acked_amend = Some((price, qty));
                }
            }
            (RequestKind::Cancel, AckOutcome::Accepted { .. }) => {
                if !terminal {
                    self.lifecycle = Lifecycle::Cancelled;
                }
            }
            (RequestKind::Amend | RequestKind::Cancel, AckOutcome::Rejected { order_gone }) => {
                if *order_gone && !terminal {
                    self.needs_reconcile = true;
                }
            }
            (_, AckOutcome::Unknown) => {}
        }
    }

    /// Apply an update from the stream. Returns `false` when it was stale (older than what is known).
    pub fn apply_update(&mut self, u: &OrderUpdate) -> bool {
        if self.order_id.is_none() && !u.order_id.is_empty() {
            self.order_id = Some(u.order_id.as_str().into());
        }
        let stale = self
            .last_update
            .is_some_and(|(t, cum)| (u.updated_ms, u.cum_exec_qty) < (t, cum));
        self.cum_exec_qty = self.cum_exec_qty.max(u.cum_exec_qty);
        if stale || self.terminal_reported {
            return false;
        }
        self.last_update = Some((u.updated_ms, u.cum_exec_qty));
        let next = Lifecycle::from_status(u.status);
        if next.rank() == 2 {
            // The exchange's terminal word wins over one we inferred from an ack.
            self.lifecycle = next;
            self.terminal_reported = true;
            self.pending = None;
            self.needs_reconcile = false;
        } else if self.lifecycle.rank() == 2 {
            return false; // an open push older than our accepted cancel
        } else {
            self.raise(next);
            let amend_visible = self.acked_amend.is_none_or(|t| t == (u.price, u.qty));
            if amend_visible {
                self.acked_amend = None;
                self.price = u.price;
                self.qty = u.qty;
            }
            match self.pending.map(|p| p.op) {
                Some(PendingOp::Create) => self.pending = None,
                Some(PendingOp::Amend { price, qty }) if (price, qty) == (u.price, u.qty) => {
                    self.pending = None;
                }
                _ => {}
            }
        }
        true
    }

    /// Resolve an unknown outcome with a REST order query: `Some(update)` when the exchange
    /// knows the order, `None` when it does not (never created, or gone).
    pub fn reconcile(&mut self, found: Option<&OrderUpdate>) {
        self.pending = None;
        self.needs_reconcile = false;
        match found {
            Some(u) => {
                self.acked_amend = None;
                self.apply_update(u);
            }
            None if self.lifecycle == Lifecycle::Submitted => self.lifecycle = Lifecycle::Rejected,
            None if self.lifecycle == Lifecycle::Open => self.lifecycle = Lifecycle::Cancelled,
            None => {}
        }
    }

    /// Mark a request still unanswered after `timeout_ms` as outcome-unknown. Returns whether it changed.
    pub fn expire_pending(&mut self, now_ms: i64, timeout_ms: i64) -> bool {
        match self.pending.as_mut() {
            Some(p) if !p.outcome_unknown && now_ms - p.sent_ms >= timeout_ms => {
                p.outcome_unknown = true;
                true
            }
            _ => false,
        }
    }

    fn raise(&mut self, to: Lifecycle) {
        if to.rank() > self.lifecycle.rank() {
            self.lifecycle = to;
        }
    }
}

#[path = "state_registry.rs"]
mod registry;
pub use registry::{UpdateOutcome, WorkingOrders};

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
