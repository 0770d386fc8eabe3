//! Reconciliation after a private reconnect: pushes may have been lost while the stream was
//! down, so every symbol reads its open orders and position over REST before it quotes again.
//! Orders of ours the exchange shows but we do not track are cancelled; tracked orders the
//! exchange no longer shows are closed; orders with a request in flight are queried one by one
//! once their answer is due.

use std::sync::Arc;

use tracing::{info, warn};

use super::rest::{PositionState, fetch_position, open_orders};
use super::{LoopEvent, Runtime};
use crate::exchange::bybit::messages::BybitOrderMsg;
use crate::router::state::OrderState;

/// A symbol's exchange state read over REST.
#[derive(Debug)]
pub struct SyncResult {
    /// Every open order of the account on the symbol.
    pub orders: Vec<BybitOrderMsg>,
    /// The position.
    pub position: PositionState,
}

impl Runtime {
    /// Hold every symbol's order flow and read its state over REST.
    pub(super) fn sync_all(&mut self) {
        for i in 0..self.symbols.len() {
            self.symbols[i].syncing = true;
            self.spawn_sync(i);
        }
    }

    /// (Re)start the REST read of symbol `i` unless one is running.
    pub(super) fn spawn_sync(&mut self, i: usize) {
        let s = &self.symbols[i];
        if !self.syncs_inflight.insert(s.symbol.clone()) {
            return;
        }
        let client = self.client.clone();
        let tx = self.events_tx.clone();
        let (category, symbol) = (s.instrument.category, s.symbol.clone());
        self.inflight.spawn(async move {
            let result = async {
                let orders = open_orders(&client, category, &symbol).await?;
                let position = fetch_position(&client, category, &symbol).await?;
                Ok::<_, crate::exchange::bybit::rest::RestError>(SyncResult { orders, position })
            }
            .await
            .map_err(|e| e.to_string());
            let _ = tx.send(LoopEvent::Synced { symbol, result }).await;
        });
    }

    /// Apply a symbol's REST state and let it quote again.
    pub(super) fn on_synced(&mut self, symbol: Arc<str>, result: Result<SyncResult, String>) {
        self.syncs_inflight.remove(&symbol);
        let Some(&i) = self.index.get(&symbol) else {
            return;
        };
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                // Still holding; the timer retries.
                warn!(%symbol, error = %e, "reconciliation read failed; retrying");
                return;
            }
        };
        let mut orphans = Vec::new();
        let mut to_query = Vec::new();
        {
            let s = &mut self.symbols[i];
            for row in &r.orders {
                if let Some(orphan) = s.on_order(row) {
                    orphans.push(orphan);
                }
            }
            let listed: std::collections::HashSet<&str> =
                r.orders.iter().map(|o| o.order_link_id.as_str()).collect();
            let missing: Vec<_> = s
                .working
                .open()
                .filter(|o| !listed.contains(o.link_id.as_str()))
                .map(|o| (o.link_id.clone(), o.state()))
                .collect();
            let mut closed = 0;
            for (id, state) in missing {
                match state {
                    // Resting here, absent there: filled or cancelled while we were deaf.
                    OrderState::New | OrderState::PartiallyFilled => {
                        if let Some(o) = s.working.get_mut(id.as_str()) {
                            o.reconcile(None);
                            closed += 1;
                        }
                    }
                    // A request is in flight: ask about this order once it is answered.
                    _ => to_query.push(id),
                }
            }
            s.on_position(r.position);
            s.syncing = false;
            s.quote_dirty = true;
            s.route_dirty = true;
            info!(%symbol, open = r.orders.len(), closed, orphans = orphans.len(), position = %r.position.size, "reconciled after reconnect; quoting again");
        }
        for u in orphans {
            self.on_orphan(i, u);
        }
        for id in to_query {
            self.spawn_reconcile(i, id);
        }
    }
}
