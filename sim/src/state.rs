//! State shared by the server tasks: the engine, limiter, record, topic registry, faults.

use crate::config::{Category, LimitConfig, SimConfig};
use crate::engine::{BOOK_DEPTHS, Engine};
use crate::ratelimit::Limiter;
use crate::record::Record;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Kind of a public topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// `orderbook.{BOOK_DEPTHS[k]}`.
    Book(usize),
    /// `publicTrade`.
    Trade,
    /// `tickers`.
    Ticker,
    /// `kline.{INTERVALS[i]}`.
    Kline(usize),
}

/// Faults injected through `POST /sim/fault`.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer the next N REST requests with this retCode (10006, 10016) or HTTP status (≥500).
    pub fail_next: u32,
    /// retCode or HTTP status for `fail_next`.
    pub fail_code: i64,
    /// Reject the next N orders with 110007... (retCode in `reject_code`).
    pub reject_orders: u32,
    /// Delay every REST response by this many ms.
    pub delay_ms: u64,
}

/// Shared server state.
#[derive(Debug)]
pub struct Shared {
    /// The exchange. A `parking_lot` mutex so the market thread can hand it over fairly to
    /// a waiting request between slices of its work ([`parking_lot::MutexGuard::unlock_fair`]).
    pub engine: parking_lot::Mutex<Engine>,
    /// Rate limiter.
    pub limiter: Mutex<Limiter>,
    /// Request record.
    pub record: Mutex<Record>,
    /// Limits.
    pub limits: LimitConfig,
    /// api key → (account index, secret).
    pub keys: HashMap<String, (usize, String)>,
    /// (category, topic) → (market index, kind).
    pub topics: HashMap<(Category, String), (usize, TopicKind)>,
    /// Connection id counter.
    pub conn_seq: AtomicU64,
    /// Injected faults.
    pub faults: Mutex<Faults>,
    /// Clock skew shared with the engine (read without locking it).
    pub clock_skew: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// See [`SimConfig::ws_ack_delay_ms`].
    pub ws_ack_delay: std::time::Duration,
    /// Close WS connections: (generation, mask of [`WS_PUBLIC`]/[`WS_PRIVATE`]/[`WS_TRADE`]).
    pub ws_kill: tokio::sync::watch::Sender<(u64, u8)>,
    /// Public streams stay open but publish nothing (fault injection).
    pub public_stale: AtomicBool,
    /// Private streams stay open but push nothing (fault injection).
    pub private_stale: AtomicBool,
    /// Private stream auth is refused (fault injection: the stream stays down).
    pub private_refused: AtomicBool,
    /// DCP: (account, product) → (live connections subscribed to `dcp.*`, epoch).
    pub dcp_live: Mutex<HashMap<(usize, Category), (u32, u64)>>,
    /// DCP window in seconds per (account, product); default 10.
    pub dcp_window_s: Mutex<HashMap<(usize, Category), i64>>,
}

/// Mask bit: public connections.
pub const WS_PUBLIC: u8 = 1;
/// Mask bit: private connections.
pub const WS_PRIVATE: u8 = 2;
/// Mask bit: trade connections.
pub const WS_TRADE: u8 = 4;

impl Shared {
    /// Build from config.
    pub fn new(cfg: &SimConfig) -> Self {
        let engine = Engine::new(cfg);
        let clock_skew = engine.clock_skew_ms.clone();
        let mut topics = HashMap::new();
        for (mi, m) in engine.markets.iter().enumerate() {
            let c = m.inst.category;
            let s = &m.inst.symbol;
            for (k, d) in BOOK_DEPTHS.iter().enumerate() {
                topics.insert((c, format!("orderbook.{d}.{s}")), (mi, TopicKind::Book(k)));
            }
            topics.insert((c, format!("publicTrade.{s}")), (mi, TopicKind::Trade));
            topics.insert((c, format!("tickers.{s}")), (mi, TopicKind::Ticker));
            for (i, iv) in crate::engine::kline::INTERVALS.iter().enumerate() {
                topics.insert((c, format!("kline.{iv}.{s}")), (mi, TopicKind::Kline(i)));
            }
        }
        let keys = cfg
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.api_key.clone(), (i, a.api_secret.clone())))
            .collect();
        Shared {
            engine: parking_lot::Mutex::new(engine),
            limiter: Mutex::new(Limiter::default()),
            record: Mutex::new(Record::default()),
            limits: cfg.limits.clone(),
            keys,
            topics,
            conn_seq: AtomicU64::new(1),
            faults: Mutex::new(Faults::default()),
            clock_skew,
            ws_ack_delay: std::time::Duration::from_millis(cfg.ws_ack_delay_ms),
            ws_kill: tokio::sync::watch::channel((0, 0)).0,
            public_stale: AtomicBool::new(false),
            private_stale: AtomicBool::new(false),
            private_refused: AtomicBool::new(false),
            dcp_live: Mutex::new(HashMap::new()),
            dcp_window_s: Mutex::new(HashMap::new()),
        }
    }

    /// Lock the engine (no poisoning: a panicked holder must not take the sim down).
    pub fn engine(&self) -> parking_lot::MutexGuard<'_, Engine> {
        self.engine.lock()
    }

    /// Lock the record.
    pub fn record(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lock the limiter.
    pub fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lock the faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new Bybit-looking connection id.
    pub fn conn_id(&self) -> String {
        let n = self.conn_seq.fetch_add(1, Ordering::Relaxed);
        format!("sim{n:016x}-{n:x}")
    }

    /// Close every connection of the kinds in `mask`.
    pub fn close_ws(&self, mask: u8) {
        self.ws_kill.send_modify(|(g, m)| {
            *g += 1;
            *m = mask;
        });
    }

    /// A private connection subscribed `dcp.*` for (account, product).
    pub fn dcp_attach(&self, acct: usize, cat: Category) {
        let mut m = self.dcp_live.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry((acct, cat)).or_insert((0, 0));
        e.0 += 1;
        e.1 += 1;
    }

    /// That connection is gone: when none is left for the DCP window, cancel the product's
    /// orders with `CancelByDCP`.
    pub fn dcp_detach(self: &std::sync::Arc<Self>, acct: usize, cat: Category) {
        let epoch = {
            let mut m = self.dcp_live.lock().unwrap_or_else(|e| e.into_inner());
            let e = m.entry((acct, cat)).or_insert((1, 0));
            e.0 = e.0.saturating_sub(1);
            if e.0 > 0 {
                return;
            }
            e.1
        };
        let window = self
            .dcp_window_s
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(acct, cat))
            .copied()
            .unwrap_or(10);
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(window.max(0) as u64)).await;
            let still_gone = shared
                .dcp_live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&(acct, cat))
                .is_some_and(|(n, ep)| *n == 0 && *ep == epoch);
            if still_gone {
                shared.engine().cancel_all(acct, cat, None, "CancelByDCP");
            }
        });
    }

    /// Server time, ms.
    pub fn now_ms(&self) -> i64 {
        crate::engine::wall_ms() + self.clock_skew.load(Ordering::Relaxed)
    }
}
