//! Exact fixed-point decimals as they arrive on the wire: an integer mantissa and a scale.
//!
//! `"16493.50"` is `Fixed { mantissa: 1649350, scale: 2 }`. Parsing is a single pass over the
//! bytes with no allocation; conversion to [`Decimal`] happens at the boundary.

use rust_decimal::Decimal;

/// Largest scale accepted (digits after the decimal point).
pub const MAX_SCALE: u8 = 18;

/// Powers of ten that fit in an `i64`.
pub(crate) const POW10_I64: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// Powers of ten as `f64` (all exact).
const POW10_F64: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// An exact decimal number `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fixed {
    /// The digits as an integer.
    pub mantissa: i64,
    /// Number of digits after the decimal point (at most [`MAX_SCALE`]).
    pub scale: u8,
}

impl Fixed {
    /// A fixed-point number `mantissa / 10^scale`.
    pub const fn new(mantissa: i64, scale: u8) -> Self {
        Self { mantissa, scale }
    }

    /// Parse a plain decimal such as `"0.006"`, `"16493.50"` or `"-3"`.
    ///
    /// Accepts an optional leading `-`, digits, and an optional `.` followed by digits.
    /// Rejects exponents, empty input, a lone `.`, and values that do not fit in an `i64`
    /// mantissa. Returns `None` on any of those.
    #[inline]
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (negative, digits) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some(_) => (false, bytes),
            None => return None,
        };
        let mut mantissa: u64 = 0;
        let mut scale: u32 = 0;
        let mut seen_dot = false;
        let mut seen_digit = false;
        for &b in digits {
            match b {
                b'0'..=b'9' => {
                    mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                    seen_digit = true;
                    if seen_dot {
                        scale += 1;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => return None,
            }
        }
        if !seen_digit || scale > u32::from(MAX_SCALE) || mantissa > i64::MAX as u64 {
            return None;
        }
        let mantissa = mantissa as i64;
        Some(Self {
            mantissa: if negative { -mantissa } else { mantissa },
            scale: scale as u8,
        })
    }

    /// The mantissa at `scale`, if the value is representable exactly there.
    ///
    /// `Fixed::new(1649350, 2).to_scale(1) == Some(164935)`; `to_scale(0)` is `None`.
    #[inline]
    pub fn to_scale(self, scale: u8) -> Option<i64> {
        if scale == self.scale {
            Some(self.mantissa)
        } else if scale > self.scale {
            let factor = *POW10_I64.get(usize::from(scale - self.scale))?;
            self.mantissa.checked_mul(factor)
        } else {
            // Constant divisors for the common cases compile to multiplications.
            let m = self.mantissa;
            match self.scale - scale {
                1 => (m % 10 == 0).then_some(m / 10),
                2 => (m % 100 == 0).then_some(m / 100),
                diff => {
                    let factor = POW10_I64[usize::from(diff)];
                    (m % factor == 0).then_some(m / factor)
                }
            }
        }
    }

    /// Whether the value is zero.
    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// The exact value as a [`Decimal`].
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.mantissa, u32::from(self.scale))
    }

    /// The nearest `f64` (exact rounding while `|mantissa| < 2^53`).
    pub fn to_f64(self) -> f64 {
        scaled_to_f64(self.mantissa, self.scale)
    }
}

/// `mantissa / 10^scale` as the nearest `f64` while `|mantissa| < 2^53`.
#[inline]
pub fn scaled_to_f64(mantissa: i64, scale: u8) -> f64 {
    mantissa as f64 / POW10_F64[usize::from(scale.min(MAX_SCALE))]
}

/// The smallest scale at which `value` is an integer, if at most [`MAX_SCALE`].
pub fn scale_of(value: Decimal) -> Option<u8> {
    let scale = value.normalize().scale();
    u8::try_from(scale).ok().filter(|s| *s <= MAX_SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn parses_plain_decimals_exactly() {
        let cases: &[(&str, i64, u8)] = &[
            ("16493.50", 1_649_350, 2),
            ("0.006", 6, 3),
            ("0", 0, 0),
            ("30.028", 30_028, 3),
            ("-3", -3, 0),
            ("0.00001234", 1234, 8),
            ("100.", 100, 0),
            (".5", 5, 1),
            ("9223372036854775807", i64::MAX, 0),
        ];
        for &(text, mantissa, scale) in cases {
            assert_eq!(
                Fixed::parse(text.as_bytes()),
                Some(Fixed::new(mantissa, scale)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_malformed_numbers() {
        for text in [
            "",
            "-",
            ".",
            "1e5",
            "1.2.3",
            "12a",
            "9223372036854775808",
            " 1",
            "0.1234567890123456789",
        ] {
            assert_eq!(Fixed::parse(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn rescales_only_when_exact() {
        let v = Fixed::new(1_649_350, 2);
        assert_eq!(v.to_scale(1), Some(164_935));
        assert_eq!(v.to_scale(4), Some(164_935_000));
        assert_eq!(v.to_scale(0), None);
        assert_eq!(Fixed::new(i64::MAX, 0).to_scale(1), None);
    }

    #[test]
    fn converts_to_decimal_and_f64() {
        let v = Fixed::parse(b"30247.20").unwrap();
        assert_eq!(v.to_decimal(), Decimal::from_str("30247.20").unwrap());
        assert_eq!(v.to_f64(), 30247.2);
        assert_eq!(scale_of(Decimal::from_str("0.10").unwrap()), Some(1));
        assert_eq!(scale_of(Decimal::from_str("0.001").unwrap()), Some(3));
        assert_eq!(scale_of(Decimal::from_str("5").unwrap()), Some(0));
    }
}
