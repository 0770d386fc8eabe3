//! Risk controls against the simulator over real sockets: hard limits under aggressive fills,
//! kill switches (manual and automatic) with their actions, and disconnect protection. Each
//! test shows the action happens within a bounded time, nothing breaches the limit, and the
//! state is reversed without a restart. Every wait has a deadline; none sleeps and hopes.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::harness::{KEY, TestHost};
use host::risk::{KillAction, KillTrigger};
use host::runtime::{ProbeEvent, SymbolSnapshot};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const SYM: &str = "RSKUSDT";

/// A sim whose one symbol fills resting quotes often: heavy market-order flow reaching deep.
fn aggressive_sim() -> sim::SimConfig {
    let mut c = common::harness::linear(SYM, "0.01", "0.01", "100");
    c.flow_a = 40.0;
    c.flow_k = 0.05;
    c.publish_rate_hz = 50.0;
    sim::SimConfig {
        symbols: vec![
            c,
            common::harness::linear("OTHUSDT", "0.1", "0.001", "60000"),
        ],
        ..Default::default()
    }
}

/// A quiet sim (default flow).
fn quiet_sim() -> sim::SimConfig {
    let mut c = common::harness::linear(SYM, "0.01", "0.01", "100");
    c.publish_rate_hz = 50.0;
    sim::SimConfig {
        symbols: vec![
            c,
            common::harness::linear("OTHUSDT", "0.1", "0.001", "60000"),
        ],
        ..Default::default()
    }
}

/// Config body: one symbol on static-spread, `max_position`, plus `extra` sections.
fn body(max_position: f64, size: f64, extra: &str) -> String {
    format!(
        "[router]\nlevels = 3\n\n[default_risk]\nmax_position = {max_position:?}\nstale_after_ms = 1000\n\n{extra}\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {{ module = \"{}\", params = {{ half_spread_bps = 2.0, levels = 3, size = {size:?}, level_spacing_bps = 2.0 }} }}\n",
        common::wasm_plugin("static_spread").display()
    )
}

async fn start(sim_cfg: sim::SimConfig, id: &str, body: &str) -> TestHost {
    let mut h = TestHost::start(sim_cfg, id, body).await;
    assert!(
        h.wait_two_sided(&[SYM], 0, Duration::from_secs(15)).await,
        "the host quotes both sides"
    );
    h.drain_probe();
    h
}

/// The next kill probe event on `symbol` (`None`: the account) with `action`.
async fn wait_kill(
    h: &mut TestHost,
    symbol: Option<&str>,
    action: Option<KillAction>,
    within: Duration,
) -> Option<Option<KillTrigger>> {
    h.next_probe(within, |ev| match ev {
        ProbeEvent::Kill {
            symbol: s,
            action: a,
            trigger,
            ..
        } if s.as_deref() == symbol && *a == action => Some(*trigger),
        _ => None,
    })
    .await
}

async fn wait_no_orders(h: &TestHost, within: Duration) -> bool {
    let prefix = h.prefix.clone();
    h.sim
        .wait_until(within, |s| {
            !s.open_orders(KEY)
                .iter()
                .any(|o| o.order_link_id.starts_with(&prefix))
        })
        .await
}

/// Quoting again after a clear: both sides rest, created after `since_ms`.
async fn wait_quoting_again(h: &TestHost, since_ms: i64) {
    assert!(
        h.wait_two_sided(&[SYM], since_ms, Duration::from_secs(10))
            .await,
        "quotes are back after the clear"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_never_passes_max_position_and_clamps_show() {
    // The strategy asks for 1.0 a side, 1% from the mid, whatever its position; the limit is 0.5.
    let max = dec!(0.5);
    let text = format!(
        "[router]\nlevels = 1\n\n[default_risk]\nmax_position = 0.5\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {{ module = \"{}\", params = {{ mode = \"ok\" }} }}\n",
        common::wasm_plugin("misbehave").display()
    );
    let mut sim_cfg = aggressive_sim();
    sim_cfg.symbols[0].flow_k = 0.02;
    let h = start(sim_cfg, "rk1", &text).await;
    let worst = Mutex::new(Decimal::ZERO);
    let fills_at_start = h.sim.fills(KEY).len();
    // Until the position has sat at the limit and many fills happened (or 20 s).
    h.sim
        .wait_until(Duration::from_secs(20), |s| {
            let p = s.position(KEY, SYM).size.abs();
            let mut w = worst.lock().unwrap();
            *w = (*w).max(p);
            *w >= dec!(0.9) * max && s.fills(KEY).len() >= fills_at_start + 20
        })
        .await;
    let worst = *worst.lock().unwrap();
    let fills = h.sim.fills(KEY).len() - fills_at_start;
    assert!(fills >= 5, "the sim filled us ({fills} fills)");
    assert!(worst <= max, "|position| reached {worst} > {max}");
    // `clamped` names the last plan's clamps, and a plan made while the aggressive flow has
    // emptied a book side pulls the quotes and clamps nothing: wait for a plan that clamps.
    let view = clamped_view(&h, |c| c == "max_long" || c == "max_short").await;
    assert!(view.clamps > 0, "clamps counted: {view:?}");
    eprintln!(
        "fills {fills}, worst |position| {worst}, clamps {}, clamped {:?}",
        view.clamps, view.clamped
    );
    h.stop().await;
}

/// The aggressive sim against a strategy asking `levels` × 1.0 a side whatever happens, with
/// `risk` lines in `[default_risk]`: polls the sim until `done` (or 20 s), asserting `holds` at
/// every poll, then that at least 5 fills happened and the status names `clamp`.
async fn limit_holds(
    id: &str,
    risk: &str,
    strategy: &str,
    holds: impl Fn(&sim::SimHandle, &str) -> Result<(), String>,
    done: impl Fn(&sim::SimHandle) -> bool,
    clamp: &str,
) {
    let text = format!(
        "[router]\nlevels = 3\n\n[default_risk]\nmax_position = 100.0\n{risk}\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {strategy}\n"
    );
    let mut sim_cfg = aggressive_sim();
    sim_cfg.symbols[0].flow_k = 0.02;
    let h = start(sim_cfg, id, &text).await;
    let fills_at_start = h.sim.fills(KEY).len();
    let prefix = h.prefix.clone();
    let broken = Mutex::new(None);
    h.sim
        .wait_until(Duration::from_secs(20), |s| {
            if let Err(e) = holds(s, &prefix) {
                *broken.lock().unwrap() = Some(e);
                return true;
            }
            done(s) && s.fills(KEY).len() >= fills_at_start + 20
        })
        .await;
    if let Some(e) = broken.into_inner().unwrap() {
        panic!("{id}: the limit broke: {e}");
    }
    let fills = h.sim.fills(KEY).len() - fills_at_start;
    assert!(fills >= 5, "the sim filled us ({fills} fills)");
    let view = clamped_view(&h, |c| c == clamp).await;
    assert!(view.clamps > 0, "clamps counted: {view:?}");
    h.stop().await;
}

/// The view of `SYM` once its last plan shows a clamp `wanted` accepts (within 10 s); panics
/// with the last view otherwise.
async fn clamped_view(h: &TestHost, wanted: impl Fn(&str) -> bool) -> SymbolSnapshot {
    let found = h
        .wait_view(Duration::from_secs(10), |v| {
            v.iter()
                .any(|s| s.symbol == SYM && s.clamped.iter().any(|c| wanted(c)))
        })
        .await;
    let view = found.unwrap_or_else(|v| panic!("no plan showed the clamp within 10 s: {v:?}"));
    view.into_iter()
        .find(|s| s.symbol == SYM)
        .expect("the symbol is in the view")
}

fn ours(s: &sim::SimHandle, prefix: &str) -> Vec<sim::Order> {
    s.open_orders(KEY)
        .into_iter()
        .filter(|o| o.order_link_id.starts_with(prefix))
        .collect()
}

fn asks_one_a_side() -> String {
    format!(
        "{{ module = \"{}\", params = {{ mode = \"ok\" }} }}",
        common::wasm_plugin("misbehave").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_never_exceed_max_order_size() {
    let max = dec!(0.3);
    limit_holds(
        "rk15",
        "max_order_size = 0.3",
        &asks_one_a_side(),
        // Lot 0.01: 0.3 is 30 lots.
        |s, prefix| match ours(s, prefix).into_iter().find(|o| o.qty_lots > 30) {
            Some(o) => Err(format!(
                "order {} of {} lots > {max}",
                o.order_link_id, o.qty_lots
            )),
            None => Ok(()),
        },
        |_| true,
        "max_order_size",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_orders_never_exceed_max_open_orders() {
    // Three levels a side asked for, four orders allowed.
    let strategy = format!(
        "{{ module = \"{}\", params = {{ half_spread_bps = 5.0, levels = 3, size = 0.1, level_spacing_bps = 5.0 }} }}",
        common::wasm_plugin("static_spread").display()
    );
    let seen = std::sync::atomic::AtomicUsize::new(0);
    limit_holds(
        "rk16",
        "max_open_orders = 4",
        &strategy,
        |s, prefix| {
            let n = ours(s, prefix).len();
            seen.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
            if n > 4 {
                Err(format!("{n} open orders > 4"))
            } else {
                Ok(())
            }
        },
        |_| true,
        "max_open_orders",
    )
    .await;
    assert_eq!(
        seen.into_inner(),
        4,
        "the limit binds: four orders rest at some point"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_value_never_passes_max_notional() {
    // 60 USDT at ~100: about 0.6 base, while the strategy asks 1.0 a side after every fill.
    // The router caps a side's exposure at max_notional / its top price; the bound allows
    // for the lowest bid price the market went to.
    let low = Mutex::new(Decimal::MAX);
    let worst = Mutex::new(Decimal::ZERO);
    limit_holds(
        "rk17",
        "max_notional = 60.0",
        &asks_one_a_side(),
        |s, _| {
            let mid = s.mid(sim::Category::Linear, SYM).unwrap();
            let mut low = low.lock().unwrap();
            *low = (*low).min(mid);
            let size = s.position(KEY, SYM).size.abs();
            let mut w = worst.lock().unwrap();
            *w = (*w).max(size);
            let bound = dec!(60) / (*low * dec!(0.98));
            if size > bound {
                Err(format!("|position| {size} > {bound} (lowest mid {low})"))
            } else {
                Ok(())
            }
        },
        |s| {
            s.position(KEY, SYM).size.abs() * s.mid(sim::Category::Linear, SYM).unwrap() >= dec!(54)
        },
        "max_notional",
    )
    .await;
    let worst = *worst.lock().unwrap();
    assert!(
        worst >= dec!(0.5),
        "the limit binds: |position| reached {worst}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_halt_reduce_only_flatten_and_clear() {
    let mut h = start(aggressive_sim(), "rk2", &body(2.0, 0.5, "")).await;
    // Halt one symbol: every quote pulled within 3 s; clear: quotes back.
    assert!(h.control.kill(Some(SYM.into()), KillAction::Halt).await);
    assert!(
        wait_kill(
            &mut h,
            Some(SYM),
            Some(KillAction::Halt),
            Duration::from_secs(3)
        )
        .await
        .is_some()
    );
    assert!(
        wait_no_orders(&h, Duration::from_secs(3)).await,
        "halt pulls every quote"
    );
    assert_eq!(h.view_of(SYM).await.kill.as_deref(), Some("halt"));
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(Some(SYM.into())).await);
    wait_quoting_again(&h, t).await;
    assert_eq!(h.view_of(SYM).await.kill, None);

    // Get a position, then reduce-only: nothing rests on the side that adds.
    assert!(
        h.sim
            .wait_until(Duration::from_secs(20), |s| s.position(KEY, SYM).size.abs()
                >= dec!(0.2))
            .await,
        "the sim gives us a position"
    );
    assert!(
        h.control
            .kill(Some(SYM.into()), KillAction::ReduceOnly)
            .await
    );
    let prefix = h.prefix.clone();
    let reduce_only = h
        .sim
        .wait_until(Duration::from_secs(5), |s| {
            let pos = s.position(KEY, SYM).size;
            let ours: Vec<_> = s
                .open_orders(KEY)
                .into_iter()
                .filter(|o| o.order_link_id.starts_with(&prefix))
                .collect();
            let adding = ours
                .iter()
                .any(|o| (o.side == sim::Side::Buy) == (pos > Decimal::ZERO));
            !adding && !pos.is_zero()
        })
        .await;
    assert!(
        reduce_only,
        "under reduce-only only the reducing side rests"
    );

    // Flatten the account: flat with no orders within 10 s, then clear.
    assert!(h.control.kill(None, KillAction::Flatten).await);
    assert!(
        wait_kill(
            &mut h,
            None,
            Some(KillAction::Flatten),
            Duration::from_secs(3)
        )
        .await
        .is_some()
    );
    let flat = h
        .sim
        .wait_until(Duration::from_secs(10), |s| {
            s.position(KEY, SYM).size.is_zero()
                && !s
                    .open_orders(KEY)
                    .iter()
                    .any(|o| o.order_link_id.starts_with(&prefix))
        })
        .await;
    assert!(
        flat,
        "flatten closes the position: {:?}",
        h.sim.position(KEY, SYM).size
    );
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(None).await);
    assert!(
        wait_kill(&mut h, None, None, Duration::from_secs(3))
            .await
            .is_some()
    );
    wait_quoting_again(&h, t).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_market_data_halts_until_cleared() {
    let mut h = start(
        quiet_sim(),
        "rk3",
        &body(5.0, 0.1, "[kill]\nstale_data_action = \"halt\""),
    )
    .await;
    common::sim_fault(&h.sim, serde_json::json!({"stale_public": true})).await;
    let trigger = wait_kill(
        &mut h,
        Some(SYM),
        Some(KillAction::Halt),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::StaleData)));
    assert!(wait_no_orders(&h, Duration::from_secs(3)).await);
    common::sim_fault(&h.sim, serde_json::json!({"stale_public": false})).await;
    // Latched: data is back, the kill holds until cleared.
    assert_eq!(h.view_of(SYM).await.kill.as_deref(), Some("halt"));
    let t = h.venue_now_ms();
    // The book resyncs once data is back; until then a clear is raised again at once.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(h.control.clear_kill(Some(SYM.into())).await);
        if h.wait_view(Duration::from_millis(600), |v| v[0].kill.is_none())
            .await
            .is_ok()
            && h.wait_view(Duration::from_millis(600), |v| v[0].kill.is_some())
                .await
                .is_err()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the kill clears once data is back"
        );
    }
    wait_quoting_again(&h, t).await;
    h.stop().await;
}

/// Halt then clear: the host re-creates every quote (so faults on creates bite).
async fn requote(h: &mut TestHost) {
    assert!(h.control.kill(Some(SYM.into()), KillAction::Halt).await);
    assert!(wait_no_orders(h, Duration::from_secs(3)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_storm_halts_the_symbol() {
    let extra =
        "[kill]\nreject_storm = 4\nreject_window_ms = 10000\nreject_storm_action = \"cancel_all\"";
    let mut h = start(quiet_sim(), "rk4", &body(5.0, 0.1, extra)).await;
    requote(&mut h).await;
    common::sim_fault(
        &h.sim,
        serde_json::json!({"reject_orders": 100, "reject_code": 10001}),
    )
    .await;
    assert!(h.control.clear_kill(Some(SYM.into())).await);
    let trigger = wait_kill(
        &mut h,
        Some(SYM),
        Some(KillAction::CancelAll),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::RejectStorm)));
    // Within a bounded number of requests: the kill stops the creates.
    assert!(wait_no_orders(&h, Duration::from_secs(3)).await);
    common::sim_fault(&h.sim, serde_json::json!({"reject_orders": 0})).await;
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(Some(SYM.into())).await);
    wait_quoting_again(&h, t).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_exhaustion_halts_the_account() {
    let extra =
        "[kill]\nrate_limit_hits = 2\nrate_limit_window_ms = 10000\nrate_limit_action = \"halt\"";
    let mut h = start(quiet_sim(), "rk5", &body(5.0, 0.1, extra)).await;
    requote(&mut h).await;
    common::sim_fault(
        &h.sim,
        serde_json::json!({"fail_next": 6, "fail_code": 10006}),
    )
    .await;
    assert!(h.control.clear_kill(Some(SYM.into())).await);
    let trigger = wait_kill(
        &mut h,
        None,
        Some(KillAction::Halt),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::RateLimit)));
    assert!(wait_no_orders(&h, Duration::from_secs(5)).await);
    assert_eq!(h.view_of(SYM).await.account_kill.as_deref(), Some("halt"));
    common::sim_fault(&h.sim, serde_json::json!({"reset": true})).await;
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(None).await);
    wait_quoting_again(&h, t).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_trap_raises_the_configured_kill() {
    let text = format!(
        "[router]\nlevels = 1\n\n[default_risk]\nmax_position = 5.0\n\n[kill]\nstrategy_fault_action = \"cancel_all\"\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {{ module = \"{}\", params = {{ mode = \"panic\", after = 30 }} }}\n",
        common::wasm_plugin("misbehave").display()
    );
    let mut h = TestHost::start(quiet_sim(), "rk6", &text).await;
    let trigger = wait_kill(
        &mut h,
        Some(SYM),
        Some(KillAction::CancelAll),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::StrategyFault)));
    assert!(wait_no_orders(&h, Duration::from_secs(3)).await);
    // The kill clears; the crashed instance stays disabled until a reload replaces it.
    assert!(h.control.clear_kill(Some(SYM.into())).await);
    let v = h
        .wait_view(Duration::from_secs(3), |v| v[0].kill.is_none())
        .await;
    assert!(v.is_ok_and(|v| v[0].disabled.is_some()));
    h.stop().await;
}

/// Lose money on another symbol of the same account: a taker round trip of 1 OTHUSDT (about
/// 60 000 USDT notional each way) pays fees well above the limits the tests set.
async fn lose_on_fees(h: &TestHost) {
    for side in ["Buy", "Sell"] {
        market_order(h, "OTHUSDT", side, "1").await;
    }
    // Both fills' wallet pushes are in: the host's equity is the sim's to within a dollar
    // (each taker fill costs ~33 USDT in fees; the host's marks of its own small position
    // may differ from the sim's by cents).
    let equity = h.sim.wallet(KEY).expect("account").equity;
    let close = |e: Option<Decimal>| e.is_some_and(|e| (e - equity).abs() < dec!(1));
    if let Err(v) = h
        .wait_view(Duration::from_secs(10), |v| close(v[0].account_equity))
        .await
    {
        panic!(
            "the host's equity {:?} (position {}) never reached the sim's {equity}",
            v[0].account_equity, v[0].position
        );
    }
}

/// A market order on the test account, outside the host.
async fn market_order(h: &TestHost, symbol: &str, side: &str, qty: &str) {
    let client = host::exchange::bybit::rest::RestClient::new(
        h.sim.rest_url(),
        Some(host::exchange::bybit::sign::Credentials::new(
            KEY,
            host::exchange::bybit::sign::Secret::new("simsecret"),
        )),
        Duration::from_secs(5),
    )
    .unwrap();
    let body = serde_json::json!({"category": "linear", "symbol": symbol, "side": side, "orderType": "Market", "qty": qty}).to_string();
    client
        .post_signed::<serde_json::Value>("/v5/order/create", body)
        .await
        .expect("market order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drawdown_from_wallet_pushes_halts_the_account() {
    let extra = "[kill]\nmax_drawdown = 5.0\ndrawdown_action = \"halt\"";
    let mut h = start(quiet_sim(), "rk7", &body(5.0, 0.1, extra)).await;
    lose_on_fees(&h).await;
    let trigger = wait_kill(
        &mut h,
        None,
        Some(KillAction::Halt),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::Drawdown)));
    assert!(wait_no_orders(&h, Duration::from_secs(3)).await);
    // Cleared: the peak is rebased to the current equity, quoting resumes.
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(None).await);
    wait_quoting_again(&h, t).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_move_alone_trips_drawdown_through_marks() {
    let extra = "[kill]\nmax_drawdown = 5.0\ndrawdown_action = \"halt\"";
    let mut h = start(quiet_sim(), "rk13", &body(5.0, 0.1, extra)).await;
    // Nothing of ours rests, so no fill (and no wallet push: the sim pushes the wallet on
    // fills and trading-stop changes only) can come after the position is taken.
    assert!(h.control.kill(Some(SYM.into()), KillAction::Halt).await);
    assert!(wait_no_orders(&h, Duration::from_secs(3)).await);
    market_order(&h, SYM, "Buy", "1").await;
    assert!(
        h.wait_view(Duration::from_secs(5), |v| v[0].position == dec!(1))
            .await
            .is_ok(),
        "the host sees the position"
    );
    let fills = h.sim.fills(KEY).len();
    // Long 1 at ~100: a 10% drop loses ~10 USDT of equity, seen only through the marks.
    h.sim
        .set_mid(sim::Category::Linear, SYM, dec!(90))
        .expect("known symbol");
    let trigger = wait_kill(&mut h, None, Some(KillAction::Halt), Duration::from_secs(5)).await;
    assert_eq!(trigger, Some(Some(KillTrigger::Drawdown)));
    assert_eq!(h.sim.fills(KEY).len(), fills, "no fill, so no wallet push");
    // Cleared (account and symbol): the peak is rebased, quoting resumes.
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(None).await);
    wait_quoting_again(&h, t).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_loss_cancels_all_on_the_account_until_cleared() {
    // No drawdown limit: only the loss since the start of the UTC day can trip.
    let extra = "[kill]\nmax_daily_loss = 5.0\ndaily_loss_action = \"cancel_all\"";
    let mut h = start(quiet_sim(), "rk11", &body(5.0, 0.1, extra)).await;
    // The day's start equity was read over REST at start-up, before any wallet push.
    assert!(
        h.sim
            .requests(KEY)
            .iter()
            .any(|r| r.path == "/v5/account/wallet-balance" && r.ret_code == 0),
        "equity read at start-up"
    );
    lose_on_fees(&h).await;
    let trigger = wait_kill(
        &mut h,
        None,
        Some(KillAction::CancelAll),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::DailyLoss)));
    assert!(
        wait_no_orders(&h, Duration::from_secs(3)).await,
        "cancel-all leaves nothing resting"
    );
    let view = h.view_of(SYM).await;
    assert_eq!(view.account_kill.as_deref(), Some("cancel_all"), "{view:?}");
    // Latched: no quote comes back while the kill holds.
    assert!(
        !h.wait_two_sided(&[SYM], h.venue_now_ms(), Duration::from_millis(500))
            .await,
        "the kill holds until cleared"
    );
    // Cleared: the day's start is rebased to the current equity, quoting resumes.
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(None).await);
    assert!(
        wait_kill(&mut h, None, None, Duration::from_secs(3))
            .await
            .is_some()
    );
    wait_quoting_again(&h, t).await;
    assert_eq!(h.view_of(SYM).await.account_kill, None);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_position_skews_the_live_quotes() {
    // static-spread skewing 20 bps per unit, flat, with a target of −2: it quotes as if 2 long,
    // so its centre sits about 40 bps below the mid (half spread 50 bps: bid −90, ask +10).
    let text = format!(
        "[router]\nlevels = 1\n\n[default_risk]\nmax_position = 5.0\ntarget_position = -2.0\n\n[[symbols]]\nsymbol = \"{SYM}\"\nstrategy = {{ module = \"{}\", params = {{ half_spread_bps = 50.0, levels = 1, size = 0.1, skew_bps_per_unit = 20.0 }} }}\n",
        common::wasm_plugin("static_spread").display()
    );
    let h = start(quiet_sim(), "rk12", &text).await;
    let prefix = h.prefix.clone();
    let tick = 0.01;
    let last = Mutex::new(None);
    let skewed = h
        .sim
        .wait_until(Duration::from_secs(10), |s| {
            let Some(mid) = s.mid(sim::Category::Linear, SYM) else {
                return false;
            };
            let mid: f64 = mid.to_string().parse().unwrap();
            let ours: Vec<_> = s
                .open_orders(KEY)
                .into_iter()
                .filter(|o| o.order_link_id.starts_with(&prefix))
                .collect();
            let best = |side: sim::Side| {
                ours.iter()
                    .filter(|o| o.side == side)
                    .map(|o| o.price_ticks)
                    .reduce(if side == sim::Side::Buy {
                        i64::max
                    } else {
                        i64::min
                    })
            };
            let (Some(b), Some(a)) = (best(sim::Side::Buy), best(sim::Side::Sell)) else {
                return false;
            };
            let centre = (a + b) as f64 * tick / 2.0;
            let skew_bps = (mid - centre) / mid * 1e4;
            *last.lock().unwrap() = Some(skew_bps);
            (30.0..50.0).contains(&skew_bps)
        })
        .await;
    assert!(
        skewed,
        "the centre sits ~40 bps below the mid: {:?} bps",
        last.lock().unwrap()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_man_switch_cancels_while_the_private_stream_is_down() {
    let extra = "[disconnect]\ndead_man_ms = 1000\n\n[kill]\nprivate_lost_after_ms = 1500\nprivate_lost_action = \"halt\"";
    let mut h = start(quiet_sim(), "rk8", &body(5.0, 0.1, extra)).await;
    common::sim_fault(
        &h.sim,
        serde_json::json!({"refuse_private": true, "close_ws": "private"}),
    )
    .await;
    let fired = h
        .next_probe(Duration::from_secs(5), |ev| {
            matches!(ev, ProbeEvent::DeadMan { fired: true }).then_some(())
        })
        .await;
    assert!(fired.is_some(), "the dead man's switch fires");
    assert!(
        wait_no_orders(&h, Duration::from_secs(3)).await,
        "every order cancelled over REST"
    );
    let trigger = wait_kill(&mut h, None, Some(KillAction::Halt), Duration::from_secs(5)).await;
    assert_eq!(trigger, Some(Some(KillTrigger::PrivateStreamLost)));
    // The stream comes back: the switch releases after reconciliation; the kill waits for a clear.
    common::sim_fault(&h.sim, serde_json::json!({"refuse_private": false})).await;
    let released = h
        .next_probe(Duration::from_secs(40), |ev| {
            matches!(ev, ProbeEvent::DeadMan { fired: false }).then_some(())
        })
        .await;
    assert!(
        released.is_some(),
        "released once reconnected and reconciled"
    );
    assert!(
        wait_no_orders(&h, Duration::from_millis(10)).await,
        "the kill still holds"
    );
    let t = h.venue_now_ms();
    assert!(h.control.clear_kill(None).await);
    wait_quoting_again(&h, t).await;
    h.orders_agree(Duration::from_secs(5)).await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcp_is_armed_and_the_exchange_cancels_on_disconnect() {
    let extra = "[disconnect]\ndcp_window_s = 3\ndead_man_ms = 60000";
    let h = start(quiet_sim(), "rk9", &body(5.0, 0.1, extra)).await;
    let armed = h
        .sim
        .requests(KEY)
        .iter()
        .any(|r| r.path == "/v5/order/disconnected-cancel-all" && r.ret_code == 0);
    assert!(armed, "DCP armed at start");
    common::sim_fault(
        &h.sim,
        serde_json::json!({"refuse_private": true, "close_ws": "private"}),
    )
    .await;
    let prefix = h.prefix.clone();
    let by_dcp = h
        .sim
        .wait_until(Duration::from_secs(10), |s| {
            s.closed_orders(KEY)
                .iter()
                .any(|o| o.order_link_id.starts_with(&prefix) && o.cancel_type == "CancelByDCP")
        })
        .await;
    assert!(by_dcp, "the exchange cancelled our orders by DCP");
    let ours_cancel_all = h
        .sim
        .requests(KEY)
        .iter()
        .any(|r| r.path == "/v5/order/cancel-all");
    assert!(!ours_cancel_all, "the dead man's switch (60 s) did not act");
    common::sim_fault(&h.sim, serde_json::json!({"refuse_private": false})).await;
    h.orders_agree(Duration::from_secs(30)).await.unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_reload_clears_a_kill() {
    common::harness::init_tracing();
    let sim = sim::Sim::start(quiet_sim()).await.expect("sim starts");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.toml");
    let text = |spread: f64| {
        format!(
            "instance_id = \"rk10\"\n{}\n{}",
            common::sim_venue_toml(dir.path(), &sim),
            body(5.0, 0.1, "").replace(
                "half_spread_bps = 2.0",
                &format!("half_spread_bps = {spread:?}")
            )
        )
    };
    std::fs::write(&path, text(2.0)).unwrap();
    let config = host::config::load(&path).expect("valid config");
    let (probe, mut probe_rx) = host::runtime::Probe::channel();
    let control = host::runtime::Control::default();
    let opts = host::app::RunOptions {
        base_dir: dir.path().to_path_buf(),
        config_path: Some(path.clone()),
        probe,
        control: control.clone(),
        ..Default::default()
    };
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = tokio::spawn(host::app::run(config, opts, async {
        let _ = stop_rx.await;
    }));
    let ours = |s: &sim::SimHandle, buy: bool| {
        s.open_orders(KEY)
            .iter()
            .any(|o| o.order_link_id.starts_with("rk10-") && (o.side == sim::Side::Buy) == buy)
    };
    assert!(
        sim.wait_until(Duration::from_secs(15), |s| ours(s, true) && ours(s, false))
            .await
    );
    assert!(control.kill(None, KillAction::Halt).await);
    assert!(
        sim.wait_until(Duration::from_secs(3), |s| !ours(s, true)
            && !ours(s, false))
            .await
    );
    // Edit the configuration: the reload clears the kill and quoting resumes.
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text(3.0)).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let until = tokio::time::Instant::now() + Duration::from_secs(15);
    let cleared = loop {
        match tokio::time::timeout_at(until, probe_rx.recv()).await {
            Ok(Some(ProbeEvent::Kill {
                symbol: None,
                action: None,
                detail,
                ..
            })) => break Some(detail),
            Ok(Some(_)) => continue,
            _ => break None,
        }
    };
    assert_eq!(cleared.as_deref(), Some("config reload"));
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| ours(s, true) && ours(s, false))
            .await
    );
    let _ = stop.send(());
    let report = tokio::time::timeout(Duration::from_secs(30), app).await;
    assert!(matches!(report, Ok(Ok(Ok(_)))), "clean stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_dcp_settings_follow_a_reload() {
    let dcp = |w: u32| format!("[disconnect]\ndcp_window_s = {w}\ndead_man_ms = 60000");
    let mut h = TestHost::start_watched(quiet_sim(), "rk14", &body(5.0, 0.1, &dcp(3))).await;
    assert!(
        h.wait_two_sided(&[SYM], 0, Duration::from_secs(15)).await,
        "the host quotes both sides"
    );
    // No drawdown limit yet: losing ~67 USDT raises nothing.
    lose_on_fees(&h).await;
    assert_eq!(h.view().await[0].account_kill, None);
    h.drain_probe();
    // The reload sets a 5 USDT drawdown limit (the loss is already past it) and a new DCP
    // window: both apply without a restart.
    let kill = "[kill]\nmax_drawdown = 5.0\ndrawdown_action = \"halt\"\n";
    h.rewrite_config(&body(5.0, 0.1, &format!("{kill}{}", dcp(10))));
    let trigger = wait_kill(
        &mut h,
        None,
        Some(KillAction::Halt),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(trigger, Some(Some(KillTrigger::Drawdown)));
    assert!(wait_no_orders(&h, Duration::from_secs(3)).await);
    let rearmed = h
        .sim
        .wait_until(Duration::from_secs(5), |s| {
            s.requests(KEY).iter().any(|r| {
                r.path == "/v5/order/disconnected-cancel-all"
                    && r.ret_code == 0
                    && r.body.contains("\"timeWindow\":10")
            })
        })
        .await;
    assert!(rearmed, "DCP re-armed with the new 10 s window");
    h.stop().await;
}
