//! Parsers from Bybit V5 wire text to typed messages.
//!
//! The order book, which is most of the traffic, goes through a hand-written parser that
//! fills a reusable [`BookUpdate`] without allocating. Everything else uses serde.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::json::Cursor;
use super::messages::{
    BybitEnvelope, BybitExecutionMsg, BybitOrderMsg, BybitPositionMsg, BybitPrivateMsg,
    BybitRateLimit, BybitTickerMsg, BybitTradeMsg, BybitTradeReply, BybitWalletMsg, BybitWsControl,
};
use crate::book::{BookUpdate, RawLevel, UpdateKind};

/// Why a message could not be parsed. Malformed input never panics; it ends up here.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not valid JSON (or not the JSON shape expected) at a byte offset.
    #[error("bad JSON at byte {offset}: expected {expected}")]
    Json {
        /// Byte offset of the problem.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A number (or decimal string) is malformed or out of range.
    #[error("bad number in `{field}` at byte {offset}")]
    BadNumber {
        /// The field.
        field: &'static str,
        /// Byte offset of the number.
        offset: usize,
    },
    /// A field has a value outside what is expected (e.g. `type` not snapshot/delta).
    #[error("unexpected value in `{field}` at byte {offset}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// Byte offset of the value.
        offset: usize,
    },
    /// The message is for another topic than the parser handles.
    #[error("unexpected topic `{topic}`")]
    UnexpectedTopic {
        /// The topic received.
        topic: String,
    },
    /// Serde could not decode the message.
    #[error("bad {what} message: {source}")]
    Serde {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
}

fn serde_err(what: &'static str) -> impl FnOnce(serde_json::Error) -> ParseError {
    move |source| ParseError::Serde { what, source }
}

const F_TOPIC: u8 = 1;
const F_TYPE: u8 = 2;
const F_TS: u8 = 4;
const F_DATA: u8 = 8;
const D_S: u8 = 1;
const D_B: u8 = 2;
const D_A: u8 = 4;
const D_U: u8 = 8;
const D_SEQ: u8 = 16;

/// Parse an `orderbook.{depth}.{symbol}` push into `out` (cleared first; its capacity is
/// reused, so a warm buffer makes this allocation-free).
pub fn parse_orderbook(text: &[u8], out: &mut BookUpdate) -> Result<(), ParseError> {
    out.clear();
    if parse_bybit_layout(text, out).is_some() {
        return Ok(());
    }
    parse_orderbook_general(text, out)
}

/// A book push in the exact layout Bybit sends (member order fixed, no whitespace, no escapes,
/// plain integers, `cts` optional):
/// `{"topic":"orderbook.<depth>.<symbol>","type":"<delta|snapshot>","ts":<ms>,"data":{"s":"<symbol>","b":[..],"a":[..],"u":<id>,"seq":<seq>},"cts":<ms>}`,
/// read by matching the fixed parts instead of reading and comparing each key. `None` as soon
/// as the text departs from it (`out` then holds part of the message): the general parser
/// reads such text from the start, with the same result or its usual error.
#[inline]
fn parse_bybit_layout(text: &[u8], out: &mut BookUpdate) -> Option<()> {
    let mut c = Cursor::new(text);
    if !c.literal(b"{\"topic\":\"orderbook.") {
        return None;
    }
    out.depth = u32::try_from(c.short_uint()?).ok()?;
    if !c.literal(b".") {
        return None;
    }
    let topic_symbol = c.ascii_string_rest()?;
    out.kind = if c.literal(b",\"type\":\"delta\",\"ts\":") {
        UpdateKind::Delta
    } else if c.literal(b",\"type\":\"snapshot\",\"ts\":") {
        UpdateKind::Snapshot
    } else {
        return None;
    };
    // At most 15 digits: fits an i64.
    out.ts_exchange_ms = c.short_uint()? as i64;
    if !c.literal(b",\"data\":{\"s\":\"") {
        return None;
    }
    // The symbol is normally the topic's: compare rather than scan again.
    let symbol = if c.literal_then_quote(topic_symbol) {
        topic_symbol
    } else {
        c.ascii_string_rest()?
    };
    // ASCII, so each byte is its own char; a local `String` keeps its length in a register.
    let mut owned = std::mem::take(&mut out.symbol);
    owned.reserve(symbol.len());
    for &b in symbol {
        owned.push(char::from(b));
    }
    out.symbol = owned;
    if !c.literal(b",\"b\":") {
        return None;
    }
    parse_levels(&mut c, &mut out.bids, "data.b").ok()?;
    if !c.literal(b",\"a\":") {
        return None;
    }
    parse_levels(&mut c, &mut out.asks, "data.a").ok()?;
    if !c.literal(b",\"u\":") {
        return None;
    }
    out.update_id = c.short_uint()?;
    if !c.literal(b",\"seq\":") {
        return None;
    }
    out.seq = c.short_uint()?;
    if !c.literal(b"}") {
        return None;
    }
    if c.literal(b",\"cts\":") {
        out.ts_match_ms = c.short_uint()? as i64;
    }
    if !c.literal(b"}") {
        return None;
    }
    c.end().ok()
}

/// [`parse_orderbook`] for any JSON layout.
fn parse_orderbook_general(text: &[u8], out: &mut BookUpdate) -> Result<(), ParseError> {
    out.clear();
    let mut c = Cursor::new(text);
    let mut seen = 0u8;
    c.expect(b'{', "'{'")?;
    if !c.eat(b'}') {
        loop {
            match c.key()? {
                b"topic" => {
                    parse_book_topic(c.string()?, out)?;
                    seen |= F_TOPIC;
                }
                b"type" => {
                    let offset = c.pos();
                    out.kind = match c.string()? {
                        b"snapshot" => UpdateKind::Snapshot,
                        b"delta" => UpdateKind::Delta,
                        _ => {
                            return Err(ParseError::BadValue {
                                field: "type",
                                offset,
                            });
                        }
                    };
                    seen |= F_TYPE;
                }
                b"ts" => {
                    out.ts_exchange_ms = c.int("ts")?;
                    seen |= F_TS;
                }
                b"cts" => out.ts_match_ms = c.int("cts")?,
                b"data" => {
                    parse_book_data(&mut c, out)?;
                    seen |= F_DATA;
                }
                _ => c.skip_value()?,
            }
            if !c.more(b'}')? {
                break;
            }
        }
    }
    c.end()?;
    for (bit, name) in [
        (F_TOPIC, "topic"),
        (F_TYPE, "type"),
        (F_TS, "ts"),
        (F_DATA, "data"),
    ] {
        if seen & bit == 0 {
            return Err(ParseError::MissingField(name));
        }
    }
    Ok(())
}

/// Parse the body of `GET /v5/market/orderbook` into `out` as a snapshot.
///
/// A nonzero `retCode` is reported as [`ParseError::BadValue`] on `retCode`; use
/// [`parse_envelope`] first when the error itself matters.
pub fn parse_rest_orderbook(text: &[u8], out: &mut BookUpdate) -> Result<(), ParseError> {
    out.clear();
    let mut c = Cursor::new(text);
    let mut have_result = false;
    c.expect(b'{', "'{'")?;
    if !c.eat(b'}') {
        loop {
            match c.key()? {
                b"retCode" => {
                    let offset = c.pos();
                    if c.int("retCode")? != 0 {
                        return Err(ParseError::BadValue {
                            field: "retCode",
                            offset,
                        });
                    }
                }
                b"result" => {
                    parse_book_data(&mut c, out)?;
                    have_result = true;
                }
                _ => c.skip_value()?,
            }
            if !c.more(b'}')? {
                break;
            }
        }
    }
    c.end()?;
    if !have_result {
        return Err(ParseError::MissingField("result"));
    }
    out.kind = UpdateKind::Snapshot;
    Ok(())
}

fn parse_book_topic(topic: &[u8], out: &mut BookUpdate) -> Result<(), ParseError> {
    let unexpected = || ParseError::UnexpectedTopic {
        topic: String::from_utf8_lossy(topic).into_owned(),
    };
    let rest = topic.strip_prefix(b"orderbook.").ok_or_else(unexpected)?;
    let dot = rest
        .iter()
        .position(|&b| b == b'.')
        .ok_or_else(unexpected)?;
    let mut depth: u32 = 0;
    for &b in &rest[..dot] {
        if !b.is_ascii_digit() {
            return Err(unexpected());
        }
        depth = depth
            .checked_mul(10)
            .and_then(|d| d.checked_add(u32::from(b - b'0')))
            .ok_or_else(unexpected)?;
    }
    out.depth = depth;
    Ok(())
}

fn parse_book_data(c: &mut Cursor<'_>, out: &mut BookUpdate) -> Result<(), ParseError> {
    let mut seen = 0u8;
    c.expect(b'{', "'{' (data)")?;
    if !c.eat(b'}') {
        loop {
            match c.key()? {
                b"s" => {
                    let offset = c.pos();
                    let s = c.string()?;
                    let Some(s) = std::str::from_utf8(s).ok().filter(|s| !s.contains('\\')) else {
                        return Err(ParseError::BadValue {
                            field: "data.s",
                            offset,
                        });
                    };
                    out.symbol.push_str(s);
                    seen |= D_S;
                }
                b"b" => {
                    parse_levels(c, &mut out.bids, "data.b")?;
                    seen |= D_B;
                }
                b"a" => {
                    parse_levels(c, &mut out.asks, "data.a")?;
                    seen |= D_A;
                }
                b"u" => {
                    out.update_id = c.uint("data.u")?;
                    seen |= D_U;
                }
                b"seq" => {
                    out.seq = c.uint("data.seq")?;
                    seen |= D_SEQ;
                }
                b"ts" => out.ts_exchange_ms = c.int("ts")?,
                b"cts" => out.ts_match_ms = c.int("cts")?,
                _ => c.skip_value()?,
            }
            if !c.more(b'}')? {
                break;
            }
        }
    }
    let fields = [
        (D_S, "data.s"),
        (D_B, "data.b"),
        (D_A, "data.a"),
        (D_U, "data.u"),
        (D_SEQ, "data.seq"),
    ];
    for (bit, name) in fields {
        if seen & bit == 0 {
            return Err(ParseError::MissingField(name));
        }
    }
    Ok(())
}

#[inline]
fn parse_levels(
    c: &mut Cursor<'_>,
    out: &mut Vec<RawLevel>,
    field: &'static str,
) -> Result<(), ParseError> {
    out.clear();
    c.expect(b'[', "'[' (levels)")?;
    if c.eat(b']') {
        return Ok(());
    }
    loop {
        let level = match c.compact_level() {
            Some(level) => level,
            None => general_level(c, field)?,
        };
        out.push(level);
        if !c.more(b']')? {
            return Ok(());
        }
    }
}

/// One level in any valid form (whitespace, long numbers), or the error naming what is wrong.
#[cold]
#[inline(never)]
fn general_level(c: &mut Cursor<'_>, field: &'static str) -> Result<RawLevel, ParseError> {
    c.expect(b'[', "'[' (level)")?;
    let price = c.quoted_decimal(field)?;
    c.expect(b',', "',' (level)")?;
    let size = c.quoted_decimal(field)?;
    c.expect(b']', "']' (level)")?;
    Ok(RawLevel { price, size })
}

/// The `topic` of a push, if the text is an object with one (found without allocating;
/// stops at the first `topic` key). `None` for control replies (pong, subscribe, auth).
pub fn peek_topic(text: &[u8]) -> Result<Option<&str>, ParseError> {
    let mut c = Cursor::new(text);
    // Pushes put `topic` first: no key to read and compare.
    if c.literal(b"{\"topic\":\"")
        && let Some(topic) = c.ascii_string_rest()
        && let Ok(topic) = std::str::from_utf8(topic)
    {
        return Ok(Some(topic));
    }
    peek_topic_general(text)
}

/// [`peek_topic`] for any JSON layout.
fn peek_topic_general(text: &[u8]) -> Result<Option<&str>, ParseError> {
    let mut c = Cursor::new(text);
    c.expect(b'{', "'{'")?;
    if c.eat(b'}') {
        return Ok(None);
    }
    loop {
        if c.key()? == b"topic" {
            let offset = c.pos();
            let t = c.string()?;
            return std::str::from_utf8(t)
                .map(Some)
                .map_err(|_| ParseError::BadValue {
                    field: "topic",
                    offset,
                });
        }
        c.skip_value()?;
        if !c.more(b'}')? {
            return Ok(None);
        }
    }
}

/// Parse a `publicTrade.*` push.
pub fn parse_public_trade(text: &str) -> Result<BybitTradeMsg, ParseError> {
    serde_json::from_str(text).map_err(serde_err("publicTrade"))
}

/// Parse a `tickers.*` push (snapshot, or delta with only the changed fields).
pub fn parse_ticker(text: &str) -> Result<BybitTickerMsg, ParseError> {
    serde_json::from_str(text).map_err(serde_err("tickers"))
}

/// Parse an `order` push.
pub fn parse_order_msg(text: &str) -> Result<BybitPrivateMsg<BybitOrderMsg>, ParseError> {
    serde_json::from_str(text).map_err(serde_err("order"))
}

/// Parse an `execution` or `execution.fast` push.
pub fn parse_execution_msg(text: &str) -> Result<BybitPrivateMsg<BybitExecutionMsg>, ParseError> {
    serde_json::from_str(text).map_err(serde_err("execution"))
}

/// Parse a `position` push.
pub fn parse_position_msg(text: &str) -> Result<BybitPrivateMsg<BybitPositionMsg>, ParseError> {
    serde_json::from_str(text).map_err(serde_err("position"))
}

/// Parse a `wallet` push.
pub fn parse_wallet_msg(text: &str) -> Result<BybitPrivateMsg<BybitWalletMsg>, ParseError> {
    serde_json::from_str(text).map_err(serde_err("wallet"))
}

/// Parse a WebSocket control reply (pong, subscribe, auth).
pub fn parse_ws_control(text: &str) -> Result<BybitWsControl, ParseError> {
    serde_json::from_str(text).map_err(serde_err("control"))
}

/// Parse a trade-stream (`/v5/trade`) reply: an order op's answer, auth or pong.
pub fn parse_trade_reply(text: &str) -> Result<BybitTradeReply, ParseError> {
    serde_json::from_str(text).map_err(serde_err("trade reply"))
}

/// A message of the private stream.
#[derive(Clone, Debug, PartialEq)]
pub enum BybitPrivateEvent {
    /// `order` rows.
    Order(BybitPrivateMsg<BybitOrderMsg>),
    /// `execution` or `execution.fast` rows.
    Execution(BybitPrivateMsg<BybitExecutionMsg>),
    /// `position` rows.
    Position(BybitPrivateMsg<BybitPositionMsg>),
    /// `wallet` rows.
    Wallet(BybitPrivateMsg<BybitWalletMsg>),
    /// A control reply (auth, subscribe, pong).
    Control(BybitWsControl),
    /// A topic the host does not use.
    Other(String),
}

/// Parse any private-stream message, dispatching on its topic.
pub fn parse_private(text: &str) -> Result<BybitPrivateEvent, ParseError> {
    let Some(topic) = peek_topic(text.as_bytes())? else {
        return parse_ws_control(text).map(BybitPrivateEvent::Control);
    };
    let base = topic.split('.').next().unwrap_or(topic);
    Ok(match base {
        "order" => BybitPrivateEvent::Order(parse_order_msg(text)?),
        "execution" => BybitPrivateEvent::Execution(parse_execution_msg(text)?),
        "position" => BybitPrivateEvent::Position(parse_position_msg(text)?),
        "wallet" => BybitPrivateEvent::Wallet(parse_wallet_msg(text)?),
        _ => BybitPrivateEvent::Other(topic.to_owned()),
    })
}

/// Parse a REST response envelope (the `result` is decoded later with [`parse_result`]).
pub fn parse_envelope(text: &str) -> Result<BybitEnvelope, ParseError> {
    serde_json::from_str(text).map_err(serde_err("REST envelope"))
}

/// Decode an envelope's `result` as `T`.
pub fn parse_result<T: DeserializeOwned>(envelope: &BybitEnvelope) -> Result<T, ParseError> {
    T::deserialize(&envelope.result).map_err(serde_err("REST result"))
}

/// Decode an envelope's `retExtInfo` as `T` (batch item statuses).
pub fn parse_ext_info<T: DeserializeOwned>(envelope: &BybitEnvelope) -> Result<T, ParseError> {
    T::deserialize(&envelope.ret_ext_info).map_err(serde_err("REST retExtInfo"))
}

/// Read the `X-Bapi-Limit`, `X-Bapi-Limit-Status` and `X-Bapi-Limit-Reset-Timestamp` headers,
/// and `Timenow` (names compared case-insensitively). `None` when none of the three limit
/// headers is present.
pub fn parse_rate_limit_headers<'a, I>(headers: I) -> Option<BybitRateLimit>
where
    I: IntoIterator<Item = (&'a str, Cow<'a, str>)>,
{
    let mut limit = BybitRateLimit {
        limit: None,
        remaining: None,
        reset_at_ms: None,
        server_time_ms: None,
    };
    let mut any = false;
    for (name, value) in headers {
        let value = value.trim();
        if name.eq_ignore_ascii_case("timenow") {
            limit.server_time_ms = value.parse().ok();
            continue;
        }
        if name.eq_ignore_ascii_case("x-bapi-limit") {
            limit.limit = value.parse().ok();
        } else if name.eq_ignore_ascii_case("x-bapi-limit-status") {
            limit.remaining = value.parse().ok();
        } else if name.eq_ignore_ascii_case("x-bapi-limit-reset-timestamp") {
            limit.reset_at_ms = value.parse().ok();
        } else {
            continue;
        }
        any = true;
    }
    any.then_some(limit)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
