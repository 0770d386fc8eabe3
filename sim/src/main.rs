//! `sim --listen 127.0.0.1:PORT [--config FILE]`: prints one JSON line with the URLs when
//! ready and runs until SIGINT/SIGTERM.

use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "Bybit V5 wire-compatible simulated exchange")]
struct Args {
    /// Address to listen on (port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// TOML config file.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut cfg = match &args.config {
        Some(p) => sim::SimConfig::load(p)?,
        None => sim::SimConfig::default(),
    };
    cfg.listen = args.listen;
    let handle = sim::Sim::start(cfg).await?;
    // Install the handlers before announcing readiness, so a prompt SIGTERM is caught.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", handle.urls_json())?;
        out.flush()?;
    }
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    handle.shutdown().await;
    Ok(())
}
