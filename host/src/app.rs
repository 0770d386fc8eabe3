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

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{self, Config, Environment};
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::exchange::bybit::sign::{Credentials, Secret};
use crate::exchange::bybit::ws::{
    PrivateStreamConfig, PrivateStreamEvent, PrivateStreamHandle, PrivateStreamTask, WsError,
};
use crate::model::LinkIdGen;
use crate::plugin::{PluginLimits, PluginRuntime, StrategyModule};
use crate::reload::{ReloadTask, ReloadTrigger, Running};
use crate::router::batch::{BatchConfig, TimeInForce};
use crate::runtime::setup::{module_path, prepare_symbol};
use crate::runtime::{
    Control, LoopEvent, Probe, PublicUrls, Runtime, RuntimeConfig, RuntimeError, SymbolSetup,
    SymbolState, SymbolSummary, now_ms,
};

/// Whether this build can speak TLS (`https://`, `wss://`): rustls, see `exchange::bybit::tls`.
pub const TLS_COMPILED: bool = true;

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
    /// The configuration file: when set, it and every module file in use are watched and
    /// changes are applied while the host runs.
    pub config_path: Option<PathBuf>,
    /// Forces a reload (SIGHUP).
    pub reload: ReloadTrigger,
    /// Observer of quotes and reloads (tests, benchmarks).
    pub probe: Probe,
    /// Questions to the running loop (snapshots).
    pub control: Control,
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
    trade: String,
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
            format!("wss://{stream}/v5/trade"),
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
                e.trade.clone(),
            ])
        }
    };
    let Some([rest, public_linear, public_spot, private, trade]) = urls else {
        let sim = sim::Sim::start(sim::SimConfig::default())
            .await
            .map_err(|e| AppError::Sim(format!("{e:#}")))?;
        info!(rest = %sim.rest_url(), "paper venue: embedded simulator started");
        return Ok(Venue {
            rest: sim.rest_url(),
            public_linear: sim.public_linear_url(),
            public_spot: sim.public_spot_url(),
            private: sim.private_url(),
            trade: sim.trade_url(),
            credentials: Credentials::new("simkey", Secret::new("simsecret")),
            sim: Some(sim),
        });
    };
    if !TLS_COMPILED {
        for url in [&rest, &public_linear, &public_spot, &private, &trade] {
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
        trade,
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
    let sender = match config.router.transport {
        config::Transport::Rest => crate::router::io::OrderSender::rest(client.clone()),
        config::Transport::Ws => {
            let trade = crate::exchange::bybit::ws::TradeStreamConfig::new(
                venue.trade.clone(),
                venue.credentials.clone(),
            );
            crate::router::io::OrderSender::connect_ws(trade, Duration::from_secs(10)).await?
        }
    };
    let prefix = config.instance_id.clone();
    let ids = LinkIdGen::new(&prefix, now_ms() as u64)?;
    let plugins = PluginRuntime::new(PluginLimits::default())?;
    let (setups, skipped, mut running) = prepare_symbols(config, opts, &client, &plugins).await?;
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
    let dcp = config.disconnect.dcp_window_s;
    let (private, private_join) =
        start_private(venue, dcp.is_some(), &events_tx, &mut forwarders).await?;
    if let Some(window) = dcp {
        // Bybit enables DCP per account on request: a refusal is reported, not fatal; the
        // client-side dead man's switch runs in every case.
        match crate::risk::actions::arm_dcp(&client, window).await {
            Ok(()) => info!(window_s = window, "disconnect protection (DCP) armed"),
            Err(e) => warn!(error = %e, "cannot arm disconnect protection (DCP)"),
        }
    }
    let urls = PublicUrls {
        linear: venue.public_linear.clone(),
        spot: venue.public_spot.clone(),
        symbols_per_connection: config.streams.symbols_per_connection as usize,
    };
    let mut cfg = RuntimeConfig::new(&prefix, urls);
    cfg.probe = opts.probe.clone();
    cfg.kill = config.kill.clone();
    cfg.disconnect = config.disconnect.clone();
    for sc in &config.symbols {
        let risk = sc.risk.or(&config.default_risk);
        if let Some(p) = risk.protect {
            cfg.protect.insert(sc.symbol.clone(), p);
        }
        if let Some(d) = risk.derisk {
            cfg.derisk.insert(sc.symbol.clone(), d);
        }
    }
    cfg.batch = BatchConfig {
        time_in_force: if config.router.post_only {
            TimeInForce::PostOnly
        } else {
            TimeInForce::Gtc
        },
    };
    let reload = opts.config_path.as_ref().map(|path| {
        running.config_hash = crate::reload::file_hash(path);
        ReloadTask::new(
            path.clone(),
            opts.base_dir.clone(),
            running,
            plugins.clone(),
            client.clone(),
            events_tx.clone(),
            opts.probe.clone(),
            opts.reload.clone(),
        )
    });
    opts.control.attach(events_tx.clone());
    // The account's equity before the first wallet push, so the drawdown and daily-loss
    // baselines exist from the start; a failed read waits for the push.
    let equity = crate::runtime::rest::fetch_equity(&client).await;
    let mut runtime = Runtime::new(symbols, client, sender, ids, cfg, events_tx, events_rx);
    match equity {
        Ok(Some(e)) => {
            info!(equity = %e, "account equity read");
            runtime.on_wallet_equity(e, now_ms());
        }
        Ok(None) => warn!("the wallet reports no total equity; waiting for wallet pushes"),
        Err(e) => warn!(error = %e, "cannot read the account equity; waiting for wallet pushes"),
    }
    runtime.start_streams()?;
    let applied = crate::ctl::AppliedConfig::default();
    let reload = reload.map(|task| tokio::spawn(task.publish_to(applied.clone()).run()));
    let socket_path = crate::ctl::socket_path(config, &opts.base_dir);
    let socket = tokio::spawn(crate::ctl::serve(
        socket_path.clone(),
        opts.control.clone(),
        opts.reload.clone(),
        applied,
    ));
    let socket = tokio::spawn(async move {
        if let Ok(Err(e)) = socket.await {
            warn!(socket = %socket_path.display(), error = %e, "control socket unavailable");
        }
    });
    info!(
        symbols = runtime.symbols().len(),
        skipped = skipped.len(),
        "quoting"
    );
    runtime.run(shutdown).await;

    info!("shutting down: cancelling every order");
    let cancelled = runtime.cancel_everything(SHUTDOWN_DEADLINE).await;
    if let Some(task) = reload {
        task.abort();
    }
    socket.abort();
    let _ = socket.await;
    runtime.close_events();
    runtime.close_streams().await;
    private.shutdown().await;
    if tokio::time::timeout(Duration::from_secs(2), private_join)
        .await
        .is_err()
    {
        warn!("the private stream task did not stop in time");
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
    dcp: bool,
    events_tx: &mpsc::Sender<LoopEvent>,
    forwarders: &mut Vec<JoinHandle<()>>,
) -> Result<(PrivateStreamHandle, JoinHandle<()>), AppError> {
    let mut stream_cfg = PrivateStreamConfig::new(venue.private.clone(), venue.credentials.clone());
    if dcp {
        // Keeps DCP's timer reset while this connection lives.
        stream_cfg.topics.push("dcp.future".into());
    }
    let (handle, mut rx, join) = PrivateStreamTask::spawn(stream_cfg);
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

/// Instruments, strategy instances, leftovers and positions of every configured symbol; a
/// symbol whose module or parameters fail is reported and skipped. Also returns what runs, for
/// the reload task.
async fn prepare_symbols(
    config: &Config,
    opts: &RunOptions,
    client: &RestClient,
    plugins: &PluginRuntime,
) -> Result<(Vec<SymbolSetup>, Vec<(String, String)>, Running), AppError> {
    let mut modules: HashMap<PathBuf, Result<StrategyModule, String>> = HashMap::new();
    let mut setups = Vec::new();
    let mut skipped = Vec::new();
    let mut running_symbols = Vec::new();
    let mut symbol_modules = HashMap::new();
    let mut instruments = HashMap::new();
    let mut params = HashMap::new();
    for sc in &config.symbols {
        let symbol = sc.symbol.as_str();
        let path = module_path(&opts.base_dir, sc);
        let module = modules
            .entry(path.clone())
            .or_insert_with(|| plugins.load(&path).map_err(|e| e.to_string()));
        let result = match module {
            Ok(m) => prepare_symbol(config, sc, &opts.base_dir, client, m)
                .await
                .map(|setup| (setup, m.content_hash().to_owned())),
            Err(e) => Err(format!("module: {e}")),
        };
        match result {
            Ok((setup, hash)) => {
                symbol_modules.insert(symbol.to_owned(), (path, hash));
                if let Ok(text) = crate::reload::diff::params_text(sc, &opts.base_dir) {
                    params.insert(symbol.to_owned(), text);
                }
                instruments.insert(symbol.to_owned(), setup.instrument.clone());
                running_symbols.push(sc.clone());
                setups.push(setup);
            }
            Err(reason) => {
                error!(%symbol, %reason, "symbol skipped");
                skipped.push((symbol.to_owned(), reason));
            }
        }
    }
    let running = Running {
        config: Config {
            symbols: running_symbols,
            ..config.clone()
        },
        config_hash: String::new(),
        modules: modules
            .into_iter()
            .filter_map(|(p, m)| Some((p, m.ok()?)))
            .collect(),
        symbol_modules,
        instruments,
        params,
    };
    Ok((setups, skipped, running))
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
            // TLS is compiled in: the https/wss endpoints pass; without keys the run stops
            // there, before any connection.
            let err = run(config(env), opts, async {}).await.unwrap_err();
            assert!(matches!(err, AppError::Credentials(_)), "{env}: {err}");
        }
    }
}
