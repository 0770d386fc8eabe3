//! Account equity from the wallet (read over REST at start-up, then pushed) marked to market
//! between pushes: peak, drawdown from the peak, and loss since the start of the UTC day. Pure
//! logic; the runtime feeds it and asks [`AccountRisk::check`].
//!
//! Marking to market: a wallet reading `E_w` already holds every position's unrealised PnL at
//! the exchange's mark of that moment. Between readings the host marks its own symbols:
//!
//! ```text
//! equity = E_w + sum_i q_i * (m_i - m_i_w)
//! ```
//!
//! with `q_i` the signed position (base quantity, linear), `m_i` the latest mark (the ticker's
//! mark price, else the book mid) and `m_i_w` the host's mark of symbol `i` when `E_w` was
//! read (a symbol first marked after it counts from its first mark). A fill changes `q_i` and
//! the wallet, and the exchange pushes a new wallet reading, which resets the references.
//! Positions on symbols this host does not run move equity only at the next wallet reading.

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::kill::{KillAction, KillTrigger};
use crate::config::KillConfig;

const DAY_MS: i64 = 86_400_000;

/// Equity, its peak and the day's starting equity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountRisk {
    equity: Option<Decimal>,
    peak: Option<Decimal>,
    day: i64,
    day_start: Option<Decimal>,
    /// The last wallet reading (`E_w`).
    wallet: Option<Decimal>,
    /// Each symbol's mark when `wallet` was read (`m_i_w`).
    marks_at_wallet: HashMap<Arc<str>, Decimal>,
}

impl AccountRisk {
    /// A wallet reading `equity` at `now_ms` (start-up REST read or push); `marks` are the
    /// host's current marks per symbol, the references for marking to market until the next
    /// reading.
    pub fn on_wallet<'a>(
        &mut self,
        equity: Decimal,
        marks: impl IntoIterator<Item = (&'a Arc<str>, Decimal)>,
        now_ms: i64,
    ) {
        self.wallet = Some(equity);
        self.marks_at_wallet = marks.into_iter().map(|(s, m)| (s.clone(), m)).collect();
        self.on_equity(equity, now_ms);
    }

    /// Mark equity to market at `now_ms` from `(symbol, signed position, mark)` rows (see the
    /// module docs). Nothing happens before the first wallet reading.
    pub fn on_marks<'a>(
        &mut self,
        rows: impl IntoIterator<Item = (&'a Arc<str>, Decimal, Decimal)>,
        now_ms: i64,
    ) {
        let Some(wallet) = self.wallet else { return };
        let mut equity = wallet;
        for (symbol, qty, mark) in rows {
            let reference = *self.marks_at_wallet.entry(symbol.clone()).or_insert(mark);
            equity += qty * (mark - reference);
        }
        if self.equity != Some(equity) {
            self.on_equity(equity, now_ms);
        }
    }

    /// Take a new total equity observed at `now_ms`.
    pub fn on_equity(&mut self, equity: Decimal, now_ms: i64) {
        let day = now_ms.div_euclid(DAY_MS);
        if self.day_start.is_none() || day != self.day {
            self.day = day;
            self.day_start = Some(equity);
        }
        self.peak = Some(self.peak.map_or(equity, |p| p.max(equity)));
        self.equity = Some(equity);
    }

    /// Last equity seen.
    pub fn equity(&self) -> Option<Decimal> {
        self.equity
    }

    /// Peak equity minus equity (zero before any equity).
    pub fn drawdown(&self) -> Decimal {
        match (self.peak, self.equity) {
            (Some(p), Some(e)) => (p - e).max(Decimal::ZERO),
            _ => Decimal::ZERO,
        }
    }

    /// Start-of-day equity minus equity (zero before any equity).
    pub fn daily_loss(&self) -> Decimal {
        match (self.day_start, self.equity) {
            (Some(s), Some(e)) => (s - e).max(Decimal::ZERO),
            _ => Decimal::ZERO,
        }
    }

    /// Forget the peak and the day's start (after a kill is cleared: measure from now).
    pub fn rebase(&mut self) {
        self.peak = self.equity;
        self.day_start = self.equity;
    }

    /// Which account triggers `cfg` trips now, with their actions.
    pub fn check(&self, cfg: &KillConfig) -> Vec<(KillAction, KillTrigger, String)> {
        let mut out = Vec::new();
        let over =
            |v: Decimal, limit: Option<f64>| limit.filter(|l| v.to_f64().unwrap_or(0.0) >= *l);
        if let (Some(limit), Some(action)) =
            (over(self.drawdown(), cfg.max_drawdown), cfg.drawdown_action)
        {
            out.push((
                action,
                KillTrigger::Drawdown,
                format!("drawdown {} >= {limit}", self.drawdown()),
            ));
        }
        if let (Some(limit), Some(action)) = (
            over(self.daily_loss(), cfg.max_daily_loss),
            cfg.daily_loss_action,
        ) {
            out.push((
                action,
                KillTrigger::DailyLoss,
                format!("daily loss {} >= {limit}", self.daily_loss()),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn peak_drawdown_and_daily_loss() {
        let mut a = AccountRisk::default();
        let day = 19_000 * DAY_MS;
        a.on_equity(dec!(1000), day + 10);
        a.on_equity(dec!(1100), day + 20);
        a.on_equity(dec!(1040), day + 30);
        assert_eq!((a.drawdown(), a.daily_loss()), (dec!(60), dec!(0)));
        a.on_equity(dec!(950), day + 40);
        assert_eq!((a.drawdown(), a.daily_loss()), (dec!(150), dec!(50)));
        // A new day starts from the first equity seen in it; the peak carries over.
        a.on_equity(dec!(940), day + DAY_MS + 1);
        assert_eq!((a.drawdown(), a.daily_loss()), (dec!(160), dec!(0)));
        a.rebase();
        assert_eq!((a.drawdown(), a.daily_loss()), (dec!(0), dec!(0)));
    }

    #[test]
    fn equity_is_marked_to_market_between_wallet_readings() {
        let (a_sym, b_sym): (Arc<str>, Arc<str>) = ("A".into(), "B".into());
        let mut a = AccountRisk::default();
        // No wallet reading yet: marks alone do not make an equity.
        a.on_marks([(&a_sym, dec!(2), dec!(100))], 1);
        assert_eq!(a.equity(), None);
        a.on_wallet(dec!(1000), [(&a_sym, dec!(100))], 2);
        assert_eq!(a.equity(), Some(dec!(1000)));
        // Table: (position A, mark A, position B, mark B) -> equity.
        // B has no reference at the reading: its first mark (50) becomes it.
        let cases = [
            (dec!(2), dec!(100), dec!(-3), dec!(50), dec!(1000)),
            (dec!(2), dec!(103), dec!(-3), dec!(50), dec!(1006)), // 2 * (103 - 100)
            (dec!(2), dec!(97.5), dec!(-3), dec!(51), dec!(992)), // 2 * -2.5 + -3 * 1
            (dec!(0), dec!(90), dec!(-3), dec!(49), dec!(1003)),  // flat A moves nothing
        ];
        for (i, (qa, ma, qb, mb, want)) in cases.into_iter().enumerate() {
            a.on_marks([(&a_sym, qa, ma), (&b_sym, qb, mb)], 3 + i as i64);
            assert_eq!(a.equity(), Some(want), "case {i}");
        }
        // The peak saw 1006; marks move the drawdown like wallet readings do.
        assert_eq!(a.drawdown(), dec!(3));
        // A new reading resets the references: the same marks add nothing.
        a.on_wallet(dec!(995), [(&a_sym, dec!(90)), (&b_sym, dec!(49))], 10);
        a.on_marks(
            [(&a_sym, dec!(1), dec!(90)), (&b_sym, dec!(-3), dec!(49))],
            11,
        );
        assert_eq!(a.equity(), Some(dec!(995)));
        a.on_marks(
            [(&a_sym, dec!(1), dec!(80)), (&b_sym, dec!(-3), dec!(49))],
            12,
        );
        assert_eq!((a.equity(), a.drawdown()), (Some(dec!(985)), dec!(21)));
    }

    #[test]
    fn check_names_each_tripped_trigger() {
        let cfg = KillConfig {
            max_drawdown: Some(100.0),
            drawdown_action: Some(KillAction::Flatten),
            max_daily_loss: Some(40.0),
            daily_loss_action: Some(KillAction::Halt),
            ..Default::default()
        };
        let mut a = AccountRisk::default();
        assert!(a.check(&cfg).is_empty(), "no equity yet");
        a.on_equity(dec!(1000), 5);
        a.on_equity(dec!(970), 6);
        assert!(a.check(&cfg).is_empty());
        a.on_equity(dec!(950), 7);
        let t: Vec<_> = a.check(&cfg).into_iter().map(|(a, t, _)| (a, t)).collect();
        assert_eq!(t, vec![(KillAction::Halt, KillTrigger::DailyLoss)]);
        a.on_equity(dec!(900), 8);
        assert_eq!(a.check(&cfg).len(), 2);
        assert!(a.check(&KillConfig::default()).is_empty(), "off by default");
    }
}
