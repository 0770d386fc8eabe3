//! The fixed binary layout that crosses the host/plugin boundary on every call.
//!
//! Every struct is `#[repr(C)]`, made of 8-byte and 4-byte fields arranged so that there is no
//! padding (checked by `bytemuck::Pod`), which makes the byte image identical on wasm32 and
//! 64-bit little-endian hosts. The size assertions at the bottom pin the layout of
//! [`ABI_VERSION`](crate::ABI_VERSION) 2.

use bytemuck::{Pod, Zeroable};

/// Number of price levels per side in a [`MarketView`].
pub const MAX_VIEW_LEVELS: usize = 20;
/// Number of quote levels per side a [`Ladder`] can hold.
pub const MAX_LADDER_LEVELS: usize = 10;
/// Bytes reserved for the symbol name (UTF-8, NUL padded).
pub const SYMBOL_CAP: usize = 32;
/// Bytes reserved for a pull reason (UTF-8, truncated on a character boundary).
pub const REASON_CAP: usize = 64;

/// `side` value of a buy (a bid, or an aggressor that bought).
pub const SIDE_BUY: i32 = 1;
/// `side` value of a sell.
pub const SIDE_SELL: i32 = -1;
/// `side` value when there is no trade.
pub const SIDE_NONE: i32 = 0;

/// [`Ladder::kind`]: the ladder holds quotes (possibly none on a side).
pub const LADDER_KIND_QUOTES: u32 = 0;
/// [`Ladder::kind`]: pull every quote of the symbol; the reason is in [`Ladder::reason`].
pub const LADDER_KIND_PULL: u32 = 1;

/// One price level: a price and a size (base quantity).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Level {
    /// Price in quote currency.
    pub price: f64,
    /// Size in base currency.
    pub size: f64,
}

impl Level {
    /// A level at `price` for `size`.
    pub const fn new(price: f64, size: f64) -> Self {
        Self { price, size }
    }
}

/// The last public trade of a symbol.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Trade {
    /// Trade price.
    pub price: f64,
    /// Trade size (base).
    pub size: f64,
    /// Aggressor side: [`SIDE_BUY`], [`SIDE_SELL`], or [`SIDE_NONE`] when no trade is known.
    pub side: i32,
    /// Always zero; keeps the layout free of padding.
    pub reserved: u32,
}

/// What a strategy sees of the market on each call.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct MarketView {
    /// Symbol name, UTF-8, NUL padded. Use [`MarketView::symbol`].
    pub symbol: [u8; SYMBOL_CAP],
    /// Exchange timestamp of the update, ms since the Unix epoch.
    pub ts_exchange_ms: i64,
    /// Local receive timestamp, ms since the Unix epoch.
    pub ts_local_ms: i64,
    /// Number of valid entries in `bids`.
    pub bid_count: u32,
    /// Number of valid entries in `asks`.
    pub ask_count: u32,
    /// Bid levels, best (highest) first.
    pub bids: [Level; MAX_VIEW_LEVELS],
    /// Ask levels, best (lowest) first.
    pub asks: [Level; MAX_VIEW_LEVELS],
    /// The last public trade; `side == SIDE_NONE` when none is known.
    pub last_trade: Trade,
    /// Instrument tick size (price increment).
    pub tick_size: f64,
    /// Instrument lot size (quantity increment).
    pub lot_size: f64,
    /// Mark price, `NaN` when unknown. Use [`MarketView::mark_price`].
    pub mark_price: f64,
}

impl Default for MarketView {
    fn default() -> Self {
        let mut view = Self::zeroed();
        view.mark_price = f64::NAN;
        view
    }
}

impl MarketView {
    /// An empty view for `symbol` (truncated to [`SYMBOL_CAP`] bytes on a character boundary).
    pub fn new(symbol: &str) -> Self {
        let mut view = Self::default();
        view.set_symbol(symbol);
        view
    }

    /// Set the symbol name.
    pub fn set_symbol(&mut self, symbol: &str) {
        self.symbol = [0; SYMBOL_CAP];
        let bytes = truncate_utf8(symbol, SYMBOL_CAP);
        self.symbol[..bytes.len()].copy_from_slice(bytes);
    }

    /// The symbol name.
    pub fn symbol(&self) -> &str {
        let len = self
            .symbol
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(SYMBOL_CAP);
        core::str::from_utf8(&self.symbol[..len]).unwrap_or("")
    }

    /// Replace the bid side with `levels` (best first); extra levels are ignored.
    pub fn set_bids(&mut self, levels: &[Level]) {
        self.bid_count = copy_levels(&mut self.bids, levels);
    }

    /// Replace the ask side with `levels` (best first); extra levels are ignored.
    pub fn set_asks(&mut self, levels: &[Level]) {
        self.ask_count = copy_levels(&mut self.asks, levels);
    }

    /// The valid bid levels, best first.
    pub fn bids(&self) -> &[Level] {
        &self.bids[..(self.bid_count as usize).min(MAX_VIEW_LEVELS)]
    }

    /// The valid ask levels, best first.
    pub fn asks(&self) -> &[Level] {
        &self.asks[..(self.ask_count as usize).min(MAX_VIEW_LEVELS)]
    }

    /// Best bid, if the bid side is not empty.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids().first().copied()
    }

    /// Best ask, if the ask side is not empty.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks().first().copied()
    }

    /// Mid price `(best bid + best ask) / 2`, if both sides exist.
    pub fn mid(&self) -> Option<f64> {
        Some((self.best_bid()?.price + self.best_ask()?.price) / 2.0)
    }

    /// Size-weighted mid at L1 (often called microprice):
    /// `(ask·bid_size + bid·ask_size) / (bid_size + ask_size)`; the mid when both sizes are zero.
    pub fn weighted_mid(&self) -> Option<f64> {
        let (bid, ask) = (self.best_bid()?, self.best_ask()?);
        let total = bid.size + ask.size;
        if total > 0.0 {
            Some((ask.price * bid.size + bid.price * ask.size) / total)
        } else {
            self.mid()
        }
    }

    /// The last trade, if one is known.
    pub fn last_trade(&self) -> Option<Trade> {
        (self.last_trade.side != SIDE_NONE).then_some(self.last_trade)
    }

    /// The mark price, if known.
    pub fn mark_price(&self) -> Option<f64> {
        (!self.mark_price.is_nan()).then_some(self.mark_price)
    }
}

/// The symbol's inventory as the host knows it from the exchange.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Inventory {
    /// Signed position in base quantity (positive long, negative short).
    pub position: f64,
    /// Average entry price of the position (0 when flat).
    pub avg_entry_price: f64,
    /// Realised PnL in quote currency.
    pub realised_pnl: f64,
    /// Unrealised PnL in quote currency.
    pub unrealised_pnl: f64,
    /// The symbol's maximum absolute position (base quantity); quotes must not breach it.
    pub max_position: f64,
    /// The position to skew towards, signed base quantity (0: flat). Strategies skew on
    /// [`Inventory::excess`], `position - target_position`.
    pub target_position: f64,
    /// The host's de-risk soft limit on the absolute position (base quantity): beyond it the
    /// host trims the position with reduce-only orders. 0 when there is none.
    pub soft_position: f64,
}

impl Inventory {
    /// The position beyond the target, `position - target_position`: what strategies skew on.
    pub fn excess(&self) -> f64 {
        self.position - self.target_position
    }
}

/// Everything the host passes to one quote call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct QuoteInput {
    /// The market.
    pub view: MarketView,
    /// The symbol's inventory.
    pub inventory: Inventory,
}

/// One of our own fills.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Fill {
    /// Fill price.
    pub price: f64,
    /// Filled size (base).
    pub size: f64,
    /// Fill time, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Our side: [`SIDE_BUY`] or [`SIDE_SELL`].
    pub side: i32,
    /// Always zero; keeps the layout free of padding.
    pub reserved: u32,
}

/// The strategy's output: up to [`MAX_LADDER_LEVELS`] levels per side, or a pull with a reason.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Ladder {
    /// [`LADDER_KIND_QUOTES`] or [`LADDER_KIND_PULL`].
    pub kind: u32,
    /// Number of valid entries in `bids`.
    pub bid_count: u32,
    /// Number of valid entries in `asks`.
    pub ask_count: u32,
    /// Length of the UTF-8 reason in `reason`.
    pub reason_len: u32,
    /// Bid quotes, best (highest) first.
    pub bids: [Level; MAX_LADDER_LEVELS],
    /// Ask quotes, best (lowest) first.
    pub asks: [Level; MAX_LADDER_LEVELS],
    /// Pull reason bytes.
    pub reason: [u8; REASON_CAP],
}

impl Default for Ladder {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl Ladder {
    /// Reset to an empty quoting ladder.
    pub fn clear(&mut self) {
        self.kind = LADDER_KIND_QUOTES;
        self.bid_count = 0;
        self.ask_count = 0;
        self.reason_len = 0;
    }

    /// Append a bid level; returns `false` (and drops it) when the side is full.
    pub fn push_bid(&mut self, price: f64, size: f64) -> bool {
        push_level(&mut self.bids, &mut self.bid_count, price, size)
    }

    /// Append an ask level; returns `false` (and drops it) when the side is full.
    pub fn push_ask(&mut self, price: f64, size: f64) -> bool {
        push_level(&mut self.asks, &mut self.ask_count, price, size)
    }

    /// Turn this ladder into "pull every quote" with a reason (truncated to [`REASON_CAP`]).
    pub fn pull(&mut self, reason: &str) {
        self.clear();
        self.kind = LADDER_KIND_PULL;
        let bytes = truncate_utf8(reason, REASON_CAP);
        self.reason[..bytes.len()].copy_from_slice(bytes);
        self.reason_len = bytes.len() as u32;
    }

    /// Whether this ladder pulls every quote.
    pub fn is_pull(&self) -> bool {
        self.kind == LADDER_KIND_PULL
    }

    /// The pull reason, if this ladder is a pull.
    pub fn pull_reason(&self) -> Option<&str> {
        if !self.is_pull() {
            return None;
        }
        let len = (self.reason_len as usize).min(REASON_CAP);
        Some(core::str::from_utf8(&self.reason[..len]).unwrap_or("<invalid utf-8 reason>"))
    }

    /// The valid bid levels.
    pub fn bids(&self) -> &[Level] {
        &self.bids[..(self.bid_count as usize).min(MAX_LADDER_LEVELS)]
    }

    /// The valid ask levels.
    pub fn asks(&self) -> &[Level] {
        &self.asks[..(self.ask_count as usize).min(MAX_LADDER_LEVELS)]
    }

    /// Keep only the first `count` bids.
    pub fn truncate_bids(&mut self, count: usize) {
        self.bid_count = self.bid_count.min(count as u32);
    }

    /// Keep only the first `count` asks.
    pub fn truncate_asks(&mut self, count: usize) {
        self.ask_count = self.ask_count.min(count as u32);
    }

    /// Mutable access to the valid bid levels.
    pub fn bids_mut(&mut self) -> &mut [Level] {
        let n = (self.bid_count as usize).min(MAX_LADDER_LEVELS);
        &mut self.bids[..n]
    }

    /// Mutable access to the valid ask levels.
    pub fn asks_mut(&mut self) -> &mut [Level] {
        let n = (self.ask_count as usize).min(MAX_LADDER_LEVELS);
        &mut self.asks[..n]
    }
}

fn push_level(
    side: &mut [Level; MAX_LADDER_LEVELS],
    count: &mut u32,
    price: f64,
    size: f64,
) -> bool {
    let n = *count as usize;
    if n >= MAX_LADDER_LEVELS {
        return false;
    }
    side[n] = Level { price, size };
    *count += 1;
    true
}

fn copy_levels(dst: &mut [Level; MAX_VIEW_LEVELS], src: &[Level]) -> u32 {
    let n = src.len().min(MAX_VIEW_LEVELS);
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(Level::default());
    n as u32
}

/// The longest prefix of `s` that fits in `cap` bytes and ends on a character boundary.
pub(crate) fn truncate_utf8(s: &str, cap: usize) -> &[u8] {
    if s.len() <= cap {
        return s.as_bytes();
    }
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

const _: () = {
    assert!(core::mem::size_of::<Level>() == 16);
    assert!(core::mem::size_of::<Trade>() == 24);
    assert!(core::mem::size_of::<MarketView>() == 744);
    assert!(core::mem::size_of::<Inventory>() == 56);
    assert!(core::mem::size_of::<QuoteInput>() == 800);
    assert!(core::mem::size_of::<Fill>() == 32);
    assert!(core::mem::size_of::<Ladder>() == 400);
    assert!(core::mem::align_of::<QuoteInput>() == 8);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_round_trips_and_truncates_on_char_boundary() {
        assert_eq!(MarketView::new("BTCUSDT").symbol(), "BTCUSDT");
        let long = "é".repeat(20); // 40 bytes
        let view = MarketView::new(&long);
        assert_eq!(view.symbol(), "é".repeat(16));
    }

    #[test]
    fn weighted_mid_cross_multiplies_sizes() {
        let mut view = MarketView::new("X");
        view.set_bids(&[Level::new(99.9, 5.0)]);
        view.set_asks(&[Level::new(100.1, 1.0)]);
        assert!((view.weighted_mid().unwrap() - 100.066_666_666_7).abs() < 1e-9);
        assert!((view.mid().unwrap() - 100.0).abs() < 1e-12);
    }

    #[test]
    fn ladder_push_stops_at_capacity_and_pull_keeps_reason() {
        let mut ladder = Ladder::default();
        for i in 0..12 {
            let pushed = ladder.push_bid(100.0 - i as f64, 1.0);
            assert_eq!(pushed, i < MAX_LADDER_LEVELS);
        }
        assert_eq!(ladder.bids().len(), MAX_LADDER_LEVELS);
        ladder.pull("no book");
        assert!(ladder.bids().is_empty());
        assert_eq!(ladder.pull_reason(), Some("no book"));
    }

    #[test]
    fn unknown_mark_price_is_none() {
        let view = MarketView::new("X");
        assert_eq!(view.mark_price(), None);
        assert_eq!(view.last_trade(), None);
    }
}
