//! `host quote`: the strategy author's bench.
//!
//! Loads one plugin and talks JSON lines: each input line gets exactly one reply line, flushed
//! at once, so the tool can be driven interactively or by a script (e.g. to diff two builds of
//! a strategy over the same input). Input lines:
//!
//! - a market line (see [`MarketLine`]) → `{"bids":[[p,s],...],"asks":[[p,s],...]}` or
//!   `{"pull":"reason"}`: the strategy's raw ladder, before host rounding or risk clamping;
//! - `{"params":{...}}` → `{"ok":true}` or `{"error":"..."}` (a live parameter update);
//! - `{"fill":{"side":"Buy","price":p,"size":s,"ts_ms":t}}` → `{"ok":true}`;
//! - anything else → `{"error":"..."}`; the tool keeps reading.
//!
//! A strategy that crashed or timed out is disabled; later lines answer with the error.

use std::io::{BufRead, Write};

use plugin_api::{
    Fill, Inventory, Ladder, Level, MarketView, QuoteInput, SIDE_BUY, SIDE_SELL, Trade,
    UpdateOutcome,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::plugin::{PluginError, StrategyInstance, StrategyModule};

/// One market line: the view and the inventory, flat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketLine {
    /// Symbol name.
    pub symbol: String,
    /// Timestamp, ms (used as both exchange and local time).
    pub ts_ms: i64,
    /// Bid levels `[price, size]`, best first (up to 20 are used).
    pub bids: Vec<[f64; 2]>,
    /// Ask levels `[price, size]`, best first (up to 20 are used).
    pub asks: Vec<[f64; 2]>,
    /// The last trade, or null.
    #[serde(default)]
    pub last_trade: Option<TradeLine>,
    /// Tick size.
    pub tick_size: f64,
    /// Lot size.
    pub lot_size: f64,
    /// Mark price, or null.
    #[serde(default)]
    pub mark_price: Option<f64>,
    /// Signed position.
    #[serde(default)]
    pub position: f64,
    /// Average entry price.
    #[serde(default)]
    pub avg_entry_price: f64,
    /// Realised PnL.
    #[serde(default)]
    pub realised_pnl: f64,
    /// Unrealised PnL.
    #[serde(default)]
    pub unrealised_pnl: f64,
    /// Maximum absolute position.
    pub max_position: f64,
    /// The position to skew towards (default 0).
    #[serde(default)]
    pub target_position: f64,
    /// The host's de-risk soft limit (default 0: none).
    #[serde(default)]
    pub soft_position: f64,
}

/// A trade or fill side as written on the line.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum SideLine {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl SideLine {
    fn code(self) -> i32 {
        match self {
            Self::Buy => SIDE_BUY,
            Self::Sell => SIDE_SELL,
        }
    }
}

/// `last_trade` of a market line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeLine {
    /// Price.
    pub price: f64,
    /// Size.
    pub size: f64,
    /// Aggressor side.
    pub side: SideLine,
}

/// `fill` of a fill line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillLine {
    /// Our side.
    pub side: SideLine,
    /// Price.
    pub price: f64,
    /// Size.
    pub size: f64,
    /// Time, ms.
    #[serde(default)]
    pub ts_ms: i64,
}

impl MarketLine {
    /// The ABI input this line describes.
    pub fn to_input(&self) -> QuoteInput {
        let mut view = MarketView::new(&self.symbol);
        view.ts_exchange_ms = self.ts_ms;
        view.ts_local_ms = self.ts_ms;
        let levels = |side: &[[f64; 2]]| {
            side.iter()
                .map(|&[p, s]| Level::new(p, s))
                .collect::<Vec<_>>()
        };
        view.set_bids(&levels(&self.bids));
        view.set_asks(&levels(&self.asks));
        if let Some(t) = &self.last_trade {
            view.last_trade = Trade {
                price: t.price,
                size: t.size,
                side: t.side.code(),
                reserved: 0,
            };
        }
        view.tick_size = self.tick_size;
        view.lot_size = self.lot_size;
        view.mark_price = self.mark_price.unwrap_or(f64::NAN);
        let inventory = Inventory {
            position: self.position,
            avg_entry_price: self.avg_entry_price,
            realised_pnl: self.realised_pnl,
            unrealised_pnl: self.unrealised_pnl,
            max_position: self.max_position,
            target_position: self.target_position,
            soft_position: self.soft_position,
        };
        QuoteInput { view, inventory }
    }
}

/// The JSON reply for a ladder.
pub fn ladder_json(ladder: &Ladder) -> Value {
    if let Some(reason) = ladder.pull_reason() {
        return json!({ "pull": reason });
    }
    let side = |levels: &[Level]| {
        levels
            .iter()
            .map(|l| json!([l.price, l.size]))
            .collect::<Vec<_>>()
    };
    json!({ "bids": side(ladder.bids()), "asks": side(ladder.asks()) })
}

/// Answers one line at a time for one strategy instance.
pub struct QuoteSession {
    instance: StrategyInstance,
    ladder: Ladder,
}

impl QuoteSession {
    /// Create the strategy from `module` with `params_json`.
    pub fn new(module: &StrategyModule, params_json: &[u8]) -> Result<Self, PluginError> {
        Ok(Self {
            instance: module.instantiate(params_json)?,
            ladder: Ladder::default(),
        })
    }

    /// The reply to one input line.
    pub fn handle_line(&mut self, line: &str) -> Value {
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return error(format!("malformed JSON: {e}")),
        };
        let Value::Object(map) = &value else {
            return error("expected a JSON object".into());
        };
        if let Some(params) = map.get("params") {
            if map.len() != 1 {
                return error("a params line holds only `params`".into());
            }
            let bytes = params.to_string();
            return match self.instance.update_params(bytes.as_bytes()) {
                Ok(UpdateOutcome::Applied) => json!({ "ok": true }),
                Ok(UpdateOutcome::Recreate) => json!({ "ok": true, "recreate": true }),
                Err(e) => error(plugin_message(&e)),
            };
        }
        if let Some(fill) = map.get("fill") {
            if map.len() != 1 {
                return error("a fill line holds only `fill`".into());
            }
            let fill: FillLine = match serde_json::from_value(fill.clone()) {
                Ok(f) => f,
                Err(e) => return error(format!("bad fill: {e}")),
            };
            let fill = Fill {
                price: fill.price,
                size: fill.size,
                ts_ms: fill.ts_ms,
                side: fill.side.code(),
                reserved: 0,
            };
            return match self.instance.on_fill(&fill) {
                Ok(()) => json!({ "ok": true }),
                Err(e) => error(plugin_message(&e)),
            };
        }
        let market: MarketLine = match serde_json::from_value(value) {
            Ok(m) => m,
            Err(e) => return error(format!("bad market line: {e}")),
        };
        match self.instance.quote(&market.to_input(), &mut self.ladder) {
            Ok(()) => ladder_json(&self.ladder),
            Err(e) => error(plugin_message(&e)),
        }
    }

    /// Read lines from `input` until EOF, writing one flushed reply per line.
    pub fn run(&mut self, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let reply = self.handle_line(&line);
            writeln!(output, "{reply}")?;
            output.flush()?;
        }
        Ok(())
    }
}

fn error(message: String) -> Value {
    json!({ "error": message })
}

fn plugin_message(e: &PluginError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"symbol":"X","ts_ms":1,"bids":[[99,1]],"asks":[[101,1]],"tick_size":0.1,"lot_size":0.01,"max_position":10"#;

    #[test]
    fn target_and_soft_position_are_optional_and_reach_the_inventory() {
        let bare: MarketLine = serde_json::from_str(&format!("{LINE}}}")).unwrap();
        let inv = bare.to_input().inventory;
        assert_eq!((inv.target_position, inv.soft_position), (0.0, 0.0));
        let full: MarketLine = serde_json::from_str(&format!(
            r#"{LINE},"position":1.5,"target_position":-2,"soft_position":4}}"#
        ))
        .unwrap();
        let inv = full.to_input().inventory;
        assert_eq!(
            (
                inv.position,
                inv.target_position,
                inv.soft_position,
                inv.excess()
            ),
            (1.5, -2.0, 4.0, 3.5)
        );
    }
}
