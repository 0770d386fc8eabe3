//! The per-symbol registry of working orders, keyed by orderLinkId and by orderId once known.

use super::{AckOutcome, OrderState, OrderUpdate, RequestKind, WorkingOrder};
use crate::model::OrderLinkId;
use crate::router::RouterError;
use std::collections::HashMap;
use std::sync::Arc;

/// What happened to an update given to [`WorkingOrders::apply_update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Applied.
    Applied,
    /// Older than what is known; ignored (filled quantity still raised).
    Stale,
    /// Not one of the tracked orders.
    Unknown,
}

/// Keys are our own ids and the exchange's: a fast hash (still seeded per map) is enough.
type Hasher = foldhash::fast::RandomState;

/// The working orders of one symbol, keyed by orderLinkId (and by orderId once known).
#[derive(Debug, Clone, Default)]
pub struct WorkingOrders {
    by_link: HashMap<OrderLinkId, WorkingOrder, Hasher>,
    link_by_order_id: HashMap<Arc<str>, OrderLinkId, Hasher>,
}

impl WorkingOrders {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Track a new order (create just sent).
    pub fn insert(&mut self, order: WorkingOrder) -> Result<(), RouterError> {
        if self.by_link.contains_key(&order.link_id) {
            return Err(RouterError::DuplicateOrder(order.link_id.to_string()));
        }
        if let Some(id) = &order.order_id {
            self.link_by_order_id
                .insert(id.clone(), order.link_id.clone());
        }
        self.by_link.insert(order.link_id.clone(), order);
        Ok(())
    }

    /// The order with this orderLinkId.
    pub fn get(&self, link_id: &str) -> Option<&WorkingOrder> {
        self.by_link.get(link_id)
    }

    /// Mutable access by orderLinkId.
    pub fn get_mut(&mut self, link_id: &str) -> Option<&mut WorkingOrder> {
        self.by_link.get_mut(link_id)
    }

    /// The order with this exchange orderId.
    pub fn get_by_order_id(&self, order_id: &str) -> Option<&WorkingOrder> {
        self.by_link.get(self.link_by_order_id.get(order_id)?)
    }

    /// Number of tracked orders (including terminal ones not yet pruned).
    pub fn len(&self) -> usize {
        self.by_link.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.by_link.is_empty()
    }

    /// Every tracked order, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &WorkingOrder> {
        self.by_link.values()
    }

    /// Orders that are not terminal.
    pub fn open(&self) -> impl Iterator<Item = &WorkingOrder> {
        self.iter().filter(|o| !o.state().is_terminal())
    }

    /// Apply a stream update, found by orderLinkId, else by orderId.
    pub fn apply_update(&mut self, u: &OrderUpdate) -> UpdateOutcome {
        let key = match self.by_link.get_key_value(u.order_link_id.as_str()) {
            Some((k, _)) => Some(k.clone()),
            None => self.link_by_order_id.get(u.order_id.as_str()).cloned(),
        };
        let Some(order) = key.and_then(|k| self.by_link.get_mut(k.as_str())) else {
            return UpdateOutcome::Unknown;
        };
        let applied = order.apply_update(u);
        if !u.order_id.is_empty() && !self.link_by_order_id.contains_key(u.order_id.as_str()) {
            self.link_by_order_id
                .insert(u.order_id.as_str().into(), order.link_id.clone());
        }
        if applied {
            UpdateOutcome::Applied
        } else {
            UpdateOutcome::Stale
        }
    }

    /// Apply an ack to the order `link_id`.
    pub fn apply_ack(
        &mut self,
        link_id: &str,
        kind: RequestKind,
        outcome: &AckOutcome,
    ) -> Result<(), RouterError> {
        let order = self
            .by_link
            .get_mut(link_id)
            .ok_or_else(|| RouterError::UnknownOrder(link_id.to_owned()))?;
        order.apply_ack(kind, outcome);
        if let Some(id) = &order.order_id
            && !self.link_by_order_id.contains_key(id)
        {
            self.link_by_order_id
                .insert(id.clone(), order.link_id.clone());
        }
        Ok(())
    }

    /// Mark every request older than `timeout_ms` as outcome-unknown; returns those orders' ids.
    pub fn expire_pending(&mut self, now_ms: i64, timeout_ms: i64) -> Vec<OrderLinkId> {
        self.by_link
            .values_mut()
            .filter_map(|o| {
                o.expire_pending(now_ms, timeout_ms)
                    .then(|| o.link_id.clone())
            })
            .collect()
    }

    /// Orders that need a REST query before the router may act on them again.
    pub fn needing_reconcile(&self) -> impl Iterator<Item = &WorkingOrder> {
        self.iter().filter(|o| o.state() == OrderState::Unknown)
    }

    /// Remove and return orders whose terminal state the exchange has reported. Orders only
    /// inferred terminal from an ack (cancel accepted) stay until their final push arrives, so
    /// late fills are still attributed; they no longer count as open.
    pub fn prune_terminal(&mut self) -> Vec<WorkingOrder> {
        self.prune(|o| o.terminal_reported())
    }

    /// Remove and return every terminal order, reported or inferred (e.g. after reconciliation).
    pub fn prune_all_terminal(&mut self) -> Vec<WorkingOrder> {
        self.prune(|_| true)
    }

    fn prune(&mut self, also: impl Fn(&WorkingOrder) -> bool) -> Vec<WorkingOrder> {
        let done: Vec<OrderLinkId> = self
            .by_link
            .values()
            .filter(|o| o.state().is_terminal() && also(o))
            .map(|o| o.link_id.clone())
            .collect();
        let mut out = Vec::with_capacity(done.len());
        for id in done {
            if let Some(o) = self.by_link.remove(&id) {
                if let Some(oid) = &o.order_id {
                    self.link_by_order_id.remove(oid);
                }
                out.push(o);
            }
        }
        out
    }
}
