//! Host-level de-risking: when `|position|` exceeds a soft limit (below the hard
//! `max_position`), send a reduce-only IOC limit order at the touch for the excess.
//!
//! IOC at the touch (sell at the best bid, buy at the best ask) rather than PostOnly: a
//! position beyond its soft limit should shrink now, and a limit at the touch takes at most
//! the best level, so it never walks the book; what it cannot fill is cancelled and retried
//! after a cooldown. Reduce-only guarantees it never adds or flips. [`Derisker`] is pure;
//! [`reduce_only_ioc_at`] is the REST call.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::json;

use crate::config::DeriskConfig;
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::model::{Category, Side};

/// Default of `derisk.cooldown_ms`.
pub const DEFAULT_COOLDOWN_MS: u64 = 1_000;

/// One de-risk order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeriskOrder {
    /// Side (sell for a long).
    pub side: Side,
    /// Quantity, on the lot grid.
    pub qty: Decimal,
    /// Limit price: the touch on the side it takes from.
    pub price: Decimal,
}

/// The order that brings signed position `size` back to `|size| <= soft`, given the touch
/// and the lot rules; `None` when within the limit or nothing valid can be sent.
pub fn derisk_order(
    size: Decimal,
    soft: Decimal,
    touch: (Option<Decimal>, Option<Decimal>),
    lot: Decimal,
    min_qty: Decimal,
    max_qty: Decimal,
) -> Option<DeriskOrder> {
    let abs = size.abs();
    if abs <= soft || lot <= Decimal::ZERO {
        return None;
    }
    // The excess, rounded up to the lot so the position ends at or under the soft limit,
    // never more than the position.
    let excess = ((abs - soft) / lot).ceil() * lot;
    let qty = excess.max(min_qty).min(abs).min(max_qty).normalize();
    if qty < min_qty || qty <= Decimal::ZERO {
        return None;
    }
    let (side, price) = if size > Decimal::ZERO {
        (Side::Sell, touch.0?)
    } else {
        (Side::Buy, touch.1?)
    };
    Some(DeriskOrder { side, qty, price })
}

/// The de-risk state of one symbol: one order at a time, a cooldown between orders.
#[derive(Clone, Debug)]
pub struct Derisker {
    soft: Decimal,
    cooldown_ms: i64,
    inflight: bool,
    last_ms: i64,
}

impl Derisker {
    /// From a validated config.
    pub fn from_config(cfg: &DeriskConfig) -> Option<Self> {
        Some(Self {
            soft: Decimal::from_str(&cfg.soft_position.to_string()).ok()?,
            cooldown_ms: cfg.cooldown_ms.unwrap_or(DEFAULT_COOLDOWN_MS) as i64,
            inflight: false,
            last_ms: i64::MIN / 2,
        })
    }

    /// The soft limit.
    pub fn soft(&self) -> Decimal {
        self.soft
    }

    /// The order to send now, if any (then report with [`Self::on_done`]).
    pub fn poll(
        &mut self,
        now_ms: i64,
        size: Decimal,
        touch: (Option<Decimal>, Option<Decimal>),
        lot: Decimal,
        min_qty: Decimal,
        max_qty: Decimal,
    ) -> Option<DeriskOrder> {
        if self.inflight || now_ms - self.last_ms < self.cooldown_ms {
            return None;
        }
        let order = derisk_order(size, self.soft, touch, lot, min_qty, max_qty)?;
        self.inflight = true;
        self.last_ms = now_ms;
        Some(order)
    }

    /// The order's request finished (its fills arrive as pushes).
    pub fn on_done(&mut self) {
        self.inflight = false;
    }
}

/// A reduce-only IOC limit order, without an order-link id (never mistaken for a quote).
pub async fn reduce_only_ioc_at(
    client: &RestClient,
    category: Category,
    symbol: &str,
    order: &DeriskOrder,
) -> Result<(), RestError> {
    let body = json!({
        "category": category.as_str(),
        "symbol": symbol,
        "side": match order.side { Side::Buy => "Buy", Side::Sell => "Sell" },
        "orderType": "Limit",
        "qty": order.qty.normalize().to_string(),
        "price": order.price.normalize().to_string(),
        "timeInForce": "IOC",
        "reduceOnly": true,
    })
    .to_string();
    client
        .post_signed::<serde_json::Value>("/v5/order/create", body)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const TOUCH: (Option<Decimal>, Option<Decimal>) = (Some(dec!(99.9)), Some(dec!(100.1)));

    #[test]
    fn orders_bring_the_position_under_the_soft_limit() {
        // (size, soft, lot, min, max, expected (side, qty, price))
        let cases = [
            (
                dec!(0.5),
                dec!(0.5),
                dec!(0.01),
                dec!(0.01),
                dec!(100),
                None,
            ),
            (
                dec!(-0.3),
                dec!(0.5),
                dec!(0.01),
                dec!(0.01),
                dec!(100),
                None,
            ),
            (
                dec!(0.57),
                dec!(0.5),
                dec!(0.01),
                dec!(0.01),
                dec!(100),
                Some((Side::Sell, dec!(0.07), dec!(99.9))),
            ),
            (
                dec!(-0.505),
                dec!(0.5),
                dec!(0.01),
                dec!(0.01),
                dec!(100),
                Some((Side::Buy, dec!(0.01), dec!(100.1))),
            ),
            // The minimum quantity lifts a tiny excess, capped at the position.
            (
                dec!(0.52),
                dec!(0.5),
                dec!(0.01),
                dec!(0.1),
                dec!(100),
                Some((Side::Sell, dec!(0.1), dec!(99.9))),
            ),
            (
                dec!(0.05),
                dec!(0.01),
                dec!(0.01),
                dec!(0.1),
                dec!(100),
                None,
            ),
            // The maximum order size caps it.
            (
                dec!(9),
                dec!(1),
                dec!(0.01),
                dec!(0.01),
                dec!(5),
                Some((Side::Sell, dec!(5), dec!(99.9))),
            ),
        ];
        for (size, soft, lot, min, max, want) in cases {
            let got =
                derisk_order(size, soft, TOUCH, lot, min, max).map(|o| (o.side, o.qty, o.price));
            assert_eq!(got, want, "size {size} soft {soft}");
        }
        assert_eq!(
            derisk_order(
                dec!(1),
                dec!(0.5),
                (None, Some(dec!(1))),
                dec!(0.01),
                dec!(0.01),
                dec!(9)
            ),
            None,
            "no bid to sell at"
        );
    }

    #[test]
    fn one_order_at_a_time_with_a_cooldown() {
        let mut d = Derisker::from_config(&DeriskConfig {
            soft_position: 0.5,
            cooldown_ms: Some(1_000),
        })
        .unwrap();
        let poll = |d: &mut Derisker, now, size| {
            d.poll(now, size, TOUCH, dec!(0.01), dec!(0.01), dec!(100))
        };
        assert!(poll(&mut d, 0, dec!(0.4)).is_none());
        assert!(poll(&mut d, 0, dec!(0.6)).is_some());
        assert!(poll(&mut d, 2_000, dec!(0.6)).is_none(), "in flight");
        d.on_done();
        assert!(poll(&mut d, 500, dec!(0.6)).is_none(), "cooling down");
        assert!(poll(&mut d, 1_000, dec!(0.6)).is_some());
    }
}
