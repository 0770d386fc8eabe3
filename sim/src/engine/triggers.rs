//! Position stop-loss / take-profit / trailing-stop triggers (set by
//! `/v5/position/trading-stop`), checked against the mark price after every market step.
//! A trigger closes the whole position with a reduce-only market order and clears the
//! position's TP/SL/trailing settings (Bybit's `Full` mode).

use super::Engine;
use super::matching::OrderRequest;
use super::types::{OrderType, Side, Tif};
use crate::config::Category;
use rust_decimal::Decimal;

impl Engine {
    /// Check every account's position on market `mi`.
    pub(crate) fn check_triggers(&mut self, mi: usize) {
        if self.markets[mi].inst.category != Category::Linear || self.matching_paused {
            return;
        }
        let symbol = self.markets[mi].inst.symbol.clone();
        let mark = self.mark_of_market(mi);
        for acct in 0..self.accounts.len() {
            let Some(p) = self.accounts[acct].positions.get_mut(&symbol) else {
                continue;
            };
            if p.size.is_zero() {
                continue;
            }
            let long = p.size > Decimal::ZERO;
            let z = Decimal::ZERO;
            let mut fire = None;
            if p.stop_loss > z && ((long && mark <= p.stop_loss) || (!long && mark >= p.stop_loss))
            {
                fire = Some("StopLoss");
            }
            if p.take_profit > z
                && ((long && mark >= p.take_profit) || (!long && mark <= p.take_profit))
            {
                fire = fire.or(Some("TakeProfit"));
            }
            if p.trailing_stop > z {
                let active = p.active_price.is_zero()
                    || (long && mark >= p.active_price)
                    || (!long && mark <= p.active_price);
                if active || !p.trail_extreme.is_zero() {
                    if p.trail_extreme.is_zero()
                        || (long && mark > p.trail_extreme)
                        || (!long && mark < p.trail_extreme)
                    {
                        p.trail_extreme = mark;
                    }
                    let stop = if long {
                        p.trail_extreme - p.trailing_stop
                    } else {
                        p.trail_extreme + p.trailing_stop
                    };
                    if (long && mark <= stop) || (!long && mark >= stop) {
                        fire = fire.or(Some("TrailingStop"));
                    }
                }
            }
            let Some(stop_order_type) = fire else {
                continue;
            };
            let qty = p.size.abs();
            p.take_profit = z;
            p.stop_loss = z;
            p.trailing_stop = z;
            p.active_price = z;
            p.trail_extreme = z;
            let req = OrderRequest {
                category: Category::Linear,
                symbol: symbol.clone(),
                side: if long { Side::Sell } else { Side::Buy },
                order_type: OrderType::Market,
                qty,
                price: None,
                tif: Tif::Ioc,
                order_link_id: String::new(),
                reduce_only: true,
                close_on_trigger: true,
                stop_order_type,
                take_profit: String::new(),
                stop_loss: String::new(),
                market_unit: String::new(),
            };
            // Errors (e.g. an empty book side) leave the position open; the settings are
            // cleared either way, as a triggered Bybit stop is consumed.
            let _ = self.create_order(acct, req);
        }
    }
}
