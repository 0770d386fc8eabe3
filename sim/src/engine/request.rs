//! Parsing of order requests (REST bodies and WS-trade args) into [`OrderRequest`].

use super::ApiError;
use super::types::{OrderType, Side, Tif};
use crate::config::Category;
use rust_decimal::Decimal;
use serde_json::Value;

/// A parsed create request.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Category.
    pub category: Category,
    /// Symbol.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Quantity.
    pub qty: Decimal,
    /// Price (limit).
    pub price: Option<Decimal>,
    /// Time in force.
    pub tif: Tif,
    /// Client id.
    pub order_link_id: String,
    /// Reduce only.
    pub reduce_only: bool,
    /// Close on trigger.
    pub close_on_trigger: bool,
    /// The position stop that created the order (`TrailingStop`...), empty otherwise.
    pub stop_order_type: &'static str,
    /// Take profit echo.
    pub take_profit: String,
    /// Stop loss echo.
    pub stop_loss: String,
    /// Spot market orders: `baseCoin` or `quoteCoin` (Bybit's default for a market Buy is
    /// `quoteCoin`: qty is then an amount of USDT).
    pub market_unit: String,
}

pub(crate) fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A decimal given as a JSON string (or number, leniently).
pub fn dec_field(v: &Value, k: &str) -> Result<Option<Decimal>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .parse::<Decimal>()
            .map(Some)
            .map_err(|_| ApiError::param(format!("params error: {k} invalid"))),
        Some(Value::Number(n)) => n
            .to_string()
            .parse::<Decimal>()
            .map(Some)
            .map_err(|_| ApiError::param(format!("params error: {k} invalid"))),
        Some(_) => Err(ApiError::param(format!("params error: {k} invalid"))),
    }
}

fn bool_field(v: &Value, k: &str) -> bool {
    match v.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// Parse the category of a request body.
pub fn parse_category(v: &Value) -> Result<Category, ApiError> {
    match str_field(v, "category") {
        None => Err(ApiError::param("params error: category is empty")),
        Some(c) => Category::parse(c).ok_or_else(|| ApiError::param("Illegal category")),
    }
}

/// Parse an order create request (`category` may come from the batch envelope).
pub fn parse_order_request(v: &Value, category: Category) -> Result<OrderRequest, ApiError> {
    let symbol = str_field(v, "symbol")
        .ok_or_else(|| ApiError::param("params error: symbol invalid"))?
        .to_string();
    let side = str_field(v, "side")
        .and_then(Side::parse)
        .ok_or_else(|| ApiError::param("params error: side invalid"))?;
    let order_type = match str_field(v, "orderType") {
        Some("Limit") => OrderType::Limit,
        Some("Market") => OrderType::Market,
        _ => return Err(ApiError::param("params error: orderType invalid")),
    };
    let qty = dec_field(v, "qty")?.ok_or_else(|| ApiError::param("params error: qty err"))?;
    let price = dec_field(v, "price")?;
    let tif = match str_field(v, "timeInForce") {
        None => Tif::Gtc,
        Some(s) => {
            Tif::parse(s).ok_or_else(|| ApiError::param("params error: timeInForce invalid"))?
        }
    };
    let order_link_id = str_field(v, "orderLinkId").unwrap_or("").to_string();
    if order_link_id.len() > 36
        || !order_link_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::param("params error: orderLinkId invalid"));
    }
    match v.get("positionIdx") {
        None | Some(Value::Null) => {}
        Some(p) if p.as_i64() == Some(0) || p.as_str() == Some("0") => {}
        Some(_) => {
            return Err(ApiError::param("position idx not match position mode"));
        }
    }
    Ok(OrderRequest {
        category,
        symbol,
        side,
        order_type,
        qty,
        price,
        tif,
        order_link_id,
        reduce_only: bool_field(v, "reduceOnly"),
        close_on_trigger: bool_field(v, "closeOnTrigger"),
        stop_order_type: "",
        take_profit: str_field(v, "takeProfit").unwrap_or("").to_string(),
        stop_loss: str_field(v, "stopLoss").unwrap_or("").to_string(),
        market_unit: str_field(v, "marketUnit").unwrap_or("").to_string(),
    })
}
