//! Market steps and public topics: `orderbook.{1,50,200}` (snapshot then deltas with `u` and
//! `seq`), `publicTrade`, `tickers` (snapshot then deltas of changed fields). Work for a
//! topic is only done while it has subscribers.

use super::book::{BookView, Level, diff_side};
use super::types::Instrument;
use super::{BOOK_DEPTHS, Candle, Engine, PublicMsg, TradePrint};
use crate::config::Category;
use rust_decimal::Decimal;
use std::fmt::Write;

fn levels_json(out: &mut String, inst: &Instrument, levels: &[Level]) {
    out.push('[');
    for (i, (p, s)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[\"{}\",\"{}\"]", inst.px(*p), inst.qty(*s));
    }
    out.push(']');
}

/// Orderbook message text.
#[allow(clippy::too_many_arguments)]
pub fn book_msg(
    inst: &Instrument,
    depth: usize,
    kind: &str,
    bids: &[Level],
    asks: &[Level],
    u: u64,
    seq: i64,
    ts: i64,
) -> String {
    let mut s = String::with_capacity(128 + 24 * (bids.len() + asks.len()));
    let _ = write!(
        s,
        "{{\"topic\":\"orderbook.{depth}.{}\",\"type\":\"{kind}\",\"ts\":{ts},\"data\":{{\"s\":\"{}\",\"b\":",
        inst.symbol, inst.symbol
    );
    levels_json(&mut s, inst, bids);
    s.push_str(",\"a\":");
    levels_json(&mut s, inst, asks);
    let _ = write!(s, ",\"u\":{u},\"seq\":{seq}}},\"cts\":{ts}}}");
    s
}

impl Engine {
    /// Advance market `mi` one step at time `now_ms`: model, matching, publications.
    pub fn step_market(&mut self, mi: usize) {
        let now = self.now_ms();
        let flows = {
            let m = &mut self.markets[mi];
            m.steps += 1;
            m.model.step(&mut m.book)
        };
        self.match_resting(mi, &flows);
        self.check_triggers(mi);
        if !self.matching_paused {
            // Flow that found no resting account order still prints on the tape via
            // consume_level; nothing more to do here.
        }
        self.publish_books(mi, now);
        self.publish_trades(mi, now);
        let every = (self.markets[mi].rate_hz / 10.0).round().max(1.0) as u64;
        if self.markets[mi].steps.is_multiple_of(every) {
            self.publish_ticker(mi, now);
        }
        let second = (self.markets[mi].rate_hz).round().max(1.0) as u64;
        if self.markets[mi].steps.is_multiple_of(second) {
            self.publish_klines(mi);
        }
    }

    /// Print a trade on the tape (published at the end of the step).
    pub(crate) fn record_trade(&mut self, mi: usize, taker_buy: bool, px: i64, lots: i64) {
        let now = self.now_ms();
        let id = self.uuid();
        let m = &mut self.markets[mi];
        m.seq += 1;
        let dir = if px > m.last_px {
            "PlusTick"
        } else if px < m.last_px {
            "MinusTick"
        } else if m.tick_dir.contains("Plus") {
            "ZeroPlusTick"
        } else {
            "ZeroMinusTick"
        };
        m.last_px = px;
        m.tick_dir = dir;
        m.volume_lots += lots;
        let value = m.inst.px(px) * m.inst.qty(lots);
        m.turnover += value;
        m.high_px = m.high_px.max(px);
        m.low_px = m.low_px.min(px);
        let minute = now - now.rem_euclid(60_000);
        match m.candles.back_mut() {
            Some(c) if c.start_ms == minute => {
                c.high = c.high.max(px);
                c.low = c.low.min(px);
                c.close = px;
                c.lots += lots;
                c.turnover += value;
            }
            _ => {
                m.candles.push_back(Candle {
                    start_ms: minute,
                    open: px,
                    high: px,
                    low: px,
                    close: px,
                    lots,
                    turnover: value,
                });
                if m.candles.len() > 1000 {
                    m.candles.pop_front();
                }
            }
        }
        let t = TradePrint {
            time_ms: now,
            taker_buy,
            px,
            lots,
            id,
            tick_dir: dir,
            seq: m.seq,
        };
        m.recent_trades.push_back(t.clone());
        if m.recent_trades.len() > 1000 {
            m.recent_trades.pop_front();
        }
        if m.topics.trade.receiver_count() > 0 {
            m.pending_trades.push(t);
        }
    }

    fn publish_trades(&mut self, mi: usize, now: i64) {
        let m = &mut self.markets[mi];
        if m.pending_trades.is_empty() {
            return;
        }
        let trades = std::mem::take(&mut m.pending_trades);
        let mut s = String::with_capacity(64 + 200 * trades.len());
        let _ = write!(
            s,
            "{{\"topic\":\"publicTrade.{}\",\"type\":\"snapshot\",\"ts\":{now},\"data\":[",
            m.inst.symbol
        );
        for (i, t) in trades.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"T\":{},\"s\":\"{}\",\"S\":\"{}\",\"v\":\"{}\",\"p\":\"{}\",\"L\":\"{}\",\"i\":\"{}\",\"BT\":false,\"RPI\":false,\"seq\":{}}}",
                t.time_ms,
                m.inst.symbol,
                if t.taker_buy { "Buy" } else { "Sell" },
                m.inst.qty(t.lots),
                m.inst.px(t.px),
                t.tick_dir,
                t.id,
                t.seq
            );
        }
        s.push_str("]}");
        self.outbox.send(
            &m.topics.trade,
            PublicMsg {
                u: m.seq as u64,
                text: s.into(),
            },
        );
    }

    fn publish_books(&mut self, mi: usize, now: i64) {
        let mut skip = std::mem::take(&mut self.skip_book_u);
        let m = &mut self.markets[mi];
        for (k, depth) in BOOK_DEPTHS.iter().enumerate() {
            if m.topics.books[k].receiver_count() == 0 {
                m.views[k] = None;
                continue;
            }
            let Some(old) = &m.views[k] else { continue };
            let new = m.book.view(*depth);
            if &new == old {
                continue;
            }
            m.u[k] += 1;
            if skip > 0 {
                skip -= 1;
                m.u[k] += 1;
            }
            m.seq += 1;
            let text = if *depth == 1 {
                // Level 1 is snapshot-only.
                book_msg(
                    &m.inst, 1, "snapshot", &new.bids, &new.asks, m.u[k], m.seq, now,
                )
            } else {
                let db = diff_side(&old.bids, &new.bids, true);
                let da = diff_side(&old.asks, &new.asks, false);
                book_msg(&m.inst, *depth, "delta", &db, &da, m.u[k], m.seq, now)
            };
            m.views[k] = Some(new);
            self.outbox.send(
                &m.topics.books[k],
                PublicMsg {
                    u: m.u[k],
                    text: text.into(),
                },
            );
        }
        self.skip_book_u = skip;
    }

    /// Snapshot for a new subscriber of `orderbook.{BOOK_DEPTHS[k]}`; the returned `u` is
    /// the last one it covers (later messages with a greater `u` follow it).
    pub fn book_snapshot(&mut self, mi: usize, k: usize) -> PublicMsg {
        let now = self.now_ms();
        let m = &mut self.markets[mi];
        let depth = BOOK_DEPTHS[k];
        if m.views[k].is_none() {
            m.views[k] = Some(m.book.view(depth));
            m.u[k] += 1;
        }
        let v: &BookView = m.views[k].as_ref().expect("set above");
        let text = book_msg(
            &m.inst, depth, "snapshot", &v.bids, &v.asks, m.u[k], m.seq, now,
        );
        PublicMsg {
            u: m.u[k],
            text: text.into(),
        }
    }

    /// Current ticker fields of a market (all strings), in Bybit's order.
    pub fn ticker_fields(&self, mi: usize) -> Vec<(&'static str, String)> {
        let m = &self.markets[mi];
        let i = &m.inst;
        let (qb, qa) = m.model.quote_ticks();
        let bb = m.book.best_bid().unwrap_or(qb);
        let ba = m.book.best_ask().unwrap_or(qa);
        let mark = self.mark_of_market(mi);
        let pcnt = if m.open_px > 0 {
            (Decimal::from(m.last_px - m.open_px) / Decimal::from(m.open_px)).round_dp(6)
        } else {
            Decimal::ZERO
        };
        let mut v: Vec<(&'static str, String)> = vec![
            ("symbol", i.symbol.clone()),
            ("lastPrice", i.fmt_px(m.last_px)),
            ("highPrice24h", i.fmt_px(m.high_px)),
            ("lowPrice24h", i.fmt_px(m.low_px)),
            ("prevPrice24h", i.fmt_px(m.open_px)),
            ("volume24h", i.fmt_qty(m.volume_lots)),
            ("turnover24h", m.turnover.round_dp(4).to_string()),
            ("price24hPcnt", pcnt.normalize().to_string()),
        ];
        match i.category {
            Category::Spot => {
                v.push(("usdIndexPrice", mark.to_string()));
                v.push(("bid1Price", i.fmt_px(bb)));
                v.push(("bid1Size", i.fmt_qty(m.book.bid_size(bb))));
                v.push(("ask1Price", i.fmt_px(ba)));
                v.push(("ask1Size", i.fmt_qty(m.book.ask_size(ba))));
            }
            Category::Linear => {
                let funding = 8 * 3_600_000;
                let now = self.now_ms();
                v.extend([
                    ("tickDirection", m.tick_dir.to_string()),
                    ("prevPrice1h", i.fmt_px(m.open_px)),
                    ("markPrice", mark.to_string()),
                    ("indexPrice", mark.to_string()),
                    ("openInterest", "0".to_string()),
                    ("openInterestValue", "0".to_string()),
                    ("fundingIntervalHour", "8".to_string()),
                    ("fundingCap", "0.005".to_string()),
                    (
                        "nextFundingTime",
                        (now - now.rem_euclid(funding) + funding).to_string(),
                    ),
                    ("fundingRate", "0.0001".to_string()),
                    ("bid1Price", i.fmt_px(bb)),
                    ("bid1Size", i.fmt_qty(m.book.bid_size(bb))),
                    ("ask1Price", i.fmt_px(ba)),
                    ("ask1Size", i.fmt_qty(m.book.ask_size(ba))),
                    ("preOpenPrice", String::new()),
                    ("preQty", String::new()),
                    ("curPreListingPhase", String::new()),
                ]);
            }
        }
        v
    }

    fn ticker_text(
        &self,
        mi: usize,
        kind: &str,
        fields: &[(&'static str, String)],
        cs: u64,
    ) -> String {
        let m = &self.markets[mi];
        let mut data = serde_json::Map::new();
        for (k, v) in fields {
            data.insert((*k).to_string(), serde_json::Value::String(v.clone()));
        }
        serde_json::json!({
            "topic": format!("tickers.{}", m.inst.symbol),
            "type": kind,
            "data": data,
            "cs": cs,
            "ts": self.now_ms(),
        })
        .to_string()
    }

    fn publish_ticker(&mut self, mi: usize, _now: i64) {
        if self.markets[mi].topics.ticker.receiver_count() == 0 {
            self.markets[mi].ticker_last.clear();
            return;
        }
        let fields = self.ticker_fields(mi);
        let m = &self.markets[mi];
        let spot = m.inst.category == Category::Spot;
        let changed: Vec<(&'static str, String)> = if spot || m.ticker_last.is_empty() {
            fields.clone()
        } else {
            let mut c: Vec<_> = fields
                .iter()
                .filter(|(k, v)| {
                    m.ticker_last
                        .iter()
                        .find(|(k2, _)| k2 == k)
                        .map(|(_, v2)| v2)
                        != Some(v)
                })
                .cloned()
                .collect();
            if c.is_empty() {
                return;
            }
            c.insert(0, ("symbol", m.inst.symbol.clone()));
            c.dedup_by(|a, b| a.0 == b.0);
            c
        };
        let kind = if spot || m.ticker_last.is_empty() {
            "snapshot"
        } else {
            "delta"
        };
        let cs = m.ticker_cs + 1;
        let text = self.ticker_text(mi, kind, &changed, cs);
        let m = &mut self.markets[mi];
        m.ticker_cs = cs;
        m.ticker_last = fields;
        self.outbox.send(
            &m.topics.ticker,
            PublicMsg {
                u: cs,
                text: text.into(),
            },
        );
    }

    /// Snapshot for a new `tickers` subscriber.
    pub fn ticker_snapshot(&mut self, mi: usize) -> PublicMsg {
        let fields = self.ticker_fields(mi);
        let cs = self.markets[mi].ticker_cs;
        let text = self.ticker_text(mi, "snapshot", &fields, cs);
        PublicMsg {
            u: cs,
            text: text.into(),
        }
    }
}
