//! Text for the wire without `core::fmt`: integers and normalised decimals appended to a
//! `String`, and the JSON-escape check of ids (the request hot path writes a few of each per
//! order).

use rust_decimal::Decimal;

/// `"00"`, `"01"`, … `"99"`: two digits per division (half the divisions of one at a time).
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The decimal digits of `v`, right-aligned in `buf`; returns where they start.
fn digits_u64(mut v: u64, buf: &mut [u8]) -> usize {
    let mut at = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + v as u8;
    }
    at
}

/// The decimal digits of `v` (any width), right-aligned in `buf`; returns where they start.
fn digits_u128(mut v: u128, buf: &mut [u8]) -> usize {
    // 128-bit division is a library call: peel 19-digit blocks down to a `u64`.
    const BLOCK: u128 = 10_000_000_000_000_000_000;
    let mut end = buf.len();
    while u64::try_from(v).is_err() {
        let low = (v % BLOCK) as u64;
        v /= BLOCK;
        let block = &mut buf[end - 19..end];
        let at = digits_u64(low, block);
        block[..at].fill(b'0');
        end -= 19;
    }
    digits_u64(v as u64, &mut buf[..end])
}

/// Append the decimal digits of `v`.
pub fn push_u128(out: &mut String, v: u128) {
    let mut buf = [0u8; 39];
    let at = digits_u128(v, &mut buf);
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
pub fn push_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    let at = digits_u64(v, &mut buf);
    push_ascii(out, &buf[at..]);
}

/// Append `d` normalised (no trailing zeros after the point, no point when whole, `0` for
/// zero of any sign): the same text as `d.normalize().to_string()`.
pub fn push_decimal(out: &mut String, d: Decimal) {
    let mut scale = d.scale() as usize;
    // Written right to left: fraction digits, the point, the whole part, the sign. A mantissa
    // has at most 29 digits and the fraction at most 28, so 32 bytes would do.
    let mut buf = [0u8; 40];
    let mut at = buf.len();
    let mut put = |b: u8| {
        at -= 1;
        buf[at] = b;
    };
    // Prices and quantities fit 64 bits; 128-bit division is a library call.
    let mut at = match u64::try_from(d.mantissa().unsigned_abs()) {
        Ok(mut m) => {
            while scale > 0 && m.is_multiple_of(10) {
                m /= 10;
                scale -= 1;
            }
            if m == 0 {
                out.push('0');
                return;
            }
            for _ in 0..scale {
                put(b'0' + (m % 10) as u8);
                m /= 10;
            }
            if scale > 0 {
                put(b'.');
            }
            if m == 0 {
                put(b'0');
                at
            } else {
                digits_u64(m, &mut buf[..at])
            }
        }
        Err(_) => {
            let mut m = d.mantissa().unsigned_abs();
            while scale > 0 && m.is_multiple_of(10) {
                m /= 10;
                scale -= 1;
            }
            for _ in 0..scale {
                put(b'0' + (m % 10) as u8);
                m /= 10;
            }
            if scale > 0 {
                put(b'.');
            }
            if m == 0 {
                put(b'0');
                at
            } else {
                digits_u128(m, &mut buf[..at])
            }
        }
    };
    if d.is_sign_negative() {
        at -= 1;
        buf[at] = b'-';
    }
    push_ascii(out, &buf[at..]);
}

/// Whether `value` can go between JSON quotes as is (no control character, quote or
/// backslash). Eight bytes at a time: the request ids and symbols are a few dozen bytes.
pub fn json_plain(value: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether any byte of `w` is zero / below 0x20 (exact as a whole-word answer).
    let any_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let any_control = |w: u64| w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
    let quote = ONES * u64::from(b'"');
    let backslash = ONES * u64::from(b'\\');
    let mut words = value.as_bytes().chunks_exact(8);
    for chunk in &mut words {
        let w = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        if any_control(w) || any_zero(w ^ quote) || any_zero(w ^ backslash) {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

fn push_ascii(out: &mut String, text: &[u8]) {
    // Only ASCII reaches here.
    out.push_str(std::str::from_utf8(text).unwrap_or_default());
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
        // Both sides of the 64-bit mantissa boundary, and a 19-digit block of zeros.
        for m in [
            u64::MAX as i128,
            u64::MAX as i128 + 1,
            10i128.pow(19),
            10i128.pow(26) + 7,
        ] {
            let d = Decimal::from_i128_with_scale(m, 3);
            assert_eq!(dec_text(d), d.normalize().to_string());
            let mut s = String::new();
            push_u128(&mut s, m as u128);
            assert_eq!(s, m.to_string());
        }
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
        fn json_plain_matches_the_escaper(s in ".{0,40}") {
            let escaped = serde_json::Value::from(s.as_str()).to_string();
            prop_assert_eq!(json_plain(&s), escaped == format!("\"{s}\""));
        }

        #[test]
        fn json_plain_finds_each_escape_at_any_offset(
            chars in proptest::collection::vec(
                prop_oneof![
                    8 => Just('a'),
                    1 => Just('"'),
                    1 => Just('\\'),
                    1 => Just('\u{1f}'),
                    1 => Just('\u{0}'),
                    1 => Just(' '),
                    1 => Just('\u{7f}'),
                    1 => Just('é'),
                    1 => Just('!'),
                    1 => Just(']'),
                ],
                0..48,
            )
        ) {
            let s: String = chars.into_iter().collect();
            let escaped = serde_json::Value::from(s.as_str()).to_string();
            prop_assert_eq!(json_plain(&s), escaped == format!("\"{s}\""));
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
