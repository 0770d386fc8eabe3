//! Hot reload: the configuration file and every module file in use are watched; a change is
//! read once complete, validated as a whole, prepared off the loop and handed to the loop as
//! one [`ReloadBatch`].
//!
//! All or nothing: if the new configuration does not parse or validate, a module does not
//! compile, a new parameter set is refused by a fresh instance, or a new symbol cannot be
//! prepared, nothing is applied and one error names the file, the key and the reason. A save
//! that changes no content (same hashes) does nothing. `SIGHUP` (or [`ReloadTrigger`]) forces a
//! reload by hand.

pub mod diff;
pub mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::config::{self, Config};
use crate::exchange::bybit::rest::RestClient;
use crate::plugin::{PluginRuntime, StrategyModule};
use crate::router::batch::TimeInForce;
use crate::runtime::apply::SymbolChange;
use crate::runtime::setup::{module_label, module_path, prepare_symbol, symbol_limits};
use crate::runtime::{LoopEvent, Probe, ProbeEvent, ReloadBatch, ReloadReport};
use diff::{ConfigDiff, params_text};
use watch::{Debouncer, FileWatcher, watch_key};

/// Quiet time after the last file event before a file is read.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// Asks the reload task to reload now (SIGHUP, a control command).
#[derive(Clone, Debug, Default)]
pub struct ReloadTrigger(Arc<Notify>);

impl ReloadTrigger {
    /// Request a reload.
    pub fn fire(&self) {
        self.0.notify_one();
    }

    /// Completes when a reload is requested.
    pub async fn fired(&self) {
        self.0.notified().await
    }
}

/// What the host runs now.
pub struct Running {
    /// The configuration in effect.
    pub config: Config,
    /// Hash of the configuration file's content in effect.
    pub config_hash: String,
    /// Loaded modules by resolved path.
    pub modules: HashMap<PathBuf, StrategyModule>,
    /// Each symbol's module: resolved path and content hash.
    pub symbol_modules: HashMap<String, (PathBuf, String)>,
    /// Each symbol's instrument.
    pub instruments: HashMap<String, crate::model::Instrument>,
    /// Each symbol's parameters in effect (compact JSON).
    pub params: HashMap<String, String>,
}

/// Everything the reload task needs.
pub struct ReloadTask {
    config_path: PathBuf,
    base_dir: PathBuf,
    running: Running,
    plugins: PluginRuntime,
    client: RestClient,
    events: mpsc::Sender<LoopEvent>,
    probe: Probe,
    trigger: ReloadTrigger,
    generation: u64,
    applied: crate::ctl::AppliedConfig,
}

/// A reload that was not applied.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(8)]
}

impl ReloadTask {
    /// A task reloading `config_path` for a host running `running`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config_path: PathBuf,
        base_dir: PathBuf,
        running: Running,
        plugins: PluginRuntime,
        client: RestClient,
        events: mpsc::Sender<LoopEvent>,
        probe: Probe,
        trigger: ReloadTrigger,
    ) -> Self {
        Self {
            config_path,
            base_dir,
            running,
            plugins,
            client,
            events,
            probe,
            trigger,
            generation: 0,
            applied: Default::default(),
        }
    }

    /// Publish the configuration text in effect to `applied` (the control socket reads it).
    pub fn publish_to(mut self, applied: crate::ctl::AppliedConfig) -> Self {
        applied.set(std::fs::read_to_string(&self.config_path).unwrap_or_default());
        self.applied = applied;
        self
    }

    fn watched_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.config_path.clone()];
        for s in &self.running.config.symbols {
            files.push(module_path(&self.base_dir, s));
            if let Some(p) = &s.strategy.params_file {
                files.push(config::resolve(&self.base_dir, p));
            }
        }
        files
    }

    /// Watch and reload until the loop is gone.
    pub async fn run(mut self) {
        let mut watcher = match FileWatcher::new() {
            Ok(w) => Some(w),
            Err(e) => {
                error!(error = %e, "cannot watch files; reload only on SIGHUP");
                None
            }
        };
        let mut debouncer = Debouncer::new(DEBOUNCE);
        loop {
            if let Some(w) = &mut watcher
                && let Err(e) = w.set_files(self.watched_files())
            {
                warn!(error = %e, "cannot watch every file in use");
            }
            let deadline = debouncer.deadline();
            let change = async {
                match &mut watcher {
                    Some(w) => w.next_change().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                p = change => {
                    let Some(p) = p else {
                        warn!("file watcher stopped; reload only on SIGHUP");
                        watcher = None;
                        continue;
                    };
                    debug!(path = %p.display(), "file event");
                    debouncer.note(p, Instant::now());
                    continue;
                }
                _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                    let Some((paths, first)) = debouncer.take_due(Instant::now()) else { continue };
                    debug!(?paths, "files changed");
                    self.reload_and_report(first).await;
                }
                _ = self.trigger.fired() => {
                    info!("reload requested");
                    self.reload_and_report(Instant::now()).await;
                }
                _ = self.events.closed() => return,
            }
        }
    }

    async fn reload_and_report(&mut self, started: Instant) {
        match self.reload(started).await {
            Ok(Some(report)) => {
                info!(
                    generation = self.generation,
                    applied = report.applied.len(),
                    refused = report.refused.len(),
                    added = report.added.len(),
                    took_ms = started.elapsed().as_secs_f64() * 1e3,
                    longest_pause_us = report.longest_pause.as_secs_f64() * 1e6,
                    "reload done"
                );
            }
            Ok(None) => debug!("no content changed; nothing to reload"),
            Err(Rejected(error)) => {
                error!(%error, "reload rejected; the running configuration is unchanged");
                self.probe.emit(|| ProbeEvent::Rejected { error });
            }
        }
    }

    /// Read, validate, prepare and apply. `Ok(None)`: no content changed.
    pub async fn reload(&mut self, started: Instant) -> Result<Option<ReloadReport>, Rejected> {
        let path = &self.config_path;
        let text = std::fs::read(path)
            .map_err(|e| Rejected(format!("{}: cannot read: {e}", path.display())))?;
        let config_hash = sha256_hex(&text);
        let new = config::load(path).map_err(|e| Rejected(e.to_string()))?;
        let modules = self.load_modules(&new).await?;
        let params_changed = new.symbols.iter().any(|s| {
            self.running.params.get(&s.symbol).map(String::as_str)
                != params_text(s, &self.base_dir).ok().as_deref()
        });
        let same_modules = new.symbols.iter().all(|s| {
            let p = module_path(&self.base_dir, s);
            self.running
                .symbol_modules
                .get(&s.symbol)
                .is_some_and(|(rp, h)| *rp == p && modules[&p].content_hash() == h)
        });
        if config_hash == self.running.config_hash && same_modules && !params_changed {
            return Ok(None);
        }
        let d = diff::diff(&self.running.config, &self.base_dir, &new, &self.base_dir);
        if !d.needs_restart.is_empty() {
            let keys: Vec<String> = d
                .needs_restart
                .iter()
                .map(|(k, what)| format!("{k} ({what})"))
                .collect();
            return Err(Rejected(format!(
                "{}: {} cannot change while the host runs; restart to apply",
                path.display(),
                keys.join(", ")
            )));
        }
        let batch = self.prepare(&new, &d, &modules, started).await?;
        let Some((batch, rx)) = batch else {
            self.running.config = new;
            self.running.config_hash = config_hash;
            return Ok(None);
        };
        if self
            .events
            .send(LoopEvent::Reload(Box::new(batch)))
            .await
            .is_err()
        {
            return Err(Rejected("the host is stopping".into()));
        }
        let report = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| Rejected("the loop did not answer within 30 s".into()))?
            .map_err(|_| Rejected("the host is stopping".into()))?;
        self.commit(new, config_hash, modules, &report);
        self.applied
            .set(String::from_utf8_lossy(&text).into_owned());
        Ok(Some(report))
    }

    /// Every module the new configuration uses, compiled off the loop when new or changed.
    async fn load_modules(
        &self,
        new: &Config,
    ) -> Result<HashMap<PathBuf, StrategyModule>, Rejected> {
        let mut out = HashMap::new();
        for (i, s) in new.symbols.iter().enumerate() {
            let path = module_path(&self.base_dir, s);
            if out.contains_key(&path) {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| {
                Rejected(format!(
                    "symbols[{i}].strategy.module: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            let hash = sha256_hex(&bytes);
            let module = match self.running.modules.get(&path) {
                Some(m) if m.content_hash() == hash => m.clone(),
                _ => {
                    let plugins = self.plugins.clone();
                    let p = path.clone();
                    let t0 = std::time::Instant::now();
                    let module =
                        tokio::task::spawn_blocking(move || plugins.load_bytes(&p, &bytes))
                            .await
                            .map_err(|e| Rejected(format!("module load task failed: {e}")))?
                            .map_err(|e| Rejected(format!("symbols[{i}].strategy.module: {e}")))?;
                    info!(module = %path.display(), hash = short(&hash), load_ms = t0.elapsed().as_secs_f64() * 1e3, "module loaded");
                    module
                }
            };
            out.insert(path, module);
        }
        Ok(out)
    }

    /// Build the batch: a fresh instance for every symbol whose module or parameters changed
    /// (which also proves the parameters valid), limits, new symbols.
    async fn prepare(
        &mut self,
        new: &Config,
        d: &ConfigDiff,
        modules: &HashMap<PathBuf, StrategyModule>,
        started: Instant,
    ) -> Result<Option<(ReloadBatch, oneshot::Receiver<ReloadReport>)>, Rejected> {
        let path = self.config_path.display().to_string();
        let mut changes = Vec::new();
        let mut added = Vec::new();
        for (i, s) in new.symbols.iter().enumerate() {
            let key = |field: &str| format!("{path}: symbols[{i}].{field}");
            let mpath = module_path(&self.base_dir, s);
            let module = &modules[&mpath];
            if d.added.contains(&s.symbol) {
                let setup = prepare_symbol(new, s, &self.base_dir, &self.client, module)
                    .await
                    .map_err(|e| Rejected(format!("{}: {e}", key("symbol"))))?;
                self.running
                    .instruments
                    .insert(s.symbol.clone(), setup.instrument.clone());
                added.push(setup);
                continue;
            }
            let delta = d.changed.iter().find(|c| c.symbol == s.symbol);
            let old_module = self.running.symbol_modules.get(&s.symbol);
            let module_swap =
                old_module.is_none_or(|(p, h)| *p != mpath || h != module.content_hash());
            let new_params = params_text(s, &self.base_dir)
                .map_err(|e| Rejected(format!("{}: {e}", key("strategy.params"))))?;
            let params_change = match self.running.params.get(&s.symbol) {
                Some(old) if *old == new_params => None,
                old => Some((old.cloned().unwrap_or_default(), new_params)),
            };
            let limits_change = delta.is_some_and(|c| c.risk.is_some()) || d.router.is_some();
            if !module_swap && params_change.is_none() && !limits_change {
                continue;
            }
            let mut what = Vec::new();
            let params = s
                .strategy
                .params_json(&self.base_dir)
                .map_err(|e| Rejected(format!("{}: {e}", key("strategy"))))?;
            let instance = if module_swap || params_change.is_some() {
                let mut inst = module.instantiate(&params).map_err(|e| {
                    Rejected(format!(
                        "{}: the strategy refuses them: {e}",
                        key("strategy.params")
                    ))
                })?;
                warm_up(&mut inst, &s.symbol);
                Some(inst)
            } else {
                None
            };
            if module_swap {
                let old = old_module.map(|(p, h)| format!("{}@{}", p.display(), short(h)));
                what.push(format!(
                    "module {} → {}@{}",
                    old.unwrap_or_default(),
                    mpath.display(),
                    short(module.content_hash())
                ));
            }
            if let Some((o, n)) = &params_change {
                what.push(format!("params {o} → {n}"));
            }
            let limits = if limits_change {
                let inst = self.instrument_of(&s.symbol);
                match inst {
                    Some(inst) => {
                        if let Some((o, n)) = delta.and_then(|c| c.risk.as_ref()) {
                            what.push(format!("risk {o:?} → {n:?}"));
                        }
                        if let Some(r) = &d.router {
                            what.push(format!("router {r}"));
                        }
                        Some(symbol_limits(new, s, &inst))
                    }
                    None => None,
                }
            } else {
                None
            };
            changes.push(SymbolChange {
                symbol: s.symbol.as_str().into(),
                what: what.join("; "),
                params: params_change.map(|_| params),
                instance,
                module_swap,
                module: module_label(module),
                limits,
            });
        }
        let removed = d
            .removed
            .iter()
            .map(|s| Arc::from(s.as_str()))
            .collect::<Vec<_>>();
        let time_in_force = d.router.as_ref().map(|_| {
            if new.router.post_only {
                TimeInForce::PostOnly
            } else {
                TimeInForce::Gtc
            }
        });
        let old = &self.running.config;
        let kill = (old.kill != new.kill || old.disconnect != new.disconnect)
            .then(|| (new.kill.clone(), new.disconnect.clone()));
        if changes.is_empty()
            && added.is_empty()
            && removed.is_empty()
            && time_in_force.is_none()
            && kill.is_none()
        {
            return Ok(None);
        }
        self.generation += 1;
        let (tx, rx) = oneshot::channel();
        Ok(Some((
            ReloadBatch {
                generation: self.generation,
                started: started.into_std(),
                changes,
                added,
                removed,
                time_in_force,
                kill,
                reply: Some(tx),
            },
            rx,
        )))
    }

    fn instrument_of(&self, symbol: &str) -> Option<crate::model::Instrument> {
        self.running.instruments.get(symbol).cloned()
    }

    /// Record what runs now: the new configuration, except for symbols that refused.
    fn commit(
        &mut self,
        mut new: Config,
        config_hash: String,
        modules: HashMap<PathBuf, StrategyModule>,
        report: &ReloadReport,
    ) {
        let refused: Vec<&str> = report.refused.iter().map(|(s, _)| s.as_str()).collect();
        for s in &mut new.symbols {
            if refused.contains(&s.symbol.as_str()) {
                if let Some(old) = self
                    .running
                    .config
                    .symbols
                    .iter()
                    .find(|o| o.symbol == s.symbol)
                {
                    *s = old.clone();
                }
                continue;
            }
            let p = module_path(&self.base_dir, s);
            let hash = modules[&p].content_hash().to_owned();
            self.running
                .symbol_modules
                .insert(s.symbol.clone(), (p, hash));
            if let Ok(text) = params_text(s, &self.base_dir) {
                self.running.params.insert(s.symbol.clone(), text);
            }
        }
        new.symbols.retain(|s| {
            !refused.contains(&s.symbol.as_str())
                || self.running.symbol_modules.contains_key(&s.symbol)
        });
        self.running
            .symbol_modules
            .retain(|sym, _| new.symbols.iter().any(|s| &s.symbol == sym));
        self.running
            .params
            .retain(|sym, _| new.symbols.iter().any(|s| &s.symbol == sym));
        // A refusal means the file and the host disagree: the next save must not look like a
        // no-op.
        self.running.config_hash = if refused.is_empty() {
            config_hash
        } else {
            String::new()
        };
        self.running.modules.extend(modules);
        self.running.config = new;
    }
}

/// Run a new instance's code paths once off the loop (its first calls fault in memory and
/// code), so that the hand-over inside the loop is short. Only calls without lasting effect:
/// saving state, and quoting an empty book (every strategy pulls on it).
fn warm_up(instance: &mut crate::plugin::StrategyInstance, symbol: &str) {
    let _ = instance.save_state();
    let input = plugin_api::QuoteInput {
        view: plugin_api::MarketView::new(symbol),
        inventory: plugin_api::Inventory::default(),
    };
    let mut ladder = plugin_api::Ladder::default();
    let _ = instance.quote(&input, &mut ladder);
}

/// The hash of a configuration file's content, for [`Running::config_hash`].
pub fn file_hash(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| sha256_hex(&b))
        .unwrap_or_default()
}

/// Key under which events report `path` (for tests).
pub fn event_key(path: &Path) -> PathBuf {
    watch_key(path)
}
