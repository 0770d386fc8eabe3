//! The REST calls risk controls make: cancel every order of a symbol, send a reduce-only IOC
//! order, arm disconnect protection (DCP). Each returns the exchange's error unchanged.

use rust_decimal::Decimal;
use serde_json::json;

use crate::exchange::bybit::rest::{RestClient, RestError};
use crate::model::{Category, Side};

/// `POST /v5/order/cancel-all` for `symbol`.
pub async fn cancel_all(
    client: &RestClient,
    category: Category,
    symbol: &str,
) -> Result<(), RestError> {
    let body = json!({"category": category.as_str(), "symbol": symbol}).to_string();
    client
        .post_signed::<serde_json::Value>("/v5/order/cancel-all", body)
        .await
        .map(|_| ())
}

/// A reduce-only market (IOC) order of `qty` on `side`, without an order-link id (so it is
/// never mistaken for a quote of ours).
pub async fn reduce_only_ioc(
    client: &RestClient,
    category: Category,
    symbol: &str,
    side: Side,
    qty: Decimal,
) -> Result<(), RestError> {
    let body = json!({
        "category": category.as_str(),
        "symbol": symbol,
        "side": match side { Side::Buy => "Buy", Side::Sell => "Sell" },
        "orderType": "Market",
        "qty": qty.normalize().to_string(),
        "timeInForce": "IOC",
        "reduceOnly": true,
    })
    .to_string();
    client
        .post_signed::<serde_json::Value>("/v5/order/create", body)
        .await
        .map(|_| ())
}

/// Arm disconnected-cancel-all for derivatives with `time_window_s` (3–300).
pub async fn arm_dcp(client: &RestClient, time_window_s: u32) -> Result<(), RestError> {
    let body = json!({"product": "DERIVATIVES", "timeWindow": time_window_s}).to_string();
    client
        .post_signed::<serde_json::Value>("/v5/order/disconnected-cancel-all", body)
        .await
        .map(|_| ())
}
