//! Fills of resting orders from the market: the synthetic market-order flow (each order
//! reaching δ ticks consumes levels, our orders queued behind displayed size) and the
//! displayed market moving through a resting price.

use super::Engine;
use super::types::Side;

impl Engine {
    /// Fill resting orders: from the synthetic flow and from the displayed market crossing
    /// their price. Called by the market step.
    pub(crate) fn match_resting(
        &mut self,
        mi: usize,
        flows: &[crate::market::synthetic::FlowOrder],
    ) {
        if self.matching_paused {
            return;
        }
        let mid = self.markets[mi].model.mid_ticks;
        for f in flows {
            self.apply_flow(mi, f, mid);
        }
        // Market moved through resting prices: displayed best on the other side at or
        // beyond our price → filled as maker at our price.
        let best_ask = self.markets[mi].book.best_ask();
        let best_bid = self.markets[mi].book.best_bid();
        let mut crossed = Vec::new();
        if let Some(ba) = best_ask {
            for ((p, _), v) in self.markets[mi].resting_bids.range((ba, 0)..).rev() {
                crossed.push((*p, v.clone()));
            }
        }
        if let Some(bb) = best_bid {
            for ((p, _), v) in self.markets[mi].resting_asks.range(..=(bb, u64::MAX)) {
                crossed.push((*p, v.clone()));
            }
        }
        for (p, (acct, id)) in crossed {
            if let Some(o) = self.accounts[acct].open.get(&id) {
                let leaves = o.leaves_lots();
                if leaves > 0 {
                    self.record_trade(mi, o.side == Side::Sell, p, leaves);
                    self.fill(acct, &id, mi, p, leaves, true);
                }
            }
        }
        // Displayed size at a level may have shrunk: queue ahead can only shrink with it.
        let m = &self.markets[mi];
        let mut clamp = Vec::new();
        for ((p, _), (acct, id)) in m.resting_bids.iter() {
            clamp.push((*acct, id.clone(), m.book.bid_size(*p)));
        }
        for ((p, _), (acct, id)) in m.resting_asks.iter() {
            clamp.push((*acct, id.clone(), m.book.ask_size(*p)));
        }
        for (acct, id, d) in clamp {
            if let Some(o) = self.accounts[acct].open.get_mut(&id) {
                o.queue_ahead_lots = o.queue_ahead_lots.min(d);
            }
        }
        self.flush();
    }

    fn apply_flow(&mut self, mi: usize, f: &crate::market::synthetic::FlowOrder, mid: f64) {
        // Prices reached: buys consume asks upward, sells consume bids downward.
        let m = &self.markets[mi];
        let mut prices: Vec<i64> = if f.buy {
            let lim = (mid + f.reach_ticks).floor() as i64;
            let mut v: Vec<i64> = m.book.asks.range(..=lim).map(|(p, _)| *p).collect();
            v.extend(
                m.resting_asks
                    .range(..=(lim, u64::MAX))
                    .map(|((p, _), _)| *p),
            );
            v.sort();
            v
        } else {
            let lim = (mid - f.reach_ticks).ceil() as i64;
            let mut v: Vec<i64> = m.book.bids.range(lim..).map(|(p, _)| *p).collect();
            v.extend(m.resting_bids.range((lim, 0)..).map(|((p, _), _)| *p));
            v.sort_by(|a, b| b.cmp(a));
            v
        };
        prices.dedup();
        let n = prices.len();
        for (i, p) in prices.into_iter().enumerate() {
            let last = i + 1 == n;
            self.consume_level(mi, f.buy, p, if last { f.last_level_fraction } else { 1.0 });
        }
    }

    /// Our orders at one level (in priority order) hit by `amount` lots: each sits behind its
    /// `queue_ahead` plus our earlier orders. Returns the fills and their total.
    pub(crate) fn queue_fills(
        &mut self,
        ours: &[(usize, String)],
        amount: i64,
    ) -> (Vec<(usize, String, i64)>, i64) {
        let mut ours_ahead = 0;
        let mut our_filled = 0;
        let mut fills = Vec::new();
        for (a, id) in ours {
            let Some(o) = self.accounts[*a].open.get_mut(id) else {
                continue;
            };
            let leaves = o.leaves_lots();
            let start = o.queue_ahead_lots + ours_ahead;
            let f = (amount - start).clamp(0, leaves);
            o.queue_ahead_lots = (o.queue_ahead_lots - amount).max(0);
            ours_ahead += leaves;
            if f > 0 {
                fills.push((*a, id.clone(), f));
                our_filled += f;
            }
        }
        (fills, our_filled)
    }

    fn consume_level(&mut self, mi: usize, taker_buy: bool, p: i64, frac: f64) {
        let m = &self.markets[mi];
        let displayed = if taker_buy {
            m.book.ask_size(p)
        } else {
            m.book.bid_size(p)
        };
        let ours: Vec<(usize, String)> = if taker_buy {
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
        let our_total: i64 = ours
            .iter()
            .filter_map(|(a, id)| self.accounts[*a].open.get(id).map(|o| o.leaves_lots()))
            .sum();
        let amount = ((displayed + our_total) as f64 * frac).round() as i64;
        if amount <= 0 {
            return;
        }
        let (fills, our_filled) = self.queue_fills(&ours, amount);
        let from_displayed = (amount - our_filled).min(displayed).max(0);
        let m = &mut self.markets[mi];
        let side = if taker_buy {
            &mut m.book.asks
        } else {
            &mut m.book.bids
        };
        if from_displayed >= displayed {
            side.remove(&p);
        } else if let Some(s) = side.get_mut(&p) {
            *s -= from_displayed;
        }
        let printed = from_displayed + our_filled;
        if printed > 0 {
            self.record_trade(mi, taker_buy, p, printed);
        }
        for (a, id, f) in fills {
            self.fill(a, &id, mi, p, f, true);
        }
    }
}
