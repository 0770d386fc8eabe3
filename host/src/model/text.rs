//! Numbers written as text for the wire without `core::fmt`: integers and normalised decimals
//! appended to a `String` (the request hot path writes a few of each per order).

use rust_decimal::Decimal;

/// Append the decimal digits of `v`.
pub fn push_u128(out: &mut String, mut v: u128) {
    let mut buf = [0u8; 39];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    push_ascii(out, &buf[at..]);
}

/// Append `v` in decimal (`-` first when negative).
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Append `v` in decimal.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    push_ascii(out, &buf[at..]);
}

/// Append `d` normalised (no trailing zeros after the point, no point when whole, `0` for
/// zero of any sign): the same text as `d.normalize().to_string()`.
pub fn push_decimal(out: &mut String, d: Decimal) {
    let mut m = d.mantissa().unsigned_abs();
    let mut scale = d.scale() as usize;
    while scale > 0 && m.is_multiple_of(10) {
        m /= 10;
        scale -= 1;
    }
    if m == 0 {
        out.push('0');
        return;
    }
    if d.is_sign_negative() {
        out.push('-');
    }
    let mut buf = [0u8; 39];
    let mut at = buf.len();
    while m > 0 {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
    }
    let digits = &buf[at..];
    if scale == 0 {
        push_ascii(out, digits);
    } else if digits.len() > scale {
        let (whole, frac) = digits.split_at(digits.len() - scale);
        push_ascii(out, whole);
        out.push('.');
        push_ascii(out, frac);
    } else {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        push_ascii(out, digits);
    }
}

fn push_ascii(out: &mut String, digits: &[u8]) {
    // Only ASCII digits reach here.
    out.push_str(std::str::from_utf8(digits).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec_text(d: Decimal) -> String {
        let mut s = String::new();
        push_decimal(&mut s, d);
        s
    }

    #[test]
    fn edges() {
        let mut s = String::new();
        push_i64(&mut s, i64::MIN);
        s.push(' ');
        push_u64(&mut s, 0);
        s.push(' ');
        push_u128(&mut s, u128::MAX);
        assert_eq!(
            s,
            format!("{} 0 {}", i64::MIN, u128::MAX),
            "integers as Display writes them"
        );
        assert_eq!(dec_text(Decimal::new(-0, 5)), "0");
        assert_eq!(
            dec_text(Decimal::new(1, 28)),
            "0.0000000000000000000000000001"
        );
        assert_eq!(dec_text(Decimal::new(-25000, 3)), "-25");
        assert_eq!(dec_text(Decimal::new(105, 1)), "10.5");
        assert_eq!(dec_text(Decimal::MAX), Decimal::MAX.to_string());
    }

    proptest! {
        #[test]
        fn decimals_match_display(lo in any::<u32>(), mid in any::<u32>(), hi in any::<u32>(), neg in any::<bool>(), scale in 0u32..=28) {
            let d = Decimal::from_parts(lo, mid, hi, neg, scale);
            prop_assert_eq!(dec_text(d), d.normalize().to_string());
        }

        #[test]
        fn small_decimals_match_display(m in -10_000_000i64..10_000_000, scale in 0u32..=12) {
            let d = Decimal::new(m, scale);
            prop_assert_eq!(dec_text(d), d.normalize().to_string());
        }

        #[test]
        fn integers_match_display(v in any::<i64>(), u in any::<u64>()) {
            let mut s = String::new();
            push_i64(&mut s, v);
            push_u64(&mut s, u);
            prop_assert_eq!(s, format!("{v}{u}"));
        }
    }
}
