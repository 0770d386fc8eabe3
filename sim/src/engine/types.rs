//! Domain types of the engine: instruments, orders, fills, positions.

use crate::config::{Category, SymbolConfig};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "Buy",
            Side::Sell => "Sell",
        }
    }
    /// Parse `Buy`/`Sell`.
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "Buy" => Some(Side::Buy),
            "Sell" => Some(Side::Sell),
            _ => None,
        }
    }
    /// +1 for buy, −1 for sell.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// Limit.
    Limit,
    /// Market (an IOC limit at a protection price, as on Bybit).
    Market,
}

impl OrderType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "Limit",
            OrderType::Market => "Market",
        }
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tif {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Maker only.
    PostOnly,
}

impl Tif {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
            Tif::Fok => "FOK",
            Tif::PostOnly => "PostOnly",
        }
    }
    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<Tif> {
        match s {
            "GTC" => Some(Tif::Gtc),
            "IOC" => Some(Tif::Ioc),
            "FOK" => Some(Tif::Fok),
            "PostOnly" => Some(Tif::PostOnly),
            _ => None,
        }
    }
}

/// Order status (Bybit names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (may have fills on derivatives).
    Cancelled,
    /// Rejected after acceptance (spot PostOnly).
    Rejected,
}

impl OrderStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "New",
            OrderStatus::PartiallyFilled => "PartiallyFilled",
            OrderStatus::Filled => "Filled",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Rejected => "Rejected",
        }
    }
    /// Still working on the book.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// Instrument spec with conversions between wire decimals and ticks/lots.
#[derive(Debug, Clone)]
pub struct Instrument {
    /// Symbol.
    pub symbol: String,
    /// Category.
    pub category: Category,
    /// Tick size.
    pub tick: Decimal,
    /// Quantity step.
    pub step: Decimal,
    /// Minimum quantity in lots.
    pub min_lots: i64,
    /// Maximum quantity in lots.
    pub max_lots: i64,
    /// Minimum notional.
    pub min_notional: Decimal,
    /// Base coin (symbol without the quote).
    pub base_coin: String,
    /// Quote coin (`USDT`).
    pub quote_coin: String,
}

impl Instrument {
    /// From config.
    pub fn from_config(c: &SymbolConfig) -> Self {
        let quote = ["USDT", "USDC", "USD"]
            .into_iter()
            .find(|q| c.symbol.ends_with(q) && c.symbol.len() > q.len())
            .unwrap_or("USDT");
        Instrument {
            symbol: c.symbol.clone(),
            category: c.category,
            tick: c.tick_size,
            step: c.qty_step,
            min_lots: (c.min_qty / c.qty_step).ceil().to_i64().unwrap_or(1).max(1),
            max_lots: (c.max_qty / c.qty_step)
                .floor()
                .to_i64()
                .unwrap_or(i64::MAX),
            min_notional: c.min_notional,
            base_coin: c.symbol.trim_end_matches(quote).to_string(),
            quote_coin: quote.to_string(),
        }
    }
    /// Ticks → price decimal with the tick's scale.
    pub fn px(&self, ticks: i64) -> Decimal {
        let mut d = Decimal::from(ticks) * self.tick;
        d.rescale(self.tick.scale());
        d
    }
    /// Lots → quantity decimal with the step's scale.
    pub fn qty(&self, lots: i64) -> Decimal {
        let mut d = Decimal::from(lots) * self.step;
        d.rescale(self.step.scale());
        d
    }
    /// Price on the tick grid → ticks; `None` if off-grid or not positive.
    pub fn ticks_of(&self, px: Decimal) -> Option<i64> {
        if px <= Decimal::ZERO {
            return None;
        }
        let t = px.checked_div(self.tick)?;
        if t.fract() != Decimal::ZERO {
            return None;
        }
        // Bound prices so that notional arithmetic can never overflow.
        t.to_i64().filter(|t| *t < 1_000_000_000_000)
    }
    /// Quantity on the lot grid → lots; `None` if off-grid or not positive.
    pub fn lots_of(&self, q: Decimal) -> Option<i64> {
        if q <= Decimal::ZERO {
            return None;
        }
        let l = q.checked_div(self.step)?;
        if l.fract() != Decimal::ZERO {
            return None;
        }
        l.to_i64().filter(|l| *l < 1_000_000_000_000)
    }
    /// Format a price for the wire.
    pub fn fmt_px(&self, ticks: i64) -> String {
        self.px(ticks).to_string()
    }
    /// Format a quantity for the wire.
    pub fn fmt_qty(&self, lots: i64) -> String {
        self.qty(lots).to_string()
    }
}

/// An order of a simulated account.
#[derive(Debug, Clone)]
pub struct Order {
    /// Exchange id (UUID for linear, 19 digits for spot).
    pub order_id: String,
    /// Client id (may be empty).
    pub order_link_id: String,
    /// Category.
    pub category: Category,
    /// Symbol.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price in ticks (protection price for market orders).
    pub price_ticks: i64,
    /// Quantity in lots.
    pub qty_lots: i64,
    /// Filled lots.
    pub cum_lots: i64,
    /// Filled notional.
    pub cum_value: Decimal,
    /// Fees paid (negative = rebate).
    pub cum_fee: Decimal,
    /// Time in force.
    pub tif: Tif,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// Close-on-trigger flag (echoed).
    pub close_on_trigger: bool,
    /// Bybit `stopOrderType` of an order a position stop created (`StopLoss`,
    /// `TakeProfit`, `TrailingStop`), empty for orders sent by the account.
    pub stop_order_type: &'static str,
    /// Status.
    pub status: OrderStatus,
    /// Bybit `cancelType` (`UNKNOWN` when not cancelled).
    pub cancel_type: &'static str,
    /// Bybit `rejectReason` (`EC_NoError` normally).
    pub reject_reason: &'static str,
    /// Take profit (echoed), empty if none.
    pub take_profit: String,
    /// Stop loss (echoed), empty if none.
    pub stop_loss: String,
    /// Creation time, ms.
    pub created_ms: i64,
    /// Last update, ms.
    pub updated_ms: i64,
    /// Displayed lots ahead of this order at its price.
    pub queue_ahead_lots: i64,
    /// Time priority (arrival counter; amend of qty down keeps it, price change renews it).
    pub priority: u64,
    /// Last price when created.
    pub last_price_on_created: String,
    /// Index of the owning account.
    pub account: usize,
}

impl Order {
    /// Lots still open.
    pub fn leaves_lots(&self) -> i64 {
        if self.status.is_open() {
            self.qty_lots - self.cum_lots
        } else {
            0
        }
    }
}

/// One execution (fill) of an account's order.
#[derive(Debug, Clone)]
pub struct Fill {
    /// Execution id.
    pub exec_id: String,
    /// Order id.
    pub order_id: String,
    /// Client order id.
    pub order_link_id: String,
    /// Category.
    pub category: Category,
    /// Symbol.
    pub symbol: String,
    /// Side of the order.
    pub side: Side,
    /// Fill price.
    pub price: Decimal,
    /// Fill quantity.
    pub qty: Decimal,
    /// price × qty.
    pub value: Decimal,
    /// Fee charged (negative = rebate).
    pub fee: Decimal,
    /// Fee rate applied.
    pub fee_rate: Decimal,
    /// Maker or taker.
    pub is_maker: bool,
    /// Order price (wire string).
    pub order_price: String,
    /// Order quantity (wire string).
    pub order_qty: String,
    /// Order leaves quantity after this fill (wire string).
    pub leaves_qty: String,
    /// Order type.
    pub order_type: OrderType,
    /// Realised PnL of this fill (closing part), linear only.
    pub exec_pnl: Decimal,
    /// Closed size (wire string, "" when opening).
    pub closed_size: String,
    /// Time, ms.
    pub time_ms: i64,
    /// Per-symbol sequence shared with the position update.
    pub seq: i64,
    /// Mark price at the fill.
    pub mark_price: String,
}

/// A one-way position on a linear symbol.
#[derive(Debug, Clone, Default)]
pub struct Position {
    /// Signed size (positive long).
    pub size: Decimal,
    /// Average entry price.
    pub avg_price: Decimal,
    /// Realised PnL since the position was last flat... (Bybit `curRealisedPnl`).
    pub cur_realised: Decimal,
    /// Cumulative realised PnL (fees included, as Bybit does).
    pub cum_realised: Decimal,
    /// Take profit ("0" = none).
    pub take_profit: Decimal,
    /// Stop loss ("0" = none).
    pub stop_loss: Decimal,
    /// Trailing stop distance ("0" = none).
    pub trailing_stop: Decimal,
    /// Trailing stop activation price.
    pub active_price: Decimal,
    /// Best mark since the trailing stop activated (0 = not active yet).
    pub trail_extreme: Decimal,
    /// Created, ms.
    pub created_ms: i64,
    /// Updated, ms.
    pub updated_ms: i64,
    /// Sequence of the last fill.
    pub seq: i64,
}
