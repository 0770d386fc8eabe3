//! Typed configuration of the simulator (TOML, `deny_unknown_fields`).

use rust_decimal::Decimal;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

/// Errors while loading or validating a [`SimConfig`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading config {path}: {source}")]
    Read {
        /// Path of the file.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The TOML did not parse or had unknown keys.
    #[error("parsing config: {0}")]
    Parse(#[from] toml::de::Error),
    /// One or more values are invalid; every problem is listed.
    #[error("invalid config: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Market category of a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// USDT linear perpetual.
    Linear,
    /// Spot.
    Spot,
}

impl Category {
    /// The wire name (`linear` / `spot`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Linear => "linear",
            Category::Spot => "spot",
        }
    }
    /// Parse a wire name.
    pub fn parse(s: &str) -> Option<Category> {
        match s {
            "linear" => Some(Category::Linear),
            "spot" => Some(Category::Spot),
            _ => None,
        }
    }
}

/// Whole simulator configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Address to bind; `127.0.0.1:0` picks a free port.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Seed of every random generator (market data, ids).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Accounts (API key, secret, starting USDT).
    #[serde(default = "default_accounts")]
    pub accounts: Vec<AccountConfig>,
    /// Instruments and their synthetic market model.
    #[serde(default = "default_symbols")]
    pub symbols: Vec<SymbolConfig>,
    /// Trading fees.
    #[serde(default)]
    pub fees: FeeConfig,
    /// Rate limits.
    #[serde(default)]
    pub limits: LimitConfig,
    /// Delay before acknowledging a WS subscribe or answering a WS-trade op, in ms.
    /// Mimics the network round trip: pybit records a subscription (and a WS-trade
    /// callback) only after sending it, so an instant loopback reply races it.
    #[serde(default = "default_ws_ack_delay")]
    pub ws_ack_delay_ms: u64,
}

/// One account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// API key.
    pub api_key: String,
    /// API secret (HMAC key).
    pub api_secret: String,
    /// Starting USDT balance.
    #[serde(default = "default_usdt")]
    pub usdt: Decimal,
}

/// One symbol with its instrument spec and synthetic model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    /// Symbol name, e.g. `BTCUSDT`.
    pub symbol: String,
    /// `linear` or `spot`.
    #[serde(default = "default_category")]
    pub category: Category,
    /// Price tick.
    pub tick_size: Decimal,
    /// Quantity step.
    pub qty_step: Decimal,
    /// Minimum order quantity.
    pub min_qty: Decimal,
    /// Maximum order quantity.
    pub max_qty: Decimal,
    /// Minimum order notional (price × qty).
    #[serde(default = "default_min_notional")]
    pub min_notional: Decimal,
    /// Starting mid price.
    pub start_price: Decimal,
    /// Volatility of the mid: standard deviation of log returns per √second.
    #[serde(default = "default_volatility")]
    pub volatility: f64,
    /// Market-order intensity at the mid, per second per side (A).
    #[serde(default = "default_flow_a")]
    pub flow_a: f64,
    /// Decay of intensity with distance from mid, per tick of distance (k):
    /// orders reaching δ ticks away arrive at A·e^(−k·δ).
    #[serde(default = "default_flow_k")]
    pub flow_k: f64,
    /// Displayed levels per side.
    #[serde(default = "default_depth")]
    pub book_depth: usize,
    /// Generator steps (and book publications) per second.
    #[serde(default = "default_publish_rate")]
    pub publish_rate_hz: f64,
    /// Half spread of the displayed book, in ticks.
    #[serde(default = "default_half_spread")]
    pub half_spread_ticks: u32,
    /// Mean displayed size per level, in lots.
    #[serde(default = "default_level_lots")]
    pub level_lots: u32,
    /// Replay this file of recorded Bybit public messages (JSON lines, verbatim) instead of
    /// the synthetic generator.
    #[serde(default)]
    pub replay_file: Option<std::path::PathBuf>,
    /// Replay pace: 1.0 = recorded pace (by each message's `ts`), 0 = as fast as possible.
    #[serde(default = "default_replay_speed")]
    pub replay_speed: f64,
}

/// Fees as fractions of notional (maker may be negative: a rebate).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeConfig {
    /// Maker fee rate, e.g. `0.0002`.
    pub maker: Decimal,
    /// Taker fee rate, e.g. `0.00055`.
    pub taker: Decimal,
}

impl Default for FeeConfig {
    fn default() -> Self {
        FeeConfig {
            maker: Decimal::new(2, 4),
            taker: Decimal::new(55, 5),
        }
    }
}

/// Rate limits (Bybit defaults for a non-VIP account).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Per-account per-second budget of each order write endpoint
    /// (create/amend/cancel/cancel-all and the batch variants; batch items count per order).
    #[serde(default = "default_trade_limit")]
    pub order_per_s: u32,
    /// Per-account per-second budget of each query endpoint.
    #[serde(default = "default_query_limit")]
    pub query_per_s: u32,
    /// Per-IP requests per 5 s; beyond → HTTP 403.
    #[serde(default = "default_ip_limit")]
    pub ip_per_5s: u32,
    /// Maximum open orders per symbol per account.
    #[serde(default = "default_max_open")]
    pub max_open_orders_per_symbol: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            order_per_s: default_trade_limit(),
            query_per_s: default_query_limit(),
            ip_per_5s: default_ip_limit(),
            max_open_orders_per_symbol: default_max_open(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
fn default_ws_ack_delay() -> u64 {
    10
}
fn default_seed() -> u64 {
    42
}
fn default_usdt() -> Decimal {
    Decimal::from(100_000)
}
fn default_category() -> Category {
    Category::Linear
}
fn default_min_notional() -> Decimal {
    Decimal::from(5)
}
fn default_volatility() -> f64 {
    0.0005
}
fn default_flow_a() -> f64 {
    5.0
}
fn default_flow_k() -> f64 {
    0.3
}
fn default_depth() -> usize {
    200
}
fn default_publish_rate() -> f64 {
    20.0
}
fn default_half_spread() -> u32 {
    1
}
fn default_replay_speed() -> f64 {
    1.0
}
fn default_level_lots() -> u32 {
    100
}
fn default_trade_limit() -> u32 {
    10
}
fn default_query_limit() -> u32 {
    50
}
fn default_ip_limit() -> u32 {
    600
}
fn default_max_open() -> usize {
    500
}

fn default_accounts() -> Vec<AccountConfig> {
    vec![AccountConfig {
        api_key: "simkey".into(),
        api_secret: "simsecret".into(),
        usdt: default_usdt(),
    }]
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("literal decimal")
}

impl SymbolConfig {
    /// A linear symbol with the default synthetic model.
    pub fn linear(symbol: &str, tick: &str, step: &str, max_qty: &str, start: &str) -> Self {
        SymbolConfig {
            symbol: symbol.into(),
            category: Category::Linear,
            tick_size: dec(tick),
            qty_step: dec(step),
            min_qty: dec(step),
            max_qty: dec(max_qty),
            min_notional: default_min_notional(),
            start_price: dec(start),
            volatility: default_volatility(),
            flow_a: default_flow_a(),
            flow_k: default_flow_k(),
            book_depth: default_depth(),
            publish_rate_hz: default_publish_rate(),
            half_spread_ticks: default_half_spread(),
            level_lots: default_level_lots(),
            replay_file: None,
            replay_speed: default_replay_speed(),
        }
    }
}

fn default_symbols() -> Vec<SymbolConfig> {
    vec![
        SymbolConfig::linear("BTCUSDT", "0.10", "0.001", "1190.000", "60000"),
        SymbolConfig::linear("ETHUSDT", "0.01", "0.01", "7240.00", "3000"),
        SymbolConfig::linear("SOLUSDT", "0.010", "0.1", "79770.0", "150"),
    ]
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: default_listen(),
            seed: default_seed(),
            accounts: default_accounts(),
            symbols: default_symbols(),
            fees: FeeConfig::default(),
            limits: LimitConfig::default(),
            ws_ack_delay_ms: default_ws_ack_delay(),
        }
    }
}

impl SimConfig {
    /// Parse TOML text and validate.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: SimConfig = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read a TOML file and validate.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Check every value; report all problems at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errs = Vec::new();
        if self.accounts.is_empty() {
            errs.push("accounts: at least one account is required".to_string());
        }
        let mut keys = std::collections::HashSet::new();
        for (i, a) in self.accounts.iter().enumerate() {
            if !keys.insert(&a.api_key) {
                errs.push(format!("accounts[{i}].api_key: duplicate {}", a.api_key));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.symbols.iter().enumerate() {
            let p = format!("symbols[{i}] ({})", s.symbol);
            if !names.insert((s.category, &s.symbol)) {
                errs.push(format!("{p}: duplicate symbol"));
            }
            if s.tick_size <= Decimal::ZERO {
                errs.push(format!("{p}.tick_size: must be > 0"));
            }
            if s.qty_step <= Decimal::ZERO {
                errs.push(format!("{p}.qty_step: must be > 0"));
            }
            if s.min_qty <= Decimal::ZERO || s.max_qty < s.min_qty {
                errs.push(format!("{p}.min_qty/max_qty: need 0 < min_qty <= max_qty"));
            }
            if s.start_price <= Decimal::ZERO {
                errs.push(format!("{p}.start_price: must be > 0"));
            }
            if !(s.publish_rate_hz > 0.0 && s.publish_rate_hz <= 1000.0) {
                errs.push(format!("{p}.publish_rate_hz: must be in (0, 1000]"));
            }
            if s.book_depth == 0 || s.book_depth > 1000 {
                errs.push(format!("{p}.book_depth: must be in 1..=1000"));
            }
            if s.volatility < 0.0 || s.flow_a < 0.0 || s.flow_k < 0.0 {
                errs.push(format!("{p}: volatility, flow_a, flow_k must be >= 0"));
            }
        }
        if self.fees.taker < Decimal::ZERO {
            errs.push("fees.taker: must be >= 0".into());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_has_three_linear_symbols_and_simkey() {
        let c = SimConfig::default();
        c.validate().unwrap();
        assert_eq!(c.symbols.len(), 3);
        assert_eq!(c.accounts[0].api_key, "simkey");
        assert_eq!(c.accounts[0].usdt, Decimal::from(100_000));
    }

    #[test]
    fn parses_toml_and_rejects_unknown_keys() {
        let text = r#"
seed = 7
[[accounts]]
api_key = "k"
api_secret = "s"
usdt = "5000"
[[symbols]]
symbol = "XUSDT"
category = "spot"
tick_size = "0.01"
qty_step = "0.1"
min_qty = "0.1"
max_qty = "1000"
start_price = "10"
[fees]
maker = "-0.0001"
taker = "0.0006"
"#;
        let c = SimConfig::from_toml(text).unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.symbols[0].category, Category::Spot);
        assert_eq!(c.fees.maker, dec("-0.0001"));
        assert!(SimConfig::from_toml("bogus = 1").is_err());
    }

    #[test]
    fn example_config_is_valid() {
        let text = include_str!("../sim.example.toml");
        let c = SimConfig::from_toml(text).unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.symbols[1].category, Category::Spot);
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut c = SimConfig::default();
        c.symbols[0].tick_size = Decimal::ZERO;
        c.symbols[1].qty_step = Decimal::ZERO;
        match c.validate() {
            Err(ConfigError::Invalid(v)) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
