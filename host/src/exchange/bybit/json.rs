//! A minimal JSON byte cursor for the hot-path parsers: no allocation, no recursion.

use super::parse::ParseError;
use crate::book::{Fixed, RawLevel};

/// Deepest nesting [`Cursor::skip_value`] accepts.
const MAX_DEPTH: usize = 64;

/// A position in a JSON text.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Current byte offset (after any whitespace already skipped).
    pub(crate) fn pos(&mut self) -> usize {
        self.ws();
        self.pos
    }

    pub(crate) fn err(&self, expected: &'static str) -> ParseError {
        ParseError::Json {
            offset: self.pos,
            expected,
        }
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.pos += 1;
        }
    }

    /// Next non-space byte, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        match self.buf.get(self.pos) {
            Some(b' ' | b'\n' | b'\r' | b'\t') => {
                self.ws();
                self.buf.get(self.pos).copied()
            }
            other => other.copied(),
        }
    }

    #[inline]
    pub(crate) fn expect(&mut self, c: u8, expected: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(expected))
        }
    }

    /// Consume `c` if it is next.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// After an object member or array element: `true` if another follows (a `,` was
    /// consumed), `false` at the closing `close` (consumed).
    #[inline]
    pub(crate) fn more(&mut self, close: u8) -> Result<bool, ParseError> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.err(if close == b'}' {
                "',' or '}'"
            } else {
                "',' or ']'"
            })),
        }
    }

    /// A string's raw bytes between the quotes (escapes left as they are).
    #[inline]
    pub(crate) fn string(&mut self) -> Result<&'a [u8], ParseError> {
        self.expect(b'"', "string")?;
        let start = self.pos;
        while let Some(&b) = self.buf.get(self.pos) {
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(&self.buf[start..self.pos - 1]);
                }
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        self.pos = self.buf.len();
        Err(self.err("closing '\"'"))
    }

    /// An object key and its `:`.
    #[inline]
    pub(crate) fn key(&mut self) -> Result<&'a [u8], ParseError> {
        let key = self.string()?;
        self.expect(b':', "':'")?;
        Ok(key)
    }

    /// A quoted plain decimal (`"16493.50"`, `"-1"`, `"0.006"`) read in one pass; at most 18
    /// digits so the mantissa cannot overflow.
    #[inline]
    pub(crate) fn quoted_decimal(&mut self, field: &'static str) -> Result<Fixed, ParseError> {
        self.peek();
        let offset = self.pos;
        let buf = self.buf;
        let bad = || ParseError::BadNumber { field, offset };
        let mut i = offset;
        if buf.get(i) != Some(&b'"') {
            return Err(self.err("decimal string"));
        }
        i += 1;
        let negative = buf.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let mut mantissa: u64 = 0;
        let mut digits = 0u32;
        read_digits(buf, &mut i, &mut mantissa, &mut digits).ok_or_else(bad)?;
        let mut scale = 0u8;
        if buf.get(i) == Some(&b'.') {
            i += 1;
            let before = digits;
            read_digits(buf, &mut i, &mut mantissa, &mut digits).ok_or_else(bad)?;
            scale = (digits - before) as u8;
        }
        if digits == 0 || buf.get(i) != Some(&b'"') {
            return Err(bad());
        }
        self.pos = i + 1;
        // At most 18 digits: below 10^18 < i64::MAX.
        let mantissa = mantissa as i64;
        Ok(Fixed::new(
            if negative { -mantissa } else { mantissa },
            scale,
        ))
    }

    /// One book level `["<price>","<size>"]` in its common compact form (no whitespace, each
    /// number 1–7 integer digits with an optional `.` and up to 7 fraction digits). Advances
    /// past it and returns it; `None` (cursor unchanged) for anything else, which the general
    /// path then reads with the same result or reports with its usual error.
    #[inline]
    pub(crate) fn compact_level(&mut self) -> Option<RawLevel> {
        let rest = self.buf.get(self.pos..)?;
        // Within a fixed-size window of the text the index checks fold away; only near the end
        // of the text is the level read from the text itself.
        let (level, len) = match rest.first_chunk::<LEVEL_WINDOW>() {
            Some(window) => compact_level_at(window)?,
            None => compact_level_at(rest)?,
        };
        self.pos += len;
        Some(level)
    }

    /// Consume `lit` if the text continues with exactly it (no whitespace skipped).
    #[inline(always)]
    pub(crate) fn literal(&mut self, lit: &[u8]) -> bool {
        let next = self
            .buf
            .get(self.pos..)
            .and_then(|rest| rest.get(..lit.len()));
        if next == Some(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// `lit` followed by a closing quote, consumed together: nothing is consumed unless both
    /// match (a string that merely starts with `lit` is left whole for the caller).
    pub(crate) fn literal_then_quote(&mut self, lit: &[u8]) -> bool {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.get(lit.len()) == Some(&b'"') && rest.starts_with(lit) {
            self.pos += lit.len() + 1;
            true
        } else {
            false
        }
    }

    /// The rest of a string whose opening quote is already consumed, up to and past its
    /// closing quote, if it is plain ASCII without escapes and not within eight bytes of the
    /// end of the text; `None` otherwise. Reads a word at a time.
    #[inline(always)]
    pub(crate) fn ascii_string_rest(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let mut i = start;
        loop {
            let stop = string_stop(word_at(self.buf, i)?);
            if stop != 0 {
                let end = i + (stop.trailing_zeros() / 8) as usize;
                if self.buf[end] != b'"' {
                    return None;
                }
                self.pos = end + 1;
                return Some(&self.buf[start..end]);
            }
            i += 8;
        }
    }

    /// An unquoted integer of 1–15 digits directly at the cursor (no whitespace skipped).
    #[inline(always)]
    pub(crate) fn short_uint(&mut self) -> Option<u64> {
        let rest = self.buf.get(self.pos..)?;
        // Two whole words when the text has them: no tail handling.
        let (value, len) = match rest.first_chunk::<16>() {
            Some(window) => short_uint(window, 0)?,
            None => short_uint(rest, 0)?,
        };
        self.pos += len;
        Some(value)
    }

    /// A non-negative JSON integer, or one inside a string (`"123"`).
    #[inline(always)]
    pub(crate) fn uint(&mut self, field: &'static str) -> Result<u64, ParseError> {
        let quoted = self.eat(b'"');
        let start = self.pos;
        if let Some((value, len)) = short_uint(self.buf, start) {
            self.pos = start + len;
            if quoted && !self.eat(b'"') {
                return Err(ParseError::BadNumber {
                    field,
                    offset: start,
                });
            }
            return Ok(value);
        }
        let mut value: u64 = 0;
        while let Some(&b) = self.buf.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            // The error is built only on overflow (a per-digit `ok_or` showed up in profiles).
            let Some(next) = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
            else {
                return Err(ParseError::BadNumber {
                    field,
                    offset: start,
                });
            };
            value = next;
            self.pos += 1;
        }
        if self.pos == start || (quoted && !self.eat(b'"')) {
            return Err(ParseError::BadNumber {
                field,
                offset: start,
            });
        }
        Ok(value)
    }

    /// A non-negative integer that fits an `i64` (timestamps).
    #[inline]
    pub(crate) fn int(&mut self, field: &'static str) -> Result<i64, ParseError> {
        let offset = self.pos;
        let v = self.uint(field)?;
        i64::try_from(v).map_err(|_| ParseError::BadNumber { field, offset })
    }

    /// Skip any JSON value.
    pub(crate) fn skip_value(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Some(b'{') | Some(b'[') => {
                    self.pos += 1;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(self.err("shallower nesting"));
                    }
                    if matches!(self.peek(), Some(b'}') | Some(b']')) {
                        self.pos += 1;
                        depth -= 1;
                    } else {
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                    let start = self.pos;
                    while let Some(&b) = self.buf.get(self.pos) {
                        if !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9' | b'a'..=b'z')
                        {
                            break;
                        }
                        self.pos += 1;
                    }
                    let atom = &self.buf[start..self.pos];
                    let ok = match atom[0] {
                        b't' => atom == b"true",
                        b'f' => atom == b"false",
                        b'n' => atom == b"null",
                        _ => true,
                    };
                    if !ok {
                        return Err(self.err("a JSON value"));
                    }
                }
                _ => return Err(self.err("a JSON value")),
            }
            // After a complete value: inside a container, skip past `:` (object keys), `,`
            // and closing brackets until the next value begins or depth returns to zero.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                match self.peek() {
                    Some(b',') | Some(b':') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'}') | Some(b']') => {
                        self.pos += 1;
                        depth -= 1;
                    }
                    _ => return Err(self.err("',' or a closing bracket")),
                }
            }
        }
    }

    /// Fail unless only whitespace remains.
    pub(crate) fn end(&mut self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("end of input")),
        }
    }
}

/// Bytes [`Cursor::compact_level`] reads a level from when the text has them: enough for the
/// longest compact level (`["1234567.1234567","1234567.1234567"]`, 37 bytes) and every word
/// read while parsing it (the last ends at byte 36).
const LEVEL_WINDOW: usize = 40;

/// The compact level at the start of `buf` and its length.
#[inline(always)]
fn compact_level_at(buf: &[u8]) -> Option<(RawLevel, usize)> {
    if buf.get(..2)? != b"[\"" {
        return None;
    }
    let (price, q) = compact_decimal(buf, 2)?;
    if buf.get(q..q + 2)? != b",\"" {
        return None;
    }
    let (size, r) = compact_decimal(buf, q + 2)?;
    if *buf.get(r)? != b']' {
        return None;
    }
    Some((RawLevel { price, size }, r + 1))
}

/// `0x01` in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Eight bytes of `buf` from `i` as a little-endian word (first byte lowest), if all exist.
#[inline(always)]
fn word_at(buf: &[u8], i: usize) -> Option<u64> {
    buf.get(i..)?
        .first_chunk::<8>()
        .map(|b| u64::from_le_bytes(*b))
}

/// Like [`word_at`], but near the end of `buf` the missing bytes read as zero (a non-digit).
#[inline(always)]
fn word_or_tail(buf: &[u8], i: usize) -> Option<u64> {
    let rest = buf.get(i..)?;
    if let Some(bytes) = rest.first_chunk::<8>() {
        return Some(u64::from_le_bytes(*bytes));
    }
    if rest.is_empty() {
        return Some(0);
    }
    // The last eight bytes of `buf`, shifted so that `rest` comes first (no copy).
    if let Some(last) = buf.last_chunk::<8>() {
        return Some(u64::from_le_bytes(*last) >> (8 * (8 - rest.len())));
    }
    Some(
        rest.iter()
            .rev()
            .fold(0u64, |word, &b| (word << 8) | u64::from(b)),
    )
}

/// The top bit of each byte of `w` that is `"`, `\\` or not ASCII, where no such byte comes
/// before it (later bits may be spurious): its lowest set bit marks the first such byte.
#[inline(always)]
fn string_stop(w: u64) -> u64 {
    let quote = w ^ (u64::from(b'"') * ONES);
    let backslash = w ^ (u64::from(b'\\') * ONES);
    // A zero byte of `x` sets the top bit of `x - ONES` and not of `x`; a borrow only
    // disturbs the bytes after a zero byte.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(quote) | zero(backslash) | w) & (0x80 * ONES)
}

/// How many of the bytes of `t` (a word XOR `'0'` in every byte), from the first, are
/// digits (0..=8).
#[inline(always)]
fn digit_run(t: u64) -> u32 {
    // A byte is a digit iff its value is below 10: adding 0x76 then sets its top bit exactly
    // when it is not (bytes that are already >= 0x80 are caught by `t` itself). A carry out of
    // a byte only comes from a non-digit byte and only disturbs bytes after it.
    let non_digit = (t | t.wrapping_add(0x76 * ONES)) & (0x80 * ONES);
    non_digit.trailing_zeros() / 8
}

/// The number written by the first `n` (0..=8) digit values of `t`, first byte most
/// significant.
#[inline(always)]
fn digits_value(t: u64, n: u32) -> u64 {
    if n == 0 {
        return 0;
    }
    // Move the digits to the top bytes (zeros above act as leading zeros), then combine
    // neighbours pairwise: bytes into 2-digit, 4-digit, then one 8-digit value.
    let v = t << (64 - 8 * n);
    let v = (v.wrapping_mul((10 << 8) + 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul((100 << 16) + 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    v.wrapping_mul((10_000 << 32) + 1) >> 32
}

/// A decimal starting at `i` (just after its opening quote) in the compact form 1–7 digits,
/// optionally `.` and 0–7 digits, then `"`: its value and the index just past the closing
/// quote. `None` for any other form (sign, longer runs, too few bytes left).
#[inline(always)]
fn compact_decimal(buf: &[u8], i: usize) -> Option<(Fixed, usize)> {
    let zeros = u64::from(b'0') * ONES;
    let t = word_at(buf, i)? ^ zeros;
    let n = digit_run(t);
    if n == 0 || n == 8 {
        return None;
    }
    // The byte after the digits, taken from the word already loaded.
    match (t >> (8 * n)) as u8 ^ b'0' {
        b'"' => Some((Fixed::new(digits_value(t, n) as i64, 0), i + n as usize + 1)),
        b'.' => {
            // The word one byte further on holds the fraction digits from byte `n`: joined
            // under the integer digits they make the mantissa's digits, read in one go when
            // there are at most seven of them.
            let t2 = word_at(buf, i + 1)? ^ zeros;
            let int_bytes = (1u64 << (8 * n)) - 1;
            let joined = (t & int_bytes) | (t2 & !int_bytes);
            let total = digit_run(joined);
            if total < 8 {
                if (t2 >> (8 * total)) as u8 ^ b'0' != b'"' {
                    return None;
                }
                let mantissa = digits_value(joined, total);
                return Some((
                    Fixed::new(mantissa as i64, (total - n) as u8),
                    i + total as usize + 2,
                ));
            }
            let j = i + n as usize + 1;
            let w = word_at(buf, j)?;
            let f = digit_run(w ^ zeros);
            if f == 8 || (w >> (8 * f)) as u8 != b'"' {
                return None;
            }
            let frac = digits_value(w ^ zeros, f);
            // At most 7 + 7 digits: far below i64::MAX.
            let mantissa = digits_value(t, n) * POW10_U64[f as usize] + frac;
            Some((Fixed::new(mantissa as i64, f as u8), j + f as usize + 1))
        }
        _ => None,
    }
}

/// A run of 1–15 digits at `i` followed by a non-digit or the end: its value and length, read
/// a word at a time. `None` for other runs (empty or longer).
#[inline(always)]
fn short_uint(buf: &[u8], i: usize) -> Option<(u64, usize)> {
    let zeros = u64::from(b'0') * ONES;
    let t = word_or_tail(buf, i)? ^ zeros;
    let n = digit_run(t);
    if n == 0 {
        return None;
    }
    if n < 8 {
        return Some((digits_value(t, n), n as usize));
    }
    let t2 = word_or_tail(buf, i + 8)? ^ zeros;
    let n2 = digit_run(t2);
    if n2 == 8 {
        return None;
    }
    // At most 15 digits: no overflow.
    let value = digits_value(t, 8) * POW10_U64[n2 as usize] + digits_value(t2, n2);
    Some((value, 8 + n2 as usize))
}

/// Powers of ten up to `10^7` (the longest compact fraction).
const POW10_U64: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Largest number of digits a decimal may have (keeps the mantissa below `10^18`).
const MAX_DIGITS: u32 = 18;

/// Read ASCII digits at `*i` into `mantissa`. `None` when the number would exceed
/// [`MAX_DIGITS`]. (An eight-digits-at-a-time SWAR variant measured no faster on Bybit's short numbers.)
#[inline]
fn read_digits(buf: &[u8], i: &mut usize, mantissa: &mut u64, digits: &mut u32) -> Option<()> {
    let rest = buf.get(*i..).unwrap_or_default();
    let mut m = *mantissa;
    let mut n = 0usize;
    for &b in rest {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // Wrapping: an over-long number is refused below before its value is used.
        m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        n += 1;
    }
    let total = *digits as usize + n;
    if total > MAX_DIGITS as usize {
        return None;
    }
    *mantissa = m;
    *digits = total as u32;
    *i += n;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Result<Fixed, ParseError> {
        Cursor::new(text.as_bytes()).quoted_decimal("x")
    }

    #[test]
    fn quoted_decimals_match_the_scalar_parser() {
        let cases = [
            "\"0\"",
            "\"30247.20\"",
            "\"0.006\"",
            "\"12345678\"",
            "\"123456789\"",
            "\"1234567890123.45678\"",
            "\"0.00000001234\"",
            "\"-16493.5\"",
            "\"100.\"",
            "\"99999999999999999.9\"",
            "\"1\"",
            "\"12345678.87654321\"",
        ];
        for text in cases {
            // With and without eight bytes of slack after the number.
            for padded in [text.to_string(), format!("{text},\"pad-pad-pad\"")] {
                let want = Fixed::parse(text.trim_matches('"').as_bytes()).unwrap();
                assert_eq!(dec(&padded).unwrap(), want, "{padded}");
            }
        }
    }

    /// The word-at-a-time integer reader against a plain digit loop, at every length and
    /// with and without bytes after the number.
    #[test]
    fn uints_match_a_digit_loop() {
        let digits = "98765432109876543210987";
        for len in 0..=digits.len() {
            let number = &digits[..len];
            let want = number.bytes().try_fold(0u64, |v, b| {
                v.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            });
            let want = if len == 0 { None } else { want };
            for text in [
                number.to_string(),
                format!("{number},\"x\":1}}"),
                format!("\"{number}\""),
                format!("\"{number}\",\"x\":1}}"),
                format!("{number}x"),
                format!("0000000000000000000000{number}}}"),
            ] {
                let mut c = Cursor::new(text.as_bytes());
                let got = c.uint("x").ok();
                let want = if text.starts_with("0000") {
                    want.or(Some(0).filter(|_| len == 0))
                } else {
                    want
                };
                assert_eq!(got, want, "{text}");
                if got.is_some() {
                    let rest = &text[c.pos()..];
                    assert!(
                        !rest.starts_with(|ch: char| ch.is_ascii_digit() || ch == '"'),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_quoted_decimals_are_errors() {
        for text in [
            "\"\"",
            "\"-\"",
            "\"1e5\"",
            "\"12a\"",
            "\"1234567890123456789\"",
            "\"1.2.3\"",
            "1.5",
            "\"1.5",
            "\"\u{e9}\"",
        ] {
            for padded in [text.to_string(), format!("{text},\"pad-pad-pad\"")] {
                assert!(dec(&padded).is_err(), "{padded}");
            }
        }
    }
}
