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

use crate::model::grid::{cmp_decimal, mantissa_i64, normalized};
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
///
/// Quantities are compared and summed as integers at one scale (the finest of the lot, the
/// order cap and the quotes); the rooms, exact `Decimal`s, are floored to that scale, which
/// changes no comparison with a quantity on it (see [`apply_exact`], which this equals).
pub fn apply_hard_limits(
    inst: &Instrument,
    limits: &HardLimits,
    position: Decimal,
    desired: &mut DesiredQuotes,
) -> Vec<Clamp> {
    let cap = round_qty(inst, limits.max_order_qty);
    let Some(units) = QtyUnits::new(inst, cap, desired) else {
        return apply_exact(inst, limits, position, desired);
    };
    let mut clamps = Vec::new();
    let cap_u = units.of(cap);
    let mut capped = [false; 2];
    for (i, quotes) in [&mut desired.bids, &mut desired.asks]
        .into_iter()
        .enumerate()
    {
        for q in quotes.iter_mut() {
            if units.of(q.qty) > cap_u {
                clamps.push(clamp(q, cap, ClampReason::MaxOrderQty));
                q.qty = cap;
                capped[i] = true;
            }
        }
    }
    for side in [Side::Buy, Side::Sell] {
        let quotes = match side {
            Side::Buy => &mut desired.bids,
            Side::Sell => &mut desired.asks,
        };
        let Some(top) = quotes.iter().map(|q| q.price).max_by(cmp_decimal) else {
            continue;
        };
        let (cap, reason) = exposure_cap(limits, side, top);
        let room = match side {
            Side::Buy => cap - position,
            Side::Sell => cap + position,
        };
        let mut room_u = units.floor(room);
        let best_first = |a: &Quote, b: &Quote| match side {
            Side::Buy => cmp_decimal(&b.price, &a.price),
            Side::Sell => cmp_decimal(&a.price, &b.price),
        };
        let sorted = quotes.is_sorted_by(|a, b| best_first(a, b).is_le());
        if !sorted {
            quotes.sort_by(best_first);
        }
        let mut clamped = capped[usize::from(side == Side::Sell)];
        for q in quotes.iter_mut() {
            let mut q_u = units.of(q.qty);
            if q_u > room_u {
                q_u = room_u - room_u % units.lot;
                let to = units.value(q_u);
                clamps.push(clamp(q, to, reason));
                q.qty = to;
                clamped = true;
            }
            room_u -= q_u;
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
    limit_open_orders(limits, desired, &mut clamps);
    clamps
}

/// The quantity cap of `side`'s exposure and the limit it comes from: the position cap, or the
/// notional cap at the side's highest price `top` when that binds (a multiplication decides;
/// divide only then).
fn exposure_cap(limits: &HardLimits, side: Side, top: Decimal) -> (Decimal, ClampReason) {
    let (qty_cap, qty_reason) = match side {
        Side::Buy => (limits.max_long, ClampReason::MaxLong),
        Side::Sell => (limits.max_short, ClampReason::MaxShort),
    };
    // `top > 0` without `Decimal`'s out-of-line comparison.
    let positive = !top.is_sign_negative() && !top.is_zero();
    let notional_binds = positive && notional_exceeds(top, qty_cap, limits.max_notional);
    if notional_binds {
        (
            limits.max_notional.checked_div(top).unwrap_or(Decimal::MAX),
            ClampReason::MaxNotional,
        )
    } else {
        (qty_cap, qty_reason)
    }
}

/// Whether `price × qty` exceeds `cap` (or overflows), as `Decimal` arithmetic decides it: in
/// integers when the product is exact there (scale at most 28, 96 bits), else in `Decimal`.
pub(super) fn notional_exceeds(price: Decimal, qty: Decimal, cap: Decimal) -> bool {
    let scale = price.scale() + qty.scale();
    if let Some(exceeds) = notional_exceeds_i64(price, qty, cap, scale) {
        return exceeds;
    }
    let exact = price
        .mantissa()
        .checked_mul(qty.mantissa())
        .filter(|p| scale <= 28 && p.unsigned_abs() < 1 << 96);
    let compared = exact.and_then(|p| {
        let c = cap.mantissa();
        if scale >= cap.scale() {
            Some(p > c.checked_mul(pow10(scale - cap.scale())?)?)
        } else {
            Some(p.checked_mul(pow10(cap.scale() - scale)?)? > c)
        }
    });
    compared.unwrap_or_else(|| price.checked_mul(qty).is_none_or(|v| v > cap))
}

/// [`notional_exceeds`] for mantissas that fit an `i64` and a product scale `scale` at or above
/// the cap's: one widening multiplication each side, no overflow check (`None` otherwise).
#[inline]
fn notional_exceeds_i64(price: Decimal, qty: Decimal, cap: Decimal, scale: u32) -> Option<bool> {
    let p = mantissa_i64(&price)?;
    let q = mantissa_i64(&qty)?;
    let c = mantissa_i64(&cap)?;
    let k = pow10_i64(scale.checked_sub(cap.scale())?)?;
    let product = i128::from(p) * i128::from(q);
    (scale <= 28 && product.unsigned_abs() < 1 << 96)
        .then(|| product > i128::from(c) * i128::from(k))
}

/// Open orders: drop the deepest level of the longer side until few enough remain.
fn limit_open_orders(limits: &HardLimits, desired: &mut DesiredQuotes, clamps: &mut Vec<Clamp>) {
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
}

/// Largest quantity, in units, the integer path takes (rooms are capped at [`ROOM_CAP`], above
/// the sum of up to [`MAX_QUOTES`] such quantities, which keeps every sum and comparison with
/// them as it would be).
const MAX_QTY_UNITS: i64 = 10i64.pow(15);

/// Cap on a room, in units.
const ROOM_CAP: i64 = MAX_QTY_UNITS * 1_000;

/// Most quotes the integer path takes.
const MAX_QUOTES: usize = 999;

/// `10^k` for every `k` an `i128` holds (`None` beyond): a lookup instead of a multiplication
/// loop.
fn pow10(k: u32) -> Option<i128> {
    const TABLE: [i128; 39] = {
        let mut t = [1i128; 39];
        let mut i = 1;
        while i < 39 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    TABLE.get(k as usize).copied()
}

/// `10^k` for every `k` an `i64` holds (`None` beyond).
fn pow10_i64(k: u32) -> Option<i64> {
    const TABLE: [i64; 19] = {
        let mut t = [1i64; 19];
        let mut i = 1;
        while i < 19 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    TABLE.get(k as usize).copied()
}

/// `d` in units of `10^-scale` when it is not negative, `scale` is at least its scale, and the
/// units fit an `i64`.
#[inline]
fn units_i64(d: Decimal, scale: u32) -> Option<i64> {
    if d.is_sign_negative() {
        return None;
    }
    let m = mantissa_i64(&d)?;
    m.checked_mul(pow10_i64(scale.checked_sub(d.scale())?)?)
}

/// `inst.round_qty(x)` (floored to the lot, without trailing zeros), in integers when `x` and
/// the lot fit them.
pub(super) fn round_qty(inst: &Instrument, x: Decimal) -> Decimal {
    let scale = x.scale().max(inst.lot_size.scale());
    match (units_i64(x, scale), units_i64(inst.lot_size, scale)) {
        (Some(x_u), Some(lot_u)) if lot_u > 0 => normalized(x_u - x_u % lot_u, scale),
        _ => inst.round_qty(x),
    }
}

/// Quantities as integers at one scale.
struct QtyUnits {
    scale: u32,
    /// The lot in units.
    lot: i64,
}

impl QtyUnits {
    /// The scale of `inst`'s lot, `cap` and every quote's quantity, when each of them fits.
    fn new(inst: &Instrument, cap: Decimal, desired: &DesiredQuotes) -> Option<Self> {
        if desired.bids.len() + desired.asks.len() > MAX_QUOTES {
            return None;
        }
        let quotes = desired.bids.iter().chain(&desired.asks).map(|q| q.qty);
        let values = || [inst.lot_size, cap].into_iter().chain(quotes.clone());
        let scale = values().map(|d| d.scale()).max()?;
        let fits = |d: Decimal| units_i64(d, scale).is_some_and(|u| u <= MAX_QTY_UNITS);
        if !values().all(fits) {
            return None;
        }
        let lot = units_i64(inst.lot_size, scale)?;
        (lot > 0).then_some(Self { scale, lot })
    }

    /// A quantity that [`QtyUnits::new`] checked, in units.
    fn of(&self, d: Decimal) -> i64 {
        // The mantissa fits and the scale gap is within the table: checked by `new`.
        let m = mantissa_i64(&d).expect("a checked quantity");
        m * pow10_i64(self.scale - d.scale()).expect("a checked scale")
    }

    /// `max(d, 0)` floored to the scale, capped at [`ROOM_CAP`].
    fn floor(&self, d: Decimal) -> i64 {
        if d.is_sign_negative() || d.is_zero() {
            return 0;
        }
        let (m, s) = (d.mantissa(), d.scale());
        if let (Ok(m), Some(p)) = (i64::try_from(m), pow10_i64(s.abs_diff(self.scale))) {
            return if s >= self.scale {
                (m / p).min(ROOM_CAP)
            } else {
                m.checked_mul(p).map_or(ROOM_CAP, |u| u.min(ROOM_CAP))
            };
        }
        let cap = i128::from(ROOM_CAP);
        let u = if s >= self.scale {
            // A scale gap beyond `i128` leaves nothing of `m` (at most 96 bits).
            pow10(s - self.scale).map_or(0, |p| m / p).min(cap)
        } else {
            pow10(self.scale - s)
                .and_then(|p| m.checked_mul(p))
                .map_or(cap, |u| u.min(cap))
        };
        u as i64
    }

    /// The `Decimal` of `units`, without trailing zeros.
    fn value(&self, units: i64) -> Decimal {
        normalized(units, self.scale)
    }
}

/// [`apply_hard_limits`] in `Decimal` arithmetic throughout: the reference the integer path
/// must equal, and its fallback for quantities too large for it.
fn apply_exact(
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
        let (cap, reason) = exposure_cap(limits, side, top);
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
    limit_open_orders(limits, desired, &mut clamps);
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
    use proptest::prelude::*;
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

    /// (ticks from 2000.0, lots) per level.
    type Levels = Vec<(i64, i64)>;

    /// A quote set on `lot`: prices in ticks of 0.1 (side-correct, maybe out of ladder order),
    /// quantities in lots.
    fn arb_quotes() -> impl Strategy<Value = (Levels, Levels)> {
        let side = || prop::collection::vec((1i64..2_000, 1i64..3_000), 0..6);
        (side(), side())
    }

    fn arb_decimal(max: i64) -> impl Strategy<Value = Decimal> {
        (0..max, 0u32..6).prop_map(|(m, s)| Decimal::new(m, s))
    }

    /// A decimal from 96 random bits (often fewer) at a random scale.
    fn any_decimal() -> impl Strategy<Value = Decimal> {
        (
            any::<u64>(),
            any::<u32>(),
            0u32..4,
            0u32..=28,
            any::<bool>(),
        )
            .prop_map(|(lo, hi, width, scale, negative)| {
                let hi = if width == 0 { hi } else { 0 };
                let lo = lo >> (20 * width);
                Decimal::from_parts(lo as u32, (lo >> 32) as u32, hi, negative, scale)
            })
    }

    /// A non-negative decimal from 1 to 80 bits at scale 0 to 12.
    fn wide_decimal() -> impl Strategy<Value = Decimal> {
        (any::<u128>(), 1u32..=80, 0u32..=12).prop_map(|(bits, width, scale)| {
            Decimal::from_i128_with_scale((bits >> (128 - width)) as i128, scale)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn notional_check_equals_decimal_arithmetic(
            price in any_decimal(),
            qty in any_decimal(),
            cap in any_decimal(),
        ) {
            let decimal = price.checked_mul(qty).is_none_or(|v| v > cap);
            prop_assert_eq!(notional_exceeds(price, qty, cap), decimal);
            // And at the boundary: the cap equal to the product.
            if let Some(v) = price.checked_mul(qty) {
                prop_assert_eq!(notional_exceeds(price, qty, v), false);
            }
        }

        #[test]
        fn integer_lot_rounding_equals_decimal(x in any_decimal(), lot in any_decimal()) {
            let mut inst = test_instrument(Category::Linear);
            inst.lot_size = lot;
            // `Decimal`'s own rounding is the reference (where it does not fail).
            if let Ok(expected) = std::panic::catch_unwind(|| inst.round_qty(x)) {
                let fast = round_qty(&inst, x);
                prop_assert_eq!(fast.serialize(), expected.serialize(), "{} {}", x, lot);
            }
        }

        /// Limits, position and quantities over a wide range (huge values, fine scales, mixed
        /// representations): the integer path, or its fallback, equals the exact one.
        #[test]
        fn wide_values_equal_the_exact_path(
            (bids, asks) in arb_quotes(),
            lot in (1i64..1_000, 0u32..9).prop_map(|(m, s)| Decimal::new(m, s)),
            qty_scale_pad in 0u32..3,
            limits in (wide_decimal(), wide_decimal(), wide_decimal(), wide_decimal(), 0usize..12),
            position in wide_decimal(),
            negative in any::<bool>(),
        ) {
            let mut inst = test_instrument(Category::Linear);
            inst.lot_size = lot;
            inst.min_qty = lot;
            // One with `qty_scale_pad` trailing zeros.
            let pad = Decimal::new(10i64.pow(qty_scale_pad), qty_scale_pad);
            let mk = |side, v: &[(i64, i64)]| -> Vec<Quote> {
                v.iter()
                    .enumerate()
                    .map(|(i, &(ticks, lots))| Quote {
                        side,
                        level: i as u8,
                        price: Decimal::new(match side { Side::Buy => 20_000 - ticks, Side::Sell => 20_000 + ticks }, 1),
                        // Some quantities keep trailing zeros (a finer scale than the lot).
                        qty: if lots % 3 == 0 { lot * Decimal::from(lots) * pad } else { (lot * Decimal::from(lots)).normalize() },
                    })
                    .collect()
            };
            let desired = DesiredQuotes { bids: mk(Side::Buy, &bids), asks: mk(Side::Sell, &asks), ..Default::default() };
            let (max_long, max_short, max_notional, max_order_qty, max_open_orders) = limits;
            let limits = HardLimits { max_long, max_short, max_notional, max_open_orders, max_order_qty };
            let position = if negative { -position } else { position };
            let (mut fast, mut exact) = (desired.clone(), desired);
            let clamps_fast = apply_hard_limits(&inst, &limits, position, &mut fast);
            let clamps_exact = apply_exact(&inst, &limits, position, &mut exact);
            prop_assert_eq!(&fast, &exact);
            prop_assert_eq!(clamps_fast, clamps_exact);
            for (a, b) in fast.iter().zip(exact.iter()) {
                prop_assert_eq!((a.price.serialize(), a.qty.serialize()), (b.price.serialize(), b.qty.serialize()), "same representation");
            }
        }

        #[test]
        fn integer_path_equals_the_exact_path(
            (bids, asks) in arb_quotes(),
            lot_scale in 0u32..5,
            max_long in arb_decimal(50_000),
            max_short in arb_decimal(50_000),
            max_notional in arb_decimal(10_000_000),
            max_order_qty in arb_decimal(50_000),
            max_open_orders in 0usize..12,
            position in (-50_000i64..50_000, 0u32..7).prop_map(|(m, s)| Decimal::new(m, s)),
        ) {
            let mut inst = test_instrument(Category::Linear);
            inst.lot_size = Decimal::new(1, lot_scale);
            inst.min_qty = inst.lot_size;
            let lot = inst.lot_size;
            let mk = |side, v: &[(i64, i64)]| -> Vec<Quote> {
                v.iter()
                    .enumerate()
                    .map(|(i, &(ticks, lots))| Quote {
                        side,
                        level: i as u8,
                        price: (Decimal::new(match side { Side::Buy => 20_000 - ticks, Side::Sell => 20_000 + ticks }, 1)).normalize(),
                        qty: (lot * Decimal::from(lots)).normalize(),
                    })
                    .collect()
            };
            let desired = DesiredQuotes { bids: mk(Side::Buy, &bids), asks: mk(Side::Sell, &asks), ..Default::default() };
            let limits = HardLimits { max_long, max_short, max_notional, max_open_orders, max_order_qty };
            let (mut fast, mut exact) = (desired.clone(), desired);
            let clamps_fast = apply_hard_limits(&inst, &limits, position, &mut fast);
            let clamps_exact = apply_exact(&inst, &limits, position, &mut exact);
            prop_assert_eq!(&fast, &exact);
            prop_assert_eq!(clamps_fast, clamps_exact);
            for (a, b) in fast.iter().zip(exact.iter()) {
                prop_assert_eq!((a.price.scale(), a.qty.scale()), (b.price.scale(), b.qty.scale()), "same representation");
            }
        }
    }
}
