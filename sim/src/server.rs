//! The single listener: REST under `/v5`, WebSockets, the `/sim/fault` control endpoint, and
//! the market generator thread.

use crate::config::Category;
use crate::rest;
use crate::state::{Faults, Shared, WS_PRIVATE, WS_PUBLIC, WS_TRADE};
use crate::ws;
use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{any, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Build the router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v5/public/linear", any(public_linear))
        .route("/v5/public/spot", any(public_spot))
        .route("/v5/private", any(private))
        .route("/v5/trade", any(trade))
        .route("/sim/fault", post(fault))
        .fallback(rest::handle)
        .with_state(shared)
}

async fn public_linear(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |sock| ws::public::run(sock, s, Category::Linear))
}

async fn public_spot(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |sock| ws::public::run(sock, s, Category::Spot))
}

async fn private(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |sock| ws::private::run(sock, s))
}

async fn trade(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |sock| ws::trade::run(sock, s))
}

/// `POST /sim/fault` with a JSON body; every key optional:
/// - `"fail_next": N, "fail_code": 10006|10016|500..599`: answer the next N REST requests
///   with that retCode (HTTP 200) or HTTP status;
/// - `"delay_ms": ms`: delay every REST response;
/// - `"clock_skew_ms": ms`: skew the server clock (timestamps, 10002 window);
/// - `"pause_matching": bool`: resting orders stop being filled by the market;
/// - `"reject_orders": N, "reject_code": code`: reject the next N orders (default 10001);
/// - `"skip_seq": N`: the next N book publications skip one `u` (a gap);
/// - `"close_ws": "public"|"private"|"trade"|"all"`: close those connections now;
/// - `"stale_public": bool`, `"stale_private": bool`: keep streams open, publish nothing;
/// - `"refuse_private": bool`: refuse private auth (with `close_ws`: the stream stays down);
/// - `"reset": true`: clear the REST faults first.
async fn fault(State(s): State<Arc<Shared>>, body: String) -> axum::Json<Value> {
    let v: Value = serde_json::from_str(&body).unwrap_or(json!({}));
    let n = |k: &str| v.get(k).and_then(Value::as_i64);
    {
        let mut f = s.faults();
        if v.get("reset").and_then(Value::as_bool) == Some(true) {
            *f = Faults::default();
        }
        if let Some(x) = n("fail_next") {
            f.fail_next = x.max(0) as u32;
            f.fail_code = n("fail_code").unwrap_or(10016);
        }
        if let Some(x) = n("delay_ms") {
            f.delay_ms = x.max(0) as u64;
        }
    }
    {
        let mut e = s.engine();
        if let Some(x) = n("clock_skew_ms") {
            e.clock_skew_ms.store(x, Ordering::Relaxed);
        }
        if let Some(b) = v.get("pause_matching").and_then(Value::as_bool) {
            e.matching_paused = b;
        }
        if let Some(x) = n("reject_orders") {
            e.reject_next_orders = x.max(0) as u32;
            e.reject_code = n("reject_code").unwrap_or(10001);
        }
        if let Some(x) = n("skip_seq") {
            e.skip_book_u = x.max(0) as u32;
        }
    }
    let flag = |k: &str| v.get(k).and_then(Value::as_bool);
    if let Some(b) = flag("stale_public") {
        s.public_stale.store(b, Ordering::Relaxed);
    }
    if let Some(b) = flag("stale_private") {
        s.private_stale.store(b, Ordering::Relaxed);
    }
    if let Some(b) = flag("refuse_private") {
        s.private_refused.store(b, Ordering::Relaxed);
    }
    let mask = match v.get("close_ws").and_then(Value::as_str) {
        Some("public") => WS_PUBLIC,
        Some("private") => WS_PRIVATE,
        Some("trade") => WS_TRADE,
        Some("all") => WS_PUBLIC | WS_PRIVATE | WS_TRADE,
        _ => 0,
    };
    if mask != 0 {
        s.close_ws(mask);
    }
    axum::Json(json!({"ok": true}))
}

/// Longest the market thread holds the engine before handing it to a waiting request.
const GENERATOR_SLICE: Duration = Duration::from_micros(50);

/// Run the market generator on its own thread until `stop` is set: each market advances in
/// steps of `1 / publish_rate_hz` of simulated time, kept in step with the wall clock.
///
/// A sweep over many markets takes a while, so the engine is taken in slices of at most
/// [`GENERATOR_SLICE`] and handed over fairly between them: a request waits for one slice,
/// not for the whole sweep. Public messages are held for the sweep and sent together at its
/// end (see [`crate::engine::outbox`]).
pub fn spawn_generator(shared: Arc<Shared>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("sim-market".into())
        .spawn(move || {
            let start = Instant::now();
            let n_markets = shared.engine().markets.len();
            while !stop.load(Ordering::Relaxed) {
                let elapsed = start.elapsed().as_secs_f64();
                let mut mi = 0;
                while mi < n_markets {
                    let mut e = shared.engine();
                    e.outbox.hold();
                    let slice = Instant::now();
                    while mi < n_markets {
                        step_due(&mut e, mi, elapsed);
                        mi += 1;
                        if slice.elapsed() >= GENERATOR_SLICE {
                            break;
                        }
                    }
                    parking_lot::MutexGuard::unlock_fair(e);
                }
                // The sweep's messages (and any published meanwhile) go out together.
                shared.engine().outbox.release();
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .expect("spawn generator thread")
}

/// Take the steps market `mi` is due at `elapsed` seconds (at most 10 at once; far behind,
/// e.g. after the machine stalled, it skips rather than spirals).
fn step_due(e: &mut crate::engine::Engine, mi: usize, elapsed: f64) {
    let m = &e.markets[mi];
    if m.replay {
        return;
    }
    let due = (elapsed * m.rate_hz) as u64;
    let mut n = 0;
    while e.markets[mi].steps < due && n < 10 {
        e.step_market(mi);
        n += 1;
    }
    if e.markets[mi].steps + 10 < due {
        e.markets[mi].steps = due;
    }
}
