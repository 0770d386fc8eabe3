//! The local L2 book of one symbol and its sequencing state machine.

use plugin_api::{MAX_VIEW_LEVELS, MarketView};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::fixed::{scale_of, scaled_to_f64};
use super::update::{BookUpdate, RawLevel, UpdateKind};
use super::{BookError, BookState, ResyncReason};

/// Levels reserved per side up front (orderbook.50 plus room for transient inserts).
const RESERVED_LEVELS: usize = 128;

/// One level of the book with exact price and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookLevel {
    /// Price.
    pub price: Decimal,
    /// Size (base quantity).
    pub size: Decimal,
}

/// What [`OrderBook::apply`] did with an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// A snapshot (or a `u == 1` restart message) reset the book; it is whole now.
    Reset,
    /// A delta was applied.
    Applied,
    /// A delta arrived while the book waits for a snapshot; it was dropped.
    Ignored,
}

/// One side, sorted ascending by key with the best level last (cheap changes near the top).
/// The key is the price for bids and the negated price for asks.
#[derive(Clone, Debug)]
struct Side {
    levels: Vec<(i64, i64)>,
}

impl Side {
    fn new() -> Self {
        Self {
            levels: Vec::with_capacity(RESERVED_LEVELS),
        }
    }

    #[inline]
    fn set(&mut self, key: i64, size: i64) {
        match self.levels.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) if size == 0 => {
                self.levels.remove(i);
            }
            Ok(i) => self.levels[i].1 = size,
            Err(_) if size == 0 => {}
            Err(i) => self.levels.insert(i, (key, size)),
        }
    }

    #[inline]
    fn best(&self) -> Option<(i64, i64)> {
        self.levels.last().copied()
    }

    /// Levels best first.
    fn iter_best_first(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.levels.iter().rev().copied()
    }
}

/// The local L2 book of one symbol: exact integer prices and sizes at the instrument's scales.
///
/// Feed it [`BookUpdate`]s with [`apply`](Self::apply). A snapshot resets it; deltas must carry
/// `update_id == previous + 1` and a `seq` that does not go backwards. A gap, a crossed book
/// after an update, a stale stream ([`check_stale`](Self::check_stale)) or a malformed update
/// moves it to [`BookState::NeedsResync`]: it then reports not whole and drops deltas until the
/// next snapshot.
#[derive(Clone, Debug)]
pub struct OrderBook {
    symbol: String,
    tick_size: Decimal,
    lot_size: Decimal,
    tick_f64: f64,
    lot_f64: f64,
    price_scale: u8,
    qty_scale: u8,
    bids: Side,
    asks: Side,
    state: BookState,
    last_update_id: u64,
    last_seq: u64,
    ts_exchange_ms: i64,
    ts_local_ms: i64,
}

impl OrderBook {
    /// An empty book for `symbol`; prices are kept at the scale of `tick_size`, sizes at the
    /// scale of `lot_size` (e.g. tick `0.10` → 1 decimal, lot `0.001` → 3 decimals).
    pub fn new(symbol: &str, tick_size: Decimal, lot_size: Decimal) -> Result<Self, BookError> {
        let bad = |what: &'static str, value: Decimal| BookError::BadInstrument { what, value };
        if tick_size <= Decimal::ZERO {
            return Err(bad("tick_size", tick_size));
        }
        if lot_size <= Decimal::ZERO {
            return Err(bad("lot_size", lot_size));
        }
        let price_scale = scale_of(tick_size).ok_or(bad("tick_size", tick_size))?;
        let qty_scale = scale_of(lot_size).ok_or(bad("lot_size", lot_size))?;
        Ok(Self {
            symbol: symbol.to_owned(),
            tick_size,
            lot_size,
            tick_f64: tick_size.to_f64().unwrap_or(f64::NAN),
            lot_f64: lot_size.to_f64().unwrap_or(f64::NAN),
            price_scale,
            qty_scale,
            bids: Side::new(),
            asks: Side::new(),
            state: BookState::AwaitingSnapshot,
            last_update_id: 0,
            last_seq: 0,
            ts_exchange_ms: 0,
            ts_local_ms: 0,
        })
    }

    /// Apply one update received at local time `ts_local_ms`.
    ///
    /// On error the book is left in [`BookState::NeedsResync`] and the error says why.
    pub fn apply(
        &mut self,
        update: &BookUpdate,
        ts_local_ms: i64,
    ) -> Result<ApplyOutcome, BookError> {
        if update.symbol.as_bytes() != self.symbol.as_bytes() {
            return Err(BookError::SymbolMismatch {
                expected: self.symbol.clone(),
                got: update.symbol.clone(),
            });
        }
        // Bybit: `u == 1` means the service restarted and the message is a full book.
        let reset = update.kind == UpdateKind::Snapshot || update.update_id == 1;
        if reset {
            self.bids.levels.clear();
            self.asks.levels.clear();
            self.state = BookState::Live;
        } else {
            if self.state != BookState::Live {
                return Ok(ApplyOutcome::Ignored);
            }
            let expected = self.last_update_id.wrapping_add(1);
            if update.update_id != expected {
                return Err(self.fail(
                    ResyncReason::Gap,
                    BookError::Gap {
                        expected,
                        got: update.update_id,
                    },
                ));
            }
            if update.seq < self.last_seq {
                return Err(self.fail(
                    ResyncReason::SeqRegressed,
                    BookError::SeqRegressed {
                        last: self.last_seq,
                        got: update.seq,
                    },
                ));
            }
        }
        if let Err(err) = self.apply_levels(update) {
            return Err(self.fail(ResyncReason::BadUpdate, err));
        }
        self.last_update_id = update.update_id;
        self.last_seq = update.seq;
        self.ts_exchange_ms = update.ts_exchange_ms;
        self.ts_local_ms = ts_local_ms;
        if let (Some((bid, _)), Some((neg_ask, _))) = (self.bids.best(), self.asks.best())
            && bid >= -neg_ask
        {
            let err = BookError::Crossed {
                best_bid: Decimal::new(bid, u32::from(self.price_scale)),
                best_ask: Decimal::new(-neg_ask, u32::from(self.price_scale)),
            };
            return Err(self.fail(ResyncReason::Crossed, err));
        }
        Ok(if reset {
            ApplyOutcome::Reset
        } else {
            ApplyOutcome::Applied
        })
    }

    #[inline]
    fn apply_levels(&mut self, update: &BookUpdate) -> Result<(), BookError> {
        // Scales in locals: the stores into the sides cannot make the compiler reload them.
        let (price_scale, qty_scale) = (self.price_scale, self.qty_scale);
        for level in &update.bids {
            let (price, size) = normalise(level, price_scale, qty_scale)?;
            self.bids.set(price, size);
        }
        for level in &update.asks {
            let (price, size) = normalise(level, price_scale, qty_scale)?;
            self.asks.set(-price, size);
        }
        Ok(())
    }

    fn fail(&mut self, reason: ResyncReason, err: BookError) -> BookError {
        self.state = BookState::NeedsResync(reason);
        err
    }

    /// Mark the book for resync if nothing arrived for longer than `stale_after_ms`.
    pub fn check_stale(&mut self, now_local_ms: i64, stale_after_ms: i64) -> Result<(), BookError> {
        let silent_ms = now_local_ms.saturating_sub(self.ts_local_ms);
        if self.state == BookState::Live && silent_ms > stale_after_ms {
            return Err(self.fail(ResyncReason::Stale, BookError::Stale { silent_ms }));
        }
        Ok(())
    }

    /// Force a resync (e.g. the stream reconnected); the book is not whole until a snapshot.
    pub fn invalidate(&mut self, reason: ResyncReason) {
        self.state = BookState::NeedsResync(reason);
    }

    /// The sequencing state.
    pub fn state(&self) -> BookState {
        self.state
    }

    /// Whether the book is live and may be quoted against.
    pub fn is_whole(&self) -> bool {
        self.state == BookState::Live
    }

    /// The symbol.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Instrument tick size.
    pub fn tick_size(&self) -> Decimal {
        self.tick_size
    }

    /// Instrument lot size.
    pub fn lot_size(&self) -> Decimal {
        self.lot_size
    }

    /// Update id of the last applied message.
    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    /// Cross sequence of the last applied message.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Exchange time of the last applied message, ms.
    pub fn ts_exchange_ms(&self) -> i64 {
        self.ts_exchange_ms
    }

    /// Local receive time of the last applied message, ms.
    pub fn ts_local_ms(&self) -> i64 {
        self.ts_local_ms
    }

    /// Number of bid and ask levels.
    pub fn depth(&self) -> (usize, usize) {
        (self.bids.levels.len(), self.asks.levels.len())
    }

    /// Best bid.
    pub fn best_bid(&self) -> Option<BookLevel> {
        self.bids.best().map(|(p, s)| self.level(p, s))
    }

    /// Best ask.
    pub fn best_ask(&self) -> Option<BookLevel> {
        self.asks.best().map(|(p, s)| self.level(-p, s))
    }

    /// Bid levels, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = BookLevel> + '_ {
        self.bids.iter_best_first().map(|(p, s)| self.level(p, s))
    }

    /// Ask levels, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = BookLevel> + '_ {
        self.asks.iter_best_first().map(|(p, s)| self.level(-p, s))
    }

    fn level(&self, price: i64, size: i64) -> BookLevel {
        BookLevel {
            price: Decimal::new(price, u32::from(self.price_scale)),
            size: Decimal::new(size, u32::from(self.qty_scale)),
        }
    }

    /// Fill `view` with the top [`MAX_VIEW_LEVELS`] levels per side (best first, as `f64`),
    /// tick and lot size, symbol and exchange time. Does not allocate. Other fields (last
    /// trade, mark price, local time) are left as they are.
    pub fn fill_view(&self, view: &mut MarketView) {
        // Unconditionally: the view is scratch shared by the symbols of a thread, so the name
        // changes on most calls, and writing it (32 bytes) costs less than reading it back.
        view.set_symbol(&self.symbol);
        view.ts_exchange_ms = self.ts_exchange_ms;
        view.tick_size = self.tick_f64;
        view.lot_size = self.lot_f64;
        let (ps, qs) = (self.price_scale, self.qty_scale);
        view.bid_count = fill_side(&mut view.bids, self.bids.iter_best_first(), 1, ps, qs);
        view.ask_count = fill_side(&mut view.asks, self.asks.iter_best_first(), -1, ps, qs);
    }
}

/// A level's price and size at the book's scales, if representable (price positive, size
/// not negative).
#[inline(always)]
fn normalise(level: &RawLevel, price_scale: u8, qty_scale: u8) -> Result<(i64, i64), BookError> {
    let price = level.price.to_scale(price_scale).filter(|p| *p > 0);
    let size = level.size.to_scale(qty_scale).filter(|s| *s >= 0);
    match (price, size) {
        (Some(p), Some(s)) => Ok((p, s)),
        (None, _) => Err(BookError::BadLevel {
            what: "price",
            value: level.price.to_decimal(),
        }),
        (_, None) => Err(BookError::BadLevel {
            what: "size",
            value: level.size.to_decimal(),
        }),
    }
}

fn fill_side(
    out: &mut [plugin_api::Level; MAX_VIEW_LEVELS],
    levels: impl Iterator<Item = (i64, i64)>,
    sign: i64,
    price_scale: u8,
    qty_scale: u8,
) -> u32 {
    let mut n = 0;
    for (slot, (key, size)) in out.iter_mut().zip(levels) {
        slot.price = scaled_to_f64(sign * key, price_scale);
        slot.size = scaled_to_f64(size, qty_scale);
        n += 1;
    }
    for slot in &mut out[n..] {
        *slot = plugin_api::Level::default();
    }
    n as u32
}

/// A [`RawLevel`] from text, for tests and tools. Panics on malformed input.
#[cfg(test)]
pub(crate) fn raw(price: &str, size: &str) -> RawLevel {
    use super::fixed::Fixed;
    RawLevel {
        price: Fixed::parse(price.as_bytes()).expect("price"),
        size: Fixed::parse(size.as_bytes()).expect("size"),
    }
}

#[cfg(test)]
#[path = "order_book_tests.rs"]
mod tests;
