//! `host run`: wiring, start-up and ordered shutdown.
//!
//! Start-up: resolve the venue (paper starts the embedded simulator on loopback), fetch each
//! symbol's instrument, load every distinct strategy module once and instantiate it per symbol
//! (a symbol whose module or parameters fail is reported and skipped), cancel orders left by an
//! earlier run of this instance, read positions, connect the private stream, then the public
//! streams, and run the [`Runtime`] loop.
//!
//! Shutdown (on the caller's signal): stop quoting, let in-flight requests finish, cancel-all
//! per symbol and wait (bounded) until the exchange shows none of our orders open, then close
//! the streams and, in paper mode, the simulator.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{self, Config, Environment, LeftoverPolicy};
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::exchange::bybit::sign::{Credentials, Secret};
use crate::exchange::bybit::ws::{
    PrivateStreamConfig, PrivateStreamEvent, PrivateStreamHandle, PrivateStreamTask,
    PublicStreamConfig, PublicStreamTask, WsError,
};
use crate::model::{Category, Instrument, LinkIdGen, OrderLinkId};
use crate::plugin::{PluginLimits, PluginRuntime, StrategyModule};
use crate::router::batch::{BatchConfig, CancelOrder, OrderRequest, TimeInForce};
use crate::router::diff::DiffConfig;
use crate::router::io;
use crate::router::limits::HardLimits;
use crate::router::symbol::SymbolConfig as RouterSymbolConfig;
use crate::runtime::rest::{fetch_instrument, fetch_position, open_orders};
use crate::runtime::{
    LoopEvent, PublicConn, Runtime, RuntimeConfig, RuntimeError, SymbolSetup, SymbolState,
    SymbolSummary, category_of, now_ms,
};

/// Whether this build can speak TLS (`https://`, `wss://`). It cannot yet.
pub const TLS_COMPILED: bool = false;

/// How long shutdown waits for our orders to disappear from the exchange.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// Errors of `host run`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Mainnet without `--confirm-mainnet`.
    #[error("environment = \"mainnet\" trades real money: pass --confirm-mainnet to proceed")]
    MainnetNotConfirmed,
    /// An `https://` or `wss://` URL, but TLS is not compiled in.
    #[error(
        "{0}: TLS is not compiled into this build (reqwest/tokio-tungstenite without TLS features); only http:// and ws:// endpoints work"
    )]
    TlsUnsupported(String),
    /// Credentials could not be loaded.
    #[error("{0}")]
    Credentials(String),
    /// The embedded simulator did not start.
    #[error("paper venue: {0}")]
    Sim(String),
    /// A REST call at start-up failed.
    #[error("start-up REST call failed: {0}")]
    Rest(#[from] RestError),
    /// A stream could not be started.
    #[error(transparent)]
    Ws(#[from] WsError),
    /// The private stream did not authenticate.
    #[error("private stream: {0}")]
    PrivateStream(String),
    /// The instance id cannot prefix order-link ids.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// The plugin runtime could not start.
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
    /// Every symbol failed at start-up.
    #[error("no symbol could be started ({0} skipped)")]
    NoSymbols(usize),
    /// Shutdown could not confirm that our orders are gone.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// Command-line options of `host run`.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Allow `environment = "mainnet"`.
    pub confirm_mainnet: bool,
    /// Directory relative module, parameter and credential paths are resolved against
    /// (the config file's directory).
    pub base_dir: PathBuf,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Symbols that ran, with their final state.
    pub symbols: Vec<SymbolSummary>,
    /// Symbols skipped at start-up, with the reason.
    pub skipped: Vec<(String, String)>,
}

struct Venue {
    rest: String,
    public_linear: String,
    public_spot: String,
    private: String,
    credentials: Credentials,
    sim: Option<sim::SimHandle>,
}

async fn venue(config: &Config, opts: &RunOptions) -> Result<Venue, AppError> {
    let bybit = |rest: &str, stream: &str| {
        [
            format!("https://{rest}"),
            format!("wss://{stream}/v5/public/linear"),
            format!("wss://{stream}/v5/public/spot"),
            format!("wss://{stream}/v5/private"),
        ]
    };
    let urls = match config.environment {
        Environment::Paper => None,
        Environment::Testnet => Some(bybit("api-testnet.bybit.com", "stream-testnet.bybit.com")),
        Environment::Mainnet if !opts.confirm_mainnet => return Err(AppError::MainnetNotConfirmed),
        Environment::Mainnet => Some(bybit("api.bybit.com", "stream.bybit.com")),
        Environment::Custom => {
            let e = config
                .endpoints
                .as_ref()
                .ok_or_else(|| AppError::Credentials("endpoints: required".into()))?;
            Some([
                e.rest.clone(),
                e.public_linear.clone(),
                e.public_spot.clone(),
                e.private.clone(),
            ])
        }
    };
    let Some([rest, public_linear, public_spot, private]) = urls else {
        let sim = sim::Sim::start(sim::SimConfig::default())
            .await
            .map_err(|e| AppError::Sim(format!("{e:#}")))?;
        info!(rest = %sim.rest_url(), "paper venue: embedded simulator started");
        return Ok(Venue {
            rest: sim.rest_url(),
            public_linear: sim.public_linear_url(),
            public_spot: sim.public_spot_url(),
            private: sim.private_url(),
            credentials: Credentials::new("simkey", Secret::new("simsecret")),
            sim: Some(sim),
        });
    };
    if !TLS_COMPILED {
        for url in [&rest, &public_linear, &public_spot, &private] {
            if url.starts_with("https://") || url.starts_with("wss://") {
                return Err(AppError::TlsUnsupported(url.clone()));
            }
        }
    }
    Ok(Venue {
        rest,
        public_linear,
        public_spot,
        private,
        credentials: load_credentials(config, &opts.base_dir)?,
        sim: None,
    })
}

fn load_credentials(config: &Config, base_dir: &Path) -> Result<Credentials, AppError> {
    let mut sources = config.credentials.clone();
    sources.file = sources.file.map(|f| config::resolve(base_dir, &f));
    let c = config::Credentials::load(&sources).map_err(AppError::Credentials)?;
    Ok(Credentials::new(
        c.api_key.expose(),
        Secret::new(c.api_secret.expose()),
    ))
}

fn dec(v: f64) -> Decimal {
    Decimal::from_str(&v.to_string())
        .ok()
        .or_else(|| Decimal::from_f64_retain(v))
        .unwrap_or(Decimal::MAX)
}

fn router_config(
    config: &Config,
    risk: &config::RiskConfig,
    inst: &Instrument,
) -> RouterSymbolConfig {
    let max_position = dec(risk.max_position.unwrap_or(0.0));
    RouterSymbolConfig {
        limits: HardLimits {
            max_long: max_position,
            max_short: max_position,
            max_notional: risk.max_notional.map(dec).unwrap_or(Decimal::MAX),
            max_open_orders: risk
                .max_open_orders
                .map(|n| n as usize)
                .unwrap_or(2 * config.router.levels as usize),
            max_order_qty: risk.max_order_size.map(dec).unwrap_or(inst.max_qty),
        },
        diff: DiffConfig {
            tolerance_ticks: config.router.requote_tolerance_ticks,
        },
    }
}

/// Run the host until `shutdown` completes, then cancel everything and stop.
pub async fn run(
    config: Config,
    opts: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, AppError> {
    let venue = venue(&config, &opts).await?;
    let result = run_on(&config, &opts, &venue, shutdown).await;
    if let Some(sim) = venue.sim {
        sim.shutdown().await;
    }
    result
}

async fn run_on(
    config: &Config,
    opts: &RunOptions,
    venue: &Venue,
    shutdown: impl Future<Output = ()>,
) -> Result<RunReport, AppError> {
    let client = RestClient::new(
        venue.rest.clone(),
        Some(venue.credentials.clone()),
        Duration::from_secs(5),
    )?;
    let prefix = config.instance_id.clone();
    let ids = LinkIdGen::new(&prefix, now_ms() as u64)?;
    let (setups, skipped) = prepare_symbols(config, opts, &client).await?;
    if setups.is_empty() {
        return Err(AppError::NoSymbols(skipped.len()));
    }
    let mut symbols = Vec::with_capacity(setups.len());
    for setup in setups {
        let symbol = setup.instrument.symbol.clone();
        match SymbolState::new(setup) {
            Ok(s) => symbols.push(s),
            Err(e) => error!(%symbol, error = %e, "unusable instrument, skipped"),
        }
    }

    let (events_tx, events_rx) = mpsc::channel::<LoopEvent>(4096);
    let mut forwarders: Vec<JoinHandle<()>> = Vec::new();
    let (private, private_join) = start_private(venue, &events_tx, &mut forwarders).await?;
    let mut publics = Vec::new();
    let mut public_joins = Vec::new();
    let mut by_category: BTreeMap<Category, Vec<usize>> = BTreeMap::new();
    for (i, s) in symbols.iter().enumerate() {
        by_category
            .entry(s.instrument.category)
            .or_default()
            .push(i);
    }
    for (category, members) in by_category {
        let url = match category {
            Category::Linear => &venue.public_linear,
            Category::Spot => &venue.public_spot,
        };
        let names = members
            .iter()
            .map(|&i| symbols[i].symbol.to_string())
            .collect();
        let (handle, mut rx, join) =
            PublicStreamTask::spawn(PublicStreamConfig::new(url.clone(), names))?;
        let conn = publics.len();
        let tx = events_tx.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if tx.send(LoopEvent::Public(conn, ev)).await.is_err() {
                    break;
                }
            }
        }));
        publics.push(PublicConn {
            handle,
            symbols: members,
        });
        public_joins.push(join);
    }
    let handles: Vec<_> = publics.iter().map(|c| c.handle.clone()).collect();
    let mut cfg = RuntimeConfig::new(&prefix);
    cfg.batch = BatchConfig {
        time_in_force: if config.router.post_only {
            TimeInForce::PostOnly
        } else {
            TimeInForce::Gtc
        },
    };
    let mut runtime = Runtime::new(symbols, publics, client, ids, cfg, events_tx, events_rx);
    info!(
        symbols = runtime.symbols().len(),
        skipped = skipped.len(),
        "quoting"
    );
    runtime.run(shutdown).await;

    info!("shutting down: cancelling every order");
    let cancelled = runtime.cancel_everything(SHUTDOWN_DEADLINE).await;
    runtime.close_events();
    for h in &handles {
        h.shutdown().await;
    }
    private.shutdown().await;
    for join in public_joins.into_iter().chain([private_join]) {
        if tokio::time::timeout(Duration::from_secs(2), join)
            .await
            .is_err()
        {
            warn!("a stream task did not stop in time");
        }
    }
    for f in forwarders {
        f.abort();
    }
    let report = RunReport {
        symbols: runtime.summary(),
        skipped,
    };
    for s in &report.symbols {
        info!(symbol = %s.symbol, position = %s.position.size, realised_pnl = %s.position.realised_pnl, fills = s.fills, "final");
    }
    cancelled?;
    info!("shutdown complete");
    Ok(report)
}

async fn start_private(
    venue: &Venue,
    events_tx: &mpsc::Sender<LoopEvent>,
    forwarders: &mut Vec<JoinHandle<()>>,
) -> Result<(PrivateStreamHandle, JoinHandle<()>), AppError> {
    let (handle, mut rx, join) = PrivateStreamTask::spawn(PrivateStreamConfig::new(
        venue.private.clone(),
        venue.credentials.clone(),
    ));
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    match first {
        Ok(Some(PrivateStreamEvent::Connected)) => info!("private stream connected"),
        Ok(Some(PrivateStreamEvent::Disconnected { reason })) => {
            handle.shutdown().await;
            return Err(AppError::PrivateStream(reason));
        }
        Ok(other) => {
            handle.shutdown().await;
            return Err(AppError::PrivateStream(format!(
                "unexpected first event {other:?}"
            )));
        }
        Err(_) => {
            handle.shutdown().await;
            return Err(AppError::PrivateStream("not connected within 10 s".into()));
        }
    }
    let tx = events_tx.clone();
    forwarders.push(tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if tx.send(LoopEvent::Private(ev)).await.is_err() {
                break;
            }
        }
    }));
    Ok((handle, join))
}

/// Instruments, strategy instances, leftovers and positions of every configured symbol.
async fn prepare_symbols(
    config: &Config,
    opts: &RunOptions,
    client: &RestClient,
) -> Result<(Vec<SymbolSetup>, Vec<(String, String)>), AppError> {
    let plugins = PluginRuntime::new(PluginLimits::default())?;
    let mut modules: HashMap<PathBuf, Result<StrategyModule, String>> = HashMap::new();
    let mut setups = Vec::new();
    let mut skipped = Vec::new();
    let prefix = format!("{}-", config.instance_id);
    for sc in &config.symbols {
        let symbol = sc.symbol.as_str();
        let category = category_of(sc.category);
        let mut skip = |reason: String| {
            error!(%symbol, %reason, "symbol skipped");
            skipped.push((symbol.to_owned(), reason));
        };
        let inst = match fetch_instrument(client, category, symbol).await {
            Ok(i) => i,
            Err(e) => {
                skip(format!("instrument: {e}"));
                continue;
            }
        };
        let path = config::resolve(&opts.base_dir, &sc.strategy.module);
        let module = modules
            .entry(path.clone())
            .or_insert_with(|| plugins.load(&path).map_err(|e| e.to_string()));
        let module = match module {
            Ok(m) => m.clone(),
            Err(e) => {
                skip(format!("module: {e}"));
                continue;
            }
        };
        let strategy = match sc
            .strategy
            .params_json(&opts.base_dir)
            .and_then(|p| module.instantiate(&p).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => {
                skip(format!("strategy: {e}"));
                continue;
            }
        };
        cancel_leftovers(client, config.router.leftover_orders, &inst, &prefix).await?;
        let position = fetch_position(client, category, symbol).await?;
        let risk = sc.risk.or(&config.default_risk);
        info!(%symbol, module = %path.display(), kind = ?module.kind(), tick = %inst.tick_size, lot = %inst.lot_size, position = %position.size, "symbol ready");
        setups.push(SymbolSetup {
            router: router_config(config, &risk, &inst),
            instrument: inst,
            strategy,
            module: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            levels: config.router.levels as usize,
            max_position: risk.max_position.unwrap_or(0.0),
            stale_after_ms: risk.stale_after_ms.unwrap_or(5_000) as i64,
            position,
        });
    }
    Ok((setups, skipped))
}

/// Cancel open orders of `inst` carrying our prefix (left by an earlier run).
async fn cancel_leftovers(
    client: &RestClient,
    policy: LeftoverPolicy,
    inst: &Instrument,
    prefix: &str,
) -> Result<(), AppError> {
    let rows = open_orders(client, inst.category, &inst.symbol).await?;
    let ours: Vec<CancelOrder> = rows
        .iter()
        .filter(|o| o.order_link_id.starts_with(prefix))
        .filter_map(|o| {
            Some(CancelOrder {
                symbol: inst.symbol.as_str().into(),
                link_id: OrderLinkId::parse(&o.order_link_id).ok()?,
                order_id: Some(o.order_id.as_str().into()),
            })
        })
        .collect();
    if ours.is_empty() {
        return Ok(());
    }
    if policy == LeftoverPolicy::Adopt {
        warn!(symbol = %inst.symbol, "leftover_orders = \"adopt\" is not supported yet; cancelling");
    }
    info!(symbol = %inst.symbol, count = ours.len(), "cancelling orders left by an earlier run");
    for chunk in ours.chunks(inst.category.max_batch()) {
        let out = io::send(
            client,
            &OrderRequest::CancelBatch(inst.category, chunk.to_vec()),
        )
        .await;
        for ack in out
            .acks
            .iter()
            .filter(|a| !matches!(a.outcome, crate::router::state::AckOutcome::Accepted { .. }))
        {
            warn!(symbol = %inst.symbol, link_id = %ack.link_id, error = %ack.message, "leftover cancel not confirmed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(environment: &str) -> Config {
        config::parse(&format!("environment = \"{environment}\"")).unwrap()
    }

    #[tokio::test]
    async fn mainnet_needs_confirmation_and_tls_is_reported_clearly() {
        let opts = RunOptions::default();
        let err = run(config("mainnet"), opts.clone(), async {})
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::MainnetNotConfirmed), "{err}");
        for (env, confirm) in [("testnet", false), ("mainnet", true)] {
            let opts = RunOptions {
                confirm_mainnet: confirm,
                ..opts.clone()
            };
            let err = run(config(env), opts, async {}).await.unwrap_err();
            assert!(matches!(err, AppError::TlsUnsupported(_)), "{env}: {err}");
            assert!(err.to_string().contains("TLS is not compiled"), "{err}");
        }
    }

    #[test]
    fn decimal_limits_come_from_the_shortest_float_text() {
        assert_eq!(dec(0.05).to_string(), "0.05");
        assert_eq!(dec(50000.0).to_string(), "50000");
        assert_eq!(dec(20.0), Decimal::from(20));
    }
}
