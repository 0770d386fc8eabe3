//! Replay of recorded Bybit public messages for a symbol: the exact text is forwarded to
//! subscribers of its topic; orderbook messages drive the displayed book (so resting orders
//! queue and cross as with synthetic data), and trades fill resting orders they reach.

use super::types::Side;
use super::{BOOK_DEPTHS, Engine, PublicMsg};
use rust_decimal::Decimal;
use serde_json::Value;

fn levels(v: &Value) -> Vec<(Decimal, Decimal)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| {
                    Some((
                        l.get(0)?.as_str()?.parse().ok()?,
                        l.get(1)?.as_str()?.parse().ok()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Engine {
    /// Apply one recorded message (`text` is forwarded verbatim).
    pub fn apply_replay(&mut self, mi: usize, v: &Value, text: &str) {
        let topic = v.get("topic").and_then(Value::as_str).unwrap_or("");
        if let Some(rest) = topic.strip_prefix("orderbook.") {
            let depth: usize = rest
                .split('.')
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            self.replay_book(mi, v, depth, text);
        } else if topic.starts_with("publicTrade.") {
            self.replay_trades(mi, v);
            let m = &self.markets[mi];
            self.outbox.send(
                &m.topics.trade,
                PublicMsg {
                    u: 0,
                    text: text.to_string().into(),
                },
            );
        } else if topic.starts_with("tickers.") {
            let cs = v.get("cs").and_then(Value::as_u64).unwrap_or(0);
            self.outbox.send(
                &self.markets[mi].topics.ticker,
                PublicMsg {
                    u: cs.max(self.markets[mi].ticker_cs + 1),
                    text: text.to_string().into(),
                },
            );
            self.markets[mi].ticker_cs = cs.max(self.markets[mi].ticker_cs + 1);
        }
        self.flush();
    }

    fn replay_book(&mut self, mi: usize, v: &Value, depth: usize, text: &str) {
        let data = &v["data"];
        let snapshot = v.get("type").and_then(Value::as_str) == Some("snapshot");
        let m = &mut self.markets[mi];
        if snapshot {
            m.book.bids.clear();
            m.book.asks.clear();
        }
        for (side, key) in [(Side::Buy, "b"), (Side::Sell, "a")] {
            for (p, s) in levels(&data[key]) {
                let (Some(t), lots) = (m.inst.ticks_of(p), m.inst.lots_of(s)) else {
                    continue;
                };
                let book = match side {
                    Side::Buy => &mut m.book.bids,
                    Side::Sell => &mut m.book.asks,
                };
                match lots {
                    Some(l) => {
                        book.insert(t, l);
                    }
                    None => {
                        book.remove(&t);
                    }
                }
            }
        }
        if let (Some(b), Some(a)) = (m.book.best_bid(), m.book.best_ask()) {
            m.model.mid_ticks = (b + a) as f64 / 2.0;
        }
        if let Some(s) = data.get("seq").and_then(Value::as_i64) {
            m.seq = m.seq.max(s);
        }
        if let Some(k) = BOOK_DEPTHS.iter().position(|d| *d == depth) {
            let u = data.get("u").and_then(Value::as_u64).unwrap_or(m.u[k] + 1);
            m.u[k] = u;
            m.views[k] = Some(m.book.view(depth));
            self.outbox.send(
                &m.topics.books[k],
                PublicMsg {
                    u,
                    text: text.to_string().into(),
                },
            );
        }
        self.match_resting(mi, &[]);
    }

    fn replay_trades(&mut self, mi: usize, v: &Value) {
        let Some(trades) = v.get("data").and_then(Value::as_array) else {
            return;
        };
        for t in trades {
            let inst = &self.markets[mi].inst;
            let taker_buy = t.get("S").and_then(Value::as_str) == Some("Buy");
            let px = t
                .get("p")
                .and_then(Value::as_str)
                .and_then(|p| p.parse().ok());
            let qty = t
                .get("v")
                .and_then(Value::as_str)
                .and_then(|q| q.parse().ok());
            let (Some(p), Some(lots)) = (
                px.and_then(|p| inst.ticks_of(p)),
                qty.and_then(|q| inst.lots_of(q)),
            ) else {
                continue;
            };
            self.markets[mi].last_px = p;
            if self.matching_paused {
                continue;
            }
            let m = &self.markets[mi];
            // Resting orders strictly better than the print were traded through: filled.
            let through: Vec<(i64, (usize, String))> = if taker_buy {
                m.resting_asks
                    .range(..(p, 0))
                    .map(|((px, _), v)| (*px, v.clone()))
                    .collect()
            } else {
                m.resting_bids
                    .range((p + 1, 0)..)
                    .map(|((px, _), v)| (*px, v.clone()))
                    .collect()
            };
            let at: Vec<(usize, String)> = if taker_buy {
                m.resting_asks
                    .range((p, 0)..=(p, u64::MAX))
                    .map(|(_, v)| v.clone())
                    .collect()
            } else {
                m.resting_bids
                    .range((p, 0)..=(p, u64::MAX))
                    .map(|(_, v)| v.clone())
                    .collect()
            };
            for (px, (a, id)) in through {
                if let Some(l) = self.accounts[a].open.get(&id).map(|o| o.leaves_lots()) {
                    self.fill(a, &id, mi, px, l, true);
                }
            }
            let (fills, _) = self.queue_fills(&at, lots);
            for (a, id, f) in fills {
                self.fill(a, &id, mi, p, f, true);
            }
        }
    }
}
