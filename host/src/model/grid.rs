//! Fast conversion of a strategy's float onto a decimal grid (tick or lot), decided in floating
//! point when floating point can decide it, building the exact result from an integer.
//!
//! The exact rule is [`super::Instrument::price_from_f64`]'s: a value within the snap distance
//! `min(SNAP_REL·|x|, step·SNAP_MAX_STEP_FRACTION)` of a grid point becomes that point, anything
//! else is floored (bids, quantities) or ceiled (asks). In steps, `s = x / step`, the snap
//! distance is `min(1e-9·|s|, 1e-3)`. `s` computed in `f64` is off by at most a few ulps
//! (≈ 4.5e-16·|s|), far smaller than that distance, so the float answer is the exact one unless
//! `|s − round(s)|` lies within that error of the snap distance itself; those inputs (and
//! anything out of range or non-positive) return `None` and the caller takes the exact path.

use rust_decimal::Decimal;

/// Relative snap distance (`SNAP_REL`) as a float.
const SNAP_REL_F64: f64 = 1e-9;
/// Snap distance cap in steps (`SNAP_MAX_STEP_FRACTION`) as a float.
const SNAP_MAX_STEPS_F64: f64 = 1e-3;
/// Bound on the relative error of `x / step` in floats (a few ulps, rounded up generously).
const REL_ERR: f64 = 1e-14;
/// Largest step count handled here (integers exactly representable in `f64`).
const MAX_STEPS: f64 = 9.0e15;

/// A decimal step (tick or lot) prepared for [`Grid::to_grid`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    mantissa: i64,
    scale: u32,
    step_f64: f64,
}

impl Grid {
    /// The grid of `step` (`None` when its mantissa does not fit an `i64` or it is not positive).
    pub fn new(step: Decimal) -> Option<Self> {
        let mantissa = i64::try_from(step.mantissa()).ok().filter(|m| *m > 0)?;
        let scale = step.scale();
        let step_f64 = mantissa as f64 / 10f64.powi(scale as i32);
        Some(Self {
            mantissa,
            scale,
            step_f64,
        })
    }

    /// The step as a float.
    pub fn step_f64(&self) -> f64 {
        self.step_f64
    }

    /// `x` (finite, positive) on the grid: snapped, else ceiled when `up`, floored otherwise.
    /// `None` when floats cannot decide, or the result is zero or out of range.
    pub fn to_grid(&self, x: f64, up: bool) -> Option<Decimal> {
        self.steps(x, up)
            .filter(|s| *s >= 1)
            .and_then(|s| self.value(s))
    }

    /// The exact value of `steps` grid steps, without trailing zeros (`None` on overflow).
    #[inline]
    pub fn value(&self, steps: i64) -> Option<Decimal> {
        Some(normalized(steps.checked_mul(self.mantissa)?, self.scale))
    }

    /// `x` (finite, positive) on the grid as a step count (may be zero): snapped, else ceiled
    /// when `up`, floored otherwise. `None` when floats cannot decide or out of range.
    #[inline]
    pub fn steps(&self, x: f64, up: bool) -> Option<i64> {
        // NaN and non-positive values fail here, `+inf` at the range check (the step is a
        // positive finite float).
        if x.is_nan() || x <= 0.0 {
            return None;
        }
        let s = x / self.step_f64;
        if s >= MAX_STEPS {
            return None;
        }
        // `0 <= s < 2^53`: truncation is the floor, and `s - floor` is exact (no libm calls,
        // which the baseline x86-64 target would make for `round`, `ceil` and `floor`).
        let floor = s as i64;
        let frac = s - floor as f64;
        let nearest = floor + i64::from(frac >= 0.5);
        let off = (s - nearest as f64).abs();
        let snap = (s * SNAP_REL_F64).min(SNAP_MAX_STEPS_F64);
        if (off - snap).abs() <= (s + 1.0) * REL_ERR {
            return None;
        }
        Some(if off <= snap {
            nearest
        } else if up {
            floor + i64::from(frac > 0.0)
        } else {
            floor
        })
    }
}

/// `x.floor() as i64` (saturating; NaN gives 0) in integer instructions, without the libm call
/// the baseline x86-64 target makes (which the compiler may make even when a branch avoids it):
/// truncation, less one when that went up. Beyond `2^53` every float is an integer, truncation
/// is exact, and the correction never applies.
#[inline]
pub fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    t.saturating_sub(i64::from((t as f64) > x))
}

/// `x.ceil() as i64`, as [`floor_i64`]: truncation, plus one when that went down.
#[inline]
pub fn ceil_i64(x: f64) -> i64 {
    let t = x as i64;
    t.saturating_add(i64::from((t as f64) < x))
}

/// `units · 10^-scale` without trailing zeros (as `Decimal::normalize` leaves it); `scale` is at
/// most 28.
#[inline]
pub fn normalized(units: i64, mut scale: u32) -> Decimal {
    // Unsigned division by ten is a multiplication and a shift.
    let mut abs = units.unsigned_abs();
    while scale > 0 && abs.is_multiple_of(10) {
        abs /= 10;
        scale -= 1;
    }
    Decimal::from_parts(abs as u32, (abs >> 32) as u32, 0, units < 0, scale)
}

/// `d`'s mantissa when it fits an `i64` (`i64::try_from(d.mantissa())`, except that
/// `-2^63` gives `None`), read from its parts without building an `i128`.
#[inline]
pub fn mantissa_i64(d: &Decimal) -> Option<i64> {
    let parts = d.unpack();
    if parts.hi != 0 {
        return None;
    }
    let m = i64::try_from((u64::from(parts.mid) << 32) | u64::from(parts.lo)).ok()?;
    Some(if parts.negative { -m } else { m })
}

/// `a.cmp(b)`, comparing the mantissas when the scales are equal (prices on one tick usually
/// are; `Decimal`'s own comparison is an out-of-line call that rescales).
#[inline]
pub fn cmp_decimal(a: &Decimal, b: &Decimal) -> std::cmp::Ordering {
    if a.scale() == b.scale() {
        a.mantissa().cmp(&b.mantissa())
    } else {
        a.cmp(b)
    }
}

/// `Decimal::new(units, scale)` for `scale <= 28`, built from its parts inline (`Decimal::new` is
/// an out-of-line call; the result is the same value and representation).
#[inline]
pub fn decimal_from_i64(units: i64, scale: u32) -> Decimal {
    let abs = units.unsigned_abs();
    Decimal::from_parts(abs as u32, (abs >> 32) as u32, 0, units < 0, scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn integer_floor_and_ceil_equal_libm() {
        let values = [
            0.0,
            -0.0,
            0.5,
            1.0,
            1.5,
            2.0 - 1e-12,
            123_456.000_001,
            4.5e15,
            9.007e15,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_993.0,
            9.223_372_036_854_775e18,
            9.223_372_036_854_777e18,
            -9.223_372_036_854_775e18,
            -9.223_372_036_854_777e18,
            -1e300,
            -0.25,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            1e300,
            -0.5,
            -1.0,
            -2.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let randoms = (0..100_000).map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Any bit pattern, or a value in steps with a fraction (the usual case).
            if rng & 1 == 0 {
                f64::from_bits(rng)
            } else {
                (rng >> 20) as f64 / 1024.0
            }
        });
        for x in values.into_iter().chain(randoms) {
            assert_eq!(floor_i64(x), x.floor() as i64, "floor {x:e}");
            assert_eq!(ceil_i64(x), x.ceil() as i64, "ceil {x:e}");
        }
    }

    #[test]
    fn mantissa_from_parts_equals_the_mantissa() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for i in 0..200_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let hi = if i % 3 == 0 { rng as u32 } else { 0 };
            let (lo, mid) = (rng as u32, (rng >> (32 + i % 3)) as u32);
            let d = Decimal::from_parts(lo, mid, hi, i % 2 == 0, (i % 29) as u32);
            let expected = i64::try_from(d.mantissa()).ok().filter(|m| *m != i64::MIN);
            assert_eq!(mantissa_i64(&d), expected, "{d:?}");
        }
        let edges = [
            Decimal::MAX,
            Decimal::MIN,
            Decimal::ZERO,
            -Decimal::ZERO,
            Decimal::ONE,
        ];
        for d in edges
            .into_iter()
            .chain([i64::MAX, i64::MIN + 1, -1].map(Decimal::from))
        {
            let expected = i64::try_from(d.mantissa()).ok();
            assert_eq!(mantissa_i64(&d), expected, "{d:?}");
        }
        assert_eq!(mantissa_i64(&Decimal::from(i64::MIN)), None);
    }

    #[test]
    fn inline_construction_equals_decimal_new() {
        let mut rng = 0x853c_49e6_748f_ea9bu64;
        let specials = [0, 1, -1, 10, -10, 1000, i64::MAX, i64::MIN, i64::MIN + 1];
        for i in 0..200_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let units = match i % 4 {
                0 => rng as i64,
                1 => (rng >> 40) as i64 - (1 << 23),
                2 => ((rng >> 50) as i64) * 10i64.pow((rng % 12) as u32),
                _ => specials[(rng % specials.len() as u64) as usize],
            };
            let scale = ((rng >> 8) % 29) as u32;
            let (fast, new) = (decimal_from_i64(units, scale), Decimal::new(units, scale));
            assert_eq!(fast.serialize(), new.serialize(), "{units} {scale}");
            let norm = new.normalize();
            assert_eq!(
                normalized(units, scale).serialize(),
                norm.serialize(),
                "{units} {scale}"
            );
        }
    }

    #[test]
    fn snaps_floors_ceils_and_normalises() {
        let g = Grid::new(dec!(0.1)).unwrap();
        assert_eq!(g.to_grid(100.09999999999, false), Some(dec!(100.1)));
        assert_eq!(g.to_grid(100.14, false), Some(dec!(100.1)));
        assert_eq!(g.to_grid(100.14, true), Some(dec!(100.2)));
        assert_eq!(g.to_grid(100.0, true).unwrap().to_string(), "100");
        assert_eq!(g.to_grid(0.01, false), None, "floors to zero");
        assert_eq!(g.to_grid(f64::NAN, false), None);
        assert_eq!(g.to_grid(-1.0, true), None);
        assert_eq!(g.to_grid(1e300, true), None);
        assert_eq!(Grid::new(dec!(0)), None);
    }

    /// Float and exact paths agree on random values, values near grid points and values near
    /// the snap distance, for several ticks.
    #[test]
    fn agrees_with_the_exact_conversion() {
        use crate::model::instrument::test_instrument;
        use crate::model::{Category, Side};
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut fast, mut total) = (0, 0);
        for tick in [
            dec!(0.1),
            dec!(0.01),
            dec!(0.0001),
            dec!(0.5),
            dec!(1),
            dec!(0.00000001),
        ] {
            let mut inst = test_instrument(Category::Linear);
            inst.tick_size = tick;
            let g = Grid::new(tick).unwrap();
            let t = g.step_f64;
            for _ in 0..40_000 {
                let r = next();
                let k = (r % 2_000_000) as f64 + 1.0;
                let x = match r % 5 {
                    0 => k * t,
                    1 => k * t * (1.0 + 1e-9 * ((r >> 20) % 3) as f64 - 1e-9),
                    2 => (k + ((r >> 24) % 1000) as f64 / 1000.0) * t,
                    3 => k * t + (if r & 1 == 0 { 1.0 } else { -1.0 }) * 1e-3 * t,
                    _ => f64::from_bits(0x3ff0_0000_0000_0000 | (r >> 12)) * k * t,
                };
                for (side, up) in [(Side::Buy, false), (Side::Sell, true)] {
                    total += 1;
                    if let Some(v) = g.to_grid(x, up) {
                        fast += 1;
                        let exact = inst.price_from_f64(side, x).unwrap();
                        assert_eq!(v, exact, "x = {x:e}, tick {tick}, {side:?}");
                        assert_eq!(v.to_string(), exact.to_string());
                    }
                }
            }
        }
        // A fifth of the inputs sit exactly at the snap cap (case 3), where half are left to
        // the exact path on purpose; everything else takes the fast one.
        assert!(fast * 100 > total * 80, "fast path taken {fast} of {total}");
    }
}
