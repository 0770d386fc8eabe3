//! Bybit V5 WebSocket streams.
//!
//! [`public`] runs one public connection for a set of symbols (`orderbook.{depth}`,
//! `publicTrade`, `tickers`): application ping, reconnect with backoff and jitter, parsed events
//! on a bounded channel. [`private`] runs the account stream (auth, `order`, `execution`,
//! `position`, `wallet`). [`trade`] sends orders over the trade stream (auth, `order.*` ops
//! correlated by `reqId`, ping, reconnect).

pub mod private;
pub mod public;
pub mod trade;

pub use private::{
    PrivateStreamConfig, PrivateStreamEvent, PrivateStreamHandle, PrivateStreamTask,
};
pub use public::{
    PublicStreamCommand, PublicStreamConfig, PublicStreamEvent, PublicStreamHandle,
    PublicStreamTask, WsError, subscribe_requests,
};
pub use trade::{
    PendingRequest, TradeCommand, TradeError, TradeLink, TradeStreamConfig, TradeStreamHandle,
    TradeStreamTask,
};

use std::time::Duration;

/// Exponential backoff with jitter for reconnects.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    rng: u64,
}

impl Backoff {
    /// Start at `initial`, double per failure up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self {
            initial,
            max,
            current: initial,
            rng: seed | 1,
        }
    }

    /// The next delay: the current step scaled by a random factor in [0.5, 1.0), then the
    /// step doubles (capped).
    pub fn next_delay(&mut self) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let jitter = 0.5 + (self.rng % 1000) as f64 / 2000.0;
        let delay = self.current.mul_f64(jitter);
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// Back to the initial step (after a connection that worked).
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let mut step = 100u64;
        for _ in 0..8 {
            let d = b.next_delay().as_millis() as u64;
            assert!(
                d >= step / 2 && d < step,
                "{d} not in [{}, {step})",
                step / 2
            );
            step = (step * 2).min(1000);
        }
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(100));
    }
}
