//! The displayed (public) order book of one symbol, in integer ticks and lots, and the
//! depth-limited views published on `orderbook.{depth}.{symbol}`.

use std::collections::BTreeMap;

/// Price in ticks, size in lots.
pub type Level = (i64, i64);

/// Displayed liquidity (excluding the simulated accounts' own orders).
#[derive(Debug, Clone, Default)]
pub struct DisplayedBook {
    /// Bids by price in ticks.
    pub bids: BTreeMap<i64, i64>,
    /// Asks by price in ticks.
    pub asks: BTreeMap<i64, i64>,
}

impl DisplayedBook {
    /// Best bid price in ticks.
    pub fn best_bid(&self) -> Option<i64> {
        self.bids.keys().next_back().copied()
    }
    /// Best ask price in ticks.
    pub fn best_ask(&self) -> Option<i64> {
        self.asks.keys().next().copied()
    }
    /// Top `depth` bids (descending) and asks (ascending).
    pub fn view(&self, depth: usize) -> BookView {
        BookView {
            bids: self
                .bids
                .iter()
                .rev()
                .take(depth)
                .map(|(p, s)| (*p, *s))
                .collect(),
            asks: self
                .asks
                .iter()
                .take(depth)
                .map(|(p, s)| (*p, *s))
                .collect(),
        }
    }
    /// Displayed size at a bid price.
    pub fn bid_size(&self, px: i64) -> i64 {
        self.bids.get(&px).copied().unwrap_or(0)
    }
    /// Displayed size at an ask price.
    pub fn ask_size(&self, px: i64) -> i64 {
        self.asks.get(&px).copied().unwrap_or(0)
    }
}

/// A depth-limited view: bids descending, asks ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookView {
    /// Bid levels, best first.
    pub bids: Vec<Level>,
    /// Ask levels, best first.
    pub asks: Vec<Level>,
}

/// Changes turning `old` into `new` on one side: new sizes, and size 0 for removed levels.
/// `descending` tells the sort order of both inputs.
pub fn diff_side(old: &[Level], new: &[Level], descending: bool) -> Vec<Level> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let before = |a: i64, b: i64| if descending { a > b } else { a < b };
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.0 == n.0 => {
                if o.1 != n.1 {
                    out.push(*n);
                }
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if before(o.0, n.0) => {
                out.push((o.0, 0));
                i += 1;
            }
            (Some(_), Some(n)) => {
                out.push(*n);
                j += 1;
            }
            (Some(o), None) => {
                out.push((o.0, 0));
                i += 1;
            }
            (None, Some(n)) => {
                out.push(*n);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(view: &mut Vec<Level>, delta: &[Level], descending: bool) {
        for &(p, s) in delta {
            view.retain(|l| l.0 != p);
            if s > 0 {
                view.push((p, s));
            }
        }
        if descending {
            view.sort_by_key(|l| std::cmp::Reverse(l.0));
        } else {
            view.sort();
        }
    }

    #[test]
    fn diff_then_apply_reproduces_new() {
        let cases: Vec<(Vec<Level>, Vec<Level>)> = vec![
            (
                vec![(10, 1), (9, 2), (8, 3)],
                vec![(11, 5), (10, 1), (8, 4)],
            ),
            (vec![], vec![(5, 1)]),
            (vec![(5, 1)], vec![]),
            (vec![(7, 1), (6, 1)], vec![(5, 2), (4, 2)]),
        ];
        for (old, new) in cases {
            let d = diff_side(&old, &new, true);
            let mut v = old.clone();
            apply(&mut v, &d, true);
            assert_eq!(v, new);
        }
        let old = vec![(1, 1), (2, 2), (3, 3)];
        let new = vec![(2, 5), (3, 3), (4, 1)];
        let d = diff_side(&old, &new, false);
        assert_eq!(d, vec![(1, 0), (2, 5), (4, 1)]);
    }

    #[test]
    fn view_orders_sides() {
        let mut b = DisplayedBook::default();
        b.bids.insert(9, 1);
        b.bids.insert(8, 2);
        b.asks.insert(11, 3);
        b.asks.insert(12, 4);
        let v = b.view(1);
        assert_eq!(v.bids, vec![(9, 1)]);
        assert_eq!(v.asks, vec![(11, 3)]);
        assert_eq!(b.best_bid(), Some(9));
        assert_eq!(b.best_ask(), Some(11));
    }
}
