//! Order request bodies written straight to JSON text (the REST hot path): no intermediate
//! `serde_json::Value`, exact decimals as normalised strings, as [`super::io::body_of`] builds
//! them for the trade stream (a test holds the two equal).
//!
//! The text goes into a byte buffer: `&str` pieces and the ASCII of [`text`]'s number writers,
//! so it is UTF-8; the caller checks it once when it makes the buffer a `String`.

use std::sync::Arc;

use crate::model::text;

use super::batch::{AmendOrder, CancelOrder, CreateOrder, OrderRequest, TimeInForce};
use crate::model::{Category, OrderLinkId};

/// The JSON body of `req`, appended to `out` (UTF-8 JSON text). The caller sizes `out`: about
/// 100 bytes an order.
pub fn write_body(req: &OrderRequest, out: &mut Vec<u8>) {
    match req {
        OrderRequest::Create(c, o) => one(out, *c, |out| create(out, o, &mut Symbols(None))),
        OrderRequest::Amend(c, o) => one(out, *c, |out| amend(out, o, &mut Symbols(None))),
        OrderRequest::Cancel(c, o) => one(out, *c, |out| cancel(out, o, &mut Symbols(None))),
        OrderRequest::CreateBatch(c, v) => batch(out, *c, v, create),
        OrderRequest::AmendBatch(c, v) => batch(out, *c, v, amend),
        OrderRequest::CancelBatch(c, v) => batch(out, *c, v, cancel),
    }
}

/// `{"category":…,<fields>}`.
fn one(out: &mut Vec<u8>, c: Category, fields: impl FnOnce(&mut Vec<u8>)) {
    category(out, c);
    out.push(b',');
    fields(out);
    out.push(b'}');
}

/// `{"category":…,"request":[{<fields>},…]}`.
fn batch<'a, T>(
    out: &mut Vec<u8>,
    c: Category,
    items: &'a [T],
    fields: fn(&mut Vec<u8>, &'a T, &mut Symbols<'a>),
) {
    category(out, c);
    out.extend_from_slice(b",\"request\":[");
    // A batch is of one symbol, mostly: checked for escapes once.
    let mut symbols = Symbols(None);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        fields(out, item, &mut symbols);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// `{"category":"…"`.
fn category(out: &mut Vec<u8>, c: Category) {
    out.extend_from_slice(b"{\"category\":\"");
    out.extend_from_slice(c.as_str().as_bytes());
    out.push(b'"');
}

/// Writes symbols as JSON string contents, remembering the last one found to need no escape
/// (the same `Arc` again is not checked again).
struct Symbols<'a>(Option<&'a str>);

impl<'a> Symbols<'a> {
    /// `"symbol":"<symbol>"`.
    #[inline(always)]
    fn put(&mut self, out: &mut Vec<u8>, symbol: &'a Arc<str>) {
        let symbol: &'a str = symbol;
        out.extend_from_slice(b"\"symbol\":\"");
        // The same text at the same address: checked already.
        if self.0.is_some_and(|last| std::ptr::eq(last, symbol)) {
            out.extend_from_slice(symbol.as_bytes());
        } else if text::json_plain(symbol) {
            out.extend_from_slice(symbol.as_bytes());
            self.0 = Some(symbol);
        } else {
            escape_into(out, symbol);
        }
        out.push(b'"');
    }
}

fn create<'a>(out: &mut Vec<u8>, o: &'a CreateOrder, symbols: &mut Symbols<'a>) {
    symbols.put(out, &o.symbol);
    out.extend_from_slice(b",\"side\":\"");
    out.extend_from_slice(o.side.as_str().as_bytes());
    out.extend_from_slice(b"\",\"orderType\":\"Limit\",\"qty\":\"");
    text::put_decimal(out, o.qty);
    out.extend_from_slice(b"\",\"price\":\"");
    text::put_decimal(out, o.price);
    out.extend_from_slice(match o.time_in_force {
        TimeInForce::PostOnly => b"\",\"timeInForce\":\"PostOnly\",\"orderLinkId\":\"",
        TimeInForce::Gtc => b"\",\"timeInForce\":\"GTC\",\"orderLinkId\":\"",
    });
    link_id_value(out, &o.link_id);
    out.push(b'"');
}

fn amend<'a>(out: &mut Vec<u8>, o: &'a AmendOrder, symbols: &mut Symbols<'a>) {
    order_ids(out, &o.symbol, o.order_id.as_deref(), &o.link_id, symbols);
    if let Some(p) = o.price {
        out.extend_from_slice(b",\"price\":\"");
        text::put_decimal(out, p);
        out.push(b'"');
    }
    if let Some(q) = o.qty {
        out.extend_from_slice(b",\"qty\":\"");
        text::put_decimal(out, q);
        out.push(b'"');
    }
}

fn cancel<'a>(out: &mut Vec<u8>, o: &'a CancelOrder, symbols: &mut Symbols<'a>) {
    order_ids(out, &o.symbol, o.order_id.as_deref(), &o.link_id, symbols);
}

/// `"symbol":…,"orderId":…` or `"symbol":…,"orderLinkId":…` (the exchange id when known).
#[inline(always)]
fn order_ids<'a>(
    out: &mut Vec<u8>,
    symbol: &'a Arc<str>,
    order_id: Option<&str>,
    link_id: &OrderLinkId,
    symbols: &mut Symbols<'a>,
) {
    symbols.put(out, symbol);
    match order_id {
        Some(id) => {
            out.extend_from_slice(b",\"orderId\":\"");
            str_value(out, id);
        }
        None => {
            out.extend_from_slice(b",\"orderLinkId\":\"");
            link_id_value(out, link_id);
        }
    }
    out.push(b'"');
}

/// An order-link id between quotes: validated on construction to `[A-Za-z0-9_-]`, which JSON
/// takes as is.
#[inline(always)]
fn link_id_value(out: &mut Vec<u8>, id: &OrderLinkId) {
    out.extend_from_slice(id.as_str().as_bytes());
}

/// `value` as JSON string contents (escaped as JSON requires).
#[inline(always)]
fn str_value(out: &mut Vec<u8>, value: &str) {
    if text::json_plain(value) {
        out.extend_from_slice(value.as_bytes());
    } else {
        escape_into(out, value);
    }
}

/// `value` escaped: `\"`, `\\`, and `\u00xx` for every control character.
#[cold]
fn escape_into(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Bytes of multi-byte characters are all 0x80 or above: copied as they are.
    for &b in value.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0..0x20 => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            b => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// The writer as it was before the byte buffer (`String` pieces, a JSON check of every
    /// value, `Display` of the normalised decimals): the new one must write the same bytes.
    mod reference {
        use super::super::*;
        use rust_decimal::Decimal;
        use std::fmt::Write;

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

        fn one(out: &mut String, c: Category, fields: impl FnOnce(&mut String)) {
            out.push_str("{\"category\":\"");
            out.push_str(c.as_str());
            out.push_str("\",");
            fields(out);
            out.push('}');
        }

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

        fn key_str(out: &mut String, open: &str, value: &str) {
            out.push_str(open);
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
            out.push('"');
        }

        fn key_decimal(out: &mut String, open: &str, d: Decimal) {
            out.push_str(open);
            let _ = write!(out, "{}", d.normalize());
            out.push('"');
        }
    }

    fn written(req: &OrderRequest) -> String {
        let mut out = Vec::new();
        write_body(req, &mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    fn reference(req: &OrderRequest) -> String {
        let mut out = String::new();
        reference::write_body(req, &mut out);
        out
    }

    /// Decimals of every scale and sign, zero included, mantissas past 64 bits included.
    fn decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            (-1_000_000i64..1_000_000, 0u32..=12).prop_map(|(m, s)| Decimal::new(m * 1000, s)),
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                0u32..=28
            )
                .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
            (any::<bool>(), 0u32..=28).prop_map(|(neg, s)| Decimal::from_parts(0, 0, 0, neg, s)),
        ]
    }

    /// Text that needs escaping in JSON now and then (quotes, backslashes, control
    /// characters, multi-byte characters).
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[A-Z0-9]{1,20}",
            1 => proptest::collection::vec(
                prop_oneof![
                    6 => Just('a'),
                    1 => Just('"'),
                    1 => Just('\\'),
                    1 => Just('\u{1f}'),
                    1 => Just('\n'),
                    1 => Just('\u{0}'),
                    1 => Just('\u{7f}'),
                    1 => Just('é'),
                    1 => Just('€'),
                ],
                0..40,
            )
            .prop_map(|c| c.into_iter().collect()),
        ]
    }

    fn link_id() -> impl Strategy<Value = OrderLinkId> {
        (
            "[a-z0-9_]{1,8}",
            "[A-Z0-9-]{1,12}",
            any::<bool>(),
            0u8..30,
            any::<u64>(),
        )
            .prop_map(|(prefix, symbol, buy, level, seq)| {
                let side = if buy { Side::Buy } else { Side::Sell };
                OrderLinkId::new(&prefix, &symbol, side, level, seq % 1_000_000_000)
                    .expect("valid id")
            })
    }

    /// Orders over a few shared symbols (the same `Arc` again, as in a batch, and distinct
    /// `Arc`s of equal text), some of which need escaping.
    fn request() -> impl Strategy<Value = OrderRequest> {
        let symbols = proptest::collection::vec(text(), 1..4).prop_map(|v| {
            let mut arcs: Vec<Arc<str>> = v.iter().map(|s| Arc::from(s.as_str())).collect();
            // Equal text at another address.
            arcs.push(Arc::from(&*arcs[0]));
            arcs
        });
        let order_id = proptest::option::of(text());
        let item = (
            any::<prop::sample::Index>(),
            link_id(),
            order_id,
            proptest::option::of(decimal()),
            proptest::option::of(decimal()),
            decimal(),
            decimal(),
            any::<(bool, bool)>(),
        );
        (
            symbols,
            proptest::collection::vec(item, 1..6),
            0usize..6,
            any::<bool>(),
        )
            .prop_map(|(symbols, items, kind, spot)| {
                let c = if spot {
                    Category::Spot
                } else {
                    Category::Linear
                };
                let creates = items
                    .iter()
                    .map(
                        |(s, link_id, _, _, _, price, qty, (sell, gtc))| CreateOrder {
                            symbol: s.get(&symbols).clone(),
                            side: if *sell { Side::Sell } else { Side::Buy },
                            price: *price,
                            qty: *qty,
                            link_id: link_id.clone(),
                            time_in_force: if *gtc {
                                TimeInForce::Gtc
                            } else {
                                TimeInForce::PostOnly
                            },
                        },
                    );
                let amends =
                    items
                        .iter()
                        .map(|(s, link_id, order_id, price, qty, ..)| AmendOrder {
                            symbol: s.get(&symbols).clone(),
                            link_id: link_id.clone(),
                            order_id: order_id.as_deref().map(Arc::from),
                            price: *price,
                            qty: *qty,
                        });
                let cancels = items.iter().map(|(s, link_id, order_id, ..)| CancelOrder {
                    symbol: s.get(&symbols).clone(),
                    link_id: link_id.clone(),
                    order_id: order_id.as_deref().map(Arc::from),
                });
                match kind {
                    0 => OrderRequest::Create(c, creates.take(1).collect::<Vec<_>>().remove(0)),
                    1 => OrderRequest::Amend(c, amends.take(1).collect::<Vec<_>>().remove(0)),
                    2 => OrderRequest::Cancel(c, cancels.take(1).collect::<Vec<_>>().remove(0)),
                    3 => OrderRequest::CreateBatch(c, creates.collect()),
                    4 => OrderRequest::AmendBatch(c, amends.collect()),
                    _ => OrderRequest::CancelBatch(c, cancels.collect()),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn writes_the_bytes_of_the_string_writer(req in request()) {
            prop_assert_eq!(written(&req), reference(&req));
        }
    }

    #[test]
    fn an_escaped_symbol_after_a_plain_one_is_escaped() {
        let plain: Arc<str> = Arc::from("BTCUSDT");
        let quoted: Arc<str> = Arc::from("BTC\"USDT");
        let amend = |symbol: &Arc<str>| AmendOrder {
            symbol: symbol.clone(),
            link_id: OrderLinkId::parse("q1-BTCUSDT-b0-1").unwrap(),
            order_id: Some(Arc::from("a\u{1}\\")),
            price: Some(Decimal::new(-1_500, 3)),
            qty: None,
        };
        let req = OrderRequest::AmendBatch(
            Category::Linear,
            vec![amend(&plain), amend(&plain), amend(&quoted), amend(&plain)],
        );
        let text = written(&req);
        assert_eq!(text, reference(&req));
        assert!(text.contains(r#""symbol":"BTC\"USDT""#), "{text}");
        assert!(text.contains(r#""orderId":"a\u0001\\""#), "{text}");
        assert!(text.contains(r#""price":"-1.5""#), "{text}");
    }
}
