//! The host's configuration: TOML into typed structs, and validation that reports every
//! problem at once, each naming its key.
//!
//! Secrets never live in the file: it names the environment variables (or a file) that hold
//! the API key and secret, and [`Credentials::load`] reads them into a [`SecretString`] whose
//! `Debug` prints `***`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to trade.
    #[serde(default)]
    pub environment: Environment,
    /// Explicit endpoints; required when `environment = "custom"`, refused otherwise.
    #[serde(default)]
    pub endpoints: Option<Endpoints>,
    /// Names this host instance in order-link ids (1–6 alphanumeric characters).
    #[serde(default = "default_instance_id")]
    pub instance_id: String,
    /// Where the API key and secret come from.
    #[serde(default)]
    pub credentials: CredentialSources,
    /// Order router settings.
    #[serde(default)]
    pub router: RouterConfig,
    /// Public market-data connections.
    #[serde(default)]
    pub streams: StreamsConfig,
    /// The operator's control socket (default: `quoter-<instance_id>.sock` in the temporary
    /// directory); relative to the config file.
    #[serde(default)]
    pub control_socket: Option<PathBuf>,
    /// Risk limits applied to symbols that do not set their own.
    #[serde(default)]
    pub default_risk: RiskConfig,
    /// Kill switches: what each automatic trigger does.
    #[serde(default)]
    pub kill: KillConfig,
    /// Disconnect protection: exchange-side DCP and the client-side dead man's switch.
    #[serde(default)]
    pub disconnect: DisconnectConfig,
    /// The symbols to quote.
    #[serde(default)]
    pub symbols: Vec<SymbolConfig>,
}

fn default_instance_id() -> String {
    "q1".into()
}

/// Trading venue.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The embedded simulator; no keys needed.
    #[default]
    Paper,
    /// Bybit testnet.
    Testnet,
    /// Bybit mainnet; needs `--confirm-mainnet` on the command line.
    Mainnet,
    /// Explicit URLs from `[endpoints]`.
    Custom,
}

/// Explicit REST and WebSocket URLs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// REST base URL, e.g. `https://api-testnet.bybit.com`.
    pub rest: String,
    /// Public linear stream URL.
    pub public_linear: String,
    /// Public spot stream URL.
    pub public_spot: String,
    /// Private stream URL.
    pub private: String,
    /// Trade (order entry) stream URL.
    pub trade: String,
}

/// Where the credentials come from: environment variables, or a file holding
/// `key=...` and `secret=...` lines.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CredentialSources {
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Environment variable holding the API secret.
    pub api_secret_env: String,
    /// Optional file with `key=` and `secret=` lines, used when the variables are unset.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl Default for CredentialSources {
    fn default() -> Self {
        Self {
            api_key_env: "BYBIT_API_KEY".into(),
            api_secret_env: "BYBIT_API_SECRET".into(),
            file: None,
        }
    }
}

/// A secret string: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wrap a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Loaded API credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// API key (not secret, but kept out of logs all the same).
    pub api_key: SecretString,
    /// API secret.
    pub api_secret: SecretString,
}

impl Credentials {
    /// Read the credentials from the environment, falling back to the file.
    pub fn load(sources: &CredentialSources) -> Result<Self, String> {
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let (Some(key), Some(secret)) = (
            from_env(&sources.api_key_env),
            from_env(&sources.api_secret_env),
        ) {
            return Ok(Self {
                api_key: SecretString(key),
                api_secret: SecretString(secret),
            });
        }
        let Some(file) = &sources.file else {
            return Err(format!(
                "credentials: set {} and {} (or credentials.file)",
                sources.api_key_env, sources.api_secret_env
            ));
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("credentials.file: cannot read {}: {e}", file.display()))?;
        let mut key = None;
        let mut secret = None;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            match line.split_once('=') {
                Some(("key", v)) => key = Some(v.trim().to_string()),
                Some(("secret", v)) => secret = Some(v.trim().to_string()),
                _ => {
                    return Err(format!(
                        "credentials.file {}: lines must be key=... or secret=...",
                        file.display()
                    ));
                }
            }
        }
        match (key, secret) {
            (Some(k), Some(s)) => Ok(Self {
                api_key: SecretString(k),
                api_secret: SecretString(s),
            }),
            _ => Err(format!(
                "credentials.file {}: needs both key= and secret=",
                file.display()
            )),
        }
    }
}

/// How orders are sent.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// REST endpoints.
    #[default]
    Rest,
    /// The trade WebSocket.
    Ws,
}

/// Order router settings.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// REST or trade WebSocket.
    pub transport: Transport,
    /// Orders within this many ticks of the desired price are left alone.
    pub requote_tolerance_ticks: u32,
    /// Levels per side sent to the exchange (the strategy may ask for fewer).
    pub levels: u32,
    /// Place orders PostOnly.
    pub post_only: bool,
    /// What to do with orders of ours left from an earlier run: `cancel` or `adopt`.
    pub leftover_orders: LeftoverPolicy,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            transport: Transport::Rest,
            requote_tolerance_ticks: 1,
            levels: 3,
            post_only: true,
            leftover_orders: LeftoverPolicy::Cancel,
        }
    }
}

/// Public market-data connections.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StreamsConfig {
    /// Symbols sharing one public WebSocket connection (each symbol takes three topics:
    /// `orderbook.50`, `publicTrade`, `tickers`). Bybit caps the args of one connection at
    /// 21,000 characters, which start-up checks.
    pub symbols_per_connection: u32,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            symbols_per_connection: 20,
        }
    }
}

/// Orders found at start-up that carry our order-link prefix.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LeftoverPolicy {
    /// Cancel them.
    #[default]
    Cancel,
    /// Take them over as working orders.
    Adopt,
}

/// Per-symbol risk limits. Unset fields fall back to `[default_risk]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Maximum absolute position, base quantity.
    pub max_position: Option<f64>,
    /// Maximum absolute position value, quote currency.
    pub max_notional: Option<f64>,
    /// Maximum open orders on the symbol.
    pub max_open_orders: Option<u32>,
    /// Maximum size of one order, base quantity.
    pub max_order_size: Option<f64>,
    /// Pull quotes when no market data arrived for this long, ms.
    pub stale_after_ms: Option<u64>,
    /// Exchange-side position protection (trailing stop or break-even stop).
    pub protect: Option<ProtectConfig>,
    /// Host-level de-risking beyond a soft position limit.
    pub derisk: Option<DeriskConfig>,
    /// The position strategies skew towards, signed base quantity (default 0: flat). Passed to
    /// strategies as `Inventory::target_position`; within `max_position` (and the de-risk soft
    /// limit when set).
    pub target_position: Option<f64>,
}

/// Position protection (`risk.protect`), set with `/v5/position/trading-stop`. Exactly one
/// mode: a trailing stop (`trailing_stop_bps`, optionally `activation_bps`) or a break-even
/// stop (`break_even_after_bps`, optionally `break_even_offset_ticks`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProtectConfig {
    /// Trailing-stop distance, bps of the entry price.
    pub trailing_stop_bps: Option<f64>,
    /// Arm the trailing stop only once the mark is this far in profit, bps of the entry.
    pub activation_bps: Option<f64>,
    /// Move the stop to break-even once the mark is this far in profit, bps of the entry.
    pub break_even_after_bps: Option<f64>,
    /// The break-even stop sits this many ticks on the profit side of the entry (default 0).
    pub break_even_offset_ticks: Option<u32>,
    /// Re-sends after the exchange disagrees with what we set (or refuses it) before giving
    /// up until the position changes or the private stream reconnects (default 3).
    pub max_retries: Option<u32>,
}

/// Host-level de-risk (`risk.derisk`): beyond `soft_position` the host sends reduce-only IOC
/// orders at the touch until `|position| <= soft_position`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeriskConfig {
    /// Soft limit on the absolute position, base quantity (below `max_position`).
    pub soft_position: f64,
    /// Least time between two de-risk orders on a symbol, ms (default 1000).
    pub cooldown_ms: Option<u64>,
}

impl RiskConfig {
    /// `self` with unset fields taken from `defaults`.
    pub fn or(&self, defaults: &RiskConfig) -> RiskConfig {
        RiskConfig {
            max_position: self.max_position.or(defaults.max_position),
            max_notional: self.max_notional.or(defaults.max_notional),
            max_open_orders: self.max_open_orders.or(defaults.max_open_orders),
            max_order_size: self.max_order_size.or(defaults.max_order_size),
            stale_after_ms: self.stale_after_ms.or(defaults.stale_after_ms),
            protect: self.protect.clone().or_else(|| defaults.protect.clone()),
            derisk: self.derisk.clone().or_else(|| defaults.derisk.clone()),
            target_position: self.target_position.or(defaults.target_position),
        }
    }
}

/// What a kill switch does, from mildest to harshest.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum KillAction {
    /// Only orders that reduce the position.
    ReduceOnly,
    /// Pull every quote; no new orders.
    Halt,
    /// Halt, and cancel every order of the symbol on the exchange (`cancel-all`).
    CancelAll,
    /// Cancel all, then reduce-only IOC orders until flat.
    Flatten,
}

impl KillAction {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReduceOnly => "reduce_only",
            Self::Halt => "halt",
            Self::CancelAll => "cancel_all",
            Self::Flatten => "flatten",
        }
    }
}

/// Automatic kill switches (`[kill]`). A trigger without an action is off. Per-symbol
/// triggers (stale data, rejects, strategy faults) act on their symbol; the others on the
/// whole account. A kill stays until a config reload or `clear_kill`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KillConfig {
    /// Equity drop from its peak (quote currency) that trips `drawdown_action`.
    pub max_drawdown: Option<f64>,
    /// Account action on drawdown.
    pub drawdown_action: Option<KillAction>,
    /// Equity drop since the start of the UTC day (quote currency) that trips `daily_loss_action`.
    pub max_daily_loss: Option<f64>,
    /// Account action on daily loss.
    pub daily_loss_action: Option<KillAction>,
    /// Symbol action when its market data goes stale (`stale_after_ms`).
    pub stale_data_action: Option<KillAction>,
    /// Rejected order requests on one symbol within `reject_window_ms` that make a storm.
    pub reject_storm: Option<u32>,
    /// Window of `reject_storm`, ms.
    pub reject_window_ms: Option<u64>,
    /// Symbol action on a reject storm.
    pub reject_storm_action: Option<KillAction>,
    /// Rate-limited (10006) replies within `rate_limit_window_ms` that mean exhaustion.
    pub rate_limit_hits: Option<u32>,
    /// Window of `rate_limit_hits`, ms.
    pub rate_limit_window_ms: Option<u64>,
    /// Account action on rate-limit exhaustion.
    pub rate_limit_action: Option<KillAction>,
    /// Symbol action when its strategy traps, times out or fails.
    pub strategy_fault_action: Option<KillAction>,
    /// The private stream down this long trips `private_lost_action`, ms.
    pub private_lost_after_ms: Option<u64>,
    /// Account action on a lost private stream.
    pub private_lost_action: Option<KillAction>,
}

/// Disconnect protection (`[disconnect]`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisconnectConfig {
    /// Arm Bybit's disconnected-cancel-all with this window (3–300 s) and subscribe `dcp`;
    /// unset: off.
    pub dcp_window_s: Option<u32>,
    /// Client-side dead man's switch: the private stream down this long cancels every order
    /// over REST; quotes stay pulled until it is back and reconciled. Default 10000.
    pub dead_man_ms: Option<u64>,
}

/// Market category.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CategoryConfig {
    /// USDT perpetuals.
    #[default]
    Linear,
    /// Spot.
    Spot,
}

/// One symbol to quote.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    /// Exchange symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Market category.
    #[serde(default)]
    pub category: CategoryConfig,
    /// The strategy.
    pub strategy: StrategyConfig,
    /// Risk limits for this symbol.
    #[serde(default)]
    pub risk: RiskConfig,
}

/// A strategy module and its parameters.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Module file: `.wasm` or a native library; relative paths are relative to the config file.
    pub module: PathBuf,
    /// Parameters inline (a TOML table, passed to the strategy as JSON)...
    #[serde(default)]
    pub params: Option<toml::Table>,
    /// ...or a JSON file holding them (relative to the config file).
    #[serde(default)]
    pub params_file: Option<PathBuf>,
}

/// Every problem found in a configuration, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// `(key, problem)` pairs.
    pub problems: Vec<(String, String)>,
}

impl ConfigError {
    fn describe(&self) -> String {
        let mut s = format!(
            "{}: {} problem(s)",
            self.path.display(),
            self.problems.len()
        );
        for (key, problem) in &self.problems {
            s.push_str(&format!("\n  {key}: {problem}"));
        }
        s
    }
}

/// Read, parse and validate the configuration at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let fail = |key: &str, problem: String| ConfigError {
        path: path.to_owned(),
        problems: vec![(key.into(), problem)],
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| fail("<file>", format!("cannot read: {e}")))?;
    let config = parse(&text).map_err(|(key, problem)| fail(&key, problem))?;
    let problems = config.validate(path.parent().unwrap_or(Path::new(".")));
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            path: path.to_owned(),
            problems,
        })
    }
}

/// Parse TOML text; a syntax error or unknown key comes back as `(key, problem)`.
pub fn parse(text: &str) -> Result<Config, (String, String)> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let key = e
            .span()
            .map(|s| locate(text, s.start))
            .unwrap_or_else(|| "<file>".into());
        (key, e.message().to_string())
    })
}

/// "line N" for a byte offset, used when TOML cannot name the key.
fn locate(text: &str, offset: usize) -> String {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    format!("line {line}")
}

impl Config {
    /// Every problem in a parsed configuration; empty when it is valid. Relative module and
    /// parameter paths are resolved against `base_dir`.
    pub fn validate(&self, base_dir: &Path) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut push = |key: String, problem: &str| p.push((key, problem.to_string()));
        match (self.environment, &self.endpoints) {
            (Environment::Custom, None) => {
                push("endpoints".into(), "required when environment = \"custom\"")
            }
            (Environment::Paper | Environment::Testnet | Environment::Mainnet, Some(_)) => push(
                "endpoints".into(),
                "only allowed with environment = \"custom\"",
            ),
            _ => {}
        }
        if self.instance_id.is_empty()
            || self.instance_id.len() > 6
            || !self.instance_id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            push(
                "instance_id".into(),
                "must be 1 to 6 ASCII letters or digits",
            );
        }
        if !(1..=10).contains(&self.router.levels) {
            push("router.levels".into(), "must be between 1 and 10");
        }
        if !(1..=500).contains(&self.streams.symbols_per_connection) {
            push(
                "streams.symbols_per_connection".into(),
                "must be between 1 and 500",
            );
        }
        check_risk("default_risk", &self.default_risk, &mut push);
        check_kill(&self.kill, &self.disconnect, &mut push);
        if self.symbols.is_empty() {
            push("symbols".into(), "at least one [[symbols]] entry is needed");
        }
        let mut seen = BTreeSet::new();
        for (i, s) in self.symbols.iter().enumerate() {
            let key = |field: &str| format!("symbols[{i}].{field}");
            if s.symbol.is_empty() || !s.symbol.chars().all(|c| c.is_ascii_alphanumeric()) {
                push(
                    key("symbol"),
                    "must be a non-empty exchange symbol such as BTCUSDT",
                );
            } else if !seen.insert((s.symbol.clone(), s.category)) {
                push(key("symbol"), "listed twice");
            }
            let module = resolve(base_dir, &s.strategy.module);
            if !module.is_file() {
                push(
                    key("strategy.module"),
                    &format!("no such file: {}", module.display()),
                );
            }
            match (&s.strategy.params, &s.strategy.params_file) {
                (Some(_), Some(_)) => push(key("strategy"), "give params or params_file, not both"),
                (None, Some(file)) => {
                    let file = resolve(base_dir, file);
                    match std::fs::read(&file)
                        .map(|b| serde_json::from_slice::<serde_json::Value>(&b))
                    {
                        Err(e) => push(
                            key("strategy.params_file"),
                            &format!("cannot read {}: {e}", file.display()),
                        ),
                        Ok(Err(e)) => push(
                            key("strategy.params_file"),
                            &format!("{}: not JSON: {e}", file.display()),
                        ),
                        Ok(Ok(_)) => {}
                    }
                }
                _ => {}
            }
            let risk = s.risk.or(&self.default_risk);
            check_risk(&key("risk"), &s.risk, &mut push);
            if risk.max_position.is_none() {
                push(
                    key("risk.max_position"),
                    "required (here or in [default_risk])",
                );
            }
            if let (Some(d), Some(max)) = (&risk.derisk, risk.max_position)
                && d.soft_position >= max
            {
                push(
                    key("risk.derisk.soft_position"),
                    "must be below risk.max_position",
                );
            }
            if let Some(t) = risk.target_position.filter(|t| t.is_finite()) {
                if risk.max_position.is_some_and(|max| t.abs() >= max) {
                    push(
                        key("risk.target_position"),
                        "must be within risk.max_position (|target| < max)",
                    );
                }
                if risk
                    .derisk
                    .as_ref()
                    .is_some_and(|d| t.abs() > d.soft_position)
                {
                    push(
                        key("risk.target_position"),
                        "must be within risk.derisk.soft_position",
                    );
                }
            }
        }
        p
    }
}

fn check_risk(prefix: &str, r: &RiskConfig, push: &mut impl FnMut(String, &str)) {
    let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
    if !positive(r.max_position) {
        push(
            format!("{prefix}.max_position"),
            "must be a finite number > 0",
        );
    }
    if !positive(r.max_notional) {
        push(
            format!("{prefix}.max_notional"),
            "must be a finite number > 0",
        );
    }
    if !positive(r.max_order_size) {
        push(
            format!("{prefix}.max_order_size"),
            "must be a finite number > 0",
        );
    }
    if r.target_position.is_some_and(|t| !t.is_finite()) {
        push(
            format!("{prefix}.target_position"),
            "must be a finite number",
        );
    }
    if r.max_open_orders == Some(0) {
        push(format!("{prefix}.max_open_orders"), "must be at least 1");
    }
    if r.stale_after_ms == Some(0) {
        push(format!("{prefix}.stale_after_ms"), "must be at least 1");
    }
    if let Some(p) = &r.protect {
        check_protect(&format!("{prefix}.protect"), p, push);
    }
    if let Some(d) = &r.derisk {
        if !(d.soft_position.is_finite() && d.soft_position > 0.0) {
            push(
                format!("{prefix}.derisk.soft_position"),
                "must be a finite number > 0",
            );
        }
        if d.cooldown_ms == Some(0) {
            push(format!("{prefix}.derisk.cooldown_ms"), "must be at least 1");
        }
    }
}

fn check_protect(prefix: &str, p: &ProtectConfig, push: &mut impl FnMut(String, &str)) {
    let bps = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0 && v < 10_000.0);
    for (key, v) in [
        ("trailing_stop_bps", p.trailing_stop_bps),
        ("activation_bps", p.activation_bps),
        ("break_even_after_bps", p.break_even_after_bps),
    ] {
        if !bps(v) {
            push(format!("{prefix}.{key}"), "must be a number in (0, 10000)");
        }
    }
    match (p.trailing_stop_bps, p.break_even_after_bps) {
        (Some(_), Some(_)) => push(
            prefix.to_owned(),
            "set either trailing_stop_bps or break_even_after_bps, not both",
        ),
        (None, None) => push(
            prefix.to_owned(),
            "needs trailing_stop_bps or break_even_after_bps",
        ),
        _ => {}
    }
    if p.activation_bps.is_some() && p.trailing_stop_bps.is_none() {
        push(
            format!("{prefix}.activation_bps"),
            "only with trailing_stop_bps",
        );
    }
    if p.break_even_offset_ticks.is_some() && p.break_even_after_bps.is_none() {
        push(
            format!("{prefix}.break_even_offset_ticks"),
            "only with break_even_after_bps",
        );
    }
}

fn check_kill(k: &KillConfig, d: &DisconnectConfig, push: &mut impl FnMut(String, &str)) {
    let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
    for (key, v) in [
        ("kill.max_drawdown", k.max_drawdown),
        ("kill.max_daily_loss", k.max_daily_loss),
    ] {
        if !positive(v) {
            push(key.into(), "must be a finite number > 0");
        }
    }
    for (key, v) in [
        ("kill.reject_storm", k.reject_storm.map(u64::from)),
        ("kill.reject_window_ms", k.reject_window_ms),
        ("kill.rate_limit_hits", k.rate_limit_hits.map(u64::from)),
        ("kill.rate_limit_window_ms", k.rate_limit_window_ms),
        ("kill.private_lost_after_ms", k.private_lost_after_ms),
        ("disconnect.dead_man_ms", d.dead_man_ms),
    ] {
        if v == Some(0) {
            push(key.into(), "must be at least 1");
        }
    }
    // An action needs its threshold, and a threshold its action.
    let pairs = [
        (
            "max_drawdown",
            k.max_drawdown.is_some(),
            "drawdown_action",
            k.drawdown_action.is_some(),
        ),
        (
            "max_daily_loss",
            k.max_daily_loss.is_some(),
            "daily_loss_action",
            k.daily_loss_action.is_some(),
        ),
        (
            "reject_storm",
            k.reject_storm.is_some(),
            "reject_storm_action",
            k.reject_storm_action.is_some(),
        ),
        (
            "rate_limit_hits",
            k.rate_limit_hits.is_some(),
            "rate_limit_action",
            k.rate_limit_action.is_some(),
        ),
        (
            "private_lost_after_ms",
            k.private_lost_after_ms.is_some(),
            "private_lost_action",
            k.private_lost_action.is_some(),
        ),
    ];
    for (threshold, has_threshold, action, has_action) in pairs {
        if has_threshold && !has_action {
            push(
                format!("kill.{action}"),
                &format!("required with kill.{threshold}"),
            );
        }
        if has_action && !has_threshold {
            push(
                format!("kill.{threshold}"),
                &format!("required with kill.{action}"),
            );
        }
    }
    if d.dcp_window_s.is_some_and(|w| !(3..=300).contains(&w)) {
        push(
            "disconnect.dcp_window_s".into(),
            "must be between 3 and 300 (seconds)",
        );
    }
}

/// `path` relative to `base_dir` unless absolute.
pub fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base_dir.join(path)
    }
}

impl StrategyConfig {
    /// The parameters as JSON bytes (inline table or file), relative to `base_dir`.
    pub fn params_json(&self, base_dir: &Path) -> Result<Vec<u8>, String> {
        match (&self.params, &self.params_file) {
            (Some(table), None) => serde_json::to_vec(table).map_err(|e| e.to_string()),
            (None, Some(file)) => {
                let file = resolve(base_dir, file);
                std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
            }
            (None, None) => Ok(b"{}".to_vec()),
            (Some(_), Some(_)) => Err("give params or params_file, not both".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_module() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.path().join("p.json"), b"{\"gamma\": 0.1}").unwrap();
        dir
    }

    const GOOD: &str = r#"
        environment = "paper"
        [default_risk]
        max_position = 0.5
        stale_after_ms = 3000
        [[symbols]]
        symbol = "BTCUSDT"
        strategy = { module = "s.wasm", params = { half_spread_bps = 5 } }
        [[symbols]]
        symbol = "ETHUSDT"
        strategy = { module = "s.wasm", params_file = "p.json" }
        risk = { max_position = 2.0 }
    "#;

    #[test]
    fn good_config_validates_and_resolves_params() {
        let dir = dir_with_module();
        let c = parse(GOOD).unwrap();
        assert!(
            c.validate(dir.path()).is_empty(),
            "{:?}",
            c.validate(dir.path())
        );
        assert_eq!(
            c.symbols[1].risk.or(&c.default_risk).max_position,
            Some(2.0)
        );
        assert_eq!(
            c.symbols[0].risk.or(&c.default_risk).stale_after_ms,
            Some(3000)
        );
        assert_eq!(
            c.symbols[0].strategy.params_json(dir.path()).unwrap(),
            br#"{"half_spread_bps":5}"#
        );
        assert_eq!(
            c.symbols[1].strategy.params_json(dir.path()).unwrap(),
            br#"{"gamma": 0.1}"#
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let dir = dir_with_module();
        let text = r#"
            environment = "custom"
            instance_id = "way-too-long"
            router = { levels = 0 }
            [[symbols]]
            symbol = "BTCUSDT"
            strategy = { module = "missing.wasm" }
            risk = { max_position = -1.0, max_open_orders = 0 }
            [[symbols]]
            symbol = "BTCUSDT"
            strategy = { module = "s.wasm", params = {}, params_file = "p.json" }
        "#;
        let problems = parse(text).unwrap().validate(dir.path());
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        for want in [
            "endpoints",
            "instance_id",
            "router.levels",
            "symbols[0].strategy.module",
            "symbols[0].risk.max_position",
            "symbols[0].risk.max_open_orders",
            "symbols[1].symbol",
            "symbols[1].strategy",
            "symbols[1].risk.max_position",
        ] {
            assert!(keys.contains(&want), "missing {want} in {problems:?}");
        }
    }

    #[test]
    fn protect_and_derisk_keys_are_validated() {
        let dir = dir_with_module();
        let good = format!(
            "{GOOD}\n[[symbols]]\nsymbol = \"SOLUSDT\"\nstrategy = {{ module = \"s.wasm\" }}\nrisk = {{ protect = {{ break_even_after_bps = 30, break_even_offset_ticks = 2 }}, derisk = {{ soft_position = 0.2 }} }}\n"
        );
        let c = parse(&good).unwrap();
        assert!(c.validate(dir.path()).is_empty());
        let r = c.symbols[2].risk.or(&c.default_risk);
        assert_eq!(r.protect.and_then(|p| p.break_even_offset_ticks), Some(2));
        let bad = format!(
            "{GOOD}\n[[symbols]]\nsymbol = \"SOLUSDT\"\nstrategy = {{ module = \"s.wasm\" }}\nrisk = {{ protect = {{ trailing_stop_bps = 50, break_even_after_bps = -1, break_even_offset_ticks = 1 }}, derisk = {{ soft_position = 0.5, cooldown_ms = 0 }} }}\n[[symbols]]\nsymbol = \"XRPUSDT\"\nstrategy = {{ module = \"s.wasm\" }}\nrisk = {{ protect = {{ activation_bps = 10 }} }}\n"
        );
        let problems = parse(&bad).unwrap().validate(dir.path());
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        for want in [
            "symbols[2].risk.protect",
            "symbols[2].risk.protect.break_even_after_bps",
            "symbols[2].risk.derisk.soft_position",
            "symbols[2].risk.derisk.cooldown_ms",
            "symbols[3].risk.protect",
            "symbols[3].risk.protect.activation_bps",
        ] {
            assert!(keys.contains(&want), "missing {want} in {problems:?}");
        }
        let (_, problem) = parse("[default_risk]\nprotect = { trailing = 5 }").unwrap_err();
        assert!(problem.contains("trailing"), "{problem}");
    }

    #[test]
    fn target_position_is_validated_against_the_limits() {
        let dir = dir_with_module();
        let sym = |risk: &str| {
            format!(
                "{GOOD}\n[[symbols]]\nsymbol = \"SOLUSDT\"\nstrategy = {{ module = \"s.wasm\" }}\nrisk = {{ {risk} }}\n"
            )
        };
        let c = parse(&sym("target_position = -0.3")).unwrap();
        assert!(c.validate(dir.path()).is_empty());
        assert_eq!(
            c.symbols[2].risk.or(&c.default_risk).target_position,
            Some(-0.3)
        );
        assert_eq!(c.symbols[0].risk.or(&c.default_risk).target_position, None);
        for (risk, why) in [
            ("target_position = 0.5", "within risk.max_position"),
            ("target_position = nan", "finite"),
            (
                "target_position = 0.3, derisk = { soft_position = 0.2 }",
                "soft_position",
            ),
        ] {
            let problems = parse(&sym(risk)).unwrap().validate(dir.path());
            assert!(
                problems
                    .iter()
                    .any(|(k, m)| k == "symbols[2].risk.target_position" && m.contains(why)),
                "{risk}: {problems:?}"
            );
        }
    }

    #[test]
    fn kill_and_disconnect_keys_are_validated() {
        let dir = dir_with_module();
        let text = format!(
            "{GOOD}\n[kill]\nmax_drawdown = -5.0\nreject_storm = 3\nrate_limit_action = \"halt\"\nstale_data_action = \"flatten\"\n[disconnect]\ndcp_window_s = 2\ndead_man_ms = 0\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.kill.stale_data_action, Some(KillAction::Flatten));
        let problems = c.validate(dir.path());
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        for want in [
            "kill.max_drawdown",
            "kill.drawdown_action",
            "kill.reject_storm_action",
            "kill.rate_limit_hits",
            "disconnect.dcp_window_s",
            "disconnect.dead_man_ms",
        ] {
            assert!(keys.contains(&want), "missing {want} in {problems:?}");
        }
        let (_, problem) = parse("[kill]\nstale_data_action = \"explode\"").unwrap_err();
        assert!(problem.contains("unknown variant"), "{problem}");
    }

    #[test]
    fn syntax_errors_and_unknown_keys_are_named() {
        let (key, problem) =
            parse("environment = \"paper\"\n[[symbols]]\nsymbol = \"X\"\nstrat = 1\n").unwrap_err();
        assert!(
            problem.contains("unknown field `strat`"),
            "{key}: {problem}"
        );
        assert_eq!(key, "line 4");
        let (_, problem) = parse("environment = \"moon\"").unwrap_err();
        assert!(problem.contains("unknown variant `moon`"), "{problem}");
        let (key, _) = parse("a = [").unwrap_err();
        assert_eq!(key, "line 1");
    }

    #[test]
    fn secrets_never_print() {
        let s = SecretString::new("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        let c = Credentials {
            api_key: SecretString::new("k".into()),
            api_secret: s,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn credentials_come_from_a_file_when_the_environment_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds");
        std::fs::write(&file, "# test\nkey=abc\nsecret=def\n").unwrap();
        let sources = CredentialSources {
            api_key_env: "QUOTER_TEST_UNSET_KEY".into(),
            api_secret_env: "QUOTER_TEST_UNSET_SECRET".into(),
            file: Some(file),
        };
        let c = Credentials::load(&sources).unwrap();
        assert_eq!((c.api_key.expose(), c.api_secret.expose()), ("abc", "def"));
        let err = Credentials::load(&CredentialSources {
            file: None,
            ..sources
        })
        .unwrap_err();
        assert!(err.contains("QUOTER_TEST_UNSET_KEY"), "{err}");
    }
}
