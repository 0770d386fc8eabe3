//! One parsed order-book message, venue-neutral, reused from message to message.

use std::time::Instant;

use super::fixed::Fixed;

/// Whether an update replaces the book or changes some levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateKind {
    /// A full book: the local book is reset to exactly these levels.
    #[default]
    Snapshot,
    /// Changed levels only: size zero deletes, an unknown price inserts, a known one overwrites.
    Delta,
}

/// One price level as received: exact price and size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawLevel {
    /// Price.
    pub price: Fixed,
    /// Size (base quantity); zero deletes the level in a delta.
    pub size: Fixed,
}

/// A parsed order-book message.
///
/// Parsers clear and refill one `BookUpdate` per stream, so once its vectors and symbol have
/// grown to the stream's usual size no message allocates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookUpdate {
    /// Snapshot or delta.
    pub kind: UpdateKind,
    /// Exchange symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Book depth of the stream (`50` for `orderbook.50.*`); 0 when unknown.
    pub depth: u32,
    /// Exchange system time of the message, ms since the Unix epoch.
    pub ts_exchange_ms: i64,
    /// Matching-engine time, ms since the Unix epoch; 0 when absent.
    pub ts_match_ms: i64,
    /// Update id; consecutive deltas increase it by one.
    pub update_id: u64,
    /// Cross sequence; never decreases within a stream.
    pub seq: u64,
    /// Bid levels in wire order.
    pub bids: Vec<RawLevel>,
    /// Ask levels in wire order.
    pub asks: Vec<RawLevel>,
    /// When a socket task read the frame (`None` when it did not come from a socket). Parsers
    /// leave it alone.
    pub read_at: Option<Instant>,
}

impl BookUpdate {
    /// An empty update with room for `levels` levels per side.
    pub fn with_capacity(levels: usize) -> Self {
        Self {
            symbol: String::with_capacity(32),
            bids: Vec::with_capacity(levels),
            asks: Vec::with_capacity(levels),
            ..Self::default()
        }
    }

    /// Reset every field, keeping the allocated capacity.
    pub fn clear(&mut self) {
        self.kind = UpdateKind::Snapshot;
        self.symbol.clear();
        self.depth = 0;
        self.ts_exchange_ms = 0;
        self.ts_match_ms = 0;
        self.update_id = 0;
        self.seq = 0;
        self.bids.clear();
        self.asks.clear();
    }
}
