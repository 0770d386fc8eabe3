//! The Bybit public stream and REST client against the simulator on loopback.

use std::time::Duration;

use host::book::{OrderBook, UpdateKind};
use host::exchange::bybit::messages::BybitOrderAck;
use host::exchange::bybit::messages::{BybitInstrument, BybitOrderMsg, BybitPage, BybitServerTime};
use host::exchange::bybit::rest::{RestClient, RestError};
use host::exchange::bybit::sign::{Credentials, Secret};
use host::exchange::bybit::ws::{
    PrivateStreamConfig, PrivateStreamEvent, PrivateStreamTask, PublicStreamConfig,
    PublicStreamEvent, PublicStreamTask,
};
use rust_decimal::Decimal;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_stream_builds_a_whole_book_from_the_sim() {
    let sim = sim::Sim::start(sim::SimConfig::default())
        .await
        .expect("sim");
    let cfg = PublicStreamConfig::new(
        sim.public_linear_url(),
        vec!["BTCUSDT".into(), "ETHUSDT".into()],
    );
    let (handle, mut events, join) = PublicStreamTask::spawn(cfg).expect("spawn");
    let mut book = OrderBook::new("BTCUSDT", Decimal::new(1, 1), Decimal::new(1, 3)).unwrap();
    let (mut snapshots, mut deltas, mut trades_or_tickers) = (0, 0, 0);
    let outcome = timeout(Duration::from_secs(20), async {
        while let Some(event) = events.recv().await {
            match event {
                PublicStreamEvent::Book(update) if update.symbol == "BTCUSDT" => {
                    match update.kind {
                        UpdateKind::Snapshot => snapshots += 1,
                        UpdateKind::Delta => deltas += 1,
                    }
                    book.apply(&update, 0).expect("sim book update applies");
                    handle.recycle(update);
                }
                PublicStreamEvent::Trade(_) | PublicStreamEvent::Ticker(_) => {
                    trades_or_tickers += 1
                }
                _ => {}
            }
            if snapshots >= 1 && deltas >= 20 {
                return;
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "timed out: {snapshots} snapshots, {deltas} deltas"
    );
    assert!(book.is_whole());
    assert!(book.best_bid().unwrap().price < book.best_ask().unwrap().price);
    let _ = trades_or_tickers; // the sim may or may not have traded in the window
    handle.shutdown().await;
    timeout(Duration::from_secs(5), join)
        .await
        .expect("task ends")
        .expect("no panic");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_client_public_and_signed_calls_against_the_sim() {
    let sim = sim::Sim::start(sim::SimConfig::default())
        .await
        .expect("sim");
    let creds = Credentials::new("simkey", Secret::new("simsecret"));
    let client = RestClient::new(sim.rest_url(), Some(creds), Duration::from_secs(5)).unwrap();

    let time = client
        .get_public::<BybitServerTime>("/v5/market/time", "")
        .await
        .expect("time");
    assert!(!time.result.time_second.is_empty());
    let inst = client
        .get_public::<BybitPage<BybitInstrument>>(
            "/v5/market/instruments-info",
            "category=linear&symbol=BTCUSDT",
        )
        .await
        .expect("instruments");
    assert_eq!(
        inst.result.list[0].price_filter.tick_size.normalize(),
        Decimal::new(1, 1)
    );

    let open = client
        .get_signed::<BybitPage<BybitOrderMsg>>(
            "/v5/order/realtime",
            "category=linear&symbol=BTCUSDT",
        )
        .await
        .expect("signed GET");
    assert!(open.result.list.is_empty());

    let bad = RestClient::new(
        sim.rest_url(),
        Some(Credentials::new("simkey", Secret::new("wrong"))),
        Duration::from_secs(5),
    )
    .unwrap();
    let err = bad
        .get_signed::<BybitPage<BybitOrderMsg>>(
            "/v5/order/realtime",
            "category=linear&symbol=BTCUSDT",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RestError::Api(_)), "{err:?}");
    assert_eq!(err.ret_code(), Some(10004));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_stream_authenticates_and_reports_our_order() {
    let sim = sim::Sim::start(sim::SimConfig::default())
        .await
        .expect("sim");
    let creds = Credentials::new("simkey", Secret::new("simsecret"));
    let (handle, mut events, join) =
        PrivateStreamTask::spawn(PrivateStreamConfig::new(sim.private_url(), creds.clone()));
    let first = timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("connected in time");
    assert_eq!(first, Some(PrivateStreamEvent::Connected));

    let client = RestClient::new(sim.rest_url(), Some(creds), Duration::from_secs(5)).unwrap();
    let body = r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":"1000.0","timeInForce":"PostOnly","orderLinkId":"quoter-test-1"}"#;
    let seen = timeout(Duration::from_secs(10), async {
        let ack = client
            .post_signed::<BybitOrderAck>("/v5/order/create", body.to_string())
            .await
            .expect("create");
        loop {
            match events.recv().await {
                Some(PrivateStreamEvent::Order(msg)) => {
                    if let Some(o) = msg.data.iter().find(|o| o.order_id == ack.result.order_id) {
                        return o.order_link_id.clone();
                    }
                }
                Some(_) => {}
                None => panic!("stream ended"),
            }
        }
    })
    .await
    .expect("order push in time");
    assert_eq!(seen, "quoter-test-1");
    handle.shutdown().await;
    timeout(Duration::from_secs(5), join)
        .await
        .expect("task ends")
        .expect("no panic");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_stream_with_a_bad_secret_reports_auth_failure() {
    let sim = sim::Sim::start(sim::SimConfig::default())
        .await
        .expect("sim");
    let creds = Credentials::new("simkey", Secret::new("wrong"));
    let (handle, mut events, join) =
        PrivateStreamTask::spawn(PrivateStreamConfig::new(sim.private_url(), creds));
    let event = timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("in time");
    match event {
        Some(PrivateStreamEvent::Disconnected { reason }) => {
            assert!(reason.contains("auth"), "{reason}")
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
    handle.shutdown().await;
    timeout(Duration::from_secs(5), join)
        .await
        .expect("task ends")
        .expect("no panic");
    sim.shutdown().await;
}
