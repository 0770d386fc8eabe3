//! The host run in-process against a simulator the test starts (`environment = "custom"`),
//! with the probe and control handles, and waits on the host's view agreeing with the venue's.
//! Every wait polls a condition until a deadline; none sleeps a fixed time and hopes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use host::app::{AppError, RunOptions, RunReport, run};
use host::runtime::{Control, Probe, ProbeEvent, SymbolSnapshot};
use rust_decimal::Decimal;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The sim account the host trades on.
pub const KEY: &str = "simkey";

/// How often the polling waits look again.
const POLL: Duration = Duration::from_millis(20);

/// `warn` unless `RUST_LOG` says otherwise; once per test binary.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A running host and the simulator it trades on.
pub struct TestHost {
    /// The venue.
    pub sim: sim::SimHandle,
    /// Holds the config and credentials files.
    pub dir: tempfile::TempDir,
    /// Questions to the host's loop.
    pub control: Control,
    /// What the host's strategy calls produced.
    pub probe: UnboundedReceiver<ProbeEvent>,
    /// Our order-link id prefix (`<instance_id>-`).
    pub prefix: String,
    /// The config text before `body` (instance id and venue).
    head: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    app: Option<JoinHandle<Result<RunReport, AppError>>>,
}

impl TestHost {
    /// Start `sim_cfg`, then the host with instance `instance_id` and `body` (the TOML after
    /// the venue: `[router]`, `[default_risk]`, `[[symbols]]`...).
    pub async fn start(sim_cfg: sim::SimConfig, instance_id: &str, body: &str) -> Self {
        Self::start_with(sim_cfg, instance_id, body, false).await
    }

    /// Like [`TestHost::start`], with the config file watched: [`TestHost::rewrite_config`]
    /// reloads it.
    #[allow(dead_code)]
    pub async fn start_watched(sim_cfg: sim::SimConfig, instance_id: &str, body: &str) -> Self {
        Self::start_with(sim_cfg, instance_id, body, true).await
    }

    /// Replace the config's `body` the way editors save (write aside, rename over).
    #[allow(dead_code)]
    pub fn rewrite_config(&self, body: &str) {
        let path = self.dir.path().join("host.toml");
        let tmp = path.with_extension("tmp~");
        std::fs::write(&tmp, format!("{}{body}\n", self.head)).expect("config written");
        std::fs::rename(&tmp, &path).expect("config renamed");
    }

    async fn start_with(
        sim_cfg: sim::SimConfig,
        instance_id: &str,
        body: &str,
        watch: bool,
    ) -> Self {
        init_tracing();
        let sim = sim::Sim::start(sim_cfg).await.expect("sim starts");
        Self::start_on(sim, instance_id, body, watch).await
    }

    /// Start the host on a simulator the test already started (and perhaps traded on).
    pub async fn start_on(sim: sim::SimHandle, instance_id: &str, body: &str, watch: bool) -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let head = format!(
            "instance_id = \"{instance_id}\"\n{}\n",
            super::sim_venue_toml(dir.path(), &sim)
        );
        let path = dir.path().join("host.toml");
        std::fs::write(&path, format!("{head}{body}\n")).expect("config written");
        let config = host::config::load(&path).unwrap_or_else(|e| panic!("invalid config: {e}"));
        let (probe, probe_rx) = Probe::channel();
        let control = Control::default();
        let opts = RunOptions {
            base_dir: dir.path().to_path_buf(),
            config_path: watch.then(|| path.clone()),
            probe,
            control: control.clone(),
            ..Default::default()
        };
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = tokio::spawn(run(config, opts, async {
            let _ = stop_rx.await;
        }));
        Self {
            sim,
            dir,
            control,
            probe: probe_rx,
            prefix: format!("{instance_id}-"),
            head,
            stop: Some(stop),
            app: Some(app),
        }
    }

    /// Our open orders on the venue, oldest first.
    pub fn ours(&self) -> Vec<sim::Order> {
        self.sim
            .open_orders(KEY)
            .into_iter()
            .filter(|o| o.order_link_id.starts_with(&self.prefix))
            .collect()
    }

    /// Our open orders on the venue on `symbol`.
    pub fn ours_on(&self, symbol: &str) -> Vec<sim::Order> {
        self.ours()
            .into_iter()
            .filter(|o| o.symbol == symbol)
            .collect()
    }

    /// The host's view of every symbol. Panics when the loop does not answer (it stopped).
    pub async fn view(&self) -> Vec<SymbolSnapshot> {
        self.control
            .snapshot()
            .await
            .expect("the host's loop answers a snapshot")
    }

    /// The host's view of `symbol`.
    pub async fn view_of(&self, symbol: &str) -> SymbolSnapshot {
        self.view()
            .await
            .into_iter()
            .find(|s| s.symbol == symbol)
            .unwrap_or_else(|| panic!("{symbol} not in the host's view"))
    }

    /// Poll the host's view until `cond` holds; the last view on timeout.
    pub async fn wait_view(
        &self,
        within: Duration,
        mut cond: impl FnMut(&[SymbolSnapshot]) -> bool,
    ) -> Result<Vec<SymbolSnapshot>, Vec<SymbolSnapshot>> {
        let until = Instant::now() + within;
        loop {
            let view = self.view().await;
            if cond(&view) {
                return Ok(view);
            }
            if Instant::now() > until {
                return Err(view);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The host's open orders equal ours on the venue (by order-link id), allowing in-flight
    /// requests to land: polled until equal or `within` passes.
    pub async fn orders_agree(&self, within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        loop {
            let host: BTreeSet<String> = self
                .view()
                .await
                .into_iter()
                .flat_map(|s| s.open_orders)
                .collect();
            let venue: BTreeSet<String> =
                self.ours().into_iter().map(|o| o.order_link_id).collect();
            if host == venue {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!(
                    "host and venue orders disagree for {within:?}: host only {:?}, venue only {:?}",
                    host.difference(&venue).collect::<Vec<_>>(),
                    venue.difference(&host).collect::<Vec<_>>()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The host's position equals the venue's on every symbol, polled until equal or `within`
    /// passes.
    pub async fn positions_agree(&self, within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        loop {
            let diff: Vec<(String, Decimal, Decimal)> = self
                .view()
                .await
                .into_iter()
                .filter_map(|s| {
                    let venue = self.sim.position(KEY, &s.symbol).size.normalize();
                    let host = s.position.normalize();
                    (host != venue).then_some((s.symbol, host, venue))
                })
                .collect();
            if diff.is_empty() {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!(
                    "positions disagree for {within:?} (symbol, host, venue): {diff:?}"
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A symbol where our best bid on the venue is at or above our best ask.
    pub fn self_cross(&self) -> Option<(String, i64, i64)> {
        self_cross(&self.ours())
    }

    /// Order-link ids held by more than one of our open orders on the venue.
    pub fn duplicate_link_ids(&self) -> Vec<String> {
        let mut seen = BTreeMap::<String, usize>::new();
        for o in self.ours() {
            *seen.entry(o.order_link_id).or_default() += 1;
        }
        seen.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id)
            .collect()
    }

    /// Most of our open orders on one side of one symbol: `(symbol, side, count)`.
    pub fn most_per_side(&self) -> Option<(String, sim::Side, usize)> {
        let mut n = BTreeMap::<(String, bool), usize>::new();
        for o in self.ours() {
            *n.entry((o.symbol.clone(), o.side == sim::Side::Buy))
                .or_default() += 1;
        }
        n.into_iter()
            .max_by_key(|(_, c)| *c)
            .map(|((s, buy), c)| (s, if buy { sim::Side::Buy } else { sim::Side::Sell }, c))
    }

    /// Wait until every symbol in `symbols` has a bid and an ask of ours resting on the venue
    /// whose orders were all created at or after `since_ms` (venue time; 0: any).
    pub async fn wait_two_sided(&self, symbols: &[&str], since_ms: i64, within: Duration) -> bool {
        self.sim
            .wait_until(within, |sim| {
                let mut sides: BTreeMap<String, (bool, bool)> = BTreeMap::new();
                for o in sim.open_orders(KEY) {
                    if !o.order_link_id.starts_with(&self.prefix) || o.created_ms < since_ms {
                        continue;
                    }
                    let e = sides.entry(o.symbol.clone()).or_default();
                    match o.side {
                        sim::Side::Buy => e.0 = true,
                        sim::Side::Sell => e.1 = true,
                    }
                }
                symbols
                    .iter()
                    .all(|s| sides.get(*s).is_some_and(|(b, a)| *b && *a))
            })
            .await
    }

    /// Drop every queued probe event.
    pub fn drain_probe(&mut self) {
        while self.probe.try_recv().is_ok() {}
    }

    /// The next probe event `pick` maps to `Some`, within `within`.
    pub async fn next_probe<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&ProbeEvent) -> Option<T>,
    ) -> Option<T> {
        let until = Instant::now() + within;
        loop {
            let ev = tokio::time::timeout_at(until, self.probe.recv())
                .await
                .ok()??;
            if let Some(t) = pick(&ev) {
                return Some(t);
            }
        }
    }

    /// Wait until each of `symbols` has produced a two-sided ladder for which `accept` holds
    /// (given the event's book message count and resync count).
    pub async fn wait_quoted(
        &mut self,
        symbols: &[&str],
        within: Duration,
        mut accept: impl FnMut(&str, u64, u64) -> bool,
    ) -> Result<(), BTreeSet<String>> {
        let mut left: BTreeSet<String> = symbols.iter().map(|s| s.to_string()).collect();
        let done = self
            .next_probe(within, |ev| match ev {
                ProbeEvent::Quoted {
                    symbol,
                    book_msgs,
                    resyncs,
                    best: (Some(_), Some(_)),
                    ..
                } if accept(symbol, *book_msgs, *resyncs) => {
                    left.remove(&**symbol);
                    left.is_empty().then_some(())
                }
                _ => None,
            })
            .await;
        done.ok_or(left)
    }

    /// The venue's clock, ms (what `created_ms` and request records use).
    pub fn venue_now_ms(&self) -> i64 {
        // The sim serves the wall clock unless skewed; tests here do not skew it.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// Stop the host: it must exit cleanly within 30 s and leave none of our orders open.
    pub async fn stop(mut self) -> RunReport {
        let _ = self.stop.take().expect("not stopped yet").send(());
        let report = tokio::time::timeout(Duration::from_secs(30), self.app.take().unwrap())
            .await
            .expect("host stops within 30 s")
            .expect("app task")
            .unwrap_or_else(|e| panic!("app returns an error: {e}"));
        let left = self.ours();
        assert!(left.is_empty(), "left open after shutdown: {left:?}");
        self.sim.shutdown().await;
        report
    }
}

/// A symbol where the best bid among `orders` is at or above their best ask:
/// `(symbol, bid ticks, ask ticks)`.
pub fn self_cross(orders: &[sim::Order]) -> Option<(String, i64, i64)> {
    let mut best: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for o in orders {
        let e = best.entry(o.symbol.clone()).or_insert((i64::MIN, i64::MAX));
        match o.side {
            sim::Side::Buy => e.0 = e.0.max(o.price_ticks),
            sim::Side::Sell => e.1 = e.1.min(o.price_ticks),
        }
    }
    best.into_iter()
        .find(|(_, (b, a))| b >= a)
        .map(|(s, (b, a))| (s, b, a))
}

/// A linear sim instrument: tick, lot (also the minimum quantity), start price.
pub fn linear(symbol: &str, tick: &str, lot: &str, start: &str) -> sim::SymbolConfig {
    sim::SymbolConfig::linear(symbol, tick, lot, "1000000", start)
}
