//! Building a symbol's start state from its configuration: instrument, strategy instance,
//! limits, leftovers of an earlier run, position. Used at start-up and when a reload adds a
//! symbol.

use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;
use tracing::{info, warn};

use super::category_of;
use super::rest::{fetch_instrument, fetch_position, open_orders, order_update};
use super::symbol::SymbolSetup;
use crate::config::{self, Config, LeftoverPolicy, RiskConfig, SymbolConfig};
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::model::{Instrument, OrderLinkId};
use crate::plugin::StrategyModule;
use crate::router::batch::{CancelOrder, OrderRequest};
use crate::router::diff::DiffConfig;
use crate::router::io;
use crate::router::limits::HardLimits;
use crate::router::state::WorkingOrder;
use crate::router::symbol::SymbolConfig as RouterSymbolConfig;

use super::apply::SymbolLimits;

/// A decimal from the shortest text of `v` (so `0.05` stays `0.05`).
pub fn dec(v: f64) -> Decimal {
    Decimal::from_str(&v.to_string())
        .ok()
        .or_else(|| Decimal::from_f64_retain(v))
        .unwrap_or(Decimal::MAX)
}

/// The router settings of a symbol with effective limits `risk`.
pub fn router_config(config: &Config, risk: &RiskConfig, inst: &Instrument) -> RouterSymbolConfig {
    let max_position = dec(risk.max_position.unwrap_or(0.0));
    RouterSymbolConfig {
        limits: HardLimits {
            max_long: max_position,
            max_short: max_position,
            max_notional: risk.max_notional.map(dec).unwrap_or(Decimal::MAX),
            max_open_orders: risk
                .max_open_orders
                .map(|n| n as usize)
                .unwrap_or(2 * config.router.levels as usize),
            max_order_qty: risk.max_order_size.map(dec).unwrap_or(inst.max_qty),
        },
        diff: DiffConfig {
            tolerance_ticks: config.router.requote_tolerance_ticks,
        },
    }
}

/// Every limit of symbol `sc` under `config`.
pub fn symbol_limits(config: &Config, sc: &SymbolConfig, inst: &Instrument) -> SymbolLimits {
    let risk = sc.risk.or(&config.default_risk);
    SymbolLimits {
        router: router_config(config, &risk, inst),
        levels: config.router.levels as usize,
        max_position: risk.max_position.unwrap_or(0.0),
        target_position: risk.target_position.unwrap_or(0.0),
        stale_after_ms: risk.stale_after_ms.unwrap_or(5_000) as i64,
        protect: risk.protect.clone(),
        derisk: risk.derisk.clone(),
    }
}

/// The status-line label of a module: file name and the start of its content hash.
pub fn module_label(module: &StrategyModule) -> String {
    let name = module
        .path()
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hash = module.content_hash();
    format!("{name}@{}", &hash[..hash.len().min(8)])
}

/// Fetch the instrument, create the strategy instance, clear leftovers, read the position.
/// The error says which step failed.
pub async fn prepare_symbol(
    config: &Config,
    sc: &SymbolConfig,
    base_dir: &Path,
    client: &RestClient,
    module: &StrategyModule,
) -> Result<SymbolSetup, String> {
    let symbol = sc.symbol.as_str();
    let category = category_of(sc.category);
    let inst = fetch_instrument(client, category, symbol)
        .await
        .map_err(|e| format!("instrument: {e}"))?;
    let params = sc.strategy.params_json(base_dir)?;
    let strategy = module
        .instantiate(&params)
        .map_err(|e| format!("strategy: {e}"))?;
    let prefix = format!("{}-", config.instance_id);
    let adopted = handle_leftovers(client, config.router.leftover_orders, &inst, &prefix)
        .await
        .map_err(|e| format!("leftover orders: {e}"))?;
    let position = fetch_position(client, category, symbol)
        .await
        .map_err(|e| format!("position: {e}"))?;
    let limits = symbol_limits(config, sc, &inst);
    info!(%symbol, module = %module.path().display(), kind = ?module.kind(), tick = %inst.tick_size, lot = %inst.lot_size, position = %position.size, "symbol ready");
    Ok(SymbolSetup {
        router: limits.router,
        levels: limits.levels,
        max_position: limits.max_position,
        target_position: limits.target_position,
        stale_after_ms: limits.stale_after_ms,
        protect: limits.protect,
        derisk: limits.derisk,
        instrument: inst,
        strategy,
        module: module_label(module),
        position,
        adopted,
    })
}

/// Open orders of `inst` carrying our prefix (left by an earlier run of this instance):
/// cancelled (`cancel`), or returned to be tracked as working orders (`adopt`); rows that
/// cannot be adopted (unparsable id or row) are cancelled either way.
pub async fn handle_leftovers(
    client: &RestClient,
    policy: LeftoverPolicy,
    inst: &Instrument,
    prefix: &str,
) -> Result<Vec<WorkingOrder>, RestError> {
    let rows = open_orders(client, inst.category, &inst.symbol).await?;
    let mut adopted = Vec::new();
    let mut cancel = Vec::new();
    for o in rows.iter().filter(|o| o.order_link_id.starts_with(prefix)) {
        let Ok(link_id) = OrderLinkId::parse(&o.order_link_id) else {
            continue; // our prefix but not our id format: not ours to touch
        };
        if policy == LeftoverPolicy::Adopt {
            let parts = link_id.parts();
            let (side, level) = (parts.side, parts.level);
            if let Some(w) = order_update(o)
                .ok()
                .and_then(|u| WorkingOrder::adopted(link_id.clone(), side, level, &u))
            {
                adopted.push(w);
                continue;
            }
        }
        cancel.push(CancelOrder {
            symbol: inst.symbol.as_str().into(),
            link_id,
            order_id: Some(o.order_id.as_str().into()),
        });
    }
    if !adopted.is_empty() {
        info!(symbol = %inst.symbol, count = adopted.len(), "adopting orders left by an earlier run");
    }
    if cancel.is_empty() {
        return Ok(adopted);
    }
    info!(symbol = %inst.symbol, count = cancel.len(), "cancelling orders left by an earlier run");
    for chunk in cancel.chunks(inst.category.max_batch()) {
        let out = io::send(
            client,
            &OrderRequest::CancelBatch(inst.category, chunk.to_vec()),
        )
        .await;
        for ack in out
            .acks
            .iter()
            .filter(|a| !matches!(a.outcome, crate::router::state::AckOutcome::Accepted { .. }))
        {
            warn!(symbol = %inst.symbol, link_id = %ack.link_id, error = %ack.message, "leftover cancel not confirmed");
        }
    }
    Ok(adopted)
}

/// The resolved module path of `sc`.
pub fn module_path(base_dir: &Path, sc: &SymbolConfig) -> std::path::PathBuf {
    config::resolve(base_dir, &sc.strategy.module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_limits_come_from_the_shortest_float_text() {
        assert_eq!(dec(0.05).to_string(), "0.05");
        assert_eq!(dec(50000.0).to_string(), "50000");
        assert_eq!(dec(20.0), Decimal::from(20));
    }
}
