//! Domain types without I/O: instruments, orders, price and quantity rounding, ids.
//!
//! Money is exact: every price and quantity here is a [`rust_decimal::Decimal`]. The only
//! place floats enter is [`quote::quotes_from_ladder`], which converts the strategy's `f64`
//! ladder once, with the rounding rule documented on [`instrument::Instrument::price_from_f64`].

pub mod grid;
pub mod ids;
pub mod instrument;
pub mod quote;
pub mod text;

pub use ids::{LinkIdGen, OrderLinkId, ParsedLinkId};
pub use instrument::{Category, Instrument};
pub use quote::{
    DesiredQuotes, DropReason, DroppedLevel, GridSummary, Quote, QuoteGrid, SideSummary,
    quotes_from_ladder, quotes_on_grid, quotes_on_grid_into,
};

use rust_decimal::Decimal;
use thiserror::Error;

/// Errors of the domain model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// A float from a strategy was NaN or infinite.
    #[error("{what} is not a finite number")]
    NonFinite {
        /// Which value (e.g. "bid price").
        what: &'static str,
    },
    /// A float does not fit a `Decimal`.
    #[error("{what} is out of range")]
    OutOfRange {
        /// Which value.
        what: &'static str,
    },
    /// A price or quantity that must be positive is not.
    #[error("{what} must be positive, got {value}")]
    NonPositive {
        /// Which value.
        what: &'static str,
        /// The offending value.
        value: Decimal,
    },
    /// The instrument definition is unusable (zero tick or lot, min above max...).
    #[error("invalid instrument {symbol}: {reason}")]
    InvalidInstrument {
        /// The instrument's symbol.
        symbol: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The ladder's best bid is at or above its best ask after rounding.
    #[error("ladder crosses itself: best bid {bid} >= best ask {ask}")]
    CrossedLadder {
        /// Best bid after rounding.
        bid: Decimal,
        /// Best ask after rounding.
        ask: Decimal,
    },
    /// An order-link id would be longer than Bybit's 36 characters.
    #[error("orderLinkId for {symbol} would be {len} characters (max 36)")]
    LinkIdTooLong {
        /// The symbol.
        symbol: String,
        /// The length it would have.
        len: usize,
    },
    /// An order-link id part contains a character outside the allowed set.
    #[error("invalid orderLinkId part {part:?}: {reason}")]
    InvalidLinkIdPart {
        /// The offending part.
        part: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A string is not one of our order-link ids.
    #[error("not one of our orderLinkIds: {0:?}")]
    ForeignLinkId(String),
}

/// Side of a quote or an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// A bid.
    Buy,
    /// An offer.
    Sell,
}

impl Side {
    /// The other side.
    pub const fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// Bybit's spelling: `Buy` / `Sell`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "Buy",
            Side::Sell => "Sell",
        }
    }

    /// Whether `a` is a strictly better (more aggressive) price than `b` on this side.
    pub fn better(self, a: Decimal, b: Decimal) -> bool {
        match self {
            Side::Buy => a > b,
            Side::Sell => a < b,
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
