//! Light parses of the public pushes the loop reads only a field or two of: the last trade of a
//! `publicTrade` push and the mark price of a `tickers` push. They borrow from the frame and
//! skip every other field, instead of building the full typed messages of [`super::messages`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use super::de;
use super::messages::BybitSide;
use super::parse::ParseError;

/// The last trade of a `publicTrade.*` push (the tape's newest print).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastTrade {
    /// Symbol.
    pub symbol: String,
    /// Fill time, ms.
    pub time_ms: i64,
    /// Taker side.
    pub side: BybitSide,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub size: Decimal,
}

/// The mark price a `tickers.*` push carries (`None` when absent, as in most deltas).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TickerMark {
    /// Symbol.
    pub symbol: String,
    /// Wire field `markPrice`.
    pub mark_price: Option<Decimal>,
}

#[derive(Deserialize)]
struct TradePush<'a> {
    #[serde(borrow)]
    data: Last<TradeRow<'a>>,
}

#[derive(Deserialize)]
struct TradeRow<'a> {
    #[serde(rename = "T", deserialize_with = "de::int")]
    time_ms: i64,
    #[serde(rename = "s", borrow)]
    symbol: Cow<'a, str>,
    #[serde(rename = "S")]
    side: BybitSide,
    #[serde(rename = "v", deserialize_with = "de::decimal")]
    size: Decimal,
    #[serde(rename = "p", deserialize_with = "de::decimal")]
    price: Decimal,
}

#[derive(Deserialize)]
struct TickerPush<'a> {
    #[serde(borrow)]
    data: TickerRow<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TickerRow<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    mark_price: Option<Decimal>,
}

/// The last element of a JSON array (`None` when empty); the others are read and dropped.
struct Last<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Last<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LastVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for LastVisitor<T> {
            type Value = Last<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut last = None;
                while let Some(x) = seq.next_element()? {
                    last = Some(x);
                }
                Ok(Last(last))
            }
        }

        d.deserialize_seq(LastVisitor(PhantomData))
    }
}

fn bad(what: &'static str) -> impl FnOnce(serde_json::Error) -> ParseError {
    move |source| ParseError::Serde { what, source }
}

/// The last trade of a `publicTrade.*` push; `None` for an empty one.
pub fn parse_last_trade(text: &str) -> Result<Option<LastTrade>, ParseError> {
    let push: TradePush<'_> = serde_json::from_str(text).map_err(bad("publicTrade"))?;
    Ok(push.data.0.map(|t| LastTrade {
        symbol: t.symbol.into_owned(),
        time_ms: t.time_ms,
        side: t.side,
        price: t.price,
        size: t.size,
    }))
}

/// The symbol and mark price of a `tickers.*` push (snapshot or delta).
pub fn parse_ticker_mark(text: &str) -> Result<TickerMark, ParseError> {
    let push: TickerPush<'_> = serde_json::from_str(text).map_err(bad("tickers"))?;
    Ok(TickerMark {
        symbol: push.data.symbol.into_owned(),
        mark_price: push.data.mark_price,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::bybit::fixtures::load;
    use crate::exchange::bybit::parse::{parse_public_trade, parse_ticker};

    #[test]
    fn last_trade_matches_the_full_parse() {
        let text = load("ws-public-trade.json");
        let full = parse_public_trade(&text).unwrap();
        let t = full.data.last().unwrap();
        let light = parse_last_trade(&text).unwrap().unwrap();
        assert_eq!(
            light,
            LastTrade {
                symbol: t.symbol.clone(),
                time_ms: t.time_ms,
                side: t.side,
                price: t.price,
                size: t.size,
            }
        );
    }

    #[test]
    fn last_of_several_trades_and_none_of_an_empty_push() {
        let two = r#"{"topic":"publicTrade.X","type":"snapshot","ts":1,"data":[
            {"T":1,"s":"X","S":"Buy","v":"1","p":"10.5","i":"a","BT":false},
            {"T":2,"s":"X","S":"Sell","v":"0.25","p":"10.4","i":"b","BT":false}]}"#;
        let t = parse_last_trade(two).unwrap().unwrap();
        assert_eq!(
            (t.time_ms, t.side, t.price.to_string(), t.size.to_string()),
            (2, BybitSide::Sell, "10.4".into(), "0.25".into())
        );
        let empty = r#"{"topic":"publicTrade.X","type":"snapshot","ts":1,"data":[]}"#;
        assert_eq!(parse_last_trade(empty).unwrap(), None);
        let broken =
            r#"{"topic":"publicTrade.X","data":[{"T":1,"s":"X","S":"Up","v":"1","p":"1"}]}"#;
        assert!(parse_last_trade(broken).is_err());
    }

    #[test]
    fn ticker_mark_matches_the_full_parse_on_every_sample() {
        for name in [
            "ws-ticker-linear-perp-snapshot.json",
            "ws-ticker-linear-futures-snapshot.json",
            "ws-ticker-spot.json",
            "ws-ticker-option.json",
            "ws-ticker-linear-delta.json",
        ] {
            let text = load(name);
            let full = parse_ticker(&text).unwrap();
            let light = parse_ticker_mark(&text).unwrap();
            assert_eq!(light.symbol, full.data.symbol, "{name}");
            assert_eq!(light.mark_price, full.data.mark_price, "{name}");
        }
        assert!(parse_ticker_mark(r#"{"topic":"tickers.X","data":{}}"#).is_err());
    }
}
