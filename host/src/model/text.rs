//! Text for the wire without `core::fmt`: integers and normalised decimals appended to a
//! byte buffer of JSON text (or a `String`), and the JSON-escape check of ids (the request hot
//! path writes a few of each per order).
//!
//! The byte writers (`put_*`) write ASCII only: a buffer of them and of `&str` pieces is UTF-8,
//! so the request writers check it once, whole, when they make it a `String` (instead of a
//! check per number).

use rust_decimal::Decimal;

/// `10^i` for every `i` a `u64` holds.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// How many decimal digits `v` has (1 for 0): from its bit length, `log10(2) ≈ 1233 / 4096`,
/// then one comparison.
#[inline(always)]
fn digit_count(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    let t = (bits * 1233) >> 12; // `floor(log10(v))` or one more (`t <= 19`)
    t + 1 - usize::from((v | 1) < POW10[t])
}

/// The eight decimal digits of `v < 10^8` (zero-padded) as ASCII, first digit in the lowest
/// byte: two 4-digit halves, then each split in two 2-digit lanes, then each of those in two
/// digits, all lanes of a word at once.
#[inline(always)]
fn eight_digits(v: u32) -> u64 {
    let v = u64::from(v);
    // Lanes of 32 bits: the first four digits, the last four.
    let x = (v / 10_000) | ((v % 10_000) << 32);
    // Lanes of 16 bits (`n / 100` exact by `* 10486 >> 20` for `n < 10^4`).
    let q = ((x * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let x = q | ((x - q * 100) << 16);
    // Lanes of 8 bits (`n / 10` exact by `* 103 >> 10` for `n < 100`).
    let q = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    let x = q | ((x - q * 10) << 8);
    x + u64::from_le_bytes([b'0'; 8])
}

/// Exactly `n` decimal digits of `v` (`1 <= n <= 20`, zero-padded on the left, `v < 10^n`) at
/// `buf[at..at + n]`, eight at a time; the bytes up to `buf[at + 8]` may be overwritten.
#[inline(always)]
fn put_digits(buf: &mut [u8], at: usize, v: u64, n: usize) {
    let put8 = |buf: &mut [u8], at: usize, w: u64| {
        buf[at..at + 8].copy_from_slice(&w.to_le_bytes());
    };
    // The first 1..=8 digits, then 0, 8 or 16 more.
    let rest = (n - 1) / 8 * 8;
    let first = n - rest;
    let (lead, tail) = (v / POW10[rest], v % POW10[rest]);
    // The first digits at the bottom of the word, zeros shifted in above them.
    put8(buf, at, eight_digits(lead as u32) >> (8 * (8 - first)));
    if rest == 8 {
        put8(buf, at + first, eight_digits(tail as u32));
    } else if rest == 16 {
        put8(buf, at + first, eight_digits((tail / 100_000_000) as u32));
        put8(
            buf,
            at + first + 8,
            eight_digits((tail % 100_000_000) as u32),
        );
    }
}

/// Append the first `len <= N` bytes of `buf`: the first `N` (a fixed-size copy, so inlined),
/// then the spare tail cut; no copy call of a variable length.
#[inline(always)]
fn put_head<const N: usize>(out: &mut Vec<u8>, buf: &[u8], len: usize) {
    if let Some(head) = buf.first_chunk::<N>() {
        let start = out.len();
        out.extend_from_slice(head);
        out.truncate(start + len);
    }
}

/// Append `v` in decimal (`-` first when negative).
#[inline]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    put_u64(out, v.unsigned_abs());
}

/// Append `v` in decimal.
#[inline]
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    let n = digit_count(v);
    if n <= 8 {
        // One word of digits (`v < 10^8`), the leading zeros shifted out.
        put_head::<8>(
            out,
            &(eight_digits(v as u32) >> (8 * (8 - n))).to_le_bytes(),
            n,
        );
    } else if n <= 16 {
        // Two words (a timestamp in ms has 13 digits).
        let high = u128::from(eight_digits((v / 100_000_000) as u32));
        let low = u128::from(eight_digits((v % 100_000_000) as u32));
        let text = (high | low << 64) >> (8 * (16 - n));
        put_head::<16>(out, &text.to_le_bytes(), n);
    } else {
        let mut buf = [0u8; 24];
        put_digits(&mut buf, 0, v, n);
        put_head::<24>(out, &buf, n);
    }
}

/// Append the decimal digits of `v`.
pub fn put_u128(out: &mut Vec<u8>, v: u128) {
    let mut buf = [0u8; WIDE_BUF];
    let n = digits_u128(v, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

/// Append `d` normalised (no trailing zeros after the point, no point when whole, `0` for
/// zero of any sign): the same text as `d.normalize().to_string()`.
#[inline]
pub fn put_decimal(out: &mut Vec<u8>, d: Decimal) {
    match short_decimal(d) {
        Some((text, len)) => put_head::<16>(out, &text.to_le_bytes(), len),
        None => put_long_decimal(out, d),
    }
}

/// [`put_decimal`] of the decimals [`short_decimal`] leaves.
#[inline(never)]
fn put_long_decimal(out: &mut Vec<u8>, d: Decimal) {
    let mut buf = [b'0'; DECIMAL_BUF];
    let len = decimal_text(d, &mut buf);
    put_head::<32>(out, &buf, len);
}

/// The text of `d` normalised (as [`put_decimal`] writes it) in one `u128` (first character
/// in the lowest byte) and its length, when at most 8 digits are left after the trailing
/// zeros and at most 8 follow the point: prices and quantities, mostly. `None` otherwise.
#[inline(always)]
fn short_decimal(d: Decimal) -> Option<(u128, usize)> {
    let mut m = u64::try_from(d.mantissa().unsigned_abs()).ok()?;
    if m == 0 {
        return Some((u128::from(b'0'), 1)); // whatever the sign and scale
    }
    let mut scale = d.scale() as usize;
    while scale > 0 && m.is_multiple_of(10) {
        m /= 10;
        scale -= 1;
    }
    let n = digit_count(m);
    if n > 8 || scale > 8 {
        return None;
    }
    // The last `k` of the eight digits (`m < 10^8`): the leading zeros shifted out.
    let digits = |k: usize| eight_digits(m as u32) >> (8 * (8 - k));
    let (text, len) = if scale == 0 {
        (u128::from(digits(n)), n)
    } else if n > scale {
        // The point shifted in after the whole part.
        let w = digits(n);
        let whole = 8 * (n - scale); // bits, 8..=56
        let (head, tail) = (w & ((1 << whole) - 1), w >> whole);
        let text = u128::from(head) | u128::from(b'.') << whole | u128::from(tail) << (whole + 8);
        (text, n + 1)
    } else {
        // `0.` then the fraction: `m` zero-padded to `scale` digits.
        let zero_point = u128::from(u16::from_le_bytes(*b"0."));
        (zero_point | u128::from(digits(scale)) << 16, scale + 2)
    };
    // At most 1 + 10 bytes.
    Some(if d.is_sign_negative() {
        (u128::from(b'-') | text << 8, len + 1)
    } else {
        (text, len)
    })
}

/// Room for any [`Decimal`]'s text (at most 31 bytes) and the spare bytes [`put_digits`]
/// may write ([`put_decimal`] copies the first 32).
const DECIMAL_BUF: usize = 40;

/// `d` normalised (as [`put_decimal`] writes it) at the start of `buf` (all `b'0'` on entry);
/// returns its length.
#[inline(always)]
fn decimal_text(d: Decimal, buf: &mut [u8; DECIMAL_BUF]) -> usize {
    // Prices and quantities fit 64 bits; 128-bit division is a library call.
    let Ok(mut m) = u64::try_from(d.mantissa().unsigned_abs()) else {
        return wide_decimal_text(d, buf);
    };
    if m == 0 {
        return 1; // `0`, whatever the sign and scale
    }
    let mut scale = d.scale() as usize;
    while scale > 0 && m.is_multiple_of(10) {
        m /= 10;
        scale -= 1;
    }
    // Left to right over the `0`s: sign, whole part, point, fraction. At most 1 + 20 + 1 + 19
    // bytes, or 1 + `0.` + 28 when the whole part is zero; `put_digits` may write 7 more.
    let at = usize::from(d.is_sign_negative());
    buf[0] = b'-';
    let n = digit_count(m);
    if scale == 0 {
        put_digits(buf, at, m, n);
        at + n
    } else if n > scale {
        // `scale < n <= 20`: a power of ten a `u64` holds.
        let p = POW10[scale];
        let whole = n - scale;
        put_digits(buf, at, m / p, whole);
        buf[at + whole] = b'.';
        put_digits(buf, at + whole + 1, m % p, scale);
        at + n + 1
    } else {
        // `0.`, then `scale - n` zeros (already there), then the digits.
        buf[at] = b'0';
        buf[at + 1] = b'.';
        put_digits(buf, at + 2 + scale - n, m, n);
        at + 2 + scale
    }
}

/// [`decimal_text`] of a mantissa beyond 64 bits (rare, so plain: 128-bit arithmetic, copies).
#[cold]
fn wide_decimal_text(d: Decimal, buf: &mut [u8; DECIMAL_BUF]) -> usize {
    let mut scale = d.scale() as usize;
    let mut m = d.mantissa().unsigned_abs();
    while scale > 0 && m.is_multiple_of(10) {
        m /= 10;
        scale -= 1;
    }
    let mut digits = [0u8; WIDE_BUF];
    let n = digits_u128(m, &mut digits);
    let digits = &digits[..n];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    if d.is_sign_negative() && m != 0 {
        put(b"-");
    }
    if scale == 0 {
        put(digits);
    } else if n > scale {
        put(&digits[..n - scale]);
        put(b".");
        put(&digits[n - scale..]);
    } else {
        put(b"0.");
        for _ in n..scale {
            put(b"0");
        }
        put(digits);
    }
    at
}

/// Room for any `u128`'s digits (39) and the spare bytes [`put_digits`] may write.
const WIDE_BUF: usize = 48;

/// The decimal digits of `v` (any width) at the start of `buf`; returns how many.
fn digits_u128(v: u128, buf: &mut [u8; WIDE_BUF]) -> usize {
    // 128-bit division is a library call: 19-digit blocks of `u64`, the first up to 39 - 38.
    const BLOCK: u128 = 10_000_000_000_000_000_000;
    let low = (v % BLOCK) as u64;
    let high = v / BLOCK;
    let Ok(high) = u64::try_from(high) else {
        let mid = (high % BLOCK) as u64;
        let top = (high / BLOCK) as u64;
        let n = digit_count(top);
        put_digits(buf, 0, top, n);
        put_digits(buf, n, mid, 19);
        put_digits(buf, n + 19, low, 19);
        return n + 38;
    };
    if high == 0 {
        let n = digit_count(low);
        put_digits(buf, 0, low, n);
        return n;
    }
    let n = digit_count(high);
    put_digits(buf, 0, high, n);
    put_digits(buf, n, low, 19);
    n + 19
}

/// Append ASCII `bytes` to a `String` without a UTF-8 check: one `char` each, masked to 7
/// bits so the compiler sees a one-byte character (only ASCII digits and signs reach here).
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| char::from(b & 0x7f)));
}

/// Append the decimal digits of `v`.
pub fn push_u128(out: &mut String, v: u128) {
    let mut buf = [0u8; WIDE_BUF];
    let n = digits_u128(v, &mut buf);
    push_ascii(out, &buf[..n]);
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
    let n = digit_count(v);
    let mut buf = [0u8; 24];
    put_digits(&mut buf, 0, v, n);
    push_ascii(out, &buf[..n]);
}

/// Append `d` normalised, as [`put_decimal`] writes it.
pub fn push_decimal(out: &mut String, d: Decimal) {
    let mut buf = [b'0'; DECIMAL_BUF];
    let len = decimal_text(d, &mut buf);
    push_ascii(out, &buf[..len]);
}

/// Whether the 8 bytes of `w` can all go between JSON quotes as they are (none below 0x20,
/// none `"` or `\`). Exact as a whole-word answer.
#[inline(always)]
fn word_plain(w: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // High bit set where a byte is below `n` (exact for the word as a whole, `n <= 0x80`).
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    (below(w, 0x20) | below(quote, 1) | below(backslash, 1)) & HIGHS == 0
}

/// Whether `value` can go between JSON quotes as is (no control character, quote or
/// backslash). Eight bytes at a time, the last eight overlapping the ones before (the request
/// ids and symbols are a few dozen bytes, no byte loop over a tail).
pub fn json_plain(value: &str) -> bool {
    let b = value.as_bytes();
    let word = |at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap_or_default());
    let n = b.len();
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if !word_plain(word(at)) {
                return false;
            }
            at += 8;
        }
        word_plain(word(n - 8))
    } else if n >= 4 {
        // Two overlapping halves: the first four bytes and the last four.
        let half = |at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().unwrap_or_default());
        word_plain(u64::from(half(0)) | u64::from(half(n - 4)) << 32)
    } else {
        b.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The text of `d` from both writers (held equal).
    fn dec_text(d: Decimal) -> String {
        let mut s = String::from("x");
        push_decimal(&mut s, d);
        let mut b = b"x".to_vec();
        put_decimal(&mut b, d);
        assert_eq!(s.as_bytes(), b, "String and byte writers of {d:?}");
        s.split_off(1)
    }

    /// The text of `v` from both writers (held equal).
    fn int_text(v: i64) -> String {
        let mut s = String::new();
        push_i64(&mut s, v);
        let mut b = Vec::new();
        put_i64(&mut b, v);
        assert_eq!(s.as_bytes(), b);
        if let Ok(u) = u64::try_from(v) {
            let mut b = Vec::new();
            put_u64(&mut b, u);
            assert_eq!(s.as_bytes(), b);
        }
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
        assert_eq!(dec_text(Decimal::MIN), Decimal::MIN.to_string());
        assert_eq!(
            dec_text(Decimal::new(-1, 28)),
            "-0.0000000000000000000000000001"
        );
        assert_eq!(
            dec_text(Decimal::new(i64::MIN, 28)),
            "-0.0000000009223372036854775808"
        );
        assert_eq!(dec_text(Decimal::new(i64::MIN, 0)), i64::MIN.to_string());
        assert_eq!(dec_text(Decimal::new(-7, 0)), "-7");
        assert_eq!(dec_text(Decimal::new(10, 1)), "1");
        for v in [
            0,
            9,
            10,
            99,
            100,
            -1,
            -10,
            i64::MIN,
            i64::MAX,
            1_711_001_595_207,
        ] {
            assert_eq!(int_text(v), v.to_string());
        }
        let mut b = Vec::new();
        put_u64(&mut b, u64::MAX);
        assert_eq!(b, u64::MAX.to_string().as_bytes());
        for m in [u64::MAX as u128 + 1, u128::MAX, 10u128.pow(38)] {
            let mut b = Vec::new();
            put_u128(&mut b, m);
            assert_eq!(b, m.to_string().as_bytes());
        }
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

    #[test]
    fn every_digit_count() {
        // Both sides of each power of ten: the digit count and the 8-digit word splits.
        for k in 0..20 {
            for v in [
                10u64.pow(k) - 1,
                10u64.pow(k),
                10u64.pow(k) + 1,
                2 * 10u64.pow(k),
            ] {
                let mut b = Vec::new();
                put_u64(&mut b, v);
                assert_eq!(b, v.to_string().as_bytes());
                let d = Decimal::from_i128_with_scale(i128::from(v), k);
                assert_eq!(dec_text(d), d.normalize().to_string());
            }
        }
        for v in [0, 1, 9_999, 10_000, 99_999_999, 12_345_678, 10_000_001] {
            let w = eight_digits(v).to_le_bytes();
            assert_eq!(w, format!("{v:08}").as_bytes(), "{v}");
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
        fn decimals_of_each_width_match_display(
            digits in 1u32..=20, m in any::<u64>(), neg in any::<bool>(), scale in 0u32..=28, zeros in 0u32..=8,
        ) {
            // Mantissas of up to `digits` digits, then trailing zeros to strip.
            let m = if digits < 20 { m % 10u64.pow(digits) } else { m };
            let m = i128::from(m) * 10i128.pow(zeros);
            let d = Decimal::from_i128_with_scale(if neg { -m } else { m }, scale);
            prop_assert_eq!(dec_text(d), d.normalize().to_string());
        }

        #[test]
        fn eight_digits_are_the_zero_padded_text(v in 0u32..100_000_000) {
            let want = format!("{v:08}");
            prop_assert_eq!(&eight_digits(v).to_le_bytes()[..], want.as_bytes());
        }

        #[test]
        fn integers_of_each_width_match_display(digits in 1u32..=19, v in any::<i64>()) {
            let v = v % 10i64.pow(digits);
            prop_assert_eq!(int_text(v), v.to_string());
        }

        #[test]
        fn integers_match_display(v in any::<i64>(), u in any::<u64>()) {
            prop_assert_eq!(int_text(v), v.to_string());
            let mut b = Vec::new();
            put_u64(&mut b, u);
            prop_assert_eq!(b, u.to_string().into_bytes());
            let mut s = String::new();
            push_i64(&mut s, v);
            push_u64(&mut s, u);
            prop_assert_eq!(s, format!("{v}{u}"));
        }
    }
}
