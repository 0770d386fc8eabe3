//! Our order-link ids: `{prefix}-{symbol}-{b|s}{level}-{seq}`.
//!
//! `prefix` names the host instance (1–8 of `[A-Za-z0-9_]`, no `-`), `symbol` is the exchange
//! symbol verbatim (it may itself contain `-`, e.g. dated futures), `b`/`s` the side, `level` the
//! ladder level in decimal, `seq` a per-instance sequence number in lowercase base 36. Example:
//! `q1-BTCUSDT-b0-lz3k9w1`. Bybit allows 36 characters of `[A-Za-z0-9_-]`; an id that would be
//! longer is an error, so configuration should keep `prefix` short for long symbols.
//!
//! Parsing splits at the first `-` (prefix) and the last two (side/level and seq), so ids left by an
//! earlier run are recognised by their prefix. Seed the sequence from the clock at start-up (e.g.
//! Unix ms) so a restarted instance does not reuse ids of its previous run.

use super::{ModelError, Side};
use std::fmt;
use std::sync::Arc;

/// Bybit's maximum orderLinkId length.
pub const MAX_LINK_ID_LEN: usize = 36;
/// Maximum length of the instance prefix.
pub const MAX_PREFIX_LEN: usize = 8;

/// One of our orderLinkIds (validated, at most 36 characters). Cheap to clone (shared).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderLinkId(Arc<str>);

/// The parts of an [`OrderLinkId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedLinkId<'a> {
    /// Host instance prefix.
    pub prefix: &'a str,
    /// Symbol.
    pub symbol: &'a str,
    /// Side.
    pub side: Side,
    /// Ladder level (0 = best).
    pub level: u8,
    /// Sequence number.
    pub seq: u64,
}

impl OrderLinkId {
    /// Build an id from its parts, validating every part and the total length.
    pub fn new(
        prefix: &str,
        symbol: &str,
        side: Side,
        level: u8,
        seq: u64,
    ) -> Result<Self, ModelError> {
        validate_prefix(prefix)?;
        validate_symbol(symbol)?;
        let side_char = match side {
            Side::Buy => 'b',
            Side::Sell => 's',
        };
        // Written on the stack and copied once into the shared string (this runs for every
        // create the router plans, including those the rate budget then defers).
        let mut level_buf = [0u8; 3];
        let mut seq_buf = [0u8; 13];
        let level = digits(u64::from(level), 10, &mut level_buf);
        let seq = digits(seq, 36, &mut seq_buf);
        let len = prefix.len() + symbol.len() + level.len() + seq.len() + 4;
        if len > MAX_LINK_ID_LEN {
            return Err(ModelError::LinkIdTooLong {
                symbol: symbol.to_owned(),
                len,
            });
        }
        let mut buf = [0u8; MAX_LINK_ID_LEN];
        let mut at = 0;
        for part in [
            prefix.as_bytes(),
            b"-",
            symbol.as_bytes(),
            b"-",
            &[side_char as u8],
            level,
            b"-",
            seq,
        ] {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        // Every part is ASCII (validated above, or digits).
        let id = std::str::from_utf8(&buf[..at]).map_err(|_| ModelError::InvalidLinkIdPart {
            part: symbol.to_owned(),
            reason: "not ASCII",
        })?;
        Ok(Self(id.into()))
    }

    /// Parse and validate a string as one of our ids (any prefix).
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        parse_parts(s)?;
        Ok(Self(s.into()))
    }

    /// The id as sent to the exchange.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's parts (always succeeds for a constructed id).
    pub fn parts(&self) -> ParsedLinkId<'_> {
        parse_parts(&self.0).expect("OrderLinkId is validated on construction")
    }

    /// Whether this id was made by the instance named `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.parts().prefix == prefix
    }
}

impl fmt::Display for OrderLinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for OrderLinkId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Split `s` into its parts; errors name what is wrong.
pub fn parse_parts(s: &str) -> Result<ParsedLinkId<'_>, ModelError> {
    let foreign = || ModelError::ForeignLinkId(s.to_owned());
    if s.len() > MAX_LINK_ID_LEN {
        return Err(foreign());
    }
    let (prefix, rest) = s.split_once('-').ok_or_else(foreign)?;
    let (rest, seq) = rest.rsplit_once('-').ok_or_else(foreign)?;
    let (symbol, side_level) = rest.rsplit_once('-').ok_or_else(foreign)?;
    validate_prefix(prefix).map_err(|_| foreign())?;
    validate_symbol(symbol).map_err(|_| foreign())?;
    let side = match side_level.as_bytes().first() {
        Some(b'b') => Side::Buy,
        Some(b's') => Side::Sell,
        _ => return Err(foreign()),
    };
    let digits = &side_level[1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(foreign());
    }
    let level = digits.parse().map_err(|_| foreign())?;
    if seq.is_empty()
        || !seq
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        return Err(foreign());
    }
    let seq = u64::from_str_radix(seq, 36).map_err(|_| foreign())?;
    Ok(ParsedLinkId {
        prefix,
        symbol,
        side,
        level,
        seq,
    })
}

fn validate_prefix(prefix: &str) -> Result<(), ModelError> {
    let bad = |reason| {
        Err(ModelError::InvalidLinkIdPart {
            part: prefix.to_owned(),
            reason,
        })
    };
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return bad("prefix must be 1 to 8 characters");
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return bad("prefix allows only [A-Za-z0-9_]");
    }
    Ok(())
}

fn validate_symbol(symbol: &str) -> Result<(), ModelError> {
    let ok = !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidLinkIdPart {
            part: symbol.to_owned(),
            reason: "symbol allows only [A-Za-z0-9_-]",
        })
    }
}

/// The digits of `n` in `radix` (10 or 36, lowercase), written at the end of `buf`.
fn digits(mut n: u64, radix: u64, buf: &mut [u8]) -> &[u8] {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = DIGITS[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Generates this instance's ids with a strictly increasing sequence.
#[derive(Debug, Clone)]
pub struct LinkIdGen {
    prefix: String,
    next_seq: u64,
}

impl LinkIdGen {
    /// A generator for instance `prefix`, starting at `first_seq` (seed it from the clock).
    pub fn new(prefix: &str, first_seq: u64) -> Result<Self, ModelError> {
        validate_prefix(prefix)?;
        Ok(Self {
            prefix: prefix.to_owned(),
            next_seq: first_seq,
        })
    }

    /// The instance prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The next id for `symbol`, `side`, `level`. The sequence advances only on success.
    pub fn next(&mut self, symbol: &str, side: Side, level: u8) -> Result<OrderLinkId, ModelError> {
        let id = OrderLinkId::new(&self.prefix, symbol, side, level, self.next_seq)?;
        self.next_seq += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_table() {
        let cases = [
            ("q1", "BTCUSDT", Side::Buy, 0, 0, "q1-BTCUSDT-b0-0"),
            ("q1", "BTCUSDT", Side::Sell, 9, 35, "q1-BTCUSDT-s9-z"),
            (
                "HOST_7",
                "BTC-26DEC25",
                Side::Buy,
                12,
                36,
                "HOST_7-BTC-26DEC25-b12-10",
            ),
            (
                "a",
                "ETHUSDT",
                Side::Sell,
                3,
                1_763_700_000_000,
                "a-ETHUSDT-s3-mi8dfxmo",
            ),
        ];
        for (prefix, symbol, side, level, seq, text) in cases {
            let id = OrderLinkId::new(prefix, symbol, side, level, seq).unwrap();
            assert_eq!(id.as_str(), text);
            let parts = OrderLinkId::parse(text).unwrap();
            assert_eq!(
                parts.parts(),
                ParsedLinkId {
                    prefix,
                    symbol,
                    side,
                    level,
                    seq
                }
            );
            assert!(id.has_prefix(prefix) && !id.has_prefix("zz"));
        }
    }

    #[test]
    fn rejects_foreign_and_invalid_ids() {
        for s in [
            "",
            "abc",
            "q1-BTCUSDT-b0",
            "q1-BTCUSDT-x0-1",
            "q1-BTCUSDT-b-1",
            "q1-BTCUSDT-b0-",
            "q1-BTCUSDT-b0-A",
            "toolongprefix-BTCUSDT-b0-1",
            "q1--b0-1",
            "q1-BTC USDT-b0-1",
            "q1-AVERYVERYLONGSYMBOLNAMEUSDT-b0-123",
            "9f0c4b3e-5a1d-4c2e-8e1f-0123456789ab",
        ] {
            assert!(OrderLinkId::parse(s).is_err(), "{s:?}");
        }
        assert!(OrderLinkId::new("q-1", "BTCUSDT", Side::Buy, 0, 0).is_err());
        assert!(matches!(
            OrderLinkId::new("host1234", "10000000AIDOGEUSDT", Side::Buy, 10, u64::MAX),
            Err(ModelError::LinkIdTooLong { .. })
        ));
    }

    #[test]
    fn generator_is_strictly_increasing() {
        let mut ids = LinkIdGen::new("q1", 100).unwrap();
        let a = ids.next("BTCUSDT", Side::Buy, 0).unwrap();
        let b = ids.next("BTCUSDT", Side::Buy, 0).unwrap();
        assert!(a.parts().seq < b.parts().seq);
        assert!(LinkIdGen::new("", 0).is_err());
    }
}
