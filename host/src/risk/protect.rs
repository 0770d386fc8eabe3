//! Exchange-side position protection with `/v5/position/trading-stop`: a trailing stop with an
//! optional activation price, or a break-even stop once the position is in profit.
//!
//! [`Protector`] is pure: the runtime feeds it the position (each push and each timer tick),
//! the exchange's stop fields from the `position` pushes, and the outcome of each request; it
//! answers with the request to send. It sends when the position opens or changes, again after
//! a private reconnect (the runtime calls [`Protector::on_reconnect`]), and again when a push
//! shows stops other than the ones we set, at most `max_retries` times in a row before giving
//! up until the position changes or the stream reconnects.
//!
//! Rounding to the tick is never tighter than configured, so rounding alone never fires a stop
//! earlier than asked: a long's stop rounds down and a short's up; the trailing distance rounds
//! up (at least one tick); the activation price rounds away from the entry (a long arms at or
//! above `entry × (1 + activation_bps)`, a short at or below `entry × (1 − activation_bps)`).
//! Break-even progress is measured on the mid of the local book, which the mark tracks.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::json;

use crate::config::ProtectConfig;
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::model::Category;

/// Default of `protect.max_retries`.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Least time between two requests of one symbol, ms (fills move the entry often).
pub const MIN_RESEND_MS: i64 = 500;
/// Bybit's `retCode` for a trading-stop request that changes nothing.
pub const NOT_MODIFIED: i64 = 34040;

const BPS: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// What protects a position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProtectMode {
    /// A trailing stop `distance_bps` of the entry behind the best mark, armed once the mark
    /// is `activation_bps` in profit (at once without it).
    Trailing {
        /// Trailing distance, bps of the entry price.
        distance_bps: Decimal,
        /// Activation distance from the entry, bps.
        activation_bps: Option<Decimal>,
    },
    /// Once the mark is `after_bps` in profit, a stop loss at the entry moved `offset_ticks`
    /// towards the profit side.
    BreakEven {
        /// Profit that arms the stop, bps of the entry price.
        after_bps: Decimal,
        /// Ticks beyond the entry, on the profit side.
        offset_ticks: u32,
    },
}

impl ProtectMode {
    /// The mode a validated [`ProtectConfig`] describes (`None` if it names none).
    pub fn from_config(cfg: &ProtectConfig) -> Option<Self> {
        let d = |v: f64| Decimal::from_str(&v.to_string()).ok();
        match (cfg.trailing_stop_bps, cfg.break_even_after_bps) {
            (Some(t), None) => Some(Self::Trailing {
                distance_bps: d(t)?,
                activation_bps: cfg.activation_bps.and_then(d),
            }),
            (None, Some(b)) => Some(Self::BreakEven {
                after_bps: d(b)?,
                offset_ticks: cfg.break_even_offset_ticks.unwrap_or(0),
            }),
            _ => None,
        }
    }
}

/// The stop fields of one trading-stop request (`None`: not sent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopTarget {
    /// `stopLoss`, a price.
    pub stop_loss: Option<Decimal>,
    /// `trailingStop`, a price distance.
    pub trailing_stop: Option<Decimal>,
    /// `activePrice` of the trailing stop.
    pub active_price: Option<Decimal>,
}

/// How a trading-stop request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// Accepted.
    Ok,
    /// Refused as "not modified" (34040): the exchange already holds these values.
    NotModified,
    /// Failed (the error is logged by the caller).
    Failed,
}

impl SendResult {
    /// Classify a request's outcome.
    pub fn of(r: &Result<(), RestError>) -> Self {
        match r {
            Ok(()) => Self::Ok,
            Err(e) if e.ret_code() == Some(NOT_MODIFIED) => Self::NotModified,
            Err(_) => Self::Failed,
        }
    }
}

/// What [`Protector::poll`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectAction {
    /// Send this request (then report with [`Protector::on_result`]).
    Send(StopTarget),
    /// The exchange kept disagreeing (or refusing): stop re-sending (log it once).
    GiveUp {
        /// Consecutive attempts that failed.
        attempts: u32,
    },
}

/// `p` rounded down to the tick grid.
pub fn floor_tick(p: Decimal, tick: Decimal) -> Decimal {
    ((p / tick).floor() * tick).normalize()
}

/// `p` rounded up to the tick grid.
pub fn ceil_tick(p: Decimal, tick: Decimal) -> Decimal {
    ((p / tick).ceil() * tick).normalize()
}

/// The trailing-stop request for a position of sign `long` entered at `entry`.
pub fn trailing_target(
    long: bool,
    entry: Decimal,
    tick: Decimal,
    distance_bps: Decimal,
    activation_bps: Option<Decimal>,
) -> StopTarget {
    let distance = ceil_tick(entry * distance_bps / BPS, tick).max(tick);
    let active_price = activation_bps.map(|a| {
        if long {
            ceil_tick(entry * (BPS + a) / BPS, tick)
        } else {
            floor_tick(entry * (BPS - a) / BPS, tick)
        }
    });
    StopTarget {
        stop_loss: None,
        trailing_stop: Some(distance),
        active_price,
    }
}

/// Whether `mark` is at least `bps` in profit on a position entered at `entry`.
pub fn in_profit(long: bool, entry: Decimal, mark: Decimal, bps: Decimal) -> bool {
    if long {
        mark >= entry * (BPS + bps) / BPS
    } else {
        mark <= entry * (BPS - bps) / BPS
    }
}

/// The break-even stop price: entry plus `offset_ticks` on the profit side, rounded away from
/// the market (down for a long, up for a short).
pub fn break_even_stop(long: bool, entry: Decimal, tick: Decimal, offset_ticks: u32) -> Decimal {
    let offset = tick * Decimal::from(offset_ticks);
    if long {
        floor_tick(entry + offset, tick)
    } else {
        ceil_tick(entry - offset, tick)
    }
}

/// The protection state of one symbol's position.
#[derive(Clone, Debug)]
pub struct Protector {
    mode: ProtectMode,
    max_retries: u32,
    /// Sign of the tracked position (0: flat).
    side: i8,
    break_even_armed: bool,
    acked: Option<StopTarget>,
    inflight: Option<StopTarget>,
    mismatch: bool,
    failures: u32,
    /// Re-sending was given up for this target.
    gave_up: Option<StopTarget>,
    last_send_ms: i64,
}

impl Protector {
    /// A protector for `mode`, giving up after `max_retries` consecutive failed attempts.
    pub fn new(mode: ProtectMode, max_retries: u32) -> Self {
        Self {
            mode,
            max_retries,
            side: 0,
            break_even_armed: false,
            acked: None,
            inflight: None,
            mismatch: false,
            failures: 0,
            gave_up: None,
            last_send_ms: i64::MIN / 2,
        }
    }

    /// From a validated config (`None` if it names no mode).
    pub fn from_config(cfg: &ProtectConfig) -> Option<Self> {
        Some(Self::new(
            ProtectMode::from_config(cfg)?,
            cfg.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
        ))
    }

    /// The mode.
    pub fn mode(&self) -> ProtectMode {
        self.mode
    }

    /// What the exchange accepted last for the current position.
    pub fn acked(&self) -> Option<StopTarget> {
        self.acked
    }

    /// Whether re-sending was given up for the current stops.
    pub fn gave_up(&self) -> bool {
        self.gave_up.is_some()
    }

    /// The state in a few words for the status line: `trailing`/`break_even`, then `idle`
    /// (flat or not armed yet), `armed sl=… ts=…` (what the exchange holds), `sending` or
    /// `gave_up`.
    pub fn describe(&self) -> String {
        let mode = match self.mode {
            ProtectMode::Trailing { .. } => "trailing",
            ProtectMode::BreakEven { .. } => "break_even",
        };
        let state = if self.gave_up.is_some() {
            "gave_up".to_owned()
        } else if let Some(t) = self.acked {
            let mut s = "armed".to_owned();
            if let Some(p) = t.stop_loss {
                s.push_str(&format!(" sl={p}"));
            }
            if let Some(d) = t.trailing_stop {
                s.push_str(&format!(" ts={d}"));
            }
            if let Some(a) = t.active_price {
                s.push_str(&format!(" active={a}"));
            }
            s
        } else if self.inflight.is_some() {
            "sending".to_owned()
        } else {
            "idle".to_owned()
        };
        format!("{mode} {state}")
    }

    fn reset(&mut self) {
        *self = Self::new(self.mode, self.max_retries);
    }

    /// The stops wanted on a position of signed `size` entered at `entry`, `mark` now.
    fn desired(
        &mut self,
        size: Decimal,
        entry: Decimal,
        mark: Option<Decimal>,
        tick: Decimal,
    ) -> Option<StopTarget> {
        let long = size > Decimal::ZERO;
        if entry <= Decimal::ZERO || tick <= Decimal::ZERO {
            return None;
        }
        match self.mode {
            ProtectMode::Trailing {
                distance_bps,
                activation_bps,
            } => Some(trailing_target(
                long,
                entry,
                tick,
                distance_bps,
                activation_bps,
            )),
            ProtectMode::BreakEven {
                after_bps,
                offset_ticks,
            } => {
                if !self.break_even_armed {
                    self.break_even_armed = in_profit(long, entry, mark?, after_bps);
                }
                if !self.break_even_armed {
                    return None;
                }
                let stop = break_even_stop(long, entry, tick, offset_ticks);
                // The exchange refuses a stop already on the wrong side of the mark; wait.
                let passed = mark.is_some_and(|m| if long { stop >= m } else { stop <= m });
                (!passed).then_some(StopTarget {
                    stop_loss: Some(stop),
                    ..Default::default()
                })
            }
        }
    }

    /// The request to send now for a position of signed `size` entered at `entry`, with the
    /// mark at `mark`, on an instrument of tick `tick`.
    pub fn poll(
        &mut self,
        now_ms: i64,
        size: Decimal,
        entry: Decimal,
        mark: Option<Decimal>,
        tick: Decimal,
    ) -> Option<ProtectAction> {
        if self.inflight.is_some() {
            return None;
        }
        let side = if size > Decimal::ZERO {
            1
        } else if size < Decimal::ZERO {
            -1
        } else {
            0
        };
        if side != self.side {
            // Opened, closed or flipped: a new position, nothing set on it yet.
            self.reset();
            self.side = side;
        }
        if side == 0 {
            return None;
        }
        let want = self.desired(size, entry, mark, tick)?;
        if let Some(given_up) = self.gave_up {
            if given_up == want {
                return None;
            }
            // The position changed: new stops, a fresh count.
            self.gave_up = None;
            self.failures = 0;
            self.mismatch = false;
        }
        if self.acked == Some(want) && !self.mismatch {
            return None;
        }
        if now_ms - self.last_send_ms < MIN_RESEND_MS {
            return None;
        }
        if self.failures > self.max_retries {
            self.gave_up = Some(want);
            return Some(ProtectAction::GiveUp {
                attempts: self.failures,
            });
        }
        self.inflight = Some(want);
        self.last_send_ms = now_ms;
        Some(ProtectAction::Send(want))
    }

    /// The outcome of the request [`Self::poll`] asked for.
    pub fn on_result(&mut self, result: SendResult) {
        let Some(sent) = self.inflight.take() else {
            return;
        };
        match result {
            SendResult::Ok | SendResult::NotModified => {
                self.acked = Some(sent);
                self.mismatch = false;
                if result == SendResult::NotModified {
                    self.failures = 0;
                }
            }
            SendResult::Failed => self.failures += 1,
        }
    }

    /// A `position` push: signed `size` and the exchange's `stop_loss` and `trailing_stop`
    /// (absent or zero: none). A disagreement with what we set asks for a re-send.
    pub fn on_push(
        &mut self,
        size: Decimal,
        stop_loss: Option<Decimal>,
        trailing_stop: Option<Decimal>,
    ) {
        let Some(acked) = self.acked else {
            return;
        };
        if self.inflight.is_some() || size.is_zero() {
            return;
        }
        let differs = |ours: Option<Decimal>, theirs: Option<Decimal>| {
            ours.is_some_and(|v| v != theirs.unwrap_or_default())
        };
        if differs(acked.stop_loss, stop_loss) || differs(acked.trailing_stop, trailing_stop) {
            if !self.mismatch {
                self.failures += 1;
            }
            self.mismatch = true;
        } else {
            self.mismatch = false;
            self.failures = 0;
        }
    }

    /// The private stream reconnected: pushes may have been lost, so set the stops again.
    pub fn on_reconnect(&mut self) {
        self.acked = None;
        self.mismatch = false;
        self.failures = 0;
        self.gave_up = None;
    }
}

/// `POST /v5/position/trading-stop` (one-way mode, `Full` position) with `target`'s fields;
/// a stop loss triggers on the mark price.
pub async fn set_trading_stop(
    client: &RestClient,
    category: Category,
    symbol: &str,
    target: &StopTarget,
) -> Result<(), RestError> {
    let mut body = json!({
        "category": category.as_str(),
        "symbol": symbol,
        "tpslMode": "Full",
        "positionIdx": 0,
    });
    let fields = [
        ("stopLoss", target.stop_loss),
        ("trailingStop", target.trailing_stop),
        ("activePrice", target.active_price),
    ];
    for (key, v) in fields {
        if let Some(v) = v {
            body[key] = json!(v.normalize().to_string());
        }
    }
    if target.stop_loss.is_some() {
        body["slTriggerBy"] = json!("MarkPrice");
    }
    client
        .post_signed::<serde_json::Value>("/v5/position/trading-stop", body.to_string())
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const TICK: Decimal = dec!(0.1);

    fn trailing(activation: Option<Decimal>) -> Protector {
        Protector::new(
            ProtectMode::Trailing {
                distance_bps: dec!(50),
                activation_bps: activation,
            },
            2,
        )
    }

    fn break_even() -> Protector {
        Protector::new(
            ProtectMode::BreakEven {
                after_bps: dec!(30),
                offset_ticks: 2,
            },
            2,
        )
    }

    fn sent(a: Option<ProtectAction>) -> StopTarget {
        match a {
            Some(ProtectAction::Send(t)) => t,
            other => panic!("expected a send, got {other:?}"),
        }
    }

    #[test]
    fn rounding_is_never_tighter_than_configured() {
        // (long, entry, distance, activation, expected distance, expected activation)
        let cases = [
            (
                true,
                dec!(100.05),
                dec!(50),
                dec!(20),
                dec!(0.6),
                dec!(100.3),
            ),
            (
                false,
                dec!(100.05),
                dec!(50),
                dec!(20),
                dec!(0.6),
                dec!(99.8),
            ),
            (true, dec!(100), dec!(1), dec!(10), dec!(0.1), dec!(100.1)),
            (
                false,
                dec!(60000),
                dec!(25),
                dec!(5),
                dec!(150),
                dec!(59970),
            ),
        ];
        for (long, entry, d, a, want_d, want_a) in cases {
            let t = trailing_target(long, entry, TICK, d, Some(a));
            assert_eq!(t.trailing_stop, Some(want_d), "{entry} {long}");
            assert_eq!(t.active_price, Some(want_a), "{entry} {long}");
            assert_eq!(t.stop_loss, None);
        }
        // Break-even: a long's stop rounds down, a short's up.
        assert_eq!(break_even_stop(true, dec!(100.05), TICK, 2), dec!(100.2));
        assert_eq!(break_even_stop(false, dec!(100.05), TICK, 2), dec!(99.9));
        assert_eq!(break_even_stop(true, dec!(100.05), TICK, 0), dec!(100));
        assert_eq!(break_even_stop(false, dec!(100.05), TICK, 0), dec!(100.1));
        assert!(in_profit(true, dec!(100), dec!(100.3), dec!(30)));
        assert!(!in_profit(true, dec!(100), dec!(100.29), dec!(30)));
        assert!(in_profit(false, dec!(100), dec!(99.7), dec!(30)));
        assert!(!in_profit(false, dec!(100), dec!(99.71), dec!(30)));
    }

    #[test]
    fn trailing_is_sent_on_open_and_on_change_only() {
        let mut p = trailing(Some(dec!(20)));
        assert_eq!(p.poll(0, dec!(0), dec!(0), None, TICK), None);
        let t = sent(p.poll(0, dec!(1), dec!(100), None, TICK));
        assert_eq!(t.trailing_stop, Some(dec!(0.5)));
        assert_eq!(t.active_price, Some(dec!(100.2)));
        assert_eq!(
            p.poll(10, dec!(1), dec!(100), None, TICK),
            None,
            "in flight"
        );
        p.on_result(SendResult::Ok);
        assert_eq!(
            p.poll(300, dec!(1), dec!(100), None, TICK),
            None,
            "in place"
        );
        // The position grows: new entry, new activation price, after the resend interval.
        assert_eq!(p.poll(400, dec!(2), dec!(101), None, TICK), None);
        let t = sent(p.poll(600, dec!(2), dec!(101), None, TICK));
        assert_eq!(t.active_price, Some(dec!(101.3)));
        p.on_result(SendResult::Ok);
        // Flip to short: a new position, sent at once.
        let t = sent(p.poll(1_700, dec!(-1), dec!(99), None, TICK));
        assert_eq!(t.active_price, Some(dec!(98.8)));
    }

    #[test]
    fn break_even_waits_for_profit_then_stays() {
        let mut p = break_even();
        assert_eq!(p.poll(0, dec!(1), dec!(100), Some(dec!(100.2)), TICK), None);
        assert_eq!(p.poll(0, dec!(1), dec!(100), None, TICK), None);
        let t = sent(p.poll(0, dec!(1), dec!(100), Some(dec!(100.3)), TICK));
        assert_eq!(t.stop_loss, Some(dec!(100.2)));
        assert_eq!(t.trailing_stop, None);
        p.on_result(SendResult::Ok);
        // Back below the threshold: the stop stays as it is (nothing to send).
        assert_eq!(
            p.poll(1_000, dec!(1), dec!(100), Some(dec!(100.25)), TICK),
            None
        );
        // Short: the mark must fall; a stop already through the mark waits.
        let mut p = break_even();
        assert_eq!(
            p.poll(0, dec!(-1), dec!(100), Some(dec!(99.71)), TICK),
            None
        );
        let t = sent(p.poll(0, dec!(-1), dec!(100), Some(dec!(99.7)), TICK));
        assert_eq!(t.stop_loss, Some(dec!(99.8)));
        let mut p = Protector::new(
            ProtectMode::BreakEven {
                after_bps: dec!(1),
                offset_ticks: 5,
            },
            2,
        );
        assert_eq!(p.poll(0, dec!(1), dec!(100), Some(dec!(100.3)), TICK), None);
        assert!(
            p.poll(0, dec!(1), dec!(100), Some(dec!(100.6)), TICK)
                .is_some()
        );
    }

    #[test]
    fn pushes_are_audited_and_resends_are_bounded() {
        let mut p = trailing(None);
        let t = sent(p.poll(0, dec!(1), dec!(100), None, TICK));
        p.on_result(SendResult::Ok);
        // The push agrees.
        p.on_push(dec!(1), None, Some(dec!(0.5)));
        assert_eq!(p.poll(1_000, dec!(1), dec!(100), None, TICK), None);
        // The exchange lost it: re-send, up to max_retries (2) times in a row, then give up.
        let mut now = 1_000;
        for attempt in 1..=3u32 {
            p.on_push(dec!(1), None, Some(dec!(0)));
            now += MIN_RESEND_MS;
            if attempt <= 2 {
                assert_eq!(sent(p.poll(now, dec!(1), dec!(100), None, TICK)), t);
                p.on_result(SendResult::Ok);
            } else {
                assert_eq!(
                    p.poll(now, dec!(1), dec!(100), None, TICK),
                    Some(ProtectAction::GiveUp { attempts: 3 })
                );
            }
        }
        assert!(p.gave_up());
        assert_eq!(p.poll(now + 10_000, dec!(1), dec!(100), None, TICK), None);
        // A position change means new stops: sent again.
        let t2 = sent(p.poll(now + 10_000, dec!(2), dec!(101), None, TICK));
        assert!(!p.gave_up());
        p.on_result(SendResult::Ok);
        assert_eq!(
            sent(p.poll(now + 20_000, dec!(1), dec!(100), None, TICK)),
            t
        );
        assert_ne!(t, t2);
        p.on_result(SendResult::Ok);
        // Give up again, then a reconnect re-arms.
        for i in 1..=3 {
            p.on_push(dec!(1), None, Some(dec!(0)));
            if let Some(ProtectAction::Send(_)) =
                p.poll(now + 20_000 + i * 1_000, dec!(1), dec!(100), None, TICK)
            {
                p.on_result(SendResult::Ok);
            }
        }
        assert!(p.gave_up());
        // A reconnect re-arms.
        p.on_reconnect();
        assert_eq!(
            sent(p.poll(now + 30_000, dec!(1), dec!(100), None, TICK)),
            t
        );
        p.on_result(SendResult::NotModified);
        assert_eq!(p.acked(), Some(t));
        // Failures count too; a push that agrees resets the count.
        let mut p = trailing(None);
        sent(p.poll(0, dec!(1), dec!(100), None, TICK));
        p.on_result(SendResult::Failed);
        sent(p.poll(500, dec!(1), dec!(100), None, TICK));
        p.on_result(SendResult::Failed);
        sent(p.poll(1_000, dec!(1), dec!(100), None, TICK));
        p.on_result(SendResult::Ok);
        p.on_push(dec!(1), Some(dec!(0)), Some(dec!(0.5)));
        assert_eq!(p.poll(2_000, dec!(1), dec!(100), None, TICK), None);
    }

    #[test]
    fn config_maps_to_modes() {
        let cfg = ProtectConfig {
            trailing_stop_bps: Some(50.0),
            activation_bps: Some(20.0),
            ..Default::default()
        };
        assert_eq!(
            ProtectMode::from_config(&cfg),
            Some(ProtectMode::Trailing {
                distance_bps: dec!(50),
                activation_bps: Some(dec!(20))
            })
        );
        let cfg = ProtectConfig {
            break_even_after_bps: Some(12.5),
            ..Default::default()
        };
        assert_eq!(
            ProtectMode::from_config(&cfg),
            Some(ProtectMode::BreakEven {
                after_bps: dec!(12.5),
                offset_ticks: 0
            })
        );
        assert_eq!(ProtectMode::from_config(&ProtectConfig::default()), None);
    }
}
