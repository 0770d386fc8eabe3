//! Account equity from wallet pushes: peak, drawdown from the peak, and loss since the start
//! of the UTC day. Pure logic; the runtime feeds it and asks [`AccountRisk::check`].

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
}

impl AccountRisk {
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
