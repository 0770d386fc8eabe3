//! Tick-to-order latency inside the process: from an `orderbook.50` frame's text (as read from
//! the socket) to the request bytes ready to write, through the host's own components, with the
//! WASM Avellaneda-Stoikov strategy on 50 symbols fed round-robin (so books, strategy instances
//! and working orders compete for the caches as in production). Run once per transport (REST,
//! then the trade WebSocket). Then, apart, the cost of the task hops the runtime adds around
//! that path: public socket task -> loop, one mpsc hop (the stream task sends into the loop's
//! own channel); loop -> trade socket task, one mpsc hop (the loop queues the frame itself);
//! over REST, loop -> request task, one spawn.
//!
//! Run: `cargo bench -p host --bench tick_to_order` (needs `scripts/build-wasm.sh`;
//! `T2O_PIPELINE_ONLY=1` skips the hops; `T2O_REQUEST_FRAMES=1` replays for an instruction
//! profile of the request frames alone, see [`request_frame`]). Prints per-stage percentiles from per-frame `Instant`
//! stamps. Stages, as the runtime runs them:
//! - parse: `peek_topic` + `parse_orderbook` into a reused buffer (`PublicStreamTask`);
//! - apply: symbol lookup + `SymbolState::on_book` (`Runtime::on_public`);
//! - strategy: `SymbolState::call_strategy` (view fill, WASM call, output check);
//! - plan: `SymbolState::plan` (hard limits, rounding, diff against working orders);
//! - batch: `plan_requests` + `record_sent` (`Runtime::act`);
//! - encode: REST: `router::io::encode` (path + JSON body) + the four auth headers with the
//!   HMAC-SHA256 signature (`Credentials::rest_headers`, as `RestClient` does); trade
//!   WebSocket: the same body inside the request frame (`trade_frame_with`, as
//!   `TradeStreamHandle::request_with` does; the connection is authenticated once).
//!
//! Acks are applied between frames (outside the timed path) so the next ticks amend resting
//! orders, as they would against an exchange; the rate budget is unlimited here (the router's
//! real budget would defer most of 2,500 ticks/s of requotes; deferring costs less than sending).
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use host::book::BookUpdate;
use host::exchange::bybit::parse::{parse_orderbook, peek_topic};
use host::exchange::bybit::sign::{Credentials, Secret};
use host::exchange::bybit::ws::trade::{trade_frame_with, trade_req_id};
use host::model::{Category, Instrument, LinkIdGen};
use host::plugin::{PluginLimits, PluginRuntime};
use host::router::batch::{BatchConfig, OrderRequest, SymbolActions, plan_requests, record_sent};
use host::router::body::write_body;
use host::router::diff::DiffConfig;
use host::router::io;
use host::router::limits::HardLimits;
use host::router::ratelimit::{Endpoint, LimitKey, RateLimiter};
use host::router::state::{AckOutcome, ExchangeStatus, OrderUpdate, RequestKind};
use host::router::symbol::SymbolConfig;
use host::runtime::rest::PositionState;
use host::runtime::{SymbolSetup, SymbolState};
use rust_decimal::Decimal;

#[path = "support/stream_gen.rs"]
mod stream_gen;

const SYMBOLS: usize = 50;
/// Deltas per symbol: the first `WARMUP` are not recorded; the rest are split between the
/// stage-stamped pass and the end-to-end-only pass.
const DELTAS: usize = 3_000;
const WARMUP: usize = 400;
const STAMPED_UNTIL: usize = WARMUP + (DELTAS - WARMUP) / 2;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn wasm_path(lib: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap().parent().unwrap();
    std::env::var_os("QUOTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("plugins"))
        .join(format!("{lib}.wasm"))
}

fn instrument(symbol: &str) -> Instrument {
    Instrument {
        symbol: symbol.into(),
        category: Category::Linear,
        tick_size: Decimal::new(1, 1),
        lot_size: Decimal::new(1, 3),
        min_qty: Decimal::new(1, 3),
        max_qty: Decimal::from(1190),
        min_notional: Decimal::from(5),
    }
}

/// Percentiles of nanosecond samples.
struct Dist(Vec<u64>);

impl Dist {
    fn new(mut v: Vec<u64>) -> Self {
        v.sort_unstable();
        Self(v)
    }

    fn p(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((q * self.0.len() as f64) as usize).min(self.0.len() - 1);
        self.0[i] as f64
    }

    fn mean(&self) -> f64 {
        self.0.iter().sum::<u64>() as f64 / self.0.len().max(1) as f64
    }

    fn row(&self, name: &str) {
        let us = |ns: f64| ns / 1e3;
        println!(
            "  {name:<34} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}",
            self.0.len(),
            us(self.mean()),
            us(self.p(0.50)),
            us(self.p(0.90)),
            us(self.p(0.99)),
            us(self.p(0.999)),
            us(self.0.last().copied().unwrap_or(0) as f64),
        );
    }
}

fn header(title: &str) {
    println!("{title}");
    println!(
        "  {:<34} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "stage (µs)", "n", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
}

struct Bench {
    states: Vec<SymbolState>,
    /// Symbol -> state, hashed as the runtime's index is (foldhash).
    index: HashMap<Arc<str>, usize, foldhash::fast::RandomState>,
    streams: Vec<stream_gen::Stream>,
    ids: LinkIdGen,
    limiter: RateLimiter,
    creds: Credentials,
    batch: BatchConfig,
    update: BookUpdate,
    next_order_id: u64,
    transport: Transport,
    req_seq: u64,
    /// The socket task's read buffer.
    read_buf: String,
}

/// How requests leave the process: the router's `transport` setting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// REST: path + JSON body + the four auth headers with the HMAC-SHA256 signature.
    Rest,
    /// Trade WebSocket: the JSON frame (`reqId`, header, op, args); the connection is
    /// authenticated once, so no per-request signature.
    WsTrade,
}

/// What one frame cost, ns per stage (0 where the stage did not run).
#[derive(Default, Clone, Copy)]
struct Sample {
    parse: u64,
    apply: u64,
    strategy: u64,
    plan: u64,
    batch: u64,
    encode: u64,
    sign: u64,
    total: u64,
    requests: usize,
    bytes: usize,
}

fn now_ms_of(k: usize) -> i64 {
    // The generator stamps delta k of every stream at this time (20 ms apart, as orderbook.50).
    1_687_940_967_466 + (1_000_001 + k as i64) * 20 + 2
}

impl Bench {
    fn new(transport: Transport) -> Self {
        let rt = PluginRuntime::new(PluginLimits::default()).expect("plugin runtime");
        let path = wasm_path("avellaneda_stoikov");
        let module = rt
            .load(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build-wasm.sh)", path.display()));
        let params = std::fs::read(root().join("config/strategies/avellaneda-stoikov.json"))
            .expect("params");
        let router = SymbolConfig {
            limits: HardLimits {
                max_long: Decimal::new(5, 1),
                max_short: Decimal::new(5, 1),
                max_notional: Decimal::from(50_000),
                max_open_orders: 10,
                max_order_qty: Decimal::new(1, 1),
            },
            diff: DiffConfig { tolerance_ticks: 1 },
        };
        let mut states = Vec::new();
        let mut streams = Vec::new();
        for i in 0..SYMBOLS {
            let symbol = format!("SYM{i:03}USDT");
            streams.push(stream_gen::generate_symbol(
                &symbol,
                0x5eed + i as u64 * 7919,
                DELTAS,
            ));
            let setup = SymbolSetup {
                instrument: instrument(&symbol),
                strategy: module.instantiate(&params).expect("instance"),
                module: "avellaneda_stoikov.wasm".into(),
                router,
                levels: 3,
                max_position: 0.5,
                target_position: 0.0,
                stale_after_ms: 5_000,
                position: PositionState::default(),
                protect: None,
                derisk: None,
                adopted: Vec::new(),
            };
            states.push(SymbolState::new(setup).expect("state"));
        }
        let index = states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.symbol.clone(), i))
            .collect();
        // An unlimited budget: every tick's request is built and encoded.
        let mut limiter = RateLimiter::new();
        for endpoint in [
            Endpoint::Create,
            Endpoint::Amend,
            Endpoint::Cancel,
            Endpoint::CreateBatch,
            Endpoint::AmendBatch,
            Endpoint::CancelBatch,
        ] {
            limiter = limiter.with_limit(LimitKey::new(endpoint, Category::Linear), 1_000_000_000);
        }
        let mut b = Self {
            states,
            index,
            streams,
            ids: LinkIdGen::new("bench", 0).expect("ids"),
            limiter,
            creds: Credentials::new("simkey", Secret::new("simsecret")),
            batch: BatchConfig::default(),
            update: BookUpdate::with_capacity(64),
            next_order_id: 0,
            transport,
            req_seq: 0,
            read_buf: String::with_capacity(64 * 1024),
        };
        let now = now_ms_of(0) - 20;
        for i in 0..SYMBOLS {
            parse_orderbook(b.streams[i].snapshot.as_bytes(), &mut b.update).expect("snapshot");
            b.states[i].on_book(&b.update, now).expect("snapshot apply");
        }
        b
    }

    /// Frame `k` of symbol `i`, through every stage, stamping each boundary when `stamped`.
    fn frame(&mut self, i: usize, k: usize, stamped: bool) -> Sample {
        let now_ms = now_ms_of(k);
        // The socket read leaves the frame in the connection's reused read buffer (the kernel's
        // copy has just written it); the clock starts after that read.
        self.read_buf.clear();
        self.read_buf.push_str(&self.streams[i].deltas[k]);
        let frame: &str = &self.read_buf;
        let mut s = Sample::default();
        let stamp = |on: bool| on.then(Instant::now);
        let t0 = Instant::now();

        // parse (PublicStreamTask::handle_text)
        let topic = peek_topic(frame.as_bytes()).expect("topic").expect("topic");
        assert!(topic.starts_with("orderbook."));
        parse_orderbook(frame.as_bytes(), &mut self.update).expect("parse");
        let t1 = stamp(stamped);

        // book apply (Runtime::on_public)
        let at = *self
            .index
            .get(self.update.symbol.as_str())
            .expect("known symbol");
        let state = &mut self.states[at];
        state.on_book(&self.update, now_ms).expect("apply");
        let t2 = stamp(stamped);

        // strategy call (SymbolState::plan, when the book changed)
        state.call_strategy(now_ms);
        state.quote_dirty = false;
        state.route_dirty = true;
        let t3 = stamp(stamped);

        // diff/plan
        let out = state.plan(&mut self.ids, now_ms, false);
        let t4 = stamp(stamped);

        let mut requests = Default::default();
        if !out.actions.is_empty() {
            // batch (Runtime::act)
            let actions = [SymbolActions {
                symbol: state.symbol.clone(),
                category: state.instrument.category,
                actions: &out.actions,
            }];
            let plan = plan_requests(&actions, &mut self.limiter, now_ms, &self.batch);
            for sent in &plan.sent {
                record_sent(&mut state.working, &sent.of(&actions).action, now_ms).expect("record");
            }
            requests = plan.requests;
            let t5 = stamp(stamped);

            // encode + sign (router::io::send -> RestClient::post_signed_raw)
            let mut sign_ns = 0;
            for req in &requests {
                match self.transport {
                    Transport::Rest => {
                        let (path, body) = io::encode(req);
                        let ts = stamp(stamped);
                        let headers = self.creds.rest_headers(now_ms, 5_000, &body);
                        if let Some(ts) = ts {
                            sign_ns += ts.elapsed().as_nanos() as u64;
                        }
                        s.bytes += path.len() + body.len();
                        black_box((path, body, headers));
                    }
                    Transport::WsTrade => {
                        // As `TradeStreamHandle::request_with` builds it.
                        self.req_seq += 1;
                        // As the trade stream names requests: a base-36 start time, then a count.
                        let req_id = trade_req_id("mio8x2k1", self.req_seq);
                        let op = io::ws_op(req.endpoint()).expect("trade op");
                        let frame = trade_frame_with(&req_id, now_ms, 5_000, op, |out| {
                            write_body(req, out)
                        });
                        s.bytes += frame.len();
                        black_box(frame);
                    }
                }
            }
            let t6 = Instant::now();
            s.sign = sign_ns;
            if let (Some(t4), Some(t5)) = (t4, t5) {
                s.batch = (t5 - t4).as_nanos() as u64;
                s.encode = (t6 - t5).as_nanos() as u64;
            }
            s.total = (t6 - t0).as_nanos() as u64;
        } else {
            s.total = t4
                .unwrap_or_else(Instant::now)
                .duration_since(t0)
                .as_nanos() as u64;
        }
        if let (Some(t1), Some(t2), Some(t3), Some(t4)) = (t1, t2, t3, t4) {
            s.parse = (t1 - t0).as_nanos() as u64;
            s.apply = (t2 - t1).as_nanos() as u64;
            s.strategy = (t3 - t2).as_nanos() as u64;
            s.plan = (t4 - t3).as_nanos() as u64;
        }
        s.requests = requests.len();
        self.ack(at, &requests, now_ms);
        s
    }

    /// The exchange accepts everything (and confirms cancels), as between two ticks.
    fn ack(&mut self, at: usize, requests: &[OrderRequest], now_ms: i64) {
        let working = &mut self.states[at].working;
        for req in requests {
            let kind = io::kind_of(req);
            for (_, link_id) in io::items_of(req) {
                self.next_order_id += 1;
                let order_id = format!("oid-{}", self.next_order_id);
                let outcome = AckOutcome::Accepted {
                    order_id: Some(order_id.clone()),
                };
                working
                    .apply_ack(link_id.as_str(), kind, &outcome)
                    .expect("ack");
                if kind == RequestKind::Cancel {
                    let o = working.get_mut(link_id.as_str()).expect("order");
                    let push = OrderUpdate {
                        order_id: o.order_id.as_deref().unwrap_or(&order_id).to_owned(),
                        order_link_id: link_id.to_string(),
                        status: ExchangeStatus::Cancelled,
                        price: o.price,
                        qty: o.qty,
                        cum_exec_qty: Decimal::ZERO,
                        updated_ms: now_ms,
                    };
                    working.apply_update(&push);
                }
            }
        }
        working.prune_terminal();
    }
}

/// `T2O_EVICT_MB=N`: before each frame (outside the clock), write over an `N` MiB buffer, so
/// the frame meets caches other work has filled (as a host idle between bursts does).
struct Evictor(Vec<u8>, u8);

impl Evictor {
    fn from_env() -> Self {
        let mb: usize = std::env::var("T2O_EVICT_MB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Self(vec![0; mb << 20], 0)
    }

    fn run(&mut self) {
        self.1 = self.1.wrapping_add(1);
        for line in self.0.chunks_mut(64) {
            line[0] = self.1;
        }
        black_box(&self.0);
    }
}

fn pipeline(transport: Transport) {
    let t = Instant::now();
    let mut b = Bench::new(transport);
    let name = match transport {
        Transport::Rest => "REST transport",
        Transport::WsTrade => "trade WebSocket transport",
    };
    println!(
        "tick-to-order, {name}: {SYMBOLS} symbols, WASM avellaneda-stoikov, {DELTAS} orderbook.50 deltas per symbol round-robin (set-up {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let mut stamped = Vec::new();
    let mut e2e = Vec::new();
    let mut evict = Evictor::from_env();
    for k in 0..DELTAS {
        for i in 0..SYMBOLS {
            evict.run();
            let s = b.frame(i, k, k < STAMPED_UNTIL);
            if k >= STAMPED_UNTIL {
                e2e.push(s);
            } else if k >= WARMUP {
                stamped.push(s);
            }
        }
    }
    let pick = |v: &[Sample], f: fn(&Sample) -> u64, only_orders: bool| {
        Dist::new(
            v.iter()
                .filter(|s| !only_orders || s.requests > 0)
                .map(f)
                .collect(),
        )
    };
    let with_orders = stamped.iter().filter(|s| s.requests > 0).count();
    let requests: usize = stamped.iter().map(|s| s.requests).sum();
    let bytes: usize = stamped.iter().map(|s| s.bytes).sum();
    println!(
        "  {} of {} frames produced requests ({:.0}%), {:.2} requests per such frame, {:.0} bytes per request",
        with_orders,
        stamped.len(),
        100.0 * with_orders as f64 / stamped.len() as f64,
        requests as f64 / with_orders.max(1) as f64,
        bytes as f64 / requests.max(1) as f64
    );
    header("per stage, stage-stamped pass (frames that produced requests)");
    pick(&stamped, |s| s.parse, true).row("parse (peek_topic + parse_orderbook)");
    pick(&stamped, |s| s.apply, true).row("book apply (lookup + on_book)");
    pick(&stamped, |s| s.strategy, true).row("strategy call (WASM A-S)");
    pick(&stamped, |s| s.plan, true).row("diff/plan (SymbolState::plan)");
    pick(&stamped, |s| s.batch, true).row("batch (plan_requests+record_sent)");
    if transport == Transport::Rest {
        pick(&stamped, |s| s.encode, true).row("encode + sign (REST body, HMAC)");
        pick(&stamped, |s| s.encode - s.sign.min(s.encode), true)
            .row("  of which encode (JSON body)");
        pick(&stamped, |s| s.sign, true).row("  of which sign (auth headers)");
    } else {
        pick(&stamped, |s| s.encode, true).row("encode (trade frame, no HMAC)");
    }
    pick(&stamped, |s| s.total, true).row("total, frame -> request bytes");
    header("end to end, only start/end stamped (second half of the stream)");
    pick(&e2e, |s| s.total, true).row("frame -> request bytes");
    pick(&e2e, |s| s.total, false).row("every frame (incl. no request)");
    let mut stamps = Vec::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        let a = Instant::now();
        stamps.push(a.elapsed().as_nanos() as u64);
    }
    println!(
        "  (Instant::now pair costs {:.0} ns median; the stamped pass takes 7-9 stamps per frame)",
        Dist::new(stamps).p(0.5)
    );
}

/// One-way latency of a bounded mpsc hop between two tokio tasks, and of a spawned task's
/// first poll, on the host's default runtime (one thread: a hop is a local wake-up) and on a
/// 2-worker multi-thread one (`QUOTER_WORKER_THREADS=2`: a hop may cross threads).
fn hops(multi_thread: bool) {
    const N: usize = 20_000;
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .expect("runtime");
    // The payload is about a PublicStreamEvent's size.
    type Msg = (Instant, [u64; 12]);
    let hop = |chain: usize, paced: bool| -> Dist {
        rt.block_on(async move {
            let (first_tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(1024);
            for _ in 1..chain {
                let (tx, next_rx) = tokio::sync::mpsc::channel::<Msg>(1024);
                let mut prev = rx;
                tokio::spawn(async move {
                    while let Some(m) = prev.recv().await {
                        if tx.send(m).await.is_err() {
                            break;
                        }
                    }
                });
                rx = next_rx;
            }
            let sink = tokio::spawn(async move {
                let mut out = Vec::with_capacity(N);
                while let Some((t, payload)) = rx.recv().await {
                    out.push(t.elapsed().as_nanos() as u64);
                    black_box(payload);
                }
                out
            });
            let source = tokio::spawn(async move {
                for i in 0..N {
                    if paced {
                        // The receiver parks between frames, as at 2,500 frames/s.
                        tokio::time::sleep(Duration::from_micros(400)).await;
                    } else if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                    first_tx
                        .send((Instant::now(), [i as u64; 12]))
                        .await
                        .unwrap();
                }
            });
            source.await.unwrap();
            Dist::new(sink.await.unwrap())
        })
    };
    let spawn = |paced: bool| -> Dist {
        rt.block_on(async move {
            let mut out = Vec::with_capacity(N);
            for _ in 0..N / 4 {
                if paced {
                    tokio::time::sleep(Duration::from_micros(400)).await;
                }
                let t = Instant::now();
                let h = tokio::spawn(async move { t.elapsed().as_nanos() as u64 });
                out.push(h.await.unwrap());
            }
            Dist::new(out)
        })
    };
    header(if multi_thread {
        "task hops (tokio multi-thread, 2 workers)"
    } else {
        "task hops (tokio current-thread, the host's default)"
    });
    hop(1, false).row("mpsc hop, back to back");
    hop(1, true).row("mpsc hop, paced (receiver parked)");
    hop(2, true).row("2 mpsc hops, paced (frame -> loop)");
    spawn(false).row("spawn -> first poll, back to back");
    spawn(true).row("spawn -> first poll, paced");
}

/// For instruction profiles of the frames that produce requests only: a first pass records
/// which frames do; a second pass, from a fresh state (the stream and the ids are
/// deterministic, so the same frames do again), runs exactly those through this function, so
/// `valgrind --tool=callgrind --toggle-collect='*request_frame*'` counts them and nothing else.
#[inline(never)]
fn request_frame(b: &mut Bench, i: usize, k: usize) -> Sample {
    b.frame(i, k, false)
}

fn replay_request_frames(transport: Transport) {
    let mut b = Bench::new(transport);
    let mut marked = Vec::new();
    for k in 0..DELTAS {
        for i in 0..SYMBOLS {
            marked.push(b.frame(i, k, false).requests > 0);
        }
    }
    let mut b = Bench::new(transport);
    let mut again = 0;
    for k in 0..DELTAS {
        for i in 0..SYMBOLS {
            let s = if marked[k * SYMBOLS + i] {
                request_frame(&mut b, i, k)
            } else {
                b.frame(i, k, false)
            };
            again += usize::from(s.requests > 0);
        }
    }
    let first = marked.iter().filter(|m| **m).count();
    assert_eq!(first, again, "the replay diverged");
    println!("replayed {first} request frames through `request_frame`");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // `T2O_TRANSPORT=rest|ws` runs one transport only.
    let only = std::env::var("T2O_TRANSPORT").ok();
    // `T2O_REQUEST_FRAMES=1`: the replay for instruction profiles (see `request_frame`).
    if std::env::var_os("T2O_REQUEST_FRAMES").is_some() {
        let t = if only.as_deref() == Some("rest") {
            Transport::Rest
        } else {
            Transport::WsTrade
        };
        replay_request_frames(t);
        return;
    }
    if only.as_deref() != Some("ws") {
        pipeline(Transport::Rest);
    }
    if only.as_deref() != Some("rest") {
        pipeline(Transport::WsTrade);
    }
    // `T2O_PIPELINE_ONLY=1` skips the task-hop figures (for quick A/B runs of the pipeline).
    if std::env::var_os("T2O_PIPELINE_ONLY").is_none() {
        hops(false);
        hops(true);
    }
}
