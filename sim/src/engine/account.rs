//! Accounts: orders by id, one-way positions, the USDT wallet and spot coin balances.

use super::types::{Fill, Order, Position};
use crate::config::Category;
use rust_decimal::Decimal;
use std::collections::{HashMap, VecDeque};

/// How many closed orders are kept for queries (Bybit keeps ≤500 for `openOnly=1`).
pub const CLOSED_KEEP: usize = 5000;

/// Fills kept per account (the oldest half is dropped beyond).
pub const FILLS_KEEP: usize = 500_000;

/// Leverage assumed for margin checks (linear).
pub const LEVERAGE: i64 = 10;

/// One simulated account.
#[derive(Debug, Clone)]
pub struct Account {
    /// API key.
    pub api_key: String,
    /// API secret.
    pub api_secret: String,
    /// Open orders by id.
    pub open: HashMap<String, Order>,
    /// Closed orders, oldest first.
    pub closed: VecDeque<Order>,
    /// orderLinkId → orderId of open orders.
    pub link_ids: HashMap<String, String>,
    /// Positions by symbol (linear).
    pub positions: HashMap<String, Position>,
    /// USDT wallet balance (realised PnL and fees applied).
    pub usdt: Decimal,
    /// Spot coin balances other than USDT.
    pub coins: HashMap<String, Decimal>,
    /// Cumulative realised PnL (wallet `cumRealisedPnl`).
    pub cum_realised: Decimal,
    /// Every fill, oldest first.
    pub fills: Vec<Fill>,
}

impl Account {
    /// New account with a USDT balance.
    pub fn new(api_key: &str, api_secret: &str, usdt: Decimal) -> Self {
        Account {
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            open: HashMap::new(),
            closed: VecDeque::new(),
            link_ids: HashMap::new(),
            positions: HashMap::new(),
            usdt,
            coins: HashMap::new(),
            cum_realised: Decimal::ZERO,
            fills: Vec::new(),
        }
    }

    /// Move a finished order from `open` to `closed`.
    pub fn close_order(&mut self, order_id: &str) -> Option<Order> {
        let o = self.open.remove(order_id)?;
        if !o.order_link_id.is_empty() {
            self.link_ids.remove(&o.order_link_id);
        }
        self.closed.push_back(o.clone());
        while self.closed.len() > CLOSED_KEEP {
            self.closed.pop_front();
        }
        Some(o)
    }

    /// Find an order id by id or link id (id wins when both are given).
    pub fn resolve(&self, order_id: Option<&str>, link_id: Option<&str>) -> Option<String> {
        match (order_id, link_id) {
            (Some(id), _) if !id.is_empty() => self.open.contains_key(id).then(|| id.to_string()),
            (_, Some(l)) if !l.is_empty() => self.link_ids.get(l).cloned(),
            _ => None,
        }
    }

    /// Open orders on one symbol.
    pub fn open_count(&self, category: Category, symbol: &str) -> usize {
        self.open
            .values()
            .filter(|o| o.category == category && o.symbol == symbol)
            .count()
    }

    /// Initial margin of positions (size × mark / leverage) plus open linear orders
    /// (leaves × price / leverage, non-reduce-only); `px_of` converts an order's ticks.
    pub fn initial_margin(
        &self,
        mark_of: &dyn Fn(&str) -> Decimal,
        order_notional: &dyn Fn(&Order) -> Decimal,
    ) -> Decimal {
        let lev = Decimal::from(LEVERAGE);
        let mut im = Decimal::ZERO;
        for (sym, p) in &self.positions {
            im += p.size.abs() * mark_of(sym) / lev;
        }
        for o in self.open.values() {
            if o.category == Category::Linear && !o.reduce_only {
                im += order_notional(o) / lev;
            }
        }
        im
    }

    /// Unrealised PnL of all positions.
    pub fn unrealised(&self, mark_of: &dyn Fn(&str) -> Decimal) -> Decimal {
        self.positions
            .iter()
            .map(|(s, p)| p.size * (mark_of(s) - p.avg_price))
            .sum()
    }

    /// Spot balance of a coin (USDT is the wallet).
    pub fn coin(&self, coin: &str) -> Decimal {
        if coin == "USDT" {
            self.usdt
        } else {
            self.coins.get(coin).copied().unwrap_or_default()
        }
    }

    /// Add to a spot coin balance.
    pub fn add_coin(&mut self, coin: &str, delta: Decimal) {
        if coin == "USDT" {
            self.usdt += delta;
        } else {
            *self.coins.entry(coin.to_string()).or_default() += delta;
        }
    }
}

/// Apply a fill of signed quantity `dq` at `px` to a position; returns the realised PnL of the
/// closing part and the closed size.
pub fn apply_fill(pos: &mut Position, dq: Decimal, px: Decimal) -> (Decimal, Decimal) {
    let s = pos.size;
    if s.is_zero() || (s > Decimal::ZERO) == (dq > Decimal::ZERO) {
        let new = s + dq;
        pos.avg_price = (s.abs() * pos.avg_price + dq.abs() * px) / new.abs();
        pos.size = new;
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let closed = s.abs().min(dq.abs());
    let sign = if s > Decimal::ZERO {
        Decimal::ONE
    } else {
        -Decimal::ONE
    };
    let pnl = closed * (px - pos.avg_price) * sign;
    let new = s + dq;
    if new.is_zero() {
        pos.avg_price = Decimal::ZERO;
    } else if (new > Decimal::ZERO) != (s > Decimal::ZERO) {
        pos.avg_price = px;
    }
    pos.size = new;
    (pnl, closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn position_math_table() {
        // (fills [(signed qty, price)], expected size, avg, total realised)
        let cases = [
            (
                vec![(dec!(1), dec!(100)), (dec!(1), dec!(110))],
                dec!(2),
                dec!(105),
                dec!(0),
            ),
            (
                vec![(dec!(2), dec!(100)), (dec!(-1), dec!(110))],
                dec!(1),
                dec!(100),
                dec!(10),
            ),
            (
                vec![(dec!(1), dec!(100)), (dec!(-3), dec!(90))],
                dec!(-2),
                dec!(90),
                dec!(-10),
            ),
            (
                vec![(dec!(-1), dec!(100)), (dec!(1), dec!(90))],
                dec!(0),
                dec!(0),
                dec!(10),
            ),
        ];
        for (fills, size, avg, realised) in cases {
            let mut p = Position::default();
            let mut r = Decimal::ZERO;
            for (q, px) in fills {
                r += apply_fill(&mut p, q, px).0;
            }
            assert_eq!((p.size, p.avg_price, r), (size, avg, realised));
        }
    }

    #[test]
    fn resolve_prefers_order_id() {
        let a = Account::new("k", "s", dec!(1));
        assert_eq!(a.resolve(Some("x"), Some("y")), None);
    }
}
