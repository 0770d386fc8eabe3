//! Throughput of the sim over loopback (run: `cargo bench -p sim --bench throughput`).
//!
//! 1. Public messages per second: SYMBOLS symbols publishing at RATE Hz, every
//!    `orderbook.50`, `publicTrade` and `tickers` topic subscribed over a few connections;
//!    counts messages received by the clients.
//! 2. Order requests per second: concurrent signed REST `order/create` + `order/cancel`
//!    (authenticated, validated, matched and answered) with the rate limits lifted.
//!
//! Environment: SIM_BENCH_SYMBOLS (500), SIM_BENCH_RATE_HZ (200), SIM_BENCH_SECS (5).

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sim::{LimitConfig, Sim, SimConfig, SymbolConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn env(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn sign(secret: &str, payload: &str) -> String {
    sim::auth::sign(secret, payload)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` do a short smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let symbols = if quick {
        10
    } else {
        env("SIM_BENCH_SYMBOLS", 500)
    } as usize;
    let rate = env("SIM_BENCH_RATE_HZ", 200) as f64;
    let secs = if quick { 1 } else { env("SIM_BENCH_SECS", 5) };

    let mut cfg = SimConfig {
        symbols: Vec::new(),
        limits: LimitConfig {
            order_per_s: 1_000_000,
            query_per_s: 1_000_000,
            ip_per_5s: 100_000_000,
            ..LimitConfig::default()
        },
        ws_ack_delay_ms: 0,
        ..SimConfig::default()
    };
    for i in 0..symbols {
        let mut s = SymbolConfig::linear(&format!("S{i:03}USDT"), "0.01", "0.1", "100000", "100");
        s.publish_rate_hz = rate;
        s.book_depth = 60;
        s.flow_a = 20.0;
        cfg.symbols.push(s);
    }
    let sim = Sim::start(cfg).await.expect("sim starts");

    // Phase 1: public messages.
    let count = Arc::new(AtomicU64::new(0));
    let conns = 4;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let url = sim.public_linear_url();
        let count = count.clone();
        let mine: Vec<usize> = (0..symbols).filter(|i| i % conns == c).collect();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            for chunk in mine.chunks(100) {
                let mut args = Vec::new();
                for i in chunk {
                    args.push(format!("orderbook.50.S{i:03}USDT"));
                    args.push(format!("publicTrade.S{i:03}USDT"));
                    args.push(format!("tickers.S{i:03}USDT"));
                }
                ws.send(Message::Text(
                    json!({"op": "subscribe", "args": args}).to_string().into(),
                ))
                .await
                .unwrap();
            }
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Text(_)) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c0 = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let msgs = count.load(Ordering::Relaxed) - c0;
    let pub_rate = msgs as f64 / t0.elapsed().as_secs_f64();
    for t in tasks {
        t.abort();
    }
    println!(
        "public: {symbols} symbols at {rate} Hz, 3 topics each: {pub_rate:.0} messages/s received"
    );

    // Phase 2: order requests.
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..16 {
        let base = sim.rest_url();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut n = 0u64;
            while Instant::now() < stop {
                let sym = format!("S{:03}USDT", (w * 7 + n as usize) % symbols);
                let link = format!("w{w}-{n}");
                for body in [
                    json!({"category": "linear", "symbol": sym, "side": "Buy", "orderType": "Limit", "qty": "1", "price": "50", "orderLinkId": link}),
                    json!({"category": "linear", "symbol": sym, "orderLinkId": link}),
                ] {
                    let path = if body.get("side").is_some() { "/v5/order/create" } else { "/v5/order/cancel" };
                    let text = body.to_string();
                    let ts = sim_now().to_string();
                    let sig = sign("simsecret", &format!("{ts}simkey5000{text}"));
                    let r = http
                        .post(format!("{base}{path}"))
                        .header("X-BAPI-API-KEY", "simkey")
                        .header("X-BAPI-TIMESTAMP", ts)
                        .header("X-BAPI-RECV-WINDOW", "5000")
                        .header("X-BAPI-SIGN", sig)
                        .header("Content-Type", "application/json")
                        .body(text)
                        .send()
                        .await
                        .unwrap();
                    let v: serde_json::Value = r.json().await.unwrap();
                    assert_eq!(v["retCode"], 0, "{v}");
                    done.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        }));
    }
    let t0 = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let ord_rate = done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
    println!("orders: {ord_rate:.0} signed REST order requests/s (create+cancel, 16 clients)");
    sim.shutdown().await;
}

fn sim_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
