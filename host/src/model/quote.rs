//! Exact quotes, converted once from the strategy's float ladder.

use super::grid::{Grid, cmp_decimal};
use super::{Instrument, ModelError, Side};
use plugin_api::Ladder;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

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
        // `max_by`/`min_by` pick among equals as `max`/`min` do.
        self.bids.iter().map(|q| q.price).max_by(cmp_decimal)
    }

    /// Lowest ask price.
    pub fn best_ask(&self) -> Option<Decimal> {
        self.asks.iter().map(|q| q.price).min_by(cmp_decimal)
    }
}

/// One side of a conversion that took the integer path for every level, counted on the grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideSummary {
    /// Quotes kept (levels not dropped).
    pub count: usize,
    /// Their quantities added up, in lots.
    pub lots_sum: i64,
    /// The largest quantity of one quote, in lots.
    pub lots_max: i64,
    /// The highest price, in ticks (0 when `count` is 0).
    pub top_ticks: i64,
}

/// The quotes of a conversion in ticks and lots (bids, then asks), for checks that need no
/// `Decimal` (see [`crate::router::limit_check::LimitCheck`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GridSummary {
    /// `[bids, asks]`.
    pub sides: [SideSummary; 2],
}

/// An instrument's grids and minimums counted in ticks and lots, prepared once per instrument
/// so that converting a ladder compares integers; a level floats cannot place on the grids takes
/// the exact path instead (same result, see [`Grid`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteGrid {
    tick: Grid,
    lot: Grid,
    /// The instrument's maximum quantity, in whole lots.
    max_lots: i64,
    /// The fewest lots meeting the minimum quantity (at least one).
    min_lots: i64,
    /// The least `ticks × lots` whose value meets the minimum order value.
    min_value_units: i128,
}

impl QuoteGrid {
    /// The grids of `inst` (`None` when a step or limit does not fit the integer form; the
    /// conversion then takes the exact path for every level).
    pub fn new(inst: &Instrument) -> Option<Self> {
        let (tick, lot) = (Grid::new(inst.tick_size)?, Grid::new(inst.lot_size)?);
        let max_lots = i64::try_from(floor_count(inst.max_qty, inst.lot_size)?).ok()?;
        let min_lots = i64::try_from(ceil_count(inst.min_qty, inst.lot_size)?.max(1)).ok()?;
        let unit = inst.tick_size.checked_mul(inst.lot_size)?;
        let min_value_units = ceil_count(inst.min_notional, unit)?;
        Some(Self {
            tick,
            lot,
            max_lots,
            min_lots,
            min_value_units,
        })
    }
}

/// The most whole `unit`s in `x` (`x >= 0`, `unit > 0`), exactly.
pub(crate) fn floor_count(x: Decimal, unit: Decimal) -> Option<i128> {
    let mut n = x.checked_div(unit)?.floor().to_i128()?;
    // The division rounds at 28 digits: settle the boundary with exact products.
    // `None` rather than a panic when a count is beyond `Decimal`'s range.
    let times = |n: i128| {
        Decimal::try_from_i128_with_scale(n, 0)
            .ok()?
            .checked_mul(unit)
    };
    while n > 0 && times(n)? > x {
        n -= 1;
    }
    while times(n.checked_add(1)?)? <= x {
        n += 1;
    }
    Some(n)
}

/// The fewest `unit`s reaching `x` (`x >= 0`, `unit > 0`), exactly.
fn ceil_count(x: Decimal, unit: Decimal) -> Option<i128> {
    let n = floor_count(x, unit)?;
    let exact = Decimal::try_from_i128_with_scale(n, 0)
        .ok()?
        .checked_mul(unit)?
        == x;
    Some(if exact { n } else { n + 1 })
}

/// Convert a strategy ladder to exact quotes for `inst`.
///
/// Prices follow [`Instrument::price_from_f64`] (bids down, asks up, float noise snapped),
/// quantities are floored to the lot and capped at `max_qty`. Levels below the minimum quantity or
/// value are dropped and reported. A NaN/inf or non-positive value anywhere rejects the whole ladder
/// (the strategy is misbehaving), as does a ladder whose best bid is at or above its best ask.
pub fn quotes_from_ladder(inst: &Instrument, ladder: &Ladder) -> Result<DesiredQuotes, ModelError> {
    quotes_on_grid(inst, QuoteGrid::new(inst).as_ref(), ladder)
}

/// [`quotes_from_ladder`] with the instrument's [`QuoteGrid`] prepared beforehand (`grid` must
/// be `QuoteGrid::new(inst)`).
pub fn quotes_on_grid(
    inst: &Instrument,
    grid: Option<&QuoteGrid>,
    ladder: &Ladder,
) -> Result<DesiredQuotes, ModelError> {
    let mut out = DesiredQuotes::default();
    quotes_on_grid_into(inst, grid, ladder, &mut out)?;
    Ok(out)
}

/// [`quotes_on_grid`] into `out`, cleared first: its vectors are reused from call to call
/// (no allocation once they are large enough). On an error `out` holds part of the ladder.
///
/// Returns the quotes counted on the grids when every level took the integer path (`None`
/// when one did not, or when the strategy pulled its quotes).
pub fn quotes_on_grid_into(
    inst: &Instrument,
    grid: Option<&QuoteGrid>,
    ladder: &Ladder,
    out: &mut DesiredQuotes,
) -> Result<Option<GridSummary>, ModelError> {
    out.bids.clear();
    out.asks.clear();
    out.dropped.clear();
    out.pulled = None;
    if let Some(reason) = ladder.pull_reason() {
        out.pulled = Some(reason.to_owned());
        return Ok(None);
    }
    // One allocation per side (pushing from empty would grow them level by level).
    out.bids.reserve_exact(ladder.bids().len());
    out.asks.reserve_exact(ladder.asks().len());
    // Best bid and ask in ticks while every level took the integer path.
    let mut best: (Option<i64>, Option<i64>) = (None, None);
    let mut all_on_grid = true;
    let mut summary = GridSummary::default();
    for (side, levels) in [(Side::Buy, ladder.bids()), (Side::Sell, ladder.asks())] {
        let up = side == Side::Sell;
        let mut counted = SideSummary::default();
        for (i, level) in levels.iter().enumerate() {
            let level_index = i as u8;
            let fast = grid.and_then(|g| {
                let ticks = g.tick.steps(level.price, up).filter(|t| *t >= 1)?;
                let lots = g.lot.steps(level.size, false)?.min(g.max_lots);
                Some((g, ticks, lots))
            });
            let (reason, price, qty) = match fast {
                Some((g, ticks, lots)) => {
                    let reason = if lots == 0 {
                        Some(DropReason::ZeroQty)
                    } else if lots < g.min_lots {
                        Some(DropReason::BelowMinQty)
                    } else if i128::from(ticks) * i128::from(lots) < g.min_value_units {
                        Some(DropReason::BelowMinNotional)
                    } else {
                        None
                    };
                    if reason.is_some() {
                        (reason, Decimal::ZERO, Decimal::ZERO)
                    } else {
                        let slot = if up { &mut best.1 } else { &mut best.0 };
                        *slot = Some(match (*slot, up) {
                            (None, _) => ticks,
                            (Some(b), true) => b.min(ticks),
                            (Some(b), false) => b.max(ticks),
                        });
                        match (g.tick.value(ticks), g.lot.value(lots)) {
                            (Some(p), Some(q)) => {
                                counted.count += 1;
                                counted.lots_sum = counted.lots_sum.saturating_add(lots);
                                counted.lots_max = counted.lots_max.max(lots);
                                counted.top_ticks = counted.top_ticks.max(ticks);
                                (None, p, q)
                            }
                            // Beyond `i64` units: the exact path decides.
                            _ => {
                                all_on_grid = false;
                                exact_level(inst, side, level.price, level.size)?
                            }
                        }
                    }
                }
                None => {
                    all_on_grid = false;
                    exact_level(inst, side, level.price, level.size)?
                }
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
        summary.sides[usize::from(up)] = counted;
    }
    let crossed = if all_on_grid {
        matches!(best, (Some(b), Some(a)) if b >= a)
    } else {
        matches!((out.best_bid(), out.best_ask()), (Some(b), Some(a)) if b >= a)
    };
    if crossed && let (Some(bid), Some(ask)) = (out.best_bid(), out.best_ask()) {
        return Err(ModelError::CrossedLadder { bid, ask });
    }
    Ok(all_on_grid.then_some(summary))
}

/// One level by the exact conversion: the drop reason, else the price and quantity.
fn exact_level(
    inst: &Instrument,
    side: Side,
    price: f64,
    size: f64,
) -> Result<(Option<DropReason>, Decimal, Decimal), ModelError> {
    let price = inst.price_from_f64(side, price)?;
    let qty = inst.qty_from_f64(size)?.min(inst.round_qty(inst.max_qty));
    let reason = if qty.is_zero() {
        Some(DropReason::ZeroQty)
    } else if !inst.meets_min_qty(qty) {
        Some(DropReason::BelowMinQty)
    } else if !inst.meets_min_notional(price, qty) {
        Some(DropReason::BelowMinNotional)
    } else {
        None
    };
    Ok((reason, price, qty))
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

    #[test]
    fn counts_are_exact_at_the_boundaries() {
        assert_eq!(floor_count(dec!(1190), dec!(0.001)), Some(1_190_000));
        assert_eq!(floor_count(dec!(0.0029), dec!(0.001)), Some(2));
        assert_eq!(ceil_count(dec!(0.0021), dec!(0.001)), Some(3));
        assert_eq!(ceil_count(dec!(5), dec!(0.0001)), Some(50_000));
        assert_eq!(ceil_count(dec!(0), dec!(0.3)), Some(0));
        // 1/3 is not a finite decimal: the division rounds, the exact products settle it.
        assert_eq!(floor_count(dec!(1), dec!(0.3)), Some(3));
        assert_eq!(ceil_count(dec!(1), dec!(0.3)), Some(4));
    }

    #[test]
    fn a_reused_buffer_gives_what_a_fresh_one_gives() {
        let inst = test_instrument(Category::Linear);
        let grid = QuoteGrid::new(&inst);
        let mut pulled = ladder(&[(100.0, 1.0)], &[]);
        pulled.pull("stale book");
        let ladders = [
            ladder(
                &[(100.0, 1.0), (99.9, 0.0004), (99.0, 0.1)],
                &[(100.3, 1.0)],
            ),
            pulled,
            ladder(&[(100.2, 1.0)], &[(100.1, 1.0)]),
            ladder(
                &[],
                &[(100.4, 0.5), (100.5, 0.5), (100.6, 0.5), (100.7, 0.5)],
            ),
            ladder(&[(99.0, 2.0)], &[]),
        ];
        let mut out = DesiredQuotes::default();
        for round in 0..2 {
            for l in &ladders {
                let fresh = quotes_on_grid(&inst, grid.as_ref(), l);
                let reused = quotes_on_grid_into(&inst, grid.as_ref(), l, &mut out);
                assert_eq!(reused.is_ok(), fresh.is_ok(), "round {round}: {l:?}");
                if let Ok(fresh) = fresh {
                    assert_eq!(out, fresh, "round {round}: {l:?}");
                }
            }
        }
    }

    /// The integer path gives exactly what the exact path gives, drop reasons and errors
    /// included, on random ladders around every threshold of several instruments.
    #[test]
    fn grid_path_matches_the_exact_path() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut instruments = Vec::new();
        for (tick, lot, min_qty, max_qty, min_notional) in [
            (dec!(0.1), dec!(0.001), dec!(0.001), dec!(1190), dec!(5)),
            (dec!(0.01), dec!(0.01), dec!(0.05), dec!(3), dec!(1)),
            (dec!(0.5), dec!(1), dec!(0), dec!(100000), dec!(0)),
            (dec!(0.0001), dec!(0.1), dec!(0.3), dec!(50), dec!(0.3)),
            (dec!(0.3), dec!(0.007), dec!(0.02), dec!(7), dec!(1.23)),
        ] {
            let mut inst = test_instrument(Category::Linear);
            (inst.tick_size, inst.lot_size, inst.min_qty) = (tick, lot, min_qty);
            (inst.max_qty, inst.min_notional) = (max_qty, min_notional);
            instruments.push(inst);
        }
        let mut on_grid = 0;
        let mut summarised = 0;
        for inst in &instruments {
            let grid = QuoteGrid::new(inst).expect("grid");
            let (tick, lot) = (grid.tick.step_f64(), grid.lot.step_f64());
            for _ in 0..20_000 {
                let mut l = Ladder::default();
                let mid = 1.0 + (next() % 100_000) as f64 * tick;
                for k in 0..3 {
                    let r = next();
                    let size = match r % 6 {
                        0 => (r >> 8) as f64 % 20.0 * lot,
                        1 => ((r >> 8) % 4000) as f64 * lot * 1.000_000_000_1,
                        2 => f64::from((r >> 8) as u32) / 1e6,
                        3 => 0.0,
                        4 => -lot,
                        _ => f64::from((r >> 12) as u16) * lot / 7.0,
                    };
                    let off = (k + 1) as f64 * tick * ((r >> 40) % 5) as f64 / 2.0;
                    let price = if r >> 60 == 0 { f64::NAN } else { mid - off };
                    l.push_bid(price, size);
                    l.push_ask(mid + off, size);
                }
                let fast = quotes_on_grid(inst, Some(&grid), &l);
                let exact = quotes_on_grid(inst, None, &l);
                assert_eq!(fast, exact, "{inst:?} {l:?}");
                on_grid += usize::from(fast.is_ok());
                let mut out = DesiredQuotes::default();
                if let Ok(Some(summary)) = quotes_on_grid_into(inst, Some(&grid), &l, &mut out) {
                    assert_eq!(summary, summary_of(inst, &out), "{inst:?} {l:?}");
                    summarised += 1;
                }
            }
        }
        assert!(on_grid > 10_000, "only {on_grid} ladders converted");
        assert!(summarised > 10_000, "only {summarised} ladders summarised");
    }

    /// The grid summary of converted quotes, counted from their `Decimal`s.
    fn summary_of(inst: &Instrument, out: &DesiredQuotes) -> GridSummary {
        let count = |d: Decimal, unit: Decimal| {
            let n = d / unit;
            assert_eq!(n.fract(), Decimal::ZERO, "{d} is not a multiple of {unit}");
            n.to_i64().expect("fits")
        };
        let side = |quotes: &[Quote]| {
            let lots: Vec<i64> = quotes.iter().map(|q| count(q.qty, inst.lot_size)).collect();
            SideSummary {
                count: quotes.len(),
                lots_sum: lots.iter().sum(),
                lots_max: lots.iter().copied().max().unwrap_or(0),
                top_ticks: quotes
                    .iter()
                    .map(|q| count(q.price, inst.tick_size))
                    .max()
                    .unwrap_or(0),
            }
        };
        GridSummary {
            sides: [side(&out.bids), side(&out.asks)],
        }
    }
}
