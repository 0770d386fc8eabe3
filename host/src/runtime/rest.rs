//! REST queries the runtime needs: instruments, open orders, one order, positions, equity.

use rust_decimal::Decimal;

use super::RuntimeError;
use crate::exchange::bybit::messages::{
    BybitInstrument, BybitOrderMsg, BybitPage, BybitPositionMsg, BybitSide, BybitWalletMsg,
};
use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::model::{Category, Instrument};
use crate::router::RouterError;
use crate::router::state::{OrderUpdate, parse_order_status};

/// Most pages read from one paginated query (50 rows each).
const MAX_PAGES: usize = 20;

/// A position as the exchange reports it (signed size: positive long).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PositionState {
    /// Signed size, base quantity.
    pub size: Decimal,
    /// Average entry price (zero when flat).
    pub entry_price: Decimal,
    /// Cumulative realised PnL.
    pub realised_pnl: Decimal,
    /// Unrealised PnL at the mark price.
    pub unrealised_pnl: Decimal,
    /// The exchange's per-symbol sequence of the last fill this position includes (`seq`;
    /// 0 when the row carries none).
    pub seq: i64,
}

impl PositionState {
    /// From a `position` push or a `/v5/position/list` row.
    pub fn from_msg(p: &BybitPositionMsg) -> Self {
        let size = match p.side {
            Some(BybitSide::Sell) => -p.size,
            Some(BybitSide::Buy) => p.size,
            None => Decimal::ZERO,
        };
        Self {
            size,
            entry_price: p.entry_price.unwrap_or_default(),
            realised_pnl: p
                .cum_realised_pnl
                .or(p.cur_realised_pnl)
                .unwrap_or_default(),
            unrealised_pnl: p.unrealised_pnl.unwrap_or_default(),
            seq: p.seq.unwrap_or(0),
        }
    }
}

/// The trading rules of `symbol` from `/v5/market/instruments-info`.
pub async fn fetch_instrument(
    client: &RestClient,
    category: Category,
    symbol: &str,
) -> Result<Instrument, RuntimeError> {
    let query = format!("category={}&symbol={symbol}", category.as_str());
    let reply = client
        .get_public::<BybitPage<BybitInstrument>>("/v5/market/instruments-info", &query)
        .await?;
    let row = reply
        .result
        .list
        .into_iter()
        .find(|r| r.symbol == symbol)
        .ok_or_else(|| RuntimeError::NoInstrument(symbol.to_owned()))?;
    let lot = &row.lot_size_filter;
    let lot_size = lot
        .qty_step
        .ok_or_else(|| RuntimeError::NoInstrument(format!("{symbol}: no qtyStep")))?;
    let inst = Instrument {
        symbol: row.symbol.clone(),
        category,
        tick_size: row.price_filter.tick_size.normalize(),
        lot_size: lot_size.normalize(),
        min_qty: lot.min_order_qty.unwrap_or(lot_size),
        max_qty: lot.max_order_qty.unwrap_or(Decimal::MAX),
        min_notional: lot
            .min_notional_value
            .or(lot.min_order_amt)
            .unwrap_or_default(),
    };
    inst.validate()
        .map_err(|e| RouterError::Model(e).to_string())
        .map_err(|e| RuntimeError::NoInstrument(format!("{symbol}: {e}")))?;
    Ok(inst)
}

/// Every open order of `symbol` (all pages).
pub async fn open_orders(
    client: &RestClient,
    category: Category,
    symbol: &str,
) -> Result<Vec<BybitOrderMsg>, RestError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..MAX_PAGES {
        let mut query = format!("category={}&symbol={symbol}&limit=50", category.as_str());
        if !cursor.is_empty() {
            query.push_str("&cursor=");
            query.push_str(&cursor);
        }
        let page = client
            .get_signed::<BybitPage<BybitOrderMsg>>("/v5/order/realtime", &query)
            .await?
            .result;
        out.extend(page.list);
        match page.next_page_cursor {
            Some(next) if !next.is_empty() && next != cursor => cursor = next,
            _ => break,
        }
    }
    Ok(out)
}

/// The open order with our id `link_id`, if the exchange has one.
pub async fn find_open_order(
    client: &RestClient,
    category: Category,
    symbol: &str,
    link_id: &str,
) -> Result<Option<BybitOrderMsg>, RestError> {
    let query = format!(
        "category={}&symbol={symbol}&orderLinkId={link_id}",
        category.as_str()
    );
    let page = client
        .get_signed::<BybitPage<BybitOrderMsg>>("/v5/order/realtime", &query)
        .await?
        .result;
    Ok(page.list.into_iter().find(|o| o.order_link_id == link_id))
}

/// The position of a linear `symbol` (spot has none: flat).
pub async fn fetch_position(
    client: &RestClient,
    category: Category,
    symbol: &str,
) -> Result<PositionState, RestError> {
    if category == Category::Spot {
        return Ok(PositionState::default());
    }
    let query = format!("category=linear&symbol={symbol}");
    let page = client
        .get_signed::<BybitPage<BybitPositionMsg>>("/v5/position/list", &query)
        .await?
        .result;
    Ok(page
        .list
        .iter()
        .find(|p| p.symbol == symbol)
        .map(PositionState::from_msg)
        .unwrap_or_default())
}

/// The unified account's total equity (`/v5/account/wallet-balance`); `None` when the
/// exchange reports none.
pub async fn fetch_equity(client: &RestClient) -> Result<Option<Decimal>, RestError> {
    let page = client
        .get_signed::<BybitPage<BybitWalletMsg>>(
            "/v5/account/wallet-balance",
            "accountType=UNIFIED",
        )
        .await?
        .result;
    Ok(page.list.iter().find_map(|w| w.total_equity))
}

/// An order row (push or query) in the router's form.
pub fn order_update(o: &BybitOrderMsg) -> Result<OrderUpdate, RouterError> {
    Ok(OrderUpdate {
        order_id: o.order_id.clone(),
        order_link_id: o.order_link_id.clone(),
        status: parse_order_status(&o.order_status)?,
        price: o.price.unwrap_or_default(),
        qty: o.qty,
        cum_exec_qty: o.cum_exec_qty.unwrap_or_default(),
        updated_ms: o.updated_time.unwrap_or(0),
    })
}
