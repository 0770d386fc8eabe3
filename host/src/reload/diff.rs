//! What changed between two configurations, symbol by symbol.
//!
//! Used by the running host to decide what a reload touches, and by `host check-config
//! --against` to show what a reload would do. Parameters are compared as JSON values (inline
//! tables and `params_file` contents alike), so reformatting a file is not a change.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{CategoryConfig, Config, RiskConfig, SymbolConfig, resolve};

/// One symbol's changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SymbolDelta {
    /// The symbol.
    pub symbol: String,
    /// Module path, old → new (resolved).
    pub module: Option<(PathBuf, PathBuf)>,
    /// Parameters, old → new (compact JSON).
    pub params: Option<(String, String)>,
    /// Effective risk limits, old → new.
    pub risk: Option<(RiskConfig, RiskConfig)>,
}

impl SymbolDelta {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.module.is_none() && self.params.is_none() && self.risk.is_none()
    }
}

/// Every difference between a running configuration and a new one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigDiff {
    /// Keys that cannot change while the host runs: `(key, "old → new")`.
    pub needs_restart: Vec<(String, String)>,
    /// Router settings changed (levels, tolerance, PostOnly): every symbol re-plans.
    pub router: Option<String>,
    /// Kill-switch or disconnect-protection settings changed.
    pub kill: Option<String>,
    /// Symbols to start.
    pub added: Vec<String>,
    /// Symbols to stop.
    pub removed: Vec<String>,
    /// Symbols whose module, parameters or limits changed.
    pub changed: Vec<SymbolDelta>,
}

impl ConfigDiff {
    /// Whether the new configuration changes nothing.
    pub fn is_empty(&self) -> bool {
        self.needs_restart.is_empty()
            && self.router.is_none()
            && self.kill.is_none()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
    }
}

/// A symbol's parameters as compact JSON, or the reason they cannot be read.
pub fn params_text(s: &SymbolConfig, base_dir: &Path) -> Result<String, String> {
    let bytes = s.strategy.params_json(base_dir)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("parameters are not JSON: {e}"))?;
    Ok(value.to_string())
}

fn by_symbol(c: &Config) -> BTreeMap<(String, CategoryConfig), &SymbolConfig> {
    c.symbols
        .iter()
        .map(|s| ((s.symbol.clone(), s.category), s))
        .collect()
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn show<T: fmt::Debug>(old: &T, new: &T) -> String {
    format!("{old:?} → {new:?}")
}

/// Compare `old` (relative paths against `old_dir`) with `new` (against `new_dir`).
pub fn diff(old: &Config, old_dir: &Path, new: &Config, new_dir: &Path) -> ConfigDiff {
    let mut d = ConfigDiff::default();
    let mut restart = |key: &str, changed: bool, text: String| {
        if changed {
            d.needs_restart.push((key.to_owned(), text));
        }
    };
    restart(
        "environment",
        old.environment != new.environment,
        show(&old.environment, &new.environment),
    );
    restart(
        "endpoints",
        old.endpoints != new.endpoints,
        "changed".into(),
    );
    restart(
        "instance_id",
        old.instance_id != new.instance_id,
        show(&old.instance_id, &new.instance_id),
    );
    restart(
        "credentials",
        old.credentials != new.credentials,
        "changed".into(),
    );
    restart(
        "router.transport",
        old.router.transport != new.router.transport,
        show(&old.router.transport, &new.router.transport),
    );
    restart(
        "control_socket",
        old.control_socket != new.control_socket,
        show(&old.control_socket, &new.control_socket),
    );
    restart(
        "streams",
        old.streams != new.streams,
        show(&old.streams, &new.streams),
    );
    // The `dcp` subscription is made when the private stream connects; a new window for an
    // armed DCP applies at once.
    restart(
        "disconnect.dcp_window_s",
        old.disconnect.dcp_window_s.is_some() != new.disconnect.dcp_window_s.is_some(),
        format!(
            "DCP {} → {}",
            on_off(old.disconnect.dcp_window_s.is_some()),
            on_off(new.disconnect.dcp_window_s.is_some())
        ),
    );
    let (o, n) = (&old.router, &new.router);
    if (o.levels, o.requote_tolerance_ticks, o.post_only)
        != (n.levels, n.requote_tolerance_ticks, n.post_only)
    {
        d.router = Some(format!(
            "levels {} → {}, requote_tolerance_ticks {} → {}, post_only {} → {}",
            o.levels,
            n.levels,
            o.requote_tolerance_ticks,
            n.requote_tolerance_ticks,
            o.post_only,
            n.post_only
        ));
    }
    if old.kill != new.kill || old.disconnect != new.disconnect {
        d.kill = Some(format!(
            "{:?} {:?} → {:?} {:?}",
            old.kill, old.disconnect, new.kill, new.disconnect
        ));
    }
    let (olds, news) = (by_symbol(old), by_symbol(new));
    for (key, s) in &news {
        let Some(prev) = olds.get(key) else {
            d.added.push(s.symbol.clone());
            continue;
        };
        let mut delta = SymbolDelta {
            symbol: s.symbol.clone(),
            ..Default::default()
        };
        let (pm, nm) = (
            resolve(old_dir, &prev.strategy.module),
            resolve(new_dir, &s.strategy.module),
        );
        if pm != nm {
            delta.module = Some((pm, nm));
        }
        let (pp, np) = (params_text(prev, old_dir), params_text(s, new_dir));
        if pp != np {
            let text = |r: Result<String, String>| r.unwrap_or_else(|e| format!("<{e}>"));
            delta.params = Some((text(pp), text(np)));
        }
        let (pr, nr) = (
            prev.risk.or(&old.default_risk),
            s.risk.or(&new.default_risk),
        );
        if pr != nr {
            delta.risk = Some((pr, nr));
        }
        if !delta.is_empty() {
            d.changed.push(delta);
        }
    }
    d.removed = olds
        .iter()
        .filter(|(k, _)| !news.contains_key(k))
        .map(|(_, s)| s.symbol.clone())
        .collect();
    d
}

impl fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no changes");
        }
        for (key, what) in &self.needs_restart {
            writeln!(f, "needs a restart: {key}: {what}")?;
        }
        if let Some(r) = &self.router {
            writeln!(f, "router: {r}")?;
        }
        if let Some(k) = &self.kill {
            writeln!(f, "kill switches: {k}")?;
        }
        for s in &self.added {
            writeln!(f, "add symbol {s}")?;
        }
        for s in &self.removed {
            writeln!(f, "remove symbol {s}")?;
        }
        for c in &self.changed {
            if let Some((o, n)) = &c.module {
                writeln!(f, "{}: module {} → {}", c.symbol, o.display(), n.display())?;
            }
            if let Some((o, n)) = &c.params {
                writeln!(f, "{}: params {o} → {n}", c.symbol)?;
            }
            if let Some((o, n)) = &c.risk {
                writeln!(f, "{}: risk {o:?} → {n:?}", c.symbol)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    const BASE: &str = r#"
        [default_risk]
        max_position = 1.0
        [[symbols]]
        symbol = "BTCUSDT"
        strategy = { module = "a.wasm", params = { half_spread_bps = 5 } }
        [[symbols]]
        symbol = "ETHUSDT"
        strategy = { module = "a.wasm", params = { half_spread_bps = 5 } }
    "#;

    fn d(old: &str, new: &str) -> ConfigDiff {
        let dir = Path::new("/cfg");
        diff(&parse(old).unwrap(), dir, &parse(new).unwrap(), dir)
    }

    #[test]
    fn identical_configs_differ_in_nothing() {
        let reformatted = BASE.replace("half_spread_bps = 5", "half_spread_bps =   5");
        assert!(d(BASE, &reformatted).is_empty());
        assert_eq!(d(BASE, BASE).to_string(), "no changes\n");
    }

    #[test]
    fn parameter_module_and_risk_changes_name_their_symbol() {
        let new = BASE
            .replacen("half_spread_bps = 5", "half_spread_bps = 50", 1)
            .replace("max_position = 1.0", "max_position = 2.0");
        let diff = d(BASE, &new);
        assert_eq!(diff.changed.len(), 2, "{diff:?}");
        let btc = &diff.changed[0];
        assert_eq!(btc.symbol, "BTCUSDT");
        assert_eq!(
            btc.params,
            Some((
                r#"{"half_spread_bps":5}"#.into(),
                r#"{"half_spread_bps":50}"#.into()
            ))
        );
        assert!(btc.risk.is_some() && btc.module.is_none());
        assert!(diff.changed[1].params.is_none() && diff.changed[1].risk.is_some());
        let moved = BASE.replacen("a.wasm", "b.wasm", 1);
        let diff = d(BASE, &moved);
        assert_eq!(
            diff.changed[0].module,
            Some((PathBuf::from("/cfg/a.wasm"), PathBuf::from("/cfg/b.wasm")))
        );
        assert!(
            diff.to_string()
                .contains("BTCUSDT: module /cfg/a.wasm → /cfg/b.wasm")
        );
    }

    #[test]
    fn added_removed_and_restart_only_keys_are_listed() {
        let new = BASE.replace("ETHUSDT", "SOLUSDT").replace(
            "[default_risk]",
            "instance_id = \"q2\"\nrouter = { levels = 5 }\n[default_risk]",
        );
        let diff = d(BASE, &new);
        assert_eq!(diff.added, vec!["SOLUSDT".to_string()]);
        assert_eq!(diff.removed, vec!["ETHUSDT".to_string()]);
        assert_eq!(diff.needs_restart[0].0, "instance_id");
        assert!(diff.router.as_deref().unwrap().contains("levels 3 → 5"));
    }

    #[test]
    fn a_dcp_window_changes_live_but_turning_dcp_on_needs_a_restart() {
        let with = |w: u32| format!("{BASE}\n[disconnect]\ndcp_window_s = {w}\n");
        let diff = d(&with(3), &with(10));
        assert!(diff.needs_restart.is_empty(), "{diff:?}");
        assert!(diff.kill.is_some());
        let diff = d(BASE, &with(10));
        assert_eq!(diff.needs_restart[0].0, "disconnect.dcp_window_s");
        assert_eq!(diff.needs_restart[0].1, "DCP off → on");
    }
}
