//! The runtime's shutdown steps: wait for in-flight requests, cancel everything, confirm,
//! drain the last private pushes.

use std::time::Duration;

use tracing::{info, warn};

use super::rest::open_orders;
use super::{LoopEvent, Runtime, RuntimeError, now_ms};
use crate::router::io;

/// Time added to the shutdown's bound per symbol that needs a cancel-all.
const CANCEL_PACE: Duration = Duration::from_millis(150);

/// Pause after a cancel-all refused for the rate limit (10006) before sending it again.
const RATE_LIMITED_PAUSE: Duration = Duration::from_millis(200);

impl Runtime {
    /// Shutdown: stop quoting, wait (up to `deadline`) for in-flight requests, cancel every
    /// order of every symbol that may have some open with cancel-all (pacing itself when the
    /// rate limit refuses), and wait (up to `deadline` again, plus [`CANCEL_PACE`] per such
    /// symbol) until the exchange shows none of ours open; then apply the last private pushes.
    pub async fn cancel_everything(&mut self, deadline: Duration) -> Result<(), RuntimeError> {
        self.stopping = true;
        // In-flight creates must land before cancel-all, or they would outlive it (each
        // request is bounded by the REST client's timeout).
        let _ = tokio::time::timeout(deadline, async {
            while self.inflight.join_next().await.is_some() {}
        })
        .await;
        self.inflight.abort_all();
        while let Ok(ev) = self.events_rx.try_recv() {
            self.handle_closing(ev);
        }
        let prefix = format!("{}-", self.cfg.prefix);
        // Only the symbols that may have orders of ours open: with hundreds of symbols, a
        // cancel-all and a query for each would take far longer than the order rate allows.
        let mut targets: Vec<(crate::model::Category, std::sync::Arc<str>)> = self
            .symbols
            .iter()
            .filter(|s| s.may_have_open_orders())
            .map(|s| (s.instrument.category, s.symbol.clone()))
            .collect();
        // The bound grows with the work: Bybit allows about 10 order requests a second.
        let until = tokio::time::Instant::now() + deadline + CANCEL_PACE * targets.len() as u32;
        info!(symbols = targets.len(), "cancelling every order of ours");
        loop {
            let mut i = 0;
            while i < targets.len() {
                let (category, symbol) = &targets[i];
                match io::cancel_all(&self.client, *category, symbol).await {
                    Ok(n) => info!(%symbol, cancelled = n, "cancel-all sent"),
                    Err(e) if e.is_rate_limited() && tokio::time::Instant::now() < until => {
                        // Out of budget: wait and send the same one again, rather than spend
                        // the rest of the list on refusals.
                        tokio::time::sleep(RATE_LIMITED_PAUSE).await;
                        continue;
                    }
                    Err(e) => warn!(%symbol, error = %e, "cancel-all failed"),
                }
                i += 1;
            }
            let mut left = 0;
            let mut still_open = Vec::new();
            for (category, symbol) in targets {
                let open = match open_orders(&self.client, category, &symbol).await {
                    Ok(rows) => rows
                        .iter()
                        .filter(|o| o.order_link_id.starts_with(&prefix))
                        .count(),
                    Err(e) => {
                        warn!(%symbol, error = %e, "open-order query failed");
                        1
                    }
                };
                if open > 0 {
                    left += open;
                    still_open.push((category, symbol));
                }
            }
            targets = still_open;
            if left == 0 {
                info!("no orders of ours left open");
                self.drain_private(Duration::from_millis(300), Duration::from_secs(2))
                    .await;
                return Ok(());
            }
            if tokio::time::Instant::now() >= until {
                return Err(RuntimeError::OrdersLeftOpen(left));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Apply the private pushes still arriving (last fills and positions) until none came for
    /// `idle` or `max` has passed.
    async fn drain_private(&mut self, idle: Duration, max: Duration) {
        let until = tokio::time::Instant::now() + max;
        let mut quiet_at = tokio::time::Instant::now() + idle;
        while let Ok(Some(ev)) =
            tokio::time::timeout_at(quiet_at.min(until), self.events_rx.recv()).await
        {
            if matches!(ev, LoopEvent::Private(_)) {
                quiet_at = tokio::time::Instant::now() + idle;
            }
            self.handle_closing(ev);
        }
    }

    /// While closing: order state, fills and positions still count; market data does not.
    fn handle_closing(&mut self, ev: LoopEvent) {
        match ev {
            LoopEvent::Private(ev) => self.on_private(ev),
            LoopEvent::Sent(out) => self.on_sent(out, now_ms()),
            LoopEvent::Public(..)
            | LoopEvent::Reconciled { .. }
            | LoopEvent::Synced { .. }
            | LoopEvent::ClearKill(_)
            | LoopEvent::Kill(..)
            | LoopEvent::Flattened { .. }
            | LoopEvent::Protected { .. }
            | LoopEvent::Derisked { .. } => {}
            LoopEvent::Reload(batch) => batch.refuse("the host is shutting down"),
            LoopEvent::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
        }
    }
}
