use super::*;
use crate::book::Fixed;
use crate::exchange::bybit::fixtures::{NOT_PARSED, load, samples_dir};
use crate::exchange::bybit::messages::*;
use crate::exchange::bybit::rest::{RestError, decode_response, decode_result};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn book(text: &str) -> Result<BookUpdate, ParseError> {
    let mut out = BookUpdate::with_capacity(64);
    parse_orderbook(text.as_bytes(), &mut out).map(|()| out)
}

/// Compare the fast parser with serde_json's reading of the same text.
fn check_book_against_serde(text: &str, out: &BookUpdate) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let data = v.get("data").or(v.get("result")).unwrap();
    assert_eq!(out.symbol, data["s"].as_str().unwrap());
    assert_eq!(out.update_id, data["u"].as_u64().unwrap());
    assert_eq!(out.seq, data["seq"].as_u64().unwrap());
    for (side, levels) in [("b", &out.bids), ("a", &out.asks)] {
        let want: Vec<(Decimal, Decimal)> = data[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (dec(l[0].as_str().unwrap()), dec(l[1].as_str().unwrap())))
            .collect();
        let got: Vec<(Decimal, Decimal)> = levels
            .iter()
            .map(|l| (l.price.to_decimal(), l.size.to_decimal()))
            .collect();
        assert_eq!(got, want, "side {side}");
    }
}

#[test]
fn orderbook_snapshot_sample() {
    let text = load("ws-orderbook-snapshot.json");
    let out = book(&text).unwrap();
    assert_eq!(out.kind, UpdateKind::Snapshot);
    assert_eq!(
        (out.depth, out.ts_exchange_ms, out.ts_match_ms),
        (50, 1672304484978, 1672304484976)
    );
    assert_eq!((out.update_id, out.seq), (18521288, 7961638724));
    assert_eq!(out.bids[0].price, Fixed::new(1649350, 2));
    assert_eq!(out.bids[0].size, Fixed::new(6, 3));
    check_book_against_serde(&text, &out);
}

#[test]
fn orderbook_delta_sample() {
    let text = load("ws-orderbook-delta.json");
    let out = book(&text).unwrap();
    assert_eq!(out.kind, UpdateKind::Delta);
    assert_eq!((out.bids.len(), out.asks.len()), (5, 7));
    assert!(out.bids[4].size.is_zero());
    assert_eq!(out.asks[6].price.to_decimal(), dec("30252.50"));
    check_book_against_serde(&text, &out);
}

#[test]
fn orderbook_samples_build_a_book() {
    use crate::book::OrderBook;
    let mut b = OrderBook::new("BTCUSDT", dec("0.10"), dec("0.001")).unwrap();
    let out = book(&load("ws-orderbook-snapshot.json")).unwrap();
    b.apply(&out, 0).unwrap();
    assert_eq!(b.best_bid().unwrap().price, dec("16493.5"));
    assert_eq!(b.best_ask().unwrap().price, dec("16611"));
}

#[test]
fn rest_orderbook_sample() {
    let text = load("rest-orderbook-response.json");
    let mut out = BookUpdate::default();
    parse_rest_orderbook(text.as_bytes(), &mut out).unwrap();
    assert_eq!(out.kind, UpdateKind::Snapshot);
    assert_eq!(
        (out.ts_exchange_ms, out.ts_match_ms),
        (1716863719031, 1716863718905)
    );
    check_book_against_serde(&text, &out);
    let err = "{\"retCode\":10006,\"retMsg\":\"Too many visits\",\"result\":{}}";
    assert!(matches!(
        parse_rest_orderbook(err.as_bytes(), &mut out),
        Err(ParseError::BadValue {
            field: "retCode",
            ..
        })
    ));
}

#[test]
fn compact_and_reordered_orderbook_parses_the_same() {
    let text = r#"{"data":{"seq":7,"u":3,"a":[],"b":[["1.5","2"]],"s":"X","extra":{"k":[1,{"z":null}]}},"cts":1,"ts":2,"type":"delta","topic":"orderbook.1.X","id":"abc"}"#;
    let out = book(text).unwrap();
    assert_eq!(
        (
            out.kind,
            out.depth,
            out.update_id,
            out.seq,
            out.ts_exchange_ms
        ),
        (UpdateKind::Delta, 1, 3, 7, 2)
    );
    assert_eq!(
        out.bids,
        vec![RawLevel {
            price: Fixed::new(15, 1),
            size: Fixed::new(2, 0)
        }]
    );
    assert!(out.asks.is_empty());
}

#[test]
fn malformed_orderbook_messages_are_named_errors() {
    let ok = r#"{"topic":"orderbook.50.X","type":"delta","ts":1,"data":{"s":"X","b":[["1.0","1"]],"a":[],"u":2,"seq":3}}"#;
    assert!(book(ok).is_ok());
    let cases: &[(&str, &str)] = &[
        ("", "Json"),
        ("[]", "Json"),
        (
            r#"{"topic":"orderbook.50.X","type":"delta","ts":1}"#,
            "MissingField(\"data\")",
        ),
        (&ok.replace(r#","u":2"#, ""), "MissingField(\"data.u\")"),
        (
            &ok.replace(r#""seq":3"#, r#""x":3"#),
            "MissingField(\"data.seq\")",
        ),
        (
            &ok.replace(r#""type":"delta","#, ""),
            "MissingField(\"type\")",
        ),
        (&ok.replace("\"1.0\"", "\"1.0x\""), "BadNumber"),
        (&ok.replace("\"1.0\"", "1.0"), "Json"),
        (&ok.replace("\"1\"]", "\"1e3\"]"), "BadNumber"),
        (&ok.replace(r#""u":2"#, r#""u":-2"#), "BadNumber"),
        (
            &ok.replace(r#""u":2"#, r#""u":99999999999999999999999"#),
            "BadNumber",
        ),
        (&ok.replace("delta", "partial"), "BadValue"),
        (
            &ok.replace("orderbook.50.X", "tickers.X"),
            "UnexpectedTopic",
        ),
        (
            &ok.replace("orderbook.50.X", "orderbook.5a.X"),
            "UnexpectedTopic",
        ),
        (&format!("{ok} trailing"), "Json"),
        (&ok[..ok.len() - 1], "Json"),
    ];
    for (text, want) in cases {
        let err = book(text).unwrap_err();
        assert!(
            format!("{err:?}").starts_with(want),
            "{text}: got {err:?}, want {want}"
        );
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn peek_topic_finds_topic_or_none() {
    assert_eq!(
        peek_topic(br#"{"topic":"order","data":[]}"#).unwrap(),
        Some("order")
    );
    assert_eq!(
        peek_topic(br#"{"id":"x","topic":"wallet"}"#).unwrap(),
        Some("wallet")
    );
    assert_eq!(
        peek_topic(load("ws-pong-public-linear.json").as_bytes()).unwrap(),
        None
    );
    assert_eq!(peek_topic(b"{}").unwrap(), None);
    assert!(peek_topic(b"nope").is_err());
}

#[test]
fn public_trade_sample() {
    let msg = parse_public_trade(&load("ws-public-trade.json")).unwrap();
    assert_eq!(msg.topic, "publicTrade.BTCUSDT");
    assert_eq!(msg.ts_ms, 1672304486868);
    let t = &msg.data[0];
    assert_eq!(
        (t.time_ms, t.side, t.price, t.size),
        (1672304486865, BybitSide::Buy, dec("16578.50"), dec("0.001"))
    );
    assert_eq!(
        (t.trade_id.as_str(), t.block_trade, t.seq),
        (
            "20f43950-d8dd-5b31-9112-a178eb6023af",
            false,
            Some(1783284617)
        )
    );
}

#[test]
fn ticker_samples_and_delta_merge() {
    let perp = parse_ticker(&load("ws-ticker-linear-perp-snapshot.json")).unwrap();
    assert_eq!(
        (perp.kind.as_str(), perp.cross_seq),
        ("snapshot", Some(9532239429))
    );
    assert_eq!(perp.data.mark_price, Some(dec("66666.60")));
    assert_eq!(perp.data.next_funding_time, Some(1760342400000));
    let fut = parse_ticker(&load("ws-ticker-linear-futures-snapshot.json")).unwrap();
    assert_eq!(
        (fut.data.funding_rate, fut.data.next_funding_time),
        (None, None)
    );
    let spot = parse_ticker(&load("ws-ticker-spot.json")).unwrap();
    assert_eq!(spot.data.last_price, Some(dec("21109.77")));
    let option = parse_ticker(&load("ws-ticker-option.json")).unwrap();
    assert_eq!(
        (option.data.bid1_price, option.data.ask1_size),
        (Some(dec("0")), Some(dec("5.1")))
    );

    let delta = parse_ticker(&load("ws-ticker-linear-delta.json")).unwrap();
    assert_eq!(delta.kind, "delta");
    assert_eq!(delta.data.last_price, None);
    let mut state = BybitTickerData {
        symbol: "AAVEUSDT".into(),
        last_price: Some(dec("112.5")),
        ..Default::default()
    };
    state.merge(&delta.data);
    assert_eq!(state.last_price, Some(dec("112.5")));
    assert_eq!(
        (state.bid1_price, state.ask1_price),
        (Some(dec("112.89")), Some(dec("112.90")))
    );
}

#[test]
fn private_samples() {
    let BybitPrivateEvent::Order(order) =
        parse_private(&load("ws-order-option-filled.json")).unwrap()
    else {
        panic!()
    };
    let o = &order.data[0];
    assert_eq!(
        (o.order_status.as_str(), o.side, o.qty, o.avg_price),
        ("Filled", BybitSide::Sell, dec("1"), Some(dec("75")))
    );
    assert_eq!(
        (o.leaves_qty, o.created_time, o.position_idx),
        (None, Some(1672364262444), Some(0))
    );

    for (file, exec_id, qty, exec_type) in [
        (
            "ws-execution.json",
            "0ab1bdf7-4219-438b-b30a-32ec863018f7",
            "0.5",
            Some("Trade"),
        ),
        (
            "ws-execution-linear-xrp.json",
            "7e2ae69c-4edf-5800-a352-893d52b446aa",
            "25",
            Some("Trade"),
        ),
        (
            "ws-execution-fast.json",
            "3510f361-0add-5c7b-a2e7-9679810944fc",
            "3000",
            None,
        ),
    ] {
        let BybitPrivateEvent::Execution(e) = parse_private(&load(file)).unwrap() else {
            panic!("{file}")
        };
        let e = &e.data[0];
        assert_eq!(
            (e.exec_id.as_str(), e.exec_qty, e.exec_type.as_deref()),
            (exec_id, dec(qty), exec_type),
            "{file}"
        );
    }
    let xrp = parse_execution_msg(&load("ws-execution-linear-xrp.json")).unwrap();
    assert_eq!(
        (
            xrp.data[0].exec_price,
            xrp.data[0].seq,
            xrp.data[0].exec_time
        ),
        (dec("0.3374"), Some(4688002127), 1672364174443)
    );

    for (file, side, size, entry) in [
        (
            "ws-position-linear-long.json",
            Some(BybitSide::Buy),
            "75",
            Some("0.3615"),
        ),
        ("ws-position-linear-flat.json", None, "0", Some("0")),
        (
            "ws-position-inverse.json",
            Some(BybitSide::Buy),
            "3",
            Some("19358.58553268"),
        ),
    ] {
        let BybitPrivateEvent::Position(p) = parse_private(&load(file)).unwrap() else {
            panic!("{file}")
        };
        let p = &p.data[0];
        assert_eq!(
            (p.side, p.size, p.entry_price),
            (side, dec(size), entry.map(dec)),
            "{file}"
        );
    }
    let long = parse_position_msg(&load("ws-position-linear-long.json")).unwrap();
    assert_eq!(
        (long.data[0].seq, long.data[0].liq_price),
        (Some(4688002127), None)
    );

    let BybitPrivateEvent::Wallet(w) = parse_private(&load("ws-wallet.json")).unwrap() else {
        panic!()
    };
    assert_eq!(w.data[0].account_type, "UNIFIED");
    assert_eq!(w.data[0].total_equity, Some(dec("10262.91335023")));
    assert_eq!(w.data[0].coin[0].wallet_balance, Some(dec("0.00102964")));
}

#[test]
fn control_samples() {
    let pongs = [
        "ws-pong-private-ccxt.json",
        "ws-pong-private.json",
        "ws-pong-public-linear.json",
        "ws-pong-public-option.json",
        "ws-pong-public-spot.json",
        "ws-trade-pong.json",
    ];
    for file in pongs {
        let BybitPrivateEvent::Control(c) = parse_private(&load(file)).unwrap() else {
            panic!("{file}")
        };
        assert!(c.is_pong(), "{file}");
    }
    let ok = [
        "ws-private-auth-response-ccxt.json",
        "ws-private-auth-response-with-req-id.json",
        "ws-private-auth-response.json",
        "ws-subscribe-response-private.json",
        "ws-subscribe-response-public-linear.json",
        "ws-subscribe-response-public-option.json",
        "ws-subscribe-response-public-spot.json",
        "ws-unsubscribe-response.json",
        "ws-trade-auth-response.json",
        "ws-trade-auth-response-ccxt.json",
    ];
    for file in ok {
        let c = parse_ws_control(&load(file)).unwrap();
        assert!(c.is_success() && !c.is_pong(), "{file}");
    }
    for (file, msg) in [
        ("ws-private-auth-failure-params-error.json", "Params Error"),
        ("ws-subscribe-failure-args-size.json", "args size >10"),
        (
            "ws-subscribe-failure-handler-not-found.json",
            "error:handler not found,topic:dcp.future",
        ),
    ] {
        let c = parse_ws_control(&load(file)).unwrap();
        assert!(!c.is_success(), "{file}");
        assert_eq!(c.message(), msg);
    }
    // WS trade replies share the control shape (retCode/retMsg).
    for (file, code) in [
        ("ws-trade-create-response.json", 0),
        ("ws-trade-create-response-spot.json", 0),
        ("ws-trade-create-batch-response.json", 0),
        ("ws-trade-create-error-170131.json", 170131),
    ] {
        assert_eq!(
            parse_ws_control(&load(file)).unwrap().ret_code,
            Some(code),
            "{file}"
        );
    }
}

#[test]
fn rest_error_samples_carry_ret_code() {
    // (file, retCode, rate limited, outcome unknown, retryable)
    let cases = [
        ("rest-error-10001-qty.json", 10001, false, false, false),
        ("rest-error-10002.json", 10002, false, false, true),
        ("rest-error-10002-past.json", 10002, false, false, true),
        ("rest-error-10003.json", 10003, false, false, false),
        ("rest-error-10004.json", 10004, false, false, false),
        ("rest-error-10006.json", 10006, true, false, true),
        ("rest-error-110007.json", 110007, false, false, false),
        ("rest-error-110017.json", 110017, false, false, false),
    ];
    for (file, code, limited, unknown, retry) in cases {
        let err = decode_response(200, &load(file)).unwrap_err();
        assert_eq!(err.ret_code(), Some(code), "{file}");
        assert_eq!(
            (
                err.is_rate_limited(),
                err.outcome_unknown(),
                err.is_retryable()
            ),
            (limited, unknown, retry),
            "{file}"
        );
    }
    let internal = decode_response(
        200,
        r#"{"retCode":10016,"retMsg":"Internal error","result":{}}"#,
    )
    .unwrap_err();
    assert!(internal.outcome_unknown() && internal.is_retryable());
    let bad_gateway = decode_response(502, "<html>bad gateway</html>").unwrap_err();
    assert!(
        matches!(bad_gateway, RestError::Http { status: 502, .. }) && bad_gateway.outcome_unknown()
    );
    assert!(
        !decode_response(403, "forbidden")
            .unwrap_err()
            .outcome_unknown()
    );
    assert!(RestError::Timeout.outcome_unknown());
    assert!(matches!(
        decode_response(200, "{oops").unwrap_err(),
        RestError::Parse(_)
    ));
}

#[test]
fn rest_result_samples() {
    let (ack, env) =
        decode_result::<BybitOrderAck>(200, &load("rest-create-order-response.json")).unwrap();
    assert_eq!(
        (
            ack.order_id.as_str(),
            ack.order_link_id.as_str(),
            env.time_ms
        ),
        (
            "1321003749386327552",
            "spot-test-postonly",
            Some(1672211918471)
        )
    );
    for file in [
        "rest-amend-order-response.json",
        "rest-cancel-order-response.json",
    ] {
        decode_result::<BybitOrderAck>(200, &load(file)).unwrap();
    }
    let (all, _) =
        decode_result::<BybitAckList>(200, &load("rest-cancel-all-response.json")).unwrap();
    assert!(!all.list.is_empty());
    for file in [
        "rest-batch-create-response.json",
        "rest-batch-amend-response.json",
        "rest-batch-cancel-response-partial-failure.json",
    ] {
        let (list, env) = decode_result::<BybitAckList>(200, &load(file)).unwrap();
        let ext: BybitBatchExtInfo = parse_ext_info(&env).unwrap();
        assert_eq!(list.list.len(), ext.list.len(), "{file}");
    }
    let (_, env) = decode_result::<BybitAckList>(
        200,
        &load("rest-batch-cancel-response-partial-failure.json"),
    )
    .unwrap();
    let ext: BybitBatchExtInfo = parse_ext_info(&env).unwrap();
    assert_eq!(
        ext.list[1],
        BybitItemStatus {
            code: 170213,
            msg: "Order does not exist.".into()
        }
    );

    for file in [
        "rest-order-realtime-response.json",
        "rest-order-history-postonly-cancelled.json",
        "rest-order-history-linear-market-filled-ccxt.json",
    ] {
        let (page, _) = decode_result::<BybitPage<BybitOrderMsg>>(200, &load(file)).unwrap();
        assert_eq!(page.list.len(), 1, "{file}");
    }
    let (hist, env) = decode_result::<BybitPage<BybitOrderMsg>>(
        200,
        &load("rest-order-history-postonly-cancelled.json"),
    )
    .unwrap();
    assert_eq!(hist.list[0].reject_reason, "EC_PostOnlyWillTakeLiquidity");
    assert!(env.time_ms.is_some());
    let (ccxt, env) = decode_result::<BybitPage<BybitOrderMsg>>(
        200,
        &load("rest-order-history-linear-market-filled-ccxt.json"),
    )
    .unwrap();
    assert_eq!(
        (
            ccxt.list[0].avg_price,
            env.time_ms,
            ccxt.list[0].position_idx
        ),
        (Some(dec("123498")), Some(1758189954146), Some(0))
    );

    let (pos, _) = decode_result::<BybitPage<BybitPositionMsg>>(
        200,
        &load("rest-position-list-inverse-response.json"),
    )
    .unwrap();
    assert_eq!(
        (pos.list[0].side, pos.list[0].entry_price),
        (Some(BybitSide::Sell), Some(dec("27464.50441675")))
    );
    let (ex, _) = decode_result::<BybitPage<BybitExecutionMsg>>(
        200,
        &load("rest-execution-list-response.json"),
    )
    .unwrap();
    assert_eq!(ex.list[0].exec_price, dec("1190.15"));
    let (wallet, _) =
        decode_result::<BybitPage<BybitWalletMsg>>(200, &load("rest-wallet-balance-response.json"))
            .unwrap();
    assert!(!wallet.list.is_empty());
    let (time, _) =
        decode_result::<BybitServerTime>(200, &load("rest-server-time-response.json")).unwrap();
    assert!(!time.time_second.is_empty());
    let (lin, _) = decode_result::<BybitPage<BybitInstrument>>(
        200,
        &load("rest-instruments-info-linear.json"),
    )
    .unwrap();
    assert_eq!(
        (
            lin.list[0].price_filter.tick_size,
            lin.list[0].lot_size_filter.qty_step
        ),
        (dec("0.10"), Some(dec("0.001")))
    );
    for file in [
        "rest-instruments-info-spot.json",
        "rest-instruments-info-option.json",
        "rest-instruments-info-linear-prelaunch.json",
    ] {
        let (page, _) = decode_result::<BybitPage<BybitInstrument>>(200, &load(file)).unwrap();
        assert!(page.list[0].lot_size_filter.qty_step.is_some(), "{file}");
    }
    for file in [
        "rest-tickers-inverse-response.json",
        "rest-tickers-option-response.json",
        "rest-tickers-spot-response.json",
    ] {
        let (page, _) = decode_result::<BybitPage<BybitTickerData>>(200, &load(file)).unwrap();
        assert!(!page.list.is_empty(), "{file}");
    }
    // Envelopes the host does not decode further still parse as successes.
    for file in [
        "rest-envelope-ok.json",
        "rest-dcp-info-response.json",
        "rest-dcp-set-response.json",
        "rest-kline-response.json",
        "rest-mmp-modify-response.json",
        "rest-mmp-state-response.json",
        "rest-recent-trade-response.json",
        "rest-trading-stop-response.json",
    ] {
        assert_eq!(
            decode_response(200, &load(file)).unwrap().ret_code,
            0,
            "{file}"
        );
    }
}

#[test]
fn rate_limit_headers_sample() {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&load("rest-response-headers-sample.json")).unwrap();
    let rl = parse_rate_limit_headers(
        map.iter()
            .map(|(k, v)| (k.as_str(), Cow::Borrowed(v.as_str()))),
    )
    .unwrap();
    assert_eq!(
        rl,
        BybitRateLimit {
            limit: Some(10),
            remaining: Some(9),
            reset_at_ms: Some(1696166745962),
            server_time_ms: Some(1696166745962),
        }
    );
    // The reset read as a delay on our clock, whatever its offset from the exchange's.
    let rl = BybitRateLimit {
        reset_at_ms: Some(1_000_400),
        server_time_ms: Some(1_000_100),
        ..rl
    };
    assert_eq!(rl.reset_local_ms(5_000), Some(5_300));
    let no_time = BybitRateLimit {
        server_time_ms: None,
        ..rl
    };
    assert_eq!(no_time.reset_local_ms(5_000), Some(1_000_400));
    let lower = [("x-bapi-limit-status", Cow::Borrowed("0"))];
    assert_eq!(parse_rate_limit_headers(lower).unwrap().remaining, Some(0));
    assert_eq!(
        parse_rate_limit_headers([("content-type", Cow::Borrowed("x"))]),
        None
    );
}

/// Every file in the samples folder is either parsed by a test above or listed as not parsed.
#[test]
fn every_sample_is_accounted_for() {
    let this = include_str!("parse_tests.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(samples_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") || NOT_PARSED.contains(&name.as_str()) {
            continue;
        }
        if !this.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "samples without a parser test: {missing:?}"
    );
}

/// The compact-level fast path either declines or reads exactly what the general path reads,
/// on `text` alone and followed by the usual rest of a message; `true` if it read the latter.
fn check_compact_level(text: &str) -> bool {
    check_compact_level_once(text);
    check_compact_level_once(&format!(
        "{text},\"u\":1001001,\"seq\":66547706345}},\"cts\":1687940987484}}"
    ))
}

fn check_compact_level_once(text: &str) -> bool {
    let mut fast = crate::exchange::bybit::json::Cursor::new(text.as_bytes());
    let mut general = crate::exchange::bybit::json::Cursor::new(text.as_bytes());
    let want = general_level(&mut general, "x");
    match fast.compact_level() {
        Some(level) => {
            assert_eq!(Some(level), want.ok(), "{text}");
            assert_eq!(fast.pos(), general.pos(), "{text}");
            true
        }
        None => {
            assert_eq!(fast.pos(), 0, "{text}");
            false
        }
    }
}

#[test]
fn compact_levels_match_the_general_path() {
    for text in [
        r#"["30247.20","12.345"]"#,
        r#"["1","0"]]"#,
        r#"["0.0000001","100."]]],"u":1"#,
        r#"["1234567.1234567","7654321.7654321"]],"u":1"#,
        r#"["30247.20","0.001"]],"u":1"#,
    ] {
        assert!(check_compact_level(text), "{text}");
    }
    for text in [
        r#"["1.12345678","1"]],"u":1"#,
        r#"["12345678","1"]],"u":1"#,
        r#"["1234567890123456","1"]],"u":1"#,
        r#"["-1","1"]],"u":1"#,
        r#"[".5","1"]],"u":1"#,
        r#"[ "1","1"]],"u":1"#,
        r#"["1","1" ]],"u":1"#,
        r#"["1e3","1"]],"u":1"#,
    ] {
        assert!(!check_compact_level(text), "{text}");
    }
}

proptest! {
    /// Near-miss levels: the fast path never disagrees with the general one.
    #[test]
    fn compact_level_never_disagrees(
        text in r#"\[ ?"-?[0-9]{0,9}(\.[0-9]{0,9})?[x"e]?,? ?"[0-9.]{0,10}"?\]?[\],"u:1 ]{0,10}"#
    ) {
        check_compact_level(&text);
    }

    /// The topic of a push (or near-push) is the general reader's.
    #[test]
    fn peek_topic_fast_path_never_disagrees(
        topic in r#"[a-z0-9.A-Z]{0,30}|[a-z\\"é.]{0,6}"#,
        rest in r#",("type"|"data"):[ "a-z{}]{0,8}\}?|\}|"#,
        cut in 0usize..60,
    ) {
        let text = format!("{{\"topic\":\"{topic}\"{rest}");
        for text in [text.as_bytes(), &text.as_bytes()[..cut.min(text.len())]] {
            let want = format!("{:?}", peek_topic_general(text));
            prop_assert_eq!(format!("{:?}", peek_topic(text)), want);
        }
    }

    /// Arbitrary bytes never panic the fast parsers.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut out = BookUpdate::default();
        let _ = parse_orderbook(&bytes, &mut out);
        let _ = parse_rest_orderbook(&bytes, &mut out);
        let _ = peek_topic(&bytes);
    }

    /// Truncated or corrupted real messages give errors, never panics.
    #[test]
    fn corrupted_samples_never_panic(cut in 0usize..900, pos in 0usize..900, byte in any::<u8>()) {
        for file in ["ws-orderbook-delta.json", "ws-orderbook-snapshot.json"] {
            let text = load(file).into_bytes();
            let mut out = BookUpdate::default();
            let cut = cut.min(text.len());
            let _ = parse_orderbook(&text[..cut], &mut out);
            let mut bad = text.clone();
            let pos = pos.min(bad.len() - 1);
            bad[pos] = byte;
            let _ = parse_orderbook(&bad, &mut out);
            let json_len = text.trim_ascii_end().len();
            if cut < json_len {
                prop_assert!(parse_orderbook(&text[..cut], &mut out).is_err());
            }
        }
    }
}

#[test]
fn trade_reply_samples() {
    // (file, reqId, retCode, op, X-Bapi-Limit, -Status, -Reset-Timestamp, Timenow)
    let cases = [
        (
            "ws-trade-create-response.json",
            Some("test-005"),
            0,
            "order.create",
            Some((10, 9, 1711001595208, 1711001595209)),
        ),
        (
            "ws-trade-create-response-spot.json",
            Some("1"),
            0,
            "order.create",
            Some((20, 19, 1714235558880, 1714235558881)),
        ),
        (
            "ws-trade-create-batch-response.json",
            None,
            0,
            "order.create-batch",
            Some((150, 147, 1740453408555, 1740453408556)),
        ),
        (
            "ws-trade-create-error-170131.json",
            Some("1"),
            170131,
            "order.create",
            Some((20, 19, 1714236608944, 1714236608946)),
        ),
        ("ws-trade-pong.json", None, 0, "pong", None),
        ("ws-trade-auth-response.json", None, 0, "auth", None),
    ];
    for (file, req_id, code, op, limits) in cases {
        let r = parse_trade_reply(&load(file)).unwrap();
        assert_eq!(
            (r.req_id.as_deref(), r.ret_code, r.op.as_str()),
            (req_id, code, op),
            "{file}"
        );
        let rl = r
            .rate_limit()
            .map(|l| (l.limit, l.remaining, l.reset_at_ms, l.server_time_ms));
        let want = limits.map(|(l, s, reset, now)| (Some(l), Some(s), Some(reset), Some(now)));
        assert_eq!(rl, want, "{file}");
    }
    // Batch items decode through the same envelope path as REST.
    let r = parse_trade_reply(&load("ws-trade-create-batch-response.json")).unwrap();
    let env = r.to_envelope();
    let acks: BybitAckList = parse_result(&env).unwrap();
    let ext: BybitBatchExtInfo = parse_ext_info(&env).unwrap();
    assert_eq!(acks.list.len(), 3);
    assert_eq!(acks.list[1].order_link_id, "batch-001");
    assert_eq!(
        ext.list.iter().map(|s| s.code).collect::<Vec<_>>(),
        [10001; 3]
    );
    let r = parse_trade_reply(&load("ws-trade-create-response.json")).unwrap();
    let ack: BybitOrderAck = parse_result(&r.to_envelope()).unwrap();
    assert_eq!(ack.order_id, "a4c1718e-fe53-4659-a118-1f6ecce04ad9");
    assert!(
        parse_trade_reply(r#"{"op":"pong"}"#).is_err(),
        "retCode is required"
    );
}

/// `parse_orderbook` (Bybit-layout fast path, then the general parser) and the general parser
/// alone agree on `text`: the same update, or the same error.
fn check_same_as_general(text: &[u8]) {
    let mut fast = BookUpdate::with_capacity(4);
    let mut general = BookUpdate::with_capacity(4);
    match (
        parse_orderbook(text, &mut fast),
        parse_orderbook_general(text, &mut general),
    ) {
        (Ok(()), Ok(())) => assert_eq!(fast, general, "{}", String::from_utf8_lossy(text)),
        (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (a, b) => panic!("{}: {a:?} vs {b:?}", String::from_utf8_lossy(text)),
    }
}

/// A book push in Bybit's layout from its parts (each inserted as is).
#[allow(clippy::too_many_arguments)]
fn bybit_layout(
    depth: &str,
    topic_symbol: &str,
    kind: &str,
    ts: &str,
    symbol: &str,
    levels: &[(String, String)],
    u: &str,
    cts: Option<&str>,
) -> String {
    let side = |levels: &[(String, String)]| {
        let parts: Vec<String> = levels
            .iter()
            .map(|(p, s)| format!("[\"{p}\",\"{s}\"]"))
            .collect();
        parts.join(",")
    };
    let (bids, asks) = levels.split_at(levels.len() / 2);
    let cts = cts.map(|c| format!(",\"cts\":{c}")).unwrap_or_default();
    format!(
        "{{\"topic\":\"orderbook.{depth}.{topic_symbol}\",\"type\":\"{kind}\",\"ts\":{ts},\"data\":{{\"s\":\"{symbol}\",\"b\":[{}],\"a\":[{}],\"u\":{u},\"seq\":{u}7}}{cts}}}",
        side(bids),
        side(asks)
    )
}

#[test]
fn bybit_layout_fast_path_reads_real_shaped_pushes() {
    let levels = vec![
        ("30247.20".to_string(), "30.028".to_string()),
        ("30240.00".to_string(), "0".to_string()),
        ("30248.70".to_string(), "0.892".to_string()),
    ];
    for (symbol, cts) in [("BTCUSDT", Some("1687940967464")), ("1000PEPEUSDT", None)] {
        for kind in ["delta", "snapshot"] {
            let text = bybit_layout(
                "50",
                symbol,
                kind,
                "1687940967466",
                symbol,
                &levels,
                "177400507",
                cts,
            );
            let mut out = BookUpdate::default();
            assert!(
                parse_bybit_layout(text.as_bytes(), &mut out).is_some(),
                "{text}"
            );
            check_same_as_general(text.as_bytes());
            check_book_against_serde(&text, &out);
            assert_eq!((out.depth, out.symbol.as_str()), (50, symbol));
        }
    }
    // A symbol that differs from the topic's is read from `data.s`.
    let text = bybit_layout("1", "BTC", "delta", "1", "ETH", &levels, "2", None);
    let mut out = BookUpdate::default();
    assert!(parse_bybit_layout(text.as_bytes(), &mut out).is_some());
    assert_eq!(out.symbol, "ETH");
    // One that starts with the topic's symbol is read whole, as the general parser reads it.
    for (topic, data) in [("BTC", "BTCUSDT"), ("BTCUSDT", "BTC")] {
        let text = bybit_layout("1", topic, "delta", "1", data, &levels, "2", None);
        let mut out = BookUpdate::default();
        assert!(
            parse_bybit_layout(text.as_bytes(), &mut out).is_some(),
            "{text}"
        );
        assert_eq!(out.symbol, data, "{text}");
        check_same_as_general(text.as_bytes());
    }
    // Whitespace (the samples are pretty-printed) leaves it to the general parser.
    let text = load("ws-orderbook-delta.json");
    assert!(parse_bybit_layout(text.as_bytes(), &mut BookUpdate::default()).is_none());
}

proptest! {
    /// Bybit-layout pushes with odd parts, then possibly one byte changed, inserted or removed:
    /// the fast path never disagrees with the general parser.
    #[test]
    fn bybit_layout_fast_path_never_disagrees(
        depth in prop_oneof![3 => "[0-9]{1,3}", 1 => "[0-9]{0,11}"],
        topic_symbol in prop_oneof![3 => "[A-Z0-9]{1,12}", 1 => r#"[A-Z\\"é.]{0,4}"#],
        kind in prop_oneof![3 => "delta|snapshot", 1 => "delt|partial"],
        ts in prop_oneof![3 => "1[0-9]{12}", 1 => r#"-?[0-9]{0,21}|"[0-9]{1,3}""#],
        same_symbol in prop::bool::weighted(0.8),
        symbol in prop_oneof![3 => "[A-Z0-9]{1,12}", 1 => r#"[A-Z\\"é]{0,4}"#],
        levels in prop::collection::vec(
            prop_oneof![
                3 => ("[0-9]{1,6}(\\.[0-9]{1,2})?", "[0-9]{1,3}(\\.[0-9]{0,3})?"),
                1 => (r#"[0-9]{0,9}(\.[0-9]{0,9})?|-1|1e3"#, r#"[0-9]{1,4}(\.[0-9]{0,4})?"#),
            ],
            0..6,
        ),
        u in prop_oneof![3 => "[1-9][0-9]{0,11}", 1 => r#"[0-9]{1,17}|"7"|-1"#],
        cts in prop::option::of(prop_oneof![3 => "1[0-9]{12}", 1 => r#"[0-9]{0,16}|"1""#]),
        edit in prop::option::of((0usize..400, any::<u8>(), 0u8..3)),
    ) {
        // Otherwise another symbol, half the time one extending the topic's.
        let symbol = if same_symbol {
            topic_symbol.clone()
        } else if symbol.len() % 2 == 0 {
            format!("{topic_symbol}{symbol}")
        } else {
            symbol
        };
        let text = bybit_layout(
            &depth, &topic_symbol, &kind, &ts, &symbol, &levels, &u, cts.as_deref(),
        );
        let mut text = text.into_bytes();
        check_same_as_general(&text);
        if let Some((pos, byte, how)) = edit {
            let pos = pos.min(text.len() - 1);
            match how {
                0 => text[pos] = byte,
                1 => text.insert(pos, byte),
                _ => {
                    text.remove(pos);
                }
            }
            check_same_as_general(&text);
        }
    }
}
