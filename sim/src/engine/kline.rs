//! Candles: one-minute candles from the tape, aggregated to Bybit's intervals for
//! `GET /v5/market/kline` and the `kline.{interval}.{symbol}` topic (published once per
//! simulated second, plus a `confirm: true` candle when an interval closes).
//! Approximation: `W` is 7 days from the epoch and `M` is 30 days.

use super::{Candle, Engine, PublicMsg};
use serde_json::json;

/// Bybit's kline intervals.
pub const INTERVALS: [&str; 13] = [
    "1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M",
];

/// Length of interval `i` in ms.
pub fn interval_ms(i: usize) -> i64 {
    let min = match INTERVALS[i] {
        "D" => 1440,
        "W" => 10_080,
        "M" => 43_200,
        n => n.parse().unwrap_or(1),
    };
    min * 60_000
}

/// Index of an interval name.
pub fn interval_index(name: &str) -> Option<usize> {
    INTERVALS.iter().position(|i| *i == name)
}

/// Aggregate minute candles into candles of `len_ms`, oldest first.
pub fn aggregate(minutes: impl Iterator<Item = Candle>, len_ms: i64) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for c in minutes {
        let start = c.start_ms - c.start_ms.rem_euclid(len_ms);
        match out.last_mut() {
            Some(o) if o.start_ms == start => {
                o.high = o.high.max(c.high);
                o.low = o.low.min(c.low);
                o.close = c.close;
                o.lots += c.lots;
                o.turnover += c.turnover;
            }
            _ => out.push(Candle {
                start_ms: start,
                ..c
            }),
        }
    }
    out
}

impl Engine {
    /// Candles of interval `i` for market `mi`, oldest first.
    pub fn candles(&self, mi: usize, i: usize) -> Vec<Candle> {
        aggregate(self.markets[mi].candles.iter().cloned(), interval_ms(i))
    }

    fn candle_json(&self, mi: usize, i: usize, c: &Candle, confirm: bool, now: i64) -> String {
        let m = &self.markets[mi];
        let inst = &m.inst;
        json!({
            "topic": format!("kline.{}.{}", INTERVALS[i], inst.symbol),
            "data": [{
                "start": c.start_ms,
                "end": c.start_ms + interval_ms(i) - 1,
                "interval": INTERVALS[i],
                "open": inst.fmt_px(c.open),
                "close": inst.fmt_px(c.close),
                "high": inst.fmt_px(c.high),
                "low": inst.fmt_px(c.low),
                "volume": inst.fmt_qty(c.lots),
                "turnover": c.turnover.round_dp(4).normalize().to_string(),
                "confirm": confirm,
                "timestamp": now,
            }],
            "ts": now,
            "type": "snapshot",
        })
        .to_string()
    }

    /// The current candle of interval `i` (flat at the last price when nothing traded).
    fn current_candle(&self, mi: usize, i: usize, now: i64) -> Candle {
        let len = interval_ms(i);
        let start = now - now.rem_euclid(len);
        let m = &self.markets[mi];
        let recent = m.candles.iter().filter(|c| c.start_ms >= start).cloned();
        aggregate(recent, len).pop().unwrap_or(Candle {
            start_ms: start,
            open: m.last_px,
            high: m.last_px,
            low: m.last_px,
            close: m.last_px,
            lots: 0,
            turnover: rust_decimal::Decimal::ZERO,
        })
    }

    /// Publish every interval's current candle (and closed ones) if anyone listens.
    /// The message's `u` carries the interval index for the forwarders' filter.
    pub(crate) fn publish_klines(&mut self, mi: usize) {
        if self.markets[mi].topics.kline.receiver_count() == 0 {
            return;
        }
        let now = self.now_ms();
        for i in 0..INTERVALS.len() {
            let len = interval_ms(i);
            let start = now - now.rem_euclid(len);
            let last = self.markets[mi].kline_last_start[i];
            if last != 0 && last != start {
                let closed = self.candles(mi, i).into_iter().find(|c| c.start_ms == last);
                if let Some(c) = closed {
                    let text = self.candle_json(mi, i, &c, true, now);
                    self.outbox.send(
                        &self.markets[mi].topics.kline,
                        PublicMsg {
                            u: i as u64,
                            text: text.into(),
                        },
                    );
                }
            }
            self.markets[mi].kline_last_start[i] = start;
            let c = self.current_candle(mi, i, now);
            let text = self.candle_json(mi, i, &c, false, now);
            self.outbox.send(
                &self.markets[mi].topics.kline,
                PublicMsg {
                    u: i as u64,
                    text: text.into(),
                },
            );
        }
    }

    /// Snapshot for a new `kline` subscriber.
    pub fn kline_snapshot(&self, mi: usize, i: usize) -> PublicMsg {
        let now = self.now_ms();
        let c = self.current_candle(mi, i, now);
        PublicMsg {
            u: i as u64,
            text: self.candle_json(mi, i, &c, false, now).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn c(start: i64, o: i64, h: i64, l: i64, cl: i64) -> Candle {
        Candle {
            start_ms: start,
            open: o,
            high: h,
            low: l,
            close: cl,
            lots: 1,
            turnover: Decimal::ONE,
        }
    }

    #[test]
    fn aggregates_minutes() {
        let m = vec![
            c(0, 10, 12, 9, 11),
            c(60_000, 11, 15, 11, 14),
            c(180_000, 14, 14, 7, 8),
        ];
        let five = aggregate(m.clone().into_iter(), interval_ms(2));
        assert_eq!(five.len(), 1);
        let k = &five[0];
        assert_eq!((k.open, k.high, k.low, k.close, k.lots), (10, 15, 7, 8, 3));
        let three = aggregate(m.into_iter(), interval_ms(1));
        assert_eq!(three.len(), 2);
        assert_eq!(three[1].start_ms, 180_000);
        assert_eq!(interval_index("D"), Some(10));
    }
}
