//! Throughput of the sim over loopback (run: `cargo bench -p sim --bench throughput`).
//!
//! The sim runs on its own runtime (2 worker threads named `sim-worker`, as the binary on
//! this 2-core machine) next to its market thread (`sim-market`); the clients run on a
//! separate runtime (`bench-client`), so the CPU time of each side is read per thread from
//! `/proc/self/task/*/schedstat` and reported apart.
//!
//! 1. Public messages per second: SYMBOLS symbols publishing at RATE Hz, every
//!    `orderbook.50`, `publicTrade` and `tickers` topic subscribed over a few connections;
//!    counts messages received by the clients.
//! 2. Order requests per second: signed REST `order/create` + `order/cancel` pairs
//!    (authenticated, validated, matched, recorded and answered) with the rate limits lifted,
//!    on CONNS keep-alive connections, each sending its next request when the previous
//!    answer is in. The requests are signed before the clock starts (the server still
//!    verifies every signature and timestamp) and written as raw HTTP/1.1, so the client's
//!    own cost stays small. A private WebSocket subscribed to `order`, `execution`,
//!    `position` and `wallet` receives the pushes meanwhile, as the host's would; the
//!    market keeps generating (no public subscribers).
//!
//! Environment: SIM_BENCH_SYMBOLS (500), SIM_BENCH_RATE_HZ (200), SIM_BENCH_SECS (5),
//! SIM_BENCH_CONNS (16), SIM_BENCH_MAX_ORDER_RATE (25000: requests signed in advance per
//! second of the run).

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sim::{LimitConfig, Sim, SimConfig, SymbolConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn env(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// CPU time (ns) used so far by this process's threads, summed per thread-name group.
fn cpu_by_group() -> HashMap<&'static str, u64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in dir.flatten() {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let ns: u64 = std::fs::read_to_string(p.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let group = match comm.trim() {
            c if c.starts_with("sim-worker") => "server",
            c if c.starts_with("sim-market") => "market",
            c if c.starts_with("bench-client") => "client",
            _ => "other",
        };
        *out.entry(group).or_default() += ns;
    }
    out
}

/// CPU cores used per group between two readings over `secs` of wall time.
fn cores(a: &HashMap<&str, u64>, b: &HashMap<&str, u64>, group: &str, secs: f64) -> f64 {
    let d = b.get(group).copied().unwrap_or(0) - a.get(group).copied().unwrap_or(0);
    d as f64 / 1e9 / secs
}

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` do a short smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let symbols = if quick {
        10
    } else {
        env("SIM_BENCH_SYMBOLS", 500)
    } as usize;
    let rate = env("SIM_BENCH_RATE_HZ", 200) as f64;
    let secs = if quick { 1 } else { env("SIM_BENCH_SECS", 5) };
    let conns = env("SIM_BENCH_CONNS", 16) as usize;
    let max_order_rate = env("SIM_BENCH_MAX_ORDER_RATE", 25_000);

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
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim-worker")
        .enable_all()
        .build()
        .expect("server runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let sim = server_rt.block_on(Sim::start(cfg)).expect("sim starts");

    // Phase 1: public messages.
    let count = Arc::new(AtomicU64::new(0));
    let ws_conns = 4;
    let mut tasks = Vec::new();
    for c in 0..ws_conns {
        let url = sim.public_linear_url();
        let count = count.clone();
        let mine: Vec<usize> = (0..symbols).filter(|i| i % ws_conns == c).collect();
        tasks.push(client_rt.spawn(async move {
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
    std::thread::sleep(Duration::from_millis(500));
    let c0 = count.load(Ordering::Relaxed);
    let cpu0 = cpu_by_group();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let msgs = count.load(Ordering::Relaxed) - c0;
    let el = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_by_group();
    let pub_rate = msgs as f64 / el;
    for t in tasks {
        t.abort();
    }
    println!(
        "public: {symbols} symbols at {rate} Hz, 3 topics each: {pub_rate:.0} messages/s received \
         (CPU cores: server {:.2}, market {:.2}, client {:.2})",
        cores(&cpu0, &cpu1, "server", el),
        cores(&cpu0, &cpu1, "market", el),
        cores(&cpu0, &cpu1, "client", el),
    );
    // Let the server notice the closed connections.
    std::thread::sleep(Duration::from_millis(300));

    // Phase 2: order requests.
    let addr = sim.addr();
    let per_conn_pairs = (secs * max_order_rate / 2 / conns as u64).max(1) as usize;
    let ts = wall_ms().to_string();
    let host = format!("Host: {addr}\r\n");
    let request = |path: &str, body: String| -> Vec<u8> {
        let sig = sim::auth::rest_signature("simsecret", &ts, "simkey", "60000", &body);
        format!(
            "POST {path} HTTP/1.1\r\n{host}X-BAPI-API-KEY: simkey\r\nX-BAPI-TIMESTAMP: {ts}\r\n\
             X-BAPI-RECV-WINDOW: 60000\r\nX-BAPI-SIGN: {sig}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let work: Vec<Vec<Vec<u8>>> = (0..conns)
        .map(|w| {
            let mut v = Vec::with_capacity(per_conn_pairs * 2);
            for n in 0..per_conn_pairs {
                let sym = format!("S{:03}USDT", (w * 7 + n) % symbols);
                let link = format!("w{w}-{n}");
                v.push(request(
                    "/v5/order/create",
                    json!({"category": "linear", "symbol": sym, "side": "Buy", "orderType": "Limit", "qty": "1", "price": "50", "orderLinkId": link}).to_string(),
                ));
                v.push(request(
                    "/v5/order/cancel",
                    json!({"category": "linear", "symbol": sym, "orderLinkId": link}).to_string(),
                ));
            }
            v
        })
        .collect();

    // The private stream.
    let pushes = Arc::new(AtomicU64::new(0));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let private = {
        let url = sim.private_url();
        let pushes = pushes.clone();
        client_rt.spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            let expires = wall_ms() + 60_000;
            let sig = sim::auth::ws_signature("simsecret", expires);
            let auth = json!({"op": "auth", "args": ["simkey", expires, sig]});
            ws.send(Message::Text(auth.to_string().into()))
                .await
                .unwrap();
            let sub =
                json!({"op": "subscribe", "args": ["order", "execution", "position", "wallet"]});
            ws.send(Message::Text(sub.to_string().into()))
                .await
                .unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    if t.contains("\"op\":\"subscribe\"") {
                        let _ = ready_tx.send(());
                    } else if t.contains("\"topic\"") {
                        pushes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("private stream subscribed");

    let done = Arc::new(AtomicU64::new(0));
    let ran_out = Arc::new(AtomicBool::new(false));
    let cpu0 = cpu_by_group();
    let t0 = Instant::now();
    let stop = t0 + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for reqs in work {
        let done = done.clone();
        let ran_out = ran_out.clone();
        tasks.push(client_rt.spawn(async move {
            let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
            sock.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(4096);
            let mut sent = 0;
            for r in &reqs {
                if Instant::now() >= stop {
                    return;
                }
                sock.write_all(r).await.unwrap();
                let body = read_response(&mut sock, &mut buf).await;
                let ok = body.windows(12).any(|w| w == b"\"retCode\":0,")
                    || body.windows(12).any(|w| w == b"\"retCode\":0}");
                assert!(ok, "{}", String::from_utf8_lossy(&body));
                done.fetch_add(1, Ordering::Relaxed);
                sent += 1;
            }
            if sent == reqs.len() {
                ran_out.store(true, Ordering::Relaxed);
            }
        }));
    }
    client_rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let el = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_by_group();
    let n = done.load(Ordering::Relaxed);
    let ord_rate = n as f64 / el;
    // Pushes still in flight arrive shortly after.
    std::thread::sleep(Duration::from_millis(200));
    private.abort();
    let server = cores(&cpu0, &cpu1, "server", el);
    let market = cores(&cpu0, &cpu1, "market", el);
    let client = cores(&cpu0, &cpu1, "client", el);
    println!(
        "orders: {ord_rate:.0} signed REST order requests/s (create+cancel, {conns} keep-alive \
         connections, pre-signed), {} private pushes received",
        pushes.load(Ordering::Relaxed)
    );
    println!(
        "orders: CPU cores: server {server:.2} ({:.0} µs per request), market {market:.2}, \
         client {client:.2}",
        server * el * 1e6 / n.max(1) as f64
    );
    if ran_out.load(Ordering::Relaxed) {
        println!("orders: a client ran out of pre-signed requests; raise SIM_BENCH_MAX_ORDER_RATE");
    }
    server_rt.block_on(sim.shutdown());
}

/// Read one HTTP/1.1 response (with `content-length`) from `sock`; returns its body. `buf`
/// carries bytes already read past the previous response.
async fn read_response(sock: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            let total = end + 4 + len;
            while buf.len() < total {
                fill(sock, buf).await;
            }
            let body = buf[end + 4..total].to_vec();
            buf.drain(..total);
            return body;
        }
        fill(sock, buf).await;
    }
}

async fn fill(sock: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 8192];
    let n = sock.read(&mut chunk).await.unwrap();
    assert!(n > 0, "connection closed");
    buf.extend_from_slice(&chunk[..n]);
}
