//! Per-symbol hard limits, applied to the desired quotes before diffing, whatever the strategy asks.
//!
//! Resting quantity is sized so that no combination of fills takes the position past a limit:
//! `position + Σ bids <= max_long` and `position - Σ asks >= -max_short`, where the notional cap is
//! turned into a quantity cap at the highest price of the side (bids: the best bid; asks: the
//! worst ask), which is conservative for every other level. Levels are filled best first; a level
//! whose clamped quantity falls below the instrument minimum is dropped. Then each order is capped
//! at `max_order_qty`, and the deepest levels are dropped until at most `max_open_orders` remain.
//! Orders still waiting for a cancel ack rest in the meantime; the diff's staging keeps a side's
//! resting quantity at most the larger of before and after (see [`super::diff`]).

use crate::model::{DesiredQuotes, Instrument, Quote, Side};
use rust_decimal::Decimal;

/// Hard limits of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardLimits {
    /// Largest long position (base quantity).
    pub max_long: Decimal,
    /// Largest short position (base quantity, positive).
    pub max_short: Decimal,
    /// Largest position value in quote currency, either direction.
    pub max_notional: Decimal,
    /// Most resting orders, both sides together.
    pub max_open_orders: usize,
    /// Largest single order (base quantity).
    pub max_order_qty: Decimal,
}

/// Which limit clamped a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClampReason {
    /// `max_order_qty`.
    MaxOrderQty,
    /// `max_long`.
    MaxLong,
    /// `max_short`.
    MaxShort,
    /// `max_notional`.
    MaxNotional,
    /// `max_open_orders`.
    MaxOpenOrders,
}

/// One clamp, for the status line and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamp {
    /// Side.
    pub side: Side,
    /// Ladder level.
    pub level: u8,
    /// Quantity the strategy asked for.
    pub from_qty: Decimal,
    /// Quantity kept (zero: the level was dropped).
    pub to_qty: Decimal,
    /// The binding limit.
    pub reason: ClampReason,
}

/// Clamp `desired` in place to `limits` given the signed `position`; returns what was clamped.
/// `desired` is as [`crate::model::quotes_from_ladder`] makes it: every quote meets the
/// instrument's minimums; a quote this shrinks below them is dropped.
pub fn apply_hard_limits(
    inst: &Instrument,
    limits: &HardLimits,
    position: Decimal,
    desired: &mut DesiredQuotes,
) -> Vec<Clamp> {
    let mut clamps = Vec::new();
    let cap = inst.round_qty(limits.max_order_qty);
    let mut capped = [false; 2];
    for (i, quotes) in [&mut desired.bids, &mut desired.asks]
        .into_iter()
        .enumerate()
    {
        for q in quotes.iter_mut() {
            if q.qty > cap {
                clamps.push(clamp(q, cap, ClampReason::MaxOrderQty));
                q.qty = cap;
                capped[i] = true;
            }
        }
    }
    // Exposure: bids against the long cap, asks against the short cap.
    for side in [Side::Buy, Side::Sell] {
        let quotes = match side {
            Side::Buy => &mut desired.bids,
            Side::Sell => &mut desired.asks,
        };
        let Some(top) = quotes.iter().map(|q| q.price).max() else {
            continue;
        };
        let (qty_cap, qty_reason) = match side {
            Side::Buy => (limits.max_long, ClampReason::MaxLong),
            Side::Sell => (limits.max_short, ClampReason::MaxShort),
        };
        // The notional cap in base quantity is max_notional / top; it only binds when
        // top × qty_cap exceeds max_notional (a multiplication decides; divide only then).
        let notional_binds = top > Decimal::ZERO
            && top
                .checked_mul(qty_cap)
                .is_none_or(|v| v > limits.max_notional);
        let (cap, reason) = if notional_binds {
            (
                limits.max_notional.checked_div(top).unwrap_or(Decimal::MAX),
                ClampReason::MaxNotional,
            )
        } else {
            (qty_cap, qty_reason)
        };
        let mut room = match side {
            Side::Buy => cap - position,
            Side::Sell => cap + position,
        }
        .max(Decimal::ZERO);
        let best_first = |a: &Quote, b: &Quote| match side {
            Side::Buy => b.price.cmp(&a.price),
            Side::Sell => a.price.cmp(&b.price),
        };
        // Ladders come best first; sort (and restore ladder order below) only when not.
        let sorted = quotes.is_sorted_by(|a, b| best_first(a, b).is_le());
        if !sorted {
            quotes.sort_by(best_first);
        }
        let mut clamped = capped[usize::from(side == Side::Sell)];
        for q in quotes.iter_mut() {
            if q.qty > room {
                let to = inst.round_qty(room);
                clamps.push(clamp(q, to, reason));
                q.qty = to;
                clamped = true;
            }
            room -= q.qty;
        }
        if clamped {
            // Sizes changed: the minimums again (unchanged quotes met them on conversion).
            quotes.retain(|q| {
                let keep = inst.meets_min_qty(q.qty) && inst.meets_min_notional(q.price, q.qty);
                if !keep && !q.qty.is_zero() {
                    clamps.push(clamp(q, Decimal::ZERO, reason));
                }
                keep
            });
        }
        if !sorted {
            quotes.sort_by_key(|q| q.level);
        }
    }
    // Open orders: drop the deepest level of the longer side.
    while desired.bids.len() + desired.asks.len() > limits.max_open_orders {
        let side = if desired.bids.len() > desired.asks.len() {
            &mut desired.bids
        } else {
            &mut desired.asks
        };
        let worst = side
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| match a.side {
                Side::Buy => b.price.cmp(&a.price),
                Side::Sell => a.price.cmp(&b.price),
            })
            .map(|(i, _)| i)
            .unwrap_or(0);
        let q = side.remove(worst);
        clamps.push(clamp(&q, Decimal::ZERO, ClampReason::MaxOpenOrders));
    }
    clamps
}

fn clamp(q: &Quote, to_qty: Decimal, reason: ClampReason) -> Clamp {
    Clamp {
        side: q.side,
        level: q.level,
        from_qty: q.qty,
        to_qty,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;
    use crate::model::instrument::test_instrument;
    use rust_decimal_macros::dec;

    fn quotes(bids: &[(Decimal, Decimal)], asks: &[(Decimal, Decimal)]) -> DesiredQuotes {
        let mk = |side, v: &[(Decimal, Decimal)]| {
            v.iter()
                .enumerate()
                .map(|(i, &(price, qty))| Quote {
                    side,
                    level: i as u8,
                    price,
                    qty,
                })
                .collect()
        };
        DesiredQuotes {
            bids: mk(Side::Buy, bids),
            asks: mk(Side::Sell, asks),
            ..Default::default()
        }
    }

    const LIMITS: HardLimits = HardLimits {
        max_long: dec!(1),
        max_short: dec!(1),
        max_notional: dec!(1000000),
        max_open_orders: 10,
        max_order_qty: dec!(0.8),
    };

    fn sizes(d: &DesiredQuotes) -> (Vec<Decimal>, Vec<Decimal>) {
        (
            d.bids.iter().map(|q| q.qty).collect(),
            d.asks.iter().map(|q| q.qty).collect(),
        )
    }

    #[test]
    fn clamp_table() {
        let inst = test_instrument(Category::Linear);
        let ladder = quotes(
            &[
                (dec!(100), dec!(0.5)),
                (dec!(99), dec!(0.5)),
                (dec!(98), dec!(0.5)),
            ],
            &[
                (dec!(101), dec!(0.5)),
                (dec!(102), dec!(0.5)),
                (dec!(103), dec!(0.5)),
            ],
        );
        type Case = (
            &'static str,
            HardLimits,
            Decimal,
            Vec<Decimal>,
            Vec<Decimal>,
            usize,
        );
        let cases: Vec<Case> = vec![
            (
                "flat",
                LIMITS,
                dec!(0),
                vec![dec!(0.5), dec!(0.5)],
                vec![dec!(0.5), dec!(0.5)],
                2,
            ),
            (
                "long 0.7",
                LIMITS,
                dec!(0.7),
                vec![dec!(0.3)],
                vec![dec!(0.5), dec!(0.5), dec!(0.5)],
                3,
            ),
            (
                "at max long",
                LIMITS,
                dec!(1),
                vec![],
                vec![dec!(0.5), dec!(0.5), dec!(0.5)],
                3,
            ),
            (
                "short 0.95",
                LIMITS,
                dec!(-0.95),
                vec![dec!(0.5), dec!(0.5), dec!(0.5)],
                vec![dec!(0.05)],
                3,
            ),
            (
                "notional 150",
                HardLimits {
                    max_notional: dec!(150),
                    max_long: dec!(9),
                    max_short: dec!(9),
                    ..LIMITS
                },
                dec!(0),
                vec![dec!(0.5), dec!(0.5), dec!(0.5)],
                vec![dec!(0.5), dec!(0.5), dec!(0.456)],
                1,
            ),
            (
                "open orders 4",
                HardLimits {
                    max_long: dec!(9),
                    max_short: dec!(9),
                    max_open_orders: 4,
                    ..LIMITS
                },
                dec!(0),
                vec![dec!(0.5), dec!(0.5)],
                vec![dec!(0.5), dec!(0.5)],
                2,
            ),
            (
                "order size 0.2",
                HardLimits {
                    max_order_qty: dec!(0.2),
                    ..LIMITS
                },
                dec!(0),
                vec![dec!(0.2); 3],
                vec![dec!(0.2); 3],
                6,
            ),
        ];
        for (name, limits, position, bids, asks, n_clamps) in cases {
            let mut d = ladder.clone();
            let clamps = apply_hard_limits(&inst, &limits, position, &mut d);
            assert_eq!(sizes(&d), (bids, asks), "{name}");
            assert_eq!(clamps.len(), n_clamps, "{name}: {clamps:?}");
            let long: Decimal = position + d.bids.iter().map(|q| q.qty).sum::<Decimal>();
            let short: Decimal = position - d.asks.iter().map(|q| q.qty).sum::<Decimal>();
            assert!(
                long <= limits.max_long.max(position) && short >= -limits.max_short.max(-position),
                "{name}"
            );
        }
    }

    #[test]
    fn reports_the_binding_limit() {
        let inst = test_instrument(Category::Linear);
        let mut d = quotes(&[(dec!(100), dec!(0.5))], &[]);
        let clamps = apply_hard_limits(&inst, &LIMITS, dec!(0.8), &mut d);
        assert_eq!(
            clamps,
            vec![Clamp {
                side: Side::Buy,
                level: 0,
                from_qty: dec!(0.5),
                to_qty: dec!(0.2),
                reason: ClampReason::MaxLong
            }]
        );
        let mut d = quotes(&[(dec!(100), dec!(0.5))], &[]);
        let clamps = apply_hard_limits(&inst, &LIMITS, dec!(0.99), &mut d);
        assert_eq!(clamps[0].reason, ClampReason::MaxLong);
        assert!(
            d.bids.is_empty(),
            "0.01 x 100 is below the 5 USDT minimum value"
        );
    }
}
