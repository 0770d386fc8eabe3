//! Exact quotes, converted once from the strategy's float ladder.

use super::grid::Grid;
use super::{Instrument, ModelError, Side};
use plugin_api::Ladder;
use rust_decimal::Decimal;

/// One desired resting order: side, ladder level (0 = best), exact price and quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// Side.
    pub side: Side,
    /// Ladder level as the strategy produced it (0 = best).
    pub level: u8,
    /// Price, a tick multiple.
    pub price: Decimal,
    /// Quantity, a lot multiple, at least the instrument minimum.
    pub qty: Decimal,
}

/// Why a ladder level was dropped during conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The quantity was zero (after rounding to the lot).
    ZeroQty,
    /// The quantity is below the instrument's minimum order quantity.
    BelowMinQty,
    /// Price × quantity is below the instrument's minimum order value.
    BelowMinNotional,
}

/// A ladder level that will not be quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedLevel {
    /// Side.
    pub side: Side,
    /// Ladder level.
    pub level: u8,
    /// Why.
    pub reason: DropReason,
}

/// The exact quotes wanted for one symbol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredQuotes {
    /// Bids in ladder order.
    pub bids: Vec<Quote>,
    /// Asks in ladder order.
    pub asks: Vec<Quote>,
    /// Levels that were dropped, with the reason.
    pub dropped: Vec<DroppedLevel>,
    /// `Some(reason)` when the strategy asked to pull every quote.
    pub pulled: Option<String>,
}

impl DesiredQuotes {
    /// Every quote, bids then asks.
    pub fn iter(&self) -> impl Iterator<Item = &Quote> {
        self.bids.iter().chain(self.asks.iter())
    }

    /// Every quote as one vector (bids then asks).
    pub fn to_vec(&self) -> Vec<Quote> {
        self.iter().copied().collect()
    }

    /// Highest bid price.
    pub fn best_bid(&self) -> Option<Decimal> {
        self.bids.iter().map(|q| q.price).max()
    }

    /// Lowest ask price.
    pub fn best_ask(&self) -> Option<Decimal> {
        self.asks.iter().map(|q| q.price).min()
    }
}

/// Convert a strategy ladder to exact quotes for `inst`.
///
/// Prices follow [`Instrument::price_from_f64`] (bids down, asks up, float noise snapped),
/// quantities are floored to the lot and capped at `max_qty`. Levels below the minimum quantity or
/// value are dropped and reported. A NaN/inf or non-positive value anywhere rejects the whole ladder
/// (the strategy is misbehaving), as does a ladder whose best bid is at or above its best ask.
pub fn quotes_from_ladder(inst: &Instrument, ladder: &Ladder) -> Result<DesiredQuotes, ModelError> {
    let mut out = DesiredQuotes::default();
    if let Some(reason) = ladder.pull_reason() {
        out.pulled = Some(reason.to_owned());
        return Ok(out);
    }
    // Floats decide the grid point when they can (`Grid`); the exact conversion otherwise.
    let (tick, lot) = (Grid::new(inst.tick_size), Grid::new(inst.lot_size));
    let max_qty = inst.round_qty(inst.max_qty);
    for (side, levels) in [(Side::Buy, ladder.bids()), (Side::Sell, ladder.asks())] {
        for (i, level) in levels.iter().enumerate() {
            let level_index = i as u8;
            let price = match tick.and_then(|g| g.to_grid(level.price, side == Side::Sell)) {
                Some(p) => p,
                None => inst.price_from_f64(side, level.price)?,
            };
            let qty = match lot.and_then(|g| g.to_grid(level.size, false)) {
                Some(q) => q,
                None => inst.qty_from_f64(level.size)?,
            }
            .min(max_qty);
            let reason = if qty.is_zero() {
                Some(DropReason::ZeroQty)
            } else if !inst.meets_min_qty(qty) {
                Some(DropReason::BelowMinQty)
            } else if !inst.meets_min_notional(price, qty) {
                Some(DropReason::BelowMinNotional)
            } else {
                None
            };
            match reason {
                Some(reason) => out.dropped.push(DroppedLevel {
                    side,
                    level: level_index,
                    reason,
                }),
                None => {
                    let quote = Quote {
                        side,
                        level: level_index,
                        price,
                        qty,
                    };
                    match side {
                        Side::Buy => out.bids.push(quote),
                        Side::Sell => out.asks.push(quote),
                    }
                }
            }
        }
    }
    if let (Some(bid), Some(ask)) = (out.best_bid(), out.best_ask())
        && bid >= ask
    {
        return Err(ModelError::CrossedLadder { bid, ask });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;
    use crate::model::instrument::test_instrument;
    use rust_decimal_macros::dec;

    fn ladder(bids: &[(f64, f64)], asks: &[(f64, f64)]) -> Ladder {
        let mut l = Ladder::default();
        for &(p, s) in bids {
            l.push_bid(p, s);
        }
        for &(p, s) in asks {
            l.push_ask(p, s);
        }
        l
    }

    #[test]
    fn converts_rounds_and_drops() {
        let inst = test_instrument(Category::Linear);
        let l = ladder(
            &[
                (100.09999999999, 0.5),
                (100.05, 0.0004),
                (99.0, 0.1),
                (98.0, 0.04),
            ],
            &[(100.21, 1000.0), (100.3, 0.0)],
        );
        let q = quotes_from_ladder(&inst, &l).unwrap();
        assert_eq!(
            q.bids,
            vec![
                Quote {
                    side: Side::Buy,
                    level: 0,
                    price: dec!(100.1),
                    qty: dec!(0.5)
                },
                Quote {
                    side: Side::Buy,
                    level: 2,
                    price: dec!(99),
                    qty: dec!(0.1)
                },
            ]
        );
        assert_eq!(
            q.asks,
            vec![Quote {
                side: Side::Sell,
                level: 0,
                price: dec!(100.3),
                qty: dec!(100)
            }]
        );
        let reasons: Vec<_> = q
            .dropped
            .iter()
            .map(|d| (d.side, d.level, d.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (Side::Buy, 1, DropReason::ZeroQty),
                (Side::Buy, 3, DropReason::BelowMinNotional),
                (Side::Sell, 1, DropReason::ZeroQty),
            ]
        );
    }

    #[test]
    fn rejects_bad_ladders() {
        let inst = test_instrument(Category::Linear);
        let cases = [
            ladder(&[(f64::NAN, 1.0)], &[]),
            ladder(&[], &[(101.0, f64::INFINITY)]),
            ladder(&[(-1.0, 1.0)], &[]),
            ladder(&[(100.05, 1.0)], &[(100.01, 1.0)]), // 100.0 vs 100.1 is fine, this crosses:
        ];
        assert!(quotes_from_ladder(&inst, &cases[0]).is_err());
        assert!(quotes_from_ladder(&inst, &cases[1]).is_err());
        assert!(quotes_from_ladder(&inst, &cases[2]).is_err());
        // bid 100.05 -> 100.0, ask 100.01 -> 100.1: not crossed after rounding.
        assert!(quotes_from_ladder(&inst, &cases[3]).is_ok());
        let crossed = ladder(&[(100.2, 1.0)], &[(100.1, 1.0)]);
        assert_eq!(
            quotes_from_ladder(&inst, &crossed),
            Err(ModelError::CrossedLadder {
                bid: dec!(100.2),
                ask: dec!(100.1)
            })
        );
    }

    #[test]
    fn pull_gives_no_quotes() {
        let inst = test_instrument(Category::Spot);
        let mut l = ladder(&[(100.0, 1.0)], &[]);
        l.pull("stale book");
        let q = quotes_from_ladder(&inst, &l).unwrap();
        assert!(q.bids.is_empty() && q.asks.is_empty());
        assert_eq!(q.pulled.as_deref(), Some("stale book"));
    }
}
