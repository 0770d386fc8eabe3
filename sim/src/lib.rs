//! A Bybit V5 wire-compatible simulated exchange on loopback.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = sim::Sim::start(sim::SimConfig::default()).await?;
//! println!("{}", sim.rest_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

#![recursion_limit = "256"]

pub mod auth;
pub mod config;
pub mod engine;
pub mod market;
pub mod ratelimit;
pub mod record;
pub mod rest;
pub mod server;
pub mod state;
pub mod ws;

pub use config::{AccountConfig, Category, FeeConfig, LimitConfig, SimConfig, SymbolConfig};
pub use engine::types::{Fill, Order, OrderStatus, Position, Side};
pub use record::{AccountRecord, RequestRecord};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

/// Entry point.
pub struct Sim;

/// A running simulator: addresses, shutdown, and the record for tests.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    generator: Option<std::thread::JoinHandle<()>>,
}

/// Wallet figures of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletView {
    /// USDT wallet balance (after realised PnL and fees).
    pub usdt: Decimal,
    /// Unrealised PnL at the current mark.
    pub unrealised: Decimal,
    /// Equity = wallet + unrealised.
    pub equity: Decimal,
    /// Spot coin balances other than USDT.
    pub coins: Vec<(String, Decimal)>,
}

impl Sim {
    /// Bind `cfg.listen` (default `127.0.0.1:0`), start serving and generating market data.
    pub async fn start(cfg: SimConfig) -> anyhow::Result<SimHandle> {
        cfg.validate()?;
        let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&cfg));
        let stop = Arc::new(AtomicBool::new(false));
        let generator = server::spawn_generator(shared.clone(), stop.clone());
        for (mi, s) in cfg.symbols.iter().enumerate() {
            if let Some(path) = &s.replay_file {
                market::replay::spawn(
                    shared.clone(),
                    mi,
                    path.clone(),
                    s.replay_speed,
                    stop.clone(),
                )?;
            }
        }
        let app =
            server::router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimHandle {
            addr,
            shared,
            stop,
            shutdown_tx: Some(tx),
            server: Some(server),
            generator: Some(generator),
        })
    }
}

impl SimHandle {
    /// Bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `ws://…/v5/public/linear`.
    pub fn public_linear_url(&self) -> String {
        format!("ws://{}/v5/public/linear", self.addr)
    }
    /// `ws://…/v5/public/spot`.
    pub fn public_spot_url(&self) -> String {
        format!("ws://{}/v5/public/spot", self.addr)
    }
    /// `ws://…/v5/private`.
    pub fn private_url(&self) -> String {
        format!("ws://{}/v5/private", self.addr)
    }
    /// `ws://…/v5/trade`.
    pub fn trade_url(&self) -> String {
        format!("ws://{}/v5/trade", self.addr)
    }
    /// The ready line the binary prints, keys in the documented order:
    /// `{"rest","public_linear","public_spot","private","trade"}`.
    pub fn urls_json(&self) -> String {
        let q = |s: String| serde_json::Value::String(s).to_string();
        format!(
            "{{\"rest\":{},\"public_linear\":{},\"public_spot\":{},\"private\":{},\"trade\":{}}}",
            q(self.rest_url()),
            q(self.public_linear_url()),
            q(self.public_spot_url()),
            q(self.private_url()),
            q(self.trade_url())
        )
    }

    fn acct(&self, api_key: &str) -> Option<usize> {
        self.shared.keys.get(api_key).map(|(i, _)| *i)
    }

    /// Open orders of an account (all symbols), oldest first.
    pub fn open_orders(&self, api_key: &str) -> Vec<Order> {
        let Some(a) = self.acct(api_key) else {
            return Vec::new();
        };
        let e = self.shared.engine();
        let mut v: Vec<Order> = e.accounts[a].open.values().cloned().collect();
        v.sort_by_key(|o| o.priority);
        v
    }
    /// Closed orders (filled, cancelled, rejected), oldest first.
    pub fn closed_orders(&self, api_key: &str) -> Vec<Order> {
        let Some(a) = self.acct(api_key) else {
            return Vec::new();
        };
        self.shared.engine().accounts[a]
            .closed
            .iter()
            .cloned()
            .collect()
    }
    /// Every fill of an account, oldest first.
    pub fn fills(&self, api_key: &str) -> Vec<Fill> {
        let Some(a) = self.acct(api_key) else {
            return Vec::new();
        };
        self.shared.engine().accounts[a].fills.clone()
    }
    /// Position on a linear symbol (flat default if none).
    pub fn position(&self, api_key: &str, symbol: &str) -> Position {
        let Some(a) = self.acct(api_key) else {
            return Position::default();
        };
        self.shared.engine().accounts[a]
            .positions
            .get(symbol)
            .cloned()
            .unwrap_or_default()
    }
    /// Wallet of an account.
    pub fn wallet(&self, api_key: &str) -> Option<WalletView> {
        let a = self.acct(api_key)?;
        let e = self.shared.engine();
        let acc = &e.accounts[a];
        let upl = acc.unrealised(&|s| e.mark(s));
        let mut coins: Vec<_> = acc.coins.iter().map(|(c, b)| (c.clone(), *b)).collect();
        coins.sort();
        Some(WalletView {
            usdt: acc.usdt,
            unrealised: upl,
            equity: acc.usdt + upl,
            coins,
        })
    }
    /// Requests received from an account (by API key; `""` = unauthenticated/unknown).
    pub fn requests(&self, api_key: &str) -> Vec<RequestRecord> {
        self.shared
            .record()
            .accounts
            .get(api_key)
            .map(|r| r.requests.clone())
            .unwrap_or_default()
    }
    /// Requests (or batch items) answered with 10006 for an account.
    pub fn rate_limit_rejections(&self, api_key: &str) -> u64 {
        self.shared
            .record()
            .accounts
            .get(api_key)
            .map(|r| r.rate_limit_rejections)
            .unwrap_or(0)
    }
    /// Current mid of a symbol (on the tick grid).
    pub fn mid(&self, category: Category, symbol: &str) -> Option<Decimal> {
        let e = self.shared.engine();
        e.market(category, symbol).map(|i| e.mark_of_market(i))
    }
    /// Move the synthetic mid (and so the mark) of a symbol to `price`; the next market step
    /// reshapes the displayed book around it and checks position stops against it. With
    /// `volatility = 0` it then stays there, so a test drives the price path step by step.
    /// Returns the symbol's step count at the change (wait for [`Self::market_steps`] to pass
    /// it), `None` if the symbol is unknown.
    pub fn set_mid(&self, category: Category, symbol: &str, price: Decimal) -> Option<u64> {
        let mut e = self.shared.engine();
        let i = e.market(category, symbol)?;
        let m = &mut e.markets[i];
        m.model.mid_ticks = (price / m.inst.tick).to_f64()?;
        Some(m.steps)
    }
    /// Market steps of a symbol so far (each one moves the model, matches and checks stops).
    pub fn market_steps(&self, category: Category, symbol: &str) -> Option<u64> {
        let e = self.shared.engine();
        e.market(category, symbol).map(|i| e.markets[i].steps)
    }
    /// Pause or resume fills of resting orders by the market (fault injection).
    pub fn pause_matching(&self, paused: bool) {
        self.shared.engine().matching_paused = paused;
    }
    /// Skew the server clock (fault injection).
    pub fn set_clock_skew_ms(&self, ms: i64) {
        self.shared.clock_skew.store(ms, Ordering::Relaxed);
    }
    /// Wait until `cond` holds for this handle, re-checking after each account change (and
    /// at least every 50 ms); false on timeout.
    pub async fn wait_until(&self, timeout: Duration, cond: impl Fn(&SimHandle) -> bool) -> bool {
        let notify = self.shared.engine().notify.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = notify.notified();
            if cond(self) {
                return true;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(wait, notified).await;
        }
    }
    /// Stop serving and generating; waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(s) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
        if let Some(g) = self.generator.take() {
            let _ = tokio::task::spawn_blocking(move || g.join()).await;
        }
    }
    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Open WebSockets would hold the graceful shutdown: close them.
        self.shared
            .close_ws(state::WS_PUBLIC | state::WS_PRIVATE | state::WS_TRADE);
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}
