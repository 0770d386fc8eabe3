//! Order request bodies written straight to JSON text (the REST hot path): no intermediate
//! `serde_json::Value`, exact decimals as normalised strings, as [`super::io::body_of`] builds
//! them for the trade stream (a test holds the two equal).

use std::fmt::Write;

use rust_decimal::Decimal;

use crate::model::text;

use super::batch::{AmendOrder, CancelOrder, CreateOrder, OrderRequest, TimeInForce};
use crate::model::Category;

/// The JSON body of `req`, appended to `out`.
pub fn write_body(req: &OrderRequest, out: &mut String) {
    match req {
        OrderRequest::Create(c, o) => one(out, *c, |out| create(out, o)),
        OrderRequest::Amend(c, o) => one(out, *c, |out| amend(out, o)),
        OrderRequest::Cancel(c, o) => one(out, *c, |out| cancel(out, o)),
        OrderRequest::CreateBatch(c, v) => batch(out, *c, v, create),
        OrderRequest::AmendBatch(c, v) => batch(out, *c, v, amend),
        OrderRequest::CancelBatch(c, v) => batch(out, *c, v, cancel),
    }
}

/// `{"category":…,<fields>}`.
fn one(out: &mut String, c: Category, fields: impl FnOnce(&mut String)) {
    out.push_str("{\"category\":\"");
    out.push_str(c.as_str());
    out.push_str("\",");
    fields(out);
    out.push('}');
}

/// `{"category":…,"request":[{<fields>},…]}`.
fn batch<T>(out: &mut String, c: Category, items: &[T], fields: fn(&mut String, &T)) {
    out.push_str("{\"category\":\"");
    out.push_str(c.as_str());
    out.push_str("\",\"request\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        fields(out, item);
        out.push('}');
    }
    out.push_str("]}");
}

fn create(out: &mut String, o: &CreateOrder) {
    key_str(out, "\"symbol\":\"", &o.symbol);
    out.push_str(",\"side\":\"");
    out.push_str(o.side.as_str());
    key_decimal(out, "\",\"orderType\":\"Limit\",\"qty\":\"", o.qty);
    key_decimal(out, ",\"price\":\"", o.price);
    out.push_str(match o.time_in_force {
        TimeInForce::PostOnly => ",\"timeInForce\":\"PostOnly\",",
        TimeInForce::Gtc => ",\"timeInForce\":\"GTC\",",
    });
    key_str(out, "\"orderLinkId\":\"", o.link_id.as_str());
}

fn amend(out: &mut String, o: &AmendOrder) {
    key_str(out, "\"symbol\":\"", &o.symbol);
    match &o.order_id {
        Some(id) => key_str(out, ",\"orderId\":\"", id),
        None => key_str(out, ",\"orderLinkId\":\"", o.link_id.as_str()),
    }
    if let Some(p) = o.price {
        key_decimal(out, ",\"price\":\"", p);
    }
    if let Some(q) = o.qty {
        key_decimal(out, ",\"qty\":\"", q);
    }
}

fn cancel(out: &mut String, o: &CancelOrder) {
    key_str(out, "\"symbol\":\"", &o.symbol);
    match &o.order_id {
        Some(id) => key_str(out, ",\"orderId\":\"", id),
        None => key_str(out, ",\"orderLinkId\":\"", o.link_id.as_str()),
    }
}

/// `"key":"value"` with the value escaped as JSON requires; `open` is the text up to the
/// value's opening quote (`"key":"`, with the comma before it if any).
fn key_str(out: &mut String, open: &str, value: &str) {
    out.push_str(open);
    if text::json_plain(value) {
        out.push_str(value);
    } else {
        escape_into(out, value);
    }
    out.push('"');
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `"key":"1.25"` (normalised: no trailing zeros); `open` is as for [`key_str`].
fn key_decimal(out: &mut String, open: &str, d: Decimal) {
    out.push_str(open);
    text::push_decimal(out, d);
    out.push('"');
}
