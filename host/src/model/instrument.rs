//! Instruments and exact price/quantity rounding.
//!
//! Rounding of exact decimals never favours the market against us: bids round down to the tick,
//! asks round up, quantities round down to the lot. Floats from strategies are converted by
//! [`Instrument::price_from_f64`] / [`Instrument::qty_from_f64`], which first snap values lying
//! within float noise of a grid point onto it (see [`SNAP_REL`]).

use super::{ModelError, Side};
use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;

/// Relative distance under which a float is considered "on" a tick/lot grid point.
///
/// `100.09999999999` with tick `0.1` is `1e-11` relative from `100.1` and becomes `100.1`, not
/// `100.0`. The snap distance is `min(SNAP_REL * |x|, step * SNAP_MAX_STEP_FRACTION)`, so a bid can
/// move up (an ask down, a quantity up) by at most that much — float noise, never a tick.
pub const SNAP_REL: Decimal = dec!(0.000000001);
/// Cap of the snap distance as a fraction of the tick/lot, for huge prices with tiny ticks.
pub const SNAP_MAX_STEP_FRACTION: Decimal = dec!(0.001);

/// Product category (the router only trades these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// USDT/USDC perpetuals and futures.
    Linear,
    /// Spot.
    Spot,
}

impl Category {
    /// Bybit's spelling: `linear` / `spot`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Linear => "linear",
            Category::Spot => "spot",
        }
    }

    /// Maximum orders per batch request (linear 20, spot 10).
    pub const fn max_batch(self) -> usize {
        match self {
            Category::Linear => 20,
            Category::Spot => 10,
        }
    }
}

/// The trading rules of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// Symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Category.
    pub category: Category,
    /// Price increment.
    pub tick_size: Decimal,
    /// Quantity increment.
    pub lot_size: Decimal,
    /// Minimum order quantity.
    pub min_qty: Decimal,
    /// Maximum order quantity.
    pub max_qty: Decimal,
    /// Minimum order value (price × qty) in quote currency; zero when none.
    pub min_notional: Decimal,
}

impl Instrument {
    /// Check the definition: positive tick and lot, `0 <= min_qty <= max_qty`, `min_notional >= 0`.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |reason| {
            Err(ModelError::InvalidInstrument {
                symbol: self.symbol.clone(),
                reason,
            })
        };
        if self.tick_size <= Decimal::ZERO {
            return bad("tick_size must be positive");
        }
        if self.lot_size <= Decimal::ZERO {
            return bad("lot_size must be positive");
        }
        if self.min_qty < Decimal::ZERO || self.max_qty < self.min_qty {
            return bad("need 0 <= min_qty <= max_qty");
        }
        if self.min_notional < Decimal::ZERO {
            return bad("min_notional must not be negative");
        }
        Ok(())
    }

    /// Round a bid price down to the tick (exact).
    pub fn round_bid(&self, price: Decimal) -> Decimal {
        floor_to(price, self.tick_size)
    }

    /// Round an ask price up to the tick (exact).
    pub fn round_ask(&self, price: Decimal) -> Decimal {
        ceil_to(price, self.tick_size)
    }

    /// Round a price for `side`: bids down, asks up.
    pub fn round_price(&self, side: Side, price: Decimal) -> Decimal {
        match side {
            Side::Buy => self.round_bid(price),
            Side::Sell => self.round_ask(price),
        }
    }

    /// Round a quantity down to the lot (exact).
    pub fn round_qty(&self, qty: Decimal) -> Decimal {
        floor_to(qty, self.lot_size)
    }

    /// Whether `qty` is at least the minimum order quantity.
    pub fn meets_min_qty(&self, qty: Decimal) -> bool {
        qty >= self.min_qty && qty > Decimal::ZERO
    }

    /// Whether `price × qty` is at least the minimum order value.
    pub fn meets_min_notional(&self, price: Decimal, qty: Decimal) -> bool {
        price * qty >= self.min_notional
    }

    /// Convert a strategy's float price to an exact tick multiple for `side`.
    ///
    /// Rule: the float is converted exactly (`Decimal::from_f64_retain`); if it lies within the
    /// snap distance (see [`SNAP_REL`]) of a tick multiple it becomes that multiple, otherwise a
    /// bid is floored and an ask ceiled. NaN/inf, values beyond `Decimal`'s range and non-positive
    /// prices are errors.
    pub fn price_from_f64(&self, side: Side, price: f64) -> Result<Decimal, ModelError> {
        let what = match side {
            Side::Buy => "bid price",
            Side::Sell => "ask price",
        };
        let exact = decimal_from_f64(price, what)?;
        if exact <= Decimal::ZERO {
            return Err(ModelError::NonPositive { what, value: exact });
        }
        let rounded = match snap(exact, self.tick_size) {
            Some(on_grid) => on_grid,
            None => self.round_price(side, exact),
        };
        if rounded <= Decimal::ZERO {
            return Err(ModelError::NonPositive {
                what,
                value: rounded,
            });
        }
        Ok(rounded)
    }

    /// Convert a strategy's float quantity to an exact lot multiple (snap, else floor).
    /// May return zero; NaN/inf and negative values are errors.
    pub fn qty_from_f64(&self, qty: f64) -> Result<Decimal, ModelError> {
        let exact = decimal_from_f64(qty, "quantity")?;
        if exact < Decimal::ZERO {
            return Err(ModelError::NonPositive {
                what: "quantity",
                value: exact,
            });
        }
        Ok(snap(exact, self.lot_size).unwrap_or_else(|| self.round_qty(exact)))
    }

    /// Whether `price` is a multiple of the tick.
    pub fn is_on_tick(&self, price: Decimal) -> bool {
        (price % self.tick_size).is_zero()
    }
}

/// Exact conversion of a finite float.
fn decimal_from_f64(x: f64, what: &'static str) -> Result<Decimal, ModelError> {
    if !x.is_finite() {
        return Err(ModelError::NonFinite { what });
    }
    Decimal::from_f64_retain(x).ok_or(ModelError::OutOfRange { what })
}

/// The grid point within snap distance of `x`, if any.
fn snap(x: Decimal, step: Decimal) -> Option<Decimal> {
    let steps = x
        .checked_div(step)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let nearest = steps.checked_mul(step)?;
    let limit = (x.abs() * SNAP_REL).min(step * SNAP_MAX_STEP_FRACTION);
    ((x - nearest).abs() <= limit).then(|| nearest.normalize())
}

/// Largest multiple of `step` that is `<= x`.
fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    let rem = x % step;
    let down = if rem < Decimal::ZERO {
        x - rem - step
    } else {
        x - rem
    };
    down.normalize()
}

/// Smallest multiple of `step` that is `>= x`.
fn ceil_to(x: Decimal, step: Decimal) -> Decimal {
    let rem = x % step;
    let up = if rem > Decimal::ZERO {
        x - rem + step
    } else {
        x - rem
    };
    up.normalize()
}

#[cfg(test)]
pub(crate) fn test_instrument(category: Category) -> Instrument {
    Instrument {
        symbol: "BTCUSDT".into(),
        category,
        tick_size: dec!(0.1),
        lot_size: dec!(0.001),
        min_qty: dec!(0.001),
        max_qty: dec!(100),
        min_notional: dec!(5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_rounding_table() {
        let inst = test_instrument(Category::Linear);
        let cases = [
            // (price, bid, ask)
            (dec!(100.15), dec!(100.1), dec!(100.2)),
            (dec!(100.1), dec!(100.1), dec!(100.1)),
            (dec!(100.19999), dec!(100.1), dec!(100.2)),
            (dec!(0.05), dec!(0), dec!(0.1)),
            (dec!(-0.05), dec!(-0.1), dec!(0)),
        ];
        for (price, bid, ask) in cases {
            assert_eq!(inst.round_bid(price), bid, "bid {price}");
            assert_eq!(inst.round_ask(price), ask, "ask {price}");
        }
        assert_eq!(inst.round_qty(dec!(0.0019)), dec!(0.001));
    }

    #[test]
    fn float_conversion_table() {
        let inst = test_instrument(Category::Linear);
        let cases: [(Side, f64, Result<Decimal, ()>); 9] = [
            (Side::Buy, 100.09999999999, Ok(dec!(100.1))),
            (Side::Sell, 100.10000000001, Ok(dec!(100.1))),
            (Side::Buy, 100.15, Ok(dec!(100.1))),
            (Side::Sell, 100.15, Ok(dec!(100.2))),
            (Side::Buy, 100.0999, Ok(dec!(100.0))),
            (Side::Sell, 0.1 + 0.2, Ok(dec!(0.3))),
            (Side::Buy, f64::NAN, Err(())),
            (Side::Sell, f64::INFINITY, Err(())),
            (Side::Buy, 0.04, Err(())),
        ];
        for (side, x, want) in cases {
            let got = inst.price_from_f64(side, x).map_err(|_| ());
            assert_eq!(got, want, "{side} {x}");
        }
        assert_eq!(inst.qty_from_f64(0.30000000000000004), Ok(dec!(0.3)));
        assert_eq!(inst.qty_from_f64(0.0029999999999), Ok(dec!(0.003)));
        assert_eq!(inst.qty_from_f64(0.0025), Ok(dec!(0.002)));
        assert!(inst.qty_from_f64(f64::NAN).is_err());
        assert!(inst.qty_from_f64(-1.0).is_err());
        assert!(inst.qty_from_f64(1e300).is_err());
    }

    #[test]
    fn min_checks_and_validation() {
        let inst = test_instrument(Category::Spot);
        assert!(inst.validate().is_ok());
        assert!(!inst.meets_min_qty(dec!(0)));
        assert!(inst.meets_min_qty(dec!(0.001)));
        assert!(!inst.meets_min_notional(dec!(100), dec!(0.049)));
        assert!(inst.meets_min_notional(dec!(100), dec!(0.05)));
        let mut bad = inst.clone();
        bad.tick_size = Decimal::ZERO;
        assert!(bad.validate().is_err());
    }

    fn tick() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            Just(dec!(0.1)),
            Just(dec!(0.01)),
            Just(dec!(0.5)),
            Just(dec!(0.0001)),
            Just(dec!(1)),
            Just(dec!(25))
        ]
    }

    proptest! {
        #[test]
        fn rounding_never_favours_the_market(mantissa in 1i64..10_000_000_000, scale in 0u32..8, tick in tick()) {
            let mut inst = test_instrument(Category::Linear);
            inst.tick_size = tick;
            let price = Decimal::new(mantissa, scale);
            let bid = inst.round_bid(price);
            let ask = inst.round_ask(price);
            prop_assert!(bid <= price && ask >= price);
            prop_assert!(price - bid < tick && ask - price < tick);
            prop_assert!(inst.is_on_tick(bid) && inst.is_on_tick(ask));
        }

        #[test]
        fn float_rounding_moves_at_most_float_noise(x in 0.001f64..1e7, tick in tick()) {
            let mut inst = test_instrument(Category::Linear);
            inst.tick_size = tick;
            let exact = Decimal::from_f64_retain(x).unwrap();
            let noise = exact * SNAP_REL;
            if let Ok(bid) = inst.price_from_f64(Side::Buy, x) {
                prop_assert!(bid <= exact + noise && inst.is_on_tick(bid));
            }
            if let Ok(ask) = inst.price_from_f64(Side::Sell, x) {
                prop_assert!(ask >= exact - noise && inst.is_on_tick(ask));
            }
        }
    }
}
