//! Order entry: validation with Bybit's codes, taker execution against the displayed book,
//! resting orders queued behind displayed size (price-time priority), fills and their effect
//! on orders, positions and wallets; amend, cancel, cancel-all. Market-driven fills of
//! resting orders are in `flow.rs`.

use super::request::str_field;
pub use super::request::{OrderRequest, dec_field, parse_category, parse_order_request};
use super::types::{Fill, Order, OrderStatus, OrderType, Position, Side, Tif};
use super::{ApiError, Engine, render};
use crate::config::Category;
use rust_decimal::Decimal;
use serde_json::Value;

impl Engine {
    /// Place an order; returns (orderId, orderLinkId). Pushes order/execution/position/wallet.
    pub fn create_order(
        &mut self,
        acct: usize,
        req: OrderRequest,
    ) -> Result<(String, String), ApiError> {
        if self.reject_next_orders > 0 {
            self.reject_next_orders -= 1;
            let code = self.reject_code;
            let msg = match code {
                110007 => "Insufficient available balance",
                10006 => "Too many visits",
                10016 => "Internal server error",
                _ => "Request parameter error.",
            };
            return Err(ApiError::new(code, msg));
        }
        let r = self.create_inner(acct, req);
        self.flush();
        r
    }

    fn create_inner(
        &mut self,
        acct: usize,
        mut req: OrderRequest,
    ) -> Result<(String, String), ApiError> {
        let spot = req.category == Category::Spot;
        let mi = self
            .market(req.category, &req.symbol)
            .ok_or_else(|| ApiError::param("params error: symbol invalid"))?;
        let inst = self.markets[mi].inst.clone();
        if spot
            && req.order_type == OrderType::Market
            && req.side == Side::Buy
            && req.market_unit != "baseCoin"
        {
            // qty is an amount of the quote coin: convert at the best ask, rounding down.
            let m = &self.markets[mi];
            let ask = m.book.best_ask().unwrap_or(m.model.quote_ticks().1);
            let base = req.qty / inst.px(ask);
            let lots = (base / inst.step).floor();
            req.qty = lots * inst.step;
            if req.qty <= Decimal::ZERO {
                return Err(ApiError::new(170140, "Order value exceeded lower limit."));
            }
        }
        let mut lots = inst
            .lots_of(req.qty)
            .ok_or_else(|| ApiError::param("params error: qty err"))?;
        if lots < inst.min_lots {
            return Err(ApiError::param(
                "The number of contracts exceeds minimum limit allowed",
            ));
        }
        if lots > inst.max_lots {
            return Err(ApiError::param(
                "The number of contracts exceeds maximum limit allowed",
            ));
        }
        let (best_bid, best_ask) = {
            let m = &self.markets[mi];
            let (qb, qa) = m.model.quote_ticks();
            (
                m.book.best_bid().unwrap_or(qb),
                m.book.best_ask().unwrap_or(qa),
            )
        };
        let price_ticks = match req.order_type {
            OrderType::Limit => {
                let p = req
                    .price
                    .ok_or_else(|| ApiError::param("params error: price invalid"))?;
                inst.ticks_of(p)
                    .ok_or_else(|| ApiError::param("params error: price invalid"))?
            }
            // Bybit turns market orders into IOC limits at a protection price.
            OrderType::Market => match req.side {
                Side::Buy => best_ask + (best_ask / 20).max(1),
                Side::Sell => (best_bid - (best_bid / 20).max(1)).max(1),
            },
        };
        let tif = if req.order_type == OrderType::Market {
            Tif::Ioc
        } else {
            req.tif
        };
        let px = inst.px(price_ticks);
        if px * req.qty < inst.min_notional && !req.reduce_only {
            return Err(if spot {
                ApiError::new(170140, "Order value exceeded lower limit.")
            } else {
                ApiError::new(
                    110094,
                    format!(
                        "Order does not meet minimum order value {}USDT",
                        inst.min_notional
                    ),
                )
            });
        }
        let a = &self.accounts[acct];
        if !req.order_link_id.is_empty() && a.link_ids.contains_key(&req.order_link_id) {
            return Err(if spot {
                ApiError::new(170141, "Duplicate clientOrderId")
            } else {
                ApiError::new(110072, "OrderLinkedID is duplicate")
            });
        }
        if a.open_count(req.category, &req.symbol) >= self.limits.max_open_orders_per_symbol {
            return Err(ApiError::new(
                110020,
                format!(
                    "Not allowed to have more than {} active orders",
                    self.limits.max_open_orders_per_symbol
                ),
            ));
        }
        if !spot && req.reduce_only {
            let pos = a
                .positions
                .get(&req.symbol)
                .map(|p| p.size)
                .unwrap_or_default();
            let closing = (pos > Decimal::ZERO && req.side == Side::Sell)
                || (pos < Decimal::ZERO && req.side == Side::Buy);
            if !closing {
                return Err(ApiError::new(110017, "Reduce-only rule not satisfied"));
            }
            // Bybit trims a reduce-only order to the position size.
            let max = inst.lots_of(pos.abs()).unwrap_or(lots);
            lots = lots.min(max);
        }
        // Balance checks.
        if spot {
            let need_quote = req.side == Side::Buy;
            let (coin, need) = if need_quote {
                (inst.quote_coin.as_str(), px * req.qty)
            } else {
                (inst.base_coin.as_str(), req.qty)
            };
            let locked: Decimal = a
                .open
                .values()
                .filter(|o| o.category == Category::Spot)
                .filter_map(|o| {
                    let oi = &self.markets[self.market(o.category, &o.symbol)?].inst;
                    let leaves = oi.qty(o.leaves_lots());
                    match o.side {
                        Side::Buy if oi.quote_coin == coin => Some(oi.px(o.price_ticks) * leaves),
                        Side::Sell if oi.base_coin == coin => Some(leaves),
                        _ => None,
                    }
                })
                .sum();
            if a.coin(coin) - locked < need {
                return Err(ApiError::new(170131, "Insufficient balance."));
            }
        } else if !req.reduce_only {
            let mark_of = |s: &str| self.mark(s);
            let order_notional = |o: &Order| {
                self.market(o.category, &o.symbol)
                    .map(|i| {
                        let oi = &self.markets[i].inst;
                        oi.px(o.price_ticks) * oi.qty(o.leaves_lots())
                    })
                    .unwrap_or_default()
            };
            let im = a.initial_margin(&mark_of, &order_notional);
            let equity = a.usdt + a.unrealised(&mark_of);
            let need = px * req.qty / Decimal::from(super::account::LEVERAGE);
            if equity - im < need {
                return Err(ApiError::new(110007, "Insufficient available balance"));
            }
        }

        let now = self.now_ms();
        let order_id = self.new_order_id(req.category);
        let priority = self.next_priority();
        let last_px = inst.fmt_px(self.markets[mi].last_px);
        let mut order = Order {
            order_id: order_id.clone(),
            order_link_id: req.order_link_id.clone(),
            category: req.category,
            symbol: req.symbol.clone(),
            side: req.side,
            order_type: req.order_type,
            price_ticks,
            qty_lots: lots,
            cum_lots: 0,
            cum_value: Decimal::ZERO,
            cum_fee: Decimal::ZERO,
            tif,
            reduce_only: req.reduce_only,
            close_on_trigger: req.close_on_trigger,
            stop_order_type: req.stop_order_type,
            status: OrderStatus::New,
            cancel_type: "UNKNOWN",
            reject_reason: "EC_NoError",
            take_profit: req.take_profit.clone(),
            stop_loss: req.stop_loss.clone(),
            created_ms: now,
            updated_ms: now,
            queue_ahead_lots: 0,
            priority,
            last_price_on_created: last_px,
            account: acct,
        };
        let crosses = match req.side {
            Side::Buy => price_ticks >= best_ask,
            Side::Sell => price_ticks <= best_bid,
        };
        let a = &mut self.accounts[acct];
        a.open.insert(order_id.clone(), order.clone());
        if !order.order_link_id.is_empty() {
            a.link_ids
                .insert(order.order_link_id.clone(), order_id.clone());
        }
        if tif == Tif::PostOnly && crosses {
            // Accepted, then cancelled (derivatives) / rejected (spot) without fills.
            let o = self.accounts[acct]
                .open
                .get_mut(&order_id)
                .expect("inserted");
            o.status = if spot {
                OrderStatus::Rejected
            } else {
                OrderStatus::Cancelled
            };
            o.reject_reason = "EC_PostOnlyWillTakeLiquidity";
            self.finish(acct, &order_id, mi);
            return Ok((order_id, req.order_link_id));
        }
        if tif == Tif::Fok {
            let avail: i64 = match req.side {
                Side::Buy => self.markets[mi]
                    .book
                    .asks
                    .range(..=price_ticks)
                    .map(|(_, s)| *s)
                    .sum(),
                Side::Sell => self.markets[mi]
                    .book
                    .bids
                    .range(price_ticks..)
                    .map(|(_, s)| *s)
                    .sum(),
            };
            if avail < lots {
                let o = self.accounts[acct]
                    .open
                    .get_mut(&order_id)
                    .expect("inserted");
                o.status = OrderStatus::Cancelled;
                o.reject_reason = "EC_CancelForNoFullFill";
                self.finish(acct, &order_id, mi);
                return Ok((order_id, req.order_link_id));
            }
        }
        if crosses {
            self.take_liquidity(acct, &order_id, mi);
        }
        let still_open = self.accounts[acct]
            .open
            .get(&order_id)
            .map(|o| o.status.is_open())
            .unwrap_or(false);
        if still_open {
            if matches!(tif, Tif::Ioc | Tif::Fok) {
                let o = self.accounts[acct].open.get_mut(&order_id).expect("open");
                o.status = OrderStatus::Cancelled;
                if o.cum_lots == 0 {
                    o.reject_reason = "EC_NoImmediateQtyToFill";
                }
                self.finish(acct, &order_id, mi);
            } else {
                self.rest(acct, &order_id, mi);
                order = self.accounts[acct].open[&order_id].clone();
                self.push_order(&order, mi);
                self.push_position_wallet(acct, mi);
            }
        }
        Ok((order_id, req.order_link_id))
    }

    /// Put an open order on the book behind the displayed size at its price.
    fn rest(&mut self, acct: usize, order_id: &str, mi: usize) {
        let o = self.accounts[acct].open.get_mut(order_id).expect("open");
        let m = &mut self.markets[mi];
        o.queue_ahead_lots = match o.side {
            Side::Buy => m.book.bid_size(o.price_ticks),
            Side::Sell => m.book.ask_size(o.price_ticks),
        };
        let key = (o.price_ticks, o.priority);
        let val = (acct, order_id.to_string());
        match o.side {
            Side::Buy => m.resting_bids.insert(key, val),
            Side::Sell => m.resting_asks.insert(key, val),
        };
    }

    fn unrest(&mut self, o: &Order, mi: usize) {
        let m = &mut self.markets[mi];
        let key = (o.price_ticks, o.priority);
        match o.side {
            Side::Buy => m.resting_bids.remove(&key),
            Side::Sell => m.resting_asks.remove(&key),
        };
    }

    /// Execute an incoming order against the displayed book up to its limit.
    fn take_liquidity(&mut self, acct: usize, order_id: &str, mi: usize) {
        let (side, limit) = {
            let o = &self.accounts[acct].open[order_id];
            (o.side, o.price_ticks)
        };
        while let Some(leaves) = self.accounts[acct]
            .open
            .get(order_id)
            .map(|o| o.leaves_lots())
        {
            if leaves <= 0 {
                break;
            }
            let m = &mut self.markets[mi];
            let level = match side {
                Side::Buy => m.book.asks.iter().next().map(|(p, s)| (*p, *s)),
                Side::Sell => m.book.bids.iter().next_back().map(|(p, s)| (*p, *s)),
            };
            let Some((p, s)) = level else { break };
            let ok = match side {
                Side::Buy => p <= limit,
                Side::Sell => p >= limit,
            };
            if !ok {
                break;
            }
            let take = s.min(leaves);
            let book_side = match side {
                Side::Buy => &mut m.book.asks,
                Side::Sell => &mut m.book.bids,
            };
            if take == s {
                book_side.remove(&p);
            } else {
                *book_side.get_mut(&p).expect("level") -= take;
            }
            self.record_trade(mi, side == Side::Buy, p, take);
            self.fill(acct, order_id, mi, p, take, false);
        }
    }

    /// Apply a fill to an order, the account and the position; pushes the updates.
    pub(crate) fn fill(
        &mut self,
        acct: usize,
        order_id: &str,
        mi: usize,
        px_ticks: i64,
        mut lots: i64,
        maker: bool,
    ) {
        let inst = self.markets[mi].inst.clone();
        let now = self.now_ms();
        let mark = self.mark_of_market(mi);
        let Some(o) = self.accounts[acct].open.get(order_id).cloned() else {
            return;
        };
        let spot = o.category == Category::Spot;
        if o.reduce_only && !spot {
            let pos = self.accounts[acct]
                .positions
                .get(&o.symbol)
                .map(|p| p.size.abs())
                .unwrap_or_default();
            lots = lots.min(inst.lots_of(pos).unwrap_or(0));
            if lots == 0 {
                let o = self.accounts[acct].open.get_mut(order_id).expect("open");
                o.status = OrderStatus::Cancelled;
                o.cancel_type = "CancelByReduceOnly";
                self.finish(acct, order_id, mi);
                return;
            }
        }
        let px = inst.px(px_ticks);
        let q = inst.qty(lots);
        let value = px * q;
        let rate = if maker {
            self.fees.maker
        } else {
            self.fees.taker
        };
        let fee = value * rate;
        let seq = self.next_exec_seq();
        let exec_id = self.uuid();
        let a = &mut self.accounts[acct];
        let (pnl, closed) = if spot {
            match o.side {
                Side::Buy => {
                    a.add_coin(&inst.quote_coin, -value - fee);
                    a.add_coin(&inst.base_coin, q);
                }
                Side::Sell => {
                    a.add_coin(&inst.base_coin, -q);
                    a.add_coin(&inst.quote_coin, value - fee);
                }
            }
            (Decimal::ZERO, Decimal::ZERO)
        } else {
            let pos = a.positions.entry(o.symbol.clone()).or_default();
            if pos.created_ms == 0 {
                pos.created_ms = now;
            }
            let was_flat = pos.size.is_zero();
            let dq = q * Decimal::from(o.side.sign());
            let (pnl, closed) = super::account::apply_fill(pos, dq, px);
            if was_flat {
                pos.cur_realised = Decimal::ZERO;
            }
            pos.cur_realised += pnl - fee;
            pos.cum_realised += pnl - fee;
            pos.updated_ms = now;
            pos.seq = seq;
            a.usdt += pnl - fee;
            a.cum_realised += pnl - fee;
            (pnl, closed)
        };
        let ord = a.open.get_mut(order_id).expect("open");
        ord.cum_lots += lots;
        ord.cum_value += value;
        ord.cum_fee += fee;
        ord.updated_ms = now;
        ord.status = if ord.cum_lots >= ord.qty_lots {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        let leaves = ord.leaves_lots();
        let fill = Fill {
            exec_id,
            order_id: order_id.to_string(),
            order_link_id: o.order_link_id.clone(),
            category: o.category,
            symbol: o.symbol.clone(),
            side: o.side,
            price: px,
            qty: q,
            value,
            fee,
            fee_rate: rate,
            is_maker: maker,
            order_price: inst.fmt_px(o.price_ticks),
            order_qty: inst.fmt_qty(o.qty_lots),
            leaves_qty: inst.fmt_qty(leaves),
            order_type: o.order_type,
            exec_pnl: pnl,
            closed_size: if closed.is_zero() {
                String::new()
            } else {
                closed.to_string()
            },
            time_ms: now,
            seq,
            mark_price: mark.to_string(),
        };
        if a.fills.len() >= super::account::FILLS_KEEP {
            a.fills.drain(..super::account::FILLS_KEEP / 2);
        }
        a.fills.push(fill.clone());
        if self.wants_private(acct) {
            self.push_private_row(acct, "execution", &render::execution_row(&fill, true));
            self.push_private_row(acct, "execution.fast", &render::execution_fast_row(&fill));
        }
        let filled = self.accounts[acct].open[order_id].status == OrderStatus::Filled;
        if filled {
            self.finish(acct, order_id, mi);
        } else {
            let ord = self.accounts[acct].open[order_id].clone();
            self.push_order(&ord, mi);
            self.push_position_wallet(acct, mi);
        }
    }

    /// Close an order (status already set), remove it from the book and push updates.
    pub(crate) fn finish(&mut self, acct: usize, order_id: &str, mi: usize) {
        let now = self.now_ms();
        if let Some(o) = self.accounts[acct].open.get_mut(order_id) {
            o.updated_ms = now;
        }
        if let Some(o) = self.accounts[acct].close_order(order_id) {
            self.unrest(&o, mi);
            self.push_order(&o, mi);
            self.push_position_wallet(acct, mi);
        }
    }

    fn push_order(&mut self, o: &Order, mi: usize) {
        if !self.wants_private(o.account) {
            return;
        }
        if let Some(buf) = super::row_bytes(&render::order_row(o, &self.markets[mi].inst)) {
            self.pending.push((o.account, "order", buf));
        }
    }

    /// Push the position (linear) and the wallet of an account.
    pub(crate) fn push_position_wallet(&mut self, acct: usize, mi: usize) {
        if !self.wants_private(acct) {
            return;
        }
        let inst = &self.markets[mi].inst;
        if inst.category == Category::Linear {
            let mark = self.mark_of_market(mi);
            let flat = Position::default();
            let p = self.accounts[acct]
                .positions
                .get(&inst.symbol)
                .unwrap_or(&flat);
            if let Some(buf) = super::row_bytes(&render::position_row(&inst.symbol, p, mark, true))
            {
                self.pending.push((acct, "position", buf));
            }
        }
        if let Some(buf) = super::row_bytes(&render::wallet_row(self, &self.accounts[acct])) {
            self.pending.push((acct, "wallet", buf));
        }
    }

    /// Cancel one order by id or link id.
    pub fn cancel_order(
        &mut self,
        acct: usize,
        category: Category,
        symbol: &str,
        order_id: Option<&str>,
        link_id: Option<&str>,
    ) -> Result<(String, String), ApiError> {
        let not_found = || {
            if category == Category::Spot {
                ApiError::new(170213, "Order does not exist.")
            } else {
                ApiError::new(110001, "Order does not exist")
            }
        };
        let id = self.accounts[acct]
            .resolve(order_id, link_id)
            .ok_or_else(not_found)?;
        let o = &self.accounts[acct].open[&id];
        if o.symbol != symbol || o.category != category {
            return Err(not_found());
        }
        let link = o.order_link_id.clone();
        let mi = self.market(category, symbol).ok_or_else(not_found)?;
        let o = self.accounts[acct].open.get_mut(&id).expect("open");
        o.status = OrderStatus::Cancelled;
        o.cancel_type = "CancelByUser";
        self.finish(acct, &id, mi);
        self.flush();
        Ok((id, link))
    }

    /// Cancel all open orders of a category (optionally one symbol); returns the ids.
    pub fn cancel_all(
        &mut self,
        acct: usize,
        category: Category,
        symbol: Option<&str>,
        cancel_type: &'static str,
    ) -> Vec<(String, String)> {
        let mut ids: Vec<(u64, String, String, String)> = self.accounts[acct]
            .open
            .values()
            .filter(|o| o.category == category && symbol.is_none_or(|s| o.symbol == s))
            .map(|o| {
                (
                    o.priority,
                    o.order_id.clone(),
                    o.order_link_id.clone(),
                    o.symbol.clone(),
                )
            })
            .collect();
        ids.sort();
        let mut out = Vec::new();
        for (_, id, link, sym) in ids {
            if let Some(mi) = self.market(category, &sym) {
                let o = self.accounts[acct].open.get_mut(&id).expect("open");
                o.status = OrderStatus::Cancelled;
                o.cancel_type = cancel_type;
                self.finish(acct, &id, mi);
                out.push((id, link));
            }
        }
        self.flush();
        out
    }

    /// Amend qty and/or price of an open order.
    pub fn amend_order(&mut self, acct: usize, v: &Value) -> Result<(String, String), ApiError> {
        let r = self.amend_inner(acct, v);
        self.flush();
        r
    }

    fn amend_inner(&mut self, acct: usize, v: &Value) -> Result<(String, String), ApiError> {
        let category = parse_category(v)?;
        let symbol = str_field(v, "symbol")
            .ok_or_else(|| ApiError::param("params error: symbol invalid"))?;
        let not_found = || ApiError::new(110001, "order not exists or too late to replace");
        let id = self.accounts[acct]
            .resolve(str_field(v, "orderId"), str_field(v, "orderLinkId"))
            .ok_or_else(not_found)?;
        let mi = self.market(category, symbol).ok_or_else(not_found)?;
        let inst = self.markets[mi].inst.clone();
        let old = self.accounts[acct].open[&id].clone();
        if old.symbol != symbol {
            return Err(not_found());
        }
        let new_lots = match dec_field(v, "qty")? {
            Some(q) => {
                let l = inst
                    .lots_of(q)
                    .ok_or_else(|| ApiError::param("params error: qty err"))?;
                if l < inst.min_lots || l > inst.max_lots {
                    return Err(ApiError::param("params error: qty err"));
                }
                l
            }
            None => old.qty_lots,
        };
        let new_px = match dec_field(v, "price")? {
            Some(p) => inst
                .ticks_of(p)
                .ok_or_else(|| ApiError::param("params error: price invalid"))?,
            None => old.price_ticks,
        };
        if new_lots == old.qty_lots && new_px == old.price_ticks {
            return Err(ApiError::new(
                10001,
                "The order remains unchanged as the parameters entered match the existing ones.",
            ));
        }
        if new_lots <= old.cum_lots {
            return Err(ApiError::param("params error: qty err"));
        }
        self.unrest(&old, mi);
        let lose_priority = new_px != old.price_ticks || new_lots > old.qty_lots;
        let prio = if lose_priority {
            self.next_priority()
        } else {
            old.priority
        };
        let now = self.now_ms();
        {
            let o = self.accounts[acct].open.get_mut(&id).expect("open");
            o.qty_lots = new_lots;
            o.price_ticks = new_px;
            o.priority = prio;
            o.updated_ms = now;
        }
        let (bb, ba) = {
            let m = &self.markets[mi];
            (
                m.book.best_bid().unwrap_or(i64::MIN),
                m.book.best_ask().unwrap_or(i64::MAX),
            )
        };
        let crosses = match old.side {
            Side::Buy => new_px >= ba,
            Side::Sell => new_px <= bb,
        };
        if crosses && old.tif == Tif::PostOnly {
            let o = self.accounts[acct].open.get_mut(&id).expect("open");
            o.status = OrderStatus::Cancelled;
            o.reject_reason = "EC_PostOnlyWillTakeLiquidity";
            self.finish(acct, &id, mi);
        } else {
            if crosses {
                self.take_liquidity(acct, &id, mi);
            }
            if self.accounts[acct].open.contains_key(&id) {
                if lose_priority {
                    self.rest(acct, &id, mi);
                } else {
                    let o = &self.accounts[acct].open[&id];
                    let (k, val) = ((o.price_ticks, o.priority), (acct, id.clone()));
                    match o.side {
                        Side::Buy => self.markets[mi].resting_bids.insert(k, val),
                        Side::Sell => self.markets[mi].resting_asks.insert(k, val),
                    };
                }
                let o = self.accounts[acct].open[&id].clone();
                self.push_order(&o, mi);
                self.push_position_wallet(acct, mi);
            }
        }
        Ok((id, old.order_link_id))
    }
}
