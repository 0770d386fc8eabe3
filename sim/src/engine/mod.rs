//! The exchange state: markets (displayed book + synthetic generator + resting orders) and
//! accounts. One `Engine` sits behind a `std::sync::Mutex`; operations are short and never
//! await. Public and private messages are sent on broadcast channels while the lock is held
//! (non-blocking), serialised once per message.

pub mod account;
pub mod book;
pub mod flow;
pub mod kline;
pub mod matching;
pub mod outbox;
pub mod publish;
pub mod render;
pub mod replay;
pub mod request;
pub mod triggers;
pub mod types;

use crate::config::{Category, FeeConfig, LimitConfig, SimConfig};
use crate::market::synthetic::{ModelParams, SyntheticModel};
use account::Account;
/// Cheaply clonable UTF-8 text (shared by every subscriber of a message).
pub use axum::extract::ws::Utf8Bytes;
use book::{BookView, DisplayedBook};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::{Notify, broadcast};
use types::Instrument;

/// Orderbook depths served on `orderbook.{depth}.{symbol}`.
pub const BOOK_DEPTHS: [usize; 3] = [1, 50, 200];

/// Capacity of each public topic channel; a lagging subscriber gets a fresh snapshot.
const TOPIC_CAPACITY: usize = 512;

/// A public message, serialised once; `u` orders book messages for snapshot hand-off.
#[derive(Debug, Clone)]
pub struct PublicMsg {
    /// Update id (book `u`, ticker `cs`, or a counter).
    pub u: u64,
    /// The JSON text.
    pub text: Utf8Bytes,
}

/// A private push for one account: topic and the full JSON text.
#[derive(Debug, Clone)]
pub struct PrivateMsg {
    /// `order`, `execution`, `execution.fast`, `position`, `wallet`.
    pub topic: &'static str,
    /// The JSON text.
    pub text: Utf8Bytes,
}

/// Broadcast senders of one market's public topics.
#[derive(Debug)]
pub struct MarketTopics {
    /// `orderbook.{1,50,200}`.
    pub books: [broadcast::Sender<PublicMsg>; 3],
    /// `publicTrade`.
    pub trade: broadcast::Sender<PublicMsg>,
    /// `tickers`.
    pub ticker: broadcast::Sender<PublicMsg>,
    /// `kline.{interval}` (all intervals; `u` = interval index).
    pub kline: broadcast::Sender<PublicMsg>,
}

/// A trade print on the public tape.
#[derive(Debug, Clone)]
pub struct TradePrint {
    /// Time ms.
    pub time_ms: i64,
    /// Taker side.
    pub taker_buy: bool,
    /// Price ticks.
    pub px: i64,
    /// Size lots.
    pub lots: i64,
    /// Trade id.
    pub id: String,
    /// Tick direction.
    pub tick_dir: &'static str,
    /// Sequence.
    pub seq: i64,
}

/// One symbol.
#[derive(Debug)]
pub struct Market {
    /// Instrument spec.
    pub inst: Instrument,
    /// Synthetic generator.
    pub model: SyntheticModel,
    /// Displayed book.
    pub book: DisplayedBook,
    /// Topic senders.
    pub topics: Arc<MarketTopics>,
    /// Last published view per depth (None = no subscribers).
    pub views: [Option<BookView>; 3],
    /// Update id per depth.
    pub u: [u64; 3],
    /// Cross sequence.
    pub seq: i64,
    /// Resting bids of accounts: (price ticks, priority) → (account, order id).
    pub resting_bids: BTreeMap<(i64, u64), (usize, String)>,
    /// Resting asks of accounts.
    pub resting_asks: BTreeMap<(i64, u64), (usize, String)>,
    /// Trades not yet published.
    pub pending_trades: Vec<TradePrint>,
    /// Recent trades for REST (newest last).
    pub recent_trades: VecDeque<TradePrint>,
    /// Last trade price in ticks.
    pub last_px: i64,
    /// Last tick direction.
    pub tick_dir: &'static str,
    /// Ticker fields as last published.
    pub ticker_last: Vec<(&'static str, String)>,
    /// Ticker cross sequence.
    pub ticker_cs: u64,
    /// 24h volume in lots.
    pub volume_lots: i64,
    /// 24h turnover.
    pub turnover: Decimal,
    /// High / low in ticks.
    pub high_px: i64,
    /// Low in ticks.
    pub low_px: i64,
    /// Opening price (prevPrice24h) in ticks.
    pub open_px: i64,
    /// Steps taken.
    pub steps: u64,
    /// Steps per second.
    pub rate_hz: f64,
    /// Driven by a replay file instead of the synthetic generator.
    pub replay: bool,
    /// Minute candles: (start ms, open, high, low, close ticks, volume lots, turnover).
    pub candles: VecDeque<Candle>,
    /// Start of the last published candle per kline interval.
    pub kline_last_start: [i64; 13],
}

/// A one-minute candle.
#[derive(Debug, Clone)]
pub struct Candle {
    /// Start ms.
    pub start_ms: i64,
    /// Open ticks.
    pub open: i64,
    /// High ticks.
    pub high: i64,
    /// Low ticks.
    pub low: i64,
    /// Close ticks.
    pub close: i64,
    /// Volume lots.
    pub lots: i64,
    /// Turnover.
    pub turnover: Decimal,
}

/// An error a Bybit endpoint returns as `retCode`/`retMsg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {msg}")]
pub struct ApiError {
    /// retCode.
    pub code: i64,
    /// retMsg.
    pub msg: String,
}

impl ApiError {
    /// New error.
    pub fn new(code: i64, msg: impl Into<String>) -> Self {
        ApiError {
            code,
            msg: msg.into(),
        }
    }
    /// 10001 with a message.
    pub fn param(msg: impl Into<String>) -> Self {
        Self::new(10001, msg)
    }
}

/// The whole exchange.
#[derive(Debug)]
pub struct Engine {
    /// Fees.
    pub fees: FeeConfig,
    /// Limits.
    pub limits: LimitConfig,
    /// Markets.
    pub markets: Vec<Market>,
    /// (category, symbol) → market index.
    pub market_ix: HashMap<(Category, String), usize>,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// api key → account index.
    pub key_ix: HashMap<String, usize>,
    /// Private push channel per account.
    pub private_tx: Vec<broadcast::Sender<PrivateMsg>>,
    /// Woken after every change of account state (for tests waiting on the record).
    pub notify: Arc<Notify>,
    /// Added to the wall clock (fault injection).
    pub clock_skew_ms: Arc<std::sync::atomic::AtomicI64>,
    /// When true, the market does not fill resting orders.
    pub matching_paused: bool,
    /// Reject this many upcoming orders with `reject_code` (fault injection).
    pub reject_next_orders: u32,
    /// retCode for injected order rejections.
    pub reject_code: i64,
    /// Skip one `u` in the next N book publications (fault injection: a sequence gap).
    pub skip_book_u: u32,
    /// Public messages held while the generator sweeps (see [`outbox`]).
    pub outbox: outbox::PublicOutbox,
    id_rng: ChaCha8Rng,
    spot_id: u64,
    priority: u64,
    exec_seq: i64,
    /// Queued private pushes: (account, topic, one serialised `data` item).
    pending: Vec<(usize, &'static str, Vec<u8>)>,
    /// An account changed since the last [`Engine::flush`] (pushes may have been skipped
    /// for want of listeners; waiters are woken all the same).
    changed: bool,
}

/// A row as JSON text (rows are plain data: `None` is not expected).
pub(crate) fn row_bytes(row: &impl serde::Serialize) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    serde_json::to_writer(&mut buf, row).ok()?;
    Some(buf)
}

/// Wall-clock milliseconds.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn symbol_seed(seed: u64, symbol: &str) -> u64 {
    // FNV-1a of the symbol mixed with the seed: independent, stable per-symbol streams.
    let mut h: u64 = 0xcbf29ce484222325 ^ seed;
    for b in symbol.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl Engine {
    /// Build from config.
    pub fn new(cfg: &SimConfig) -> Self {
        let mut markets = Vec::new();
        let mut market_ix = HashMap::new();
        for s in &cfg.symbols {
            let inst = Instrument::from_config(s);
            let start_ticks = (s.start_price / s.tick_size).to_f64().unwrap_or(1000.0);
            let params = ModelParams {
                start_mid_ticks: start_ticks,
                volatility: s.volatility,
                flow_a: s.flow_a,
                flow_k: s.flow_k,
                depth: s.book_depth,
                dt_s: 1.0 / s.publish_rate_hz,
                half_spread_ticks: s.half_spread_ticks,
                level_lots: s.level_lots,
            };
            let mut model = SyntheticModel::new(params, symbol_seed(cfg.seed, &s.symbol));
            let mut book = DisplayedBook::default();
            model.init_book(&mut book);
            let mk = || broadcast::channel(TOPIC_CAPACITY).0;
            let topics = Arc::new(MarketTopics {
                books: [mk(), mk(), mk()],
                trade: mk(),
                ticker: mk(),
                kline: mk(),
            });
            let px = model.quote_ticks().0;
            market_ix.insert((s.category, s.symbol.clone()), markets.len());
            markets.push(Market {
                inst,
                model,
                book,
                topics,
                views: [None, None, None],
                u: [0; 3],
                seq: 1_000_000,
                resting_bids: BTreeMap::new(),
                resting_asks: BTreeMap::new(),
                pending_trades: Vec::new(),
                recent_trades: VecDeque::new(),
                last_px: px,
                tick_dir: "ZeroPlusTick",
                ticker_last: Vec::new(),
                ticker_cs: 0,
                volume_lots: 0,
                turnover: Decimal::ZERO,
                high_px: px,
                low_px: px,
                open_px: px,
                steps: 0,
                rate_hz: s.publish_rate_hz,
                replay: s.replay_file.is_some(),
                candles: VecDeque::new(),
                kline_last_start: [0; 13],
            });
        }
        let mut accounts = Vec::new();
        let mut key_ix = HashMap::new();
        let mut private_tx = Vec::new();
        for a in &cfg.accounts {
            key_ix.insert(a.api_key.clone(), accounts.len());
            accounts.push(Account::new(&a.api_key, &a.api_secret, a.usdt));
            private_tx.push(broadcast::channel(4096).0);
        }
        Engine {
            fees: cfg.fees.clone(),
            limits: cfg.limits.clone(),
            markets,
            market_ix,
            accounts,
            key_ix,
            private_tx,
            notify: Arc::new(Notify::new()),
            clock_skew_ms: Arc::default(),
            matching_paused: false,
            reject_next_orders: 0,
            reject_code: 10001,
            skip_book_u: 0,
            outbox: outbox::PublicOutbox::default(),
            id_rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x05ee_d1d5),
            spot_id: 1_900_000_000_000_000_000,
            priority: 0,
            exec_seq: 5_000_000_000,
            pending: Vec::new(),
            changed: false,
        }
    }

    /// Server time in ms (wall clock plus injected skew).
    pub fn now_ms(&self) -> i64 {
        wall_ms()
            + self
                .clock_skew_ms
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A UUID-shaped id from the seeded generator.
    pub fn uuid(&mut self) -> String {
        let v: u128 = self.id_rng.r#gen();
        let h = format!("{v:032x}");
        let mut s = String::with_capacity(36);
        for (part, lead) in [
            (&h[0..8], ""),
            (&h[8..12], "-"),
            (&h[13..16], "-4"),
            (&h[17..20], "-a"),
            (&h[20..32], "-"),
        ] {
            s.push_str(lead);
            s.push_str(part);
        }
        s
    }

    /// A new order id: UUID for linear, 19 digits for spot.
    pub fn new_order_id(&mut self, cat: Category) -> String {
        match cat {
            Category::Linear => self.uuid(),
            Category::Spot => {
                self.spot_id += 1;
                self.spot_id.to_string()
            }
        }
    }

    fn next_priority(&mut self) -> u64 {
        self.priority += 1;
        self.priority
    }

    fn next_exec_seq(&mut self) -> i64 {
        self.exec_seq += 1;
        self.exec_seq
    }

    /// Market index for (category, symbol).
    pub fn market(&self, cat: Category, symbol: &str) -> Option<usize> {
        self.market_ix.get(&(cat, symbol.to_string())).copied()
    }

    /// Mark price (the model mid on the tick grid) of a linear symbol.
    pub fn mark(&self, symbol: &str) -> Decimal {
        self.market(Category::Linear, symbol)
            .map(|i| self.mark_of_market(i))
            .unwrap_or_default()
    }

    /// Mark price of market `i`.
    pub fn mark_of_market(&self, i: usize) -> Decimal {
        let m = &self.markets[i];
        m.inst.px(m.model.mid_ticks.round() as i64)
    }

    /// Whether anyone listens to the private pushes of `acct` (a connection authenticated as
    /// it); nothing else consumes them, so without listeners they are not rendered. Either
    /// way the account counts as changed for [`Engine::flush`].
    pub fn wants_private(&mut self, acct: usize) -> bool {
        self.changed = true;
        self.private_tx[acct].receiver_count() > 0
    }

    /// Queue a private push (sent by [`Engine::flush`]) of a row, serialised straight to text.
    pub fn push_private_row(
        &mut self,
        acct: usize,
        topic: &'static str,
        row: &impl serde::Serialize,
    ) {
        self.changed = true;
        if let Some(buf) = row_bytes(row) {
            self.pending.push((acct, topic, buf));
        }
    }

    /// Send queued private pushes grouped by account and topic, and wake waiters.
    pub fn flush(&mut self) {
        if !std::mem::take(&mut self.changed) && self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let now = self.now_ms();
        let mut groups: Vec<(usize, &'static str, Vec<Vec<u8>>)> = Vec::new();
        for (a, t, v) in pending {
            match groups.iter_mut().find(|g| g.0 == a && g.1 == t) {
                Some(g) => g.2.push(v),
                None => groups.push((a, t, vec![v])),
            }
        }
        for (a, topic, data) in groups {
            use std::io::Write;
            let len: usize = data.iter().map(|d| d.len() + 1).sum();
            let mut buf = Vec::with_capacity(128 + len);
            let _ = write!(buf, "{{\"topic\":\"{topic}\"");
            if topic != "execution.fast" {
                let _ = write!(buf, ",\"id\":\"{}{}\"", a, self.uuid());
            }
            let _ = write!(buf, ",\"creationTime\":{now},\"data\":[");
            for (i, d) in data.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(d);
            }
            buf.extend_from_slice(b"]}");
            // Every piece is JSON text written from `str`s.
            let Ok(text) = String::from_utf8(buf) else {
                continue;
            };
            let _ = self.private_tx[a].send(PrivateMsg {
                topic,
                text: text.into(),
            });
        }
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_version_4_shaped() {
        let mut e = Engine::new(&SimConfig::default());
        for _ in 0..100 {
            let id = e.uuid();
            let parts: Vec<&str> = id.split('-').collect();
            let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
            assert_eq!(lens, [8, 4, 4, 4, 12], "{id}");
            assert!(
                parts[2].starts_with('4') && parts[3].starts_with('a'),
                "{id}"
            );
            assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        }
    }
}
