//! The `host` binary: parse the command line, set up logging, run the chosen command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use host::app::RunOptions;
use host::cli::quote::QuoteSession;
use host::plugin::{PluginLimits, PluginRuntime};
use host::reload::ReloadTrigger;

/// quoter: a market-making host for Bybit V5.
#[derive(Parser)]
#[command(name = "host", version, about)]
struct Cli {
    /// Log as JSON lines (one object per event) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration file without running it; every problem is listed with its key.
    /// With `--against`, also print what a reload from that configuration would change.
    CheckConfig {
        /// The configuration file (TOML).
        file: PathBuf,
        /// The configuration currently running (or any other to compare with).
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Quote every configured symbol from one process until SIGINT/SIGTERM (or the duration).
    Run {
        /// The configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Required to trade with `environment = "mainnet"`.
        #[arg(long)]
        confirm_mainnet: bool,
        /// Stop after this many seconds (default: run until a signal).
        #[arg(long)]
        duration_s: Option<u64>,
    },
    /// Ask a running host (found by its configuration file) for `status`, a `reload`, or the
    /// `config` in effect, over its control socket.
    Ctl {
        /// The running host's configuration file.
        #[arg(long)]
        config: PathBuf,
        /// `status`, `reload`, `config`, `kill` or `clear-kill`.
        cmd: String,
        /// The symbol a `kill` or `clear-kill` applies to (default: the whole account).
        #[arg(long)]
        symbol: Option<String>,
        /// The action of a `kill`: `reduce_only`, `halt`, `cancel_all` or `flatten`.
        #[arg(long)]
        action: Option<String>,
    },
    /// Load one strategy plugin and answer JSON lines on stdin/stdout (the author's bench).
    Quote {
        /// The strategy module: a `.wasm` file or a native library (`.so`).
        #[arg(long)]
        plugin: PathBuf,
        /// JSON file with the strategy's parameters.
        #[arg(long)]
        params: PathBuf,
        /// Per-call deadline in milliseconds.
        #[arg(long, default_value_t = 5)]
        deadline_ms: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    if cli.json {
        logs.json().with_current_span(true).init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::CheckConfig { file, against } => {
            let config = host::config::load(&file)?;
            println!(
                "{}: ok ({:?}, {} symbol(s): {})",
                file.display(),
                config.environment,
                config.symbols.len(),
                config
                    .symbols
                    .iter()
                    .map(|s| s.symbol.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if against.is_none() {
                let socket = host::ctl::socket_path(&config, &dir_of(&file));
                match block_on(host::ctl::request(
                    &socket,
                    &serde_json::json!({"cmd": "config"}),
                )) {
                    Ok(reply) if reply["ok"] == true => {
                        let text = reply["text"].as_str().unwrap_or_default();
                        let old = host::config::parse(text)
                            .map_err(|(k, p)| anyhow::anyhow!("running config: {k}: {p}"))?;
                        let d =
                            host::reload::diff::diff(&old, &dir_of(&file), &config, &dir_of(&file));
                        println!("against the running host ({}):", socket.display());
                        print!("{d}");
                        return Ok(());
                    }
                    _ => {}
                }
            }
            if let Some(old_path) = against {
                let old = host::config::load(&old_path)?;
                let d = host::reload::diff::diff(
                    &old,
                    dir_of(&old_path).as_path(),
                    &config,
                    dir_of(&file).as_path(),
                );
                println!("against {}:", old_path.display());
                print!("{d}");
            }
            Ok(())
        }
        Command::Ctl {
            config,
            cmd,
            symbol,
            action,
        } => {
            let parsed = host::config::load(&config)?;
            let socket = host::ctl::socket_path(&parsed, &dir_of(&config));
            let req = serde_json::json!({"cmd": cmd, "symbol": symbol, "action": action});
            let reply =
                block_on(host::ctl::request(&socket, &req)).map_err(|e| anyhow::anyhow!(e))?;
            if cmd == "config" && reply["ok"] == true {
                print!("{}", reply["text"].as_str().unwrap_or_default());
            } else {
                println!("{}", serde_json::to_string_pretty(&reply)?);
            }
            if reply["ok"] != true {
                anyhow::bail!("the host refused: {}", reply["error"]);
            }
            Ok(())
        }
        Command::Run {
            config,
            confirm_mainnet,
            duration_s,
        } => run_host(&config, confirm_mainnet, duration_s),
        Command::Quote {
            plugin,
            params,
            deadline_ms,
        } => {
            let params_json = std::fs::read(&params).map_err(|e| {
                anyhow::anyhow!("{}: cannot read parameters: {e}", params.display())
            })?;
            let limits = PluginLimits {
                call_deadline: std::time::Duration::from_millis(deadline_ms),
                ..Default::default()
            };
            let runtime = PluginRuntime::new(limits)?;
            let module = runtime.load(&plugin)?;
            let mut session = QuoteSession::new(&module, &params_json)?;
            session.run(std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(())
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run_host(path: &Path, confirm_mainnet: bool, duration_s: Option<u64>) -> anyhow::Result<()> {
    let config = host::config::load(path)?;
    let reload = ReloadTrigger::default();
    let opts = RunOptions {
        confirm_mainnet,
        base_dir: dir_of(path),
        config_path: Some(path.to_owned()),
        reload: reload.clone(),
        probe: Default::default(),
        control: Default::default(),
    };
    let runtime = match std::env::var("QUOTER_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if n > 0 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
        // One thread by default: the streams, the loop and the requests hand work to each
        // other without waking other threads (measured: about a quarter less CPU at 500
        // symbols than a multi-threaded runtime, and no cross-thread hop in tick-to-order).
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    runtime.block_on(async move {
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP received: reloading");
                    reload.fire();
                }
            });
        }
        let report = host::app::run(config, opts, shutdown_signal(duration_s)).await?;
        for (symbol, reason) in &report.skipped {
            eprintln!("skipped {symbol}: {reason}");
        }
        Ok(())
    })
}

/// Completes on SIGINT, SIGTERM or after `duration_s` seconds.
async fn shutdown_signal(duration_s: Option<u64>) {
    let duration = async {
        match duration_s {
            Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    let sigterm = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = sigterm => tracing::info!("SIGTERM received"),
        _ = duration => tracing::info!("run duration reached"),
    }
}
