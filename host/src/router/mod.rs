//! The order router: desired quotes against working orders, rate limits, order state.
//!
//! Pure logic, no I/O. Per symbol ([`symbol::plan_symbol`] does all three): [`limits::apply_hard_limits`] clamps the desired quotes,
//! [`diff::diff`] compares them with the symbol's [`state::WorkingOrders`] and emits staged
//! actions; across symbols [`batch::plan_requests`] turns the sendable actions into batched
//! requests within the [`ratelimit::RateLimiter`] budget. Acks and pushes flow back into
//! [`state::WorkingOrders`], whose state machine never goes backwards.

pub mod batch;
pub mod body;
pub mod diff;
pub mod io;
pub mod limit_check;
pub mod limits;
pub mod ratelimit;
pub mod state;
pub mod symbol;

#[cfg(test)]
mod flow_tests;

use crate::model::ModelError;
use thiserror::Error;

/// Errors of the router.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouterError {
    /// A model-level problem (id, rounding...).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An `orderStatus` string we do not know.
    #[error("unknown order status {0:?}")]
    UnknownStatus(String),
    /// No working order has this orderLinkId / orderId.
    #[error("no working order {0}")]
    UnknownOrder(String),
    /// An order with this orderLinkId is already tracked.
    #[error("order {0} is already tracked")]
    DuplicateOrder(String),
    /// A request was attempted on an order in a state that does not allow it.
    #[error("order {link_id} is {state:?}; cannot {op}")]
    InvalidTransition {
        /// The order.
        link_id: String,
        /// Its current state.
        state: state::OrderState,
        /// The attempted operation.
        op: &'static str,
    },
    /// A price or quantity too large for the diff's integer arithmetic.
    #[error("value {0} is out of the router's numeric range")]
    NumericOverflow(rust_decimal::Decimal),
    /// The diff's plan would cross our own quotes at some point (a bug guard; nothing is sent).
    #[error("plan would cross our own quotes: bid {bid} >= ask {ask}")]
    SelfCross {
        /// Our bid.
        bid: rust_decimal::Decimal,
        /// Our ask.
        ask: rust_decimal::Decimal,
    },
}
