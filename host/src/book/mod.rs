//! Local L2 order books and their sequencing (snapshot, deltas, gaps → resync).
//!
//! Exchange parsers fill a reusable [`BookUpdate`]; an [`OrderBook`] applies it with exact
//! integer prices and checks the sequence. The book hands strategies a
//! [`plugin_api::MarketView`] through [`OrderBook::fill_view`].

mod fixed;
mod order_book;
mod update;

pub use fixed::{Fixed, MAX_SCALE, scale_of, scaled_to_f64};
pub use order_book::{ApplyOutcome, BookLevel, OrderBook};
pub use update::{BookUpdate, RawLevel, UpdateKind};

use rust_decimal::Decimal;

/// Why a book needs a fresh snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResyncReason {
    /// A delta's update id did not follow the previous one.
    Gap,
    /// The cross sequence went backwards.
    SeqRegressed,
    /// Best bid at or above best ask after an update.
    Crossed,
    /// No update for longer than the stale threshold.
    Stale,
    /// An update held a level that cannot be represented (precision, sign, overflow).
    BadUpdate,
    /// The stream reconnected or was resubscribed.
    Reconnected,
}

/// Sequencing state of an [`OrderBook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookState {
    /// No snapshot received yet.
    AwaitingSnapshot,
    /// Whole and in sequence.
    Live,
    /// Broken; deltas are dropped until the next snapshot.
    NeedsResync(ResyncReason),
}

/// Errors from applying updates to a book. Every one leaves the book needing a resync,
/// except [`BookError::SymbolMismatch`] and [`BookError::BadInstrument`], which leave it as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BookError {
    /// A delta's update id is not the previous one plus one.
    #[error("book sequence gap: expected update id {expected}, got {got}")]
    Gap {
        /// The id that should have come.
        expected: u64,
        /// The id that came.
        got: u64,
    },
    /// The cross sequence went backwards.
    #[error("book cross sequence went backwards: last {last}, got {got}")]
    SeqRegressed {
        /// Last accepted seq.
        last: u64,
        /// Received seq.
        got: u64,
    },
    /// The book is crossed after an update.
    #[error("book crossed after update: best bid {best_bid} >= best ask {best_ask}")]
    Crossed {
        /// Best bid.
        best_bid: Decimal,
        /// Best ask.
        best_ask: Decimal,
    },
    /// No update for too long.
    #[error("book stale: nothing received for {silent_ms} ms")]
    Stale {
        /// Time since the last update, ms.
        silent_ms: i64,
    },
    /// A level's price or size does not fit the instrument (finer than tick/lot, negative, overflow).
    #[error("book level {what} {value} does not fit the instrument")]
    BadLevel {
        /// `"price"` or `"size"`.
        what: &'static str,
        /// The value received.
        value: Decimal,
    },
    /// The update is for another symbol.
    #[error("book update for {got} applied to book of {expected}")]
    SymbolMismatch {
        /// This book's symbol.
        expected: String,
        /// The update's symbol.
        got: String,
    },
    /// Tick or lot size unusable (not positive or too many decimals).
    #[error("bad instrument {what}: {value}")]
    BadInstrument {
        /// `"tick_size"` or `"lot_size"`.
        what: &'static str,
        /// The value given.
        value: Decimal,
    },
}

impl BookError {
    /// The resync reason this error implies, if it breaks the book.
    pub fn resync_reason(&self) -> Option<ResyncReason> {
        match self {
            Self::Gap { .. } => Some(ResyncReason::Gap),
            Self::SeqRegressed { .. } => Some(ResyncReason::SeqRegressed),
            Self::Crossed { .. } => Some(ResyncReason::Crossed),
            Self::Stale { .. } => Some(ResyncReason::Stale),
            Self::BadLevel { .. } => Some(ResyncReason::BadUpdate),
            Self::SymbolMismatch { .. } | Self::BadInstrument { .. } => None,
        }
    }
}
