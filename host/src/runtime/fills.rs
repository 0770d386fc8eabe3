//! Our fills that the exchange's last position reading does not include yet.
//!
//! Bybit's `execution` and `position` rows share a per-symbol `seq`: a position row with
//! `seq = S` includes every fill with `seq ≤ S`. The `order` push that closes a filled order
//! may arrive before that position row; sizing from the older position would then let fills
//! pass a hard limit. The host therefore counts each fill in its position at once and drops
//! it again when a position reading includes it.

use rust_decimal::Decimal;

/// Fills counted on top of the last position reading: (exchange `seq`, signed quantity).
#[derive(Debug, Default)]
pub struct PendingFills(Vec<(i64, Decimal)>);

impl PendingFills {
    /// A fill of signed quantity `qty` with `seq`, given the `seq` of the last position
    /// reading. Returns whether it is pending (not in that reading, so to be added to the
    /// position); a fill without `seq` is left to the next position reading.
    pub fn on_fill(&mut self, seq: Option<i64>, qty: Decimal, position_seq: i64) -> bool {
        match seq {
            Some(seq) if seq > position_seq => {
                self.0.push((seq, qty));
                true
            }
            _ => false,
        }
    }

    /// A position reading with `seq` (0: unknown, taken to include every fill): forget the
    /// fills it includes and return the sum of those it does not.
    pub fn on_position(&mut self, seq: i64) -> Decimal {
        if seq > 0 {
            self.0.retain(|&(s, _)| s > seq);
        } else {
            self.0.clear();
        }
        self.0.iter().map(|&(_, q)| q).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn fills_count_until_a_position_reading_includes_them() {
        let mut p = PendingFills::default();
        // Position read at seq 10; fills 11 and 12 arrive before their position rows.
        assert!(p.on_fill(Some(11), dec!(0.5), 10));
        assert!(p.on_fill(Some(12), dec!(-0.2), 10));
        // A fill the reading already includes, and one without seq, are not pending.
        assert!(!p.on_fill(Some(10), dec!(1), 10));
        assert!(!p.on_fill(None, dec!(1), 10));
        // The position row of fill 11 arrives: only 12 stays on top of it.
        assert_eq!(p.on_position(11), dec!(-0.2));
        // An older row includes none of the remaining fills.
        assert_eq!(p.on_position(5), dec!(-0.2));
        assert_eq!(p.on_position(12), dec!(0));
        // A row without seq is taken to include everything.
        assert!(p.on_fill(Some(13), dec!(1), 12));
        assert_eq!(p.on_position(0), dec!(0));
    }
}
