use super::*;
use crate::book::{BookError, BookState, ResyncReason};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn book() -> OrderBook {
    OrderBook::new("BTCUSDT", dec("0.10"), dec("0.001")).unwrap()
}

fn update(
    kind: UpdateKind,
    u: u64,
    seq: u64,
    bids: &[(&str, &str)],
    asks: &[(&str, &str)],
) -> BookUpdate {
    BookUpdate {
        kind,
        symbol: "BTCUSDT".into(),
        depth: 50,
        ts_exchange_ms: 1_000 + u as i64,
        ts_match_ms: 0,
        update_id: u,
        seq,
        bids: bids.iter().map(|(p, s)| raw(p, s)).collect(),
        asks: asks.iter().map(|(p, s)| raw(p, s)).collect(),
        read_at: None,
    }
}

fn snapshot() -> BookUpdate {
    update(
        UpdateKind::Snapshot,
        100,
        5000,
        &[("16493.50", "0.006"), ("16493.00", "0.100")],
        &[("16611.00", "0.029"), ("16612.00", "0.213")],
    )
}

#[test]
fn snapshot_makes_book_whole_with_sorted_sides() {
    let mut b = book();
    assert_eq!(b.state(), BookState::AwaitingSnapshot);
    assert!(!b.is_whole());
    assert_eq!(b.apply(&snapshot(), 7).unwrap(), ApplyOutcome::Reset);
    assert!(b.is_whole());
    assert_eq!(
        b.best_bid().unwrap(),
        BookLevel {
            price: dec("16493.5"),
            size: dec("0.006")
        }
    );
    assert_eq!(b.best_ask().unwrap().price, dec("16611.0"));
    let bids: Vec<_> = b.bids().map(|l| l.price).collect();
    assert_eq!(bids, vec![dec("16493.5"), dec("16493.0")]);
    let asks: Vec<_> = b.asks().map(|l| l.price).collect();
    assert_eq!(asks, vec![dec("16611.0"), dec("16612.0")]);
    assert_eq!(
        (b.last_update_id(), b.last_seq(), b.ts_local_ms()),
        (100, 5000, 7)
    );
}

#[test]
fn delta_inserts_overwrites_and_deletes() {
    let mut b = book();
    b.apply(&snapshot(), 0).unwrap();
    let d = update(
        UpdateKind::Delta,
        101,
        5001,
        &[("16493.50", "0"), ("16493.00", "1.5"), ("16494.00", "2")],
        &[("16612.00", "0"), ("16700.00", "0"), ("16610.00", "0.5")],
    );
    assert_eq!(b.apply(&d, 0).unwrap(), ApplyOutcome::Applied);
    let bids: Vec<_> = b.bids().map(|l| (l.price, l.size)).collect();
    assert_eq!(
        bids,
        vec![(dec("16494"), dec("2")), (dec("16493"), dec("1.5"))]
    );
    let asks: Vec<_> = b.asks().map(|l| (l.price, l.size)).collect();
    assert_eq!(
        asks,
        vec![(dec("16610"), dec("0.5")), (dec("16611"), dec("0.029"))]
    );
    assert_eq!(b.depth(), (2, 2));
}

#[test]
fn sequencing_table() {
    // (u, seq, expected error) for one delta after the snapshot (u=100, seq=5000).
    let cases: &[(u64, u64, Option<BookError>)] = &[
        (101, 5001, None),
        (101, 5000, None),
        (
            102,
            5001,
            Some(BookError::Gap {
                expected: 101,
                got: 102,
            }),
        ),
        (
            100,
            5001,
            Some(BookError::Gap {
                expected: 101,
                got: 100,
            }),
        ),
        (
            101,
            4999,
            Some(BookError::SeqRegressed {
                last: 5000,
                got: 4999,
            }),
        ),
    ];
    for (u, seq, want) in cases {
        let mut b = book();
        b.apply(&snapshot(), 0).unwrap();
        let got = b.apply(
            &update(UpdateKind::Delta, *u, *seq, &[("16490.00", "1")], &[]),
            0,
        );
        match want {
            None => assert!(got.is_ok() && b.is_whole(), "u={u} seq={seq}"),
            Some(err) => {
                assert_eq!(got.unwrap_err(), *err);
                assert!(!b.is_whole());
            }
        }
    }
}

#[test]
fn gap_needs_resync_until_next_snapshot() {
    let mut b = book();
    b.apply(&snapshot(), 0).unwrap();
    let err = b
        .apply(&update(UpdateKind::Delta, 105, 5001, &[], &[]), 0)
        .unwrap_err();
    assert_eq!(err.resync_reason(), Some(ResyncReason::Gap));
    assert_eq!(b.state(), BookState::NeedsResync(ResyncReason::Gap));
    // Deltas are dropped while broken, even ones that would follow.
    assert_eq!(
        b.apply(&update(UpdateKind::Delta, 106, 5002, &[], &[]), 0)
            .unwrap(),
        ApplyOutcome::Ignored
    );
    assert!(!b.is_whole());
    let mut snap = snapshot();
    snap.update_id = 200;
    assert_eq!(b.apply(&snap, 0).unwrap(), ApplyOutcome::Reset);
    assert!(b.is_whole());
    assert!(
        b.apply(&update(UpdateKind::Delta, 201, 5001, &[], &[]), 0)
            .is_ok()
    );
}

#[test]
fn delta_before_any_snapshot_is_ignored() {
    let mut b = book();
    let d = update(UpdateKind::Delta, 5, 1, &[("1.0", "1")], &[]);
    assert_eq!(b.apply(&d, 0).unwrap(), ApplyOutcome::Ignored);
    assert_eq!(b.depth(), (0, 0));
}

#[test]
fn update_id_one_resets_like_a_snapshot() {
    let mut b = book();
    b.apply(&snapshot(), 0).unwrap();
    let restart = update(
        UpdateKind::Delta,
        1,
        1,
        &[("100.0", "1")],
        &[("101.0", "2")],
    );
    assert_eq!(b.apply(&restart, 0).unwrap(), ApplyOutcome::Reset);
    assert_eq!(b.depth(), (1, 1));
    assert_eq!(b.best_bid().unwrap().price, dec("100"));
    assert!(
        b.apply(&update(UpdateKind::Delta, 2, 2, &[], &[]), 0)
            .is_ok()
    );
}

#[test]
fn crossed_book_needs_resync() {
    let mut b = book();
    b.apply(&snapshot(), 0).unwrap();
    let d = update(UpdateKind::Delta, 101, 5001, &[("16611.00", "1")], &[]);
    let err = b.apply(&d, 0).unwrap_err();
    assert_eq!(
        err,
        BookError::Crossed {
            best_bid: dec("16611.0"),
            best_ask: dec("16611.0")
        }
    );
    assert_eq!(b.state(), BookState::NeedsResync(ResyncReason::Crossed));
}

#[test]
fn stale_stream_needs_resync() {
    let mut b = book();
    b.apply(&snapshot(), 1_000).unwrap();
    assert!(b.check_stale(1_500, 1_000).is_ok());
    assert_eq!(
        b.check_stale(2_001, 1_000).unwrap_err(),
        BookError::Stale { silent_ms: 1_001 }
    );
    assert_eq!(b.state(), BookState::NeedsResync(ResyncReason::Stale));
}

#[test]
fn level_finer_than_tick_or_negative_is_rejected() {
    let mut b = book();
    b.apply(&snapshot(), 0).unwrap();
    let d = update(UpdateKind::Delta, 101, 5001, &[("16490.05", "1")], &[]);
    assert!(matches!(
        b.apply(&d, 0),
        Err(BookError::BadLevel { what: "price", .. })
    ));
    assert!(!b.is_whole());
    let mut b = book();
    let s = update(UpdateKind::Snapshot, 1, 1, &[("10.0", "-1")], &[]);
    assert!(matches!(
        b.apply(&s, 0),
        Err(BookError::BadLevel { what: "size", .. })
    ));
}

#[test]
fn wrong_symbol_is_refused_without_breaking_the_book() {
    let mut b = book();
    b.apply(&snapshot(), 0).unwrap();
    let mut d = update(UpdateKind::Delta, 101, 5001, &[], &[]);
    d.symbol = "ETHUSDT".into();
    assert!(matches!(
        b.apply(&d, 0),
        Err(BookError::SymbolMismatch { .. })
    ));
    assert!(b.is_whole());
}

#[test]
fn bad_instrument_is_refused() {
    assert!(OrderBook::new("X", dec("0"), dec("1")).is_err());
    assert!(OrderBook::new("X", dec("0.1"), dec("-1")).is_err());
}

#[test]
fn fill_view_writes_top_levels_best_first() {
    let mut b = book();
    let bids: Vec<(String, String)> = (0..30)
        .map(|i| (format!("{}.0", 1000 - i), "1.5".into()))
        .collect();
    let asks: Vec<(String, String)> = (0..5)
        .map(|i| (format!("{}.0", 1001 + i), "0.25".into()))
        .collect();
    let bids: Vec<(&str, &str)> = bids.iter().map(|(p, s)| (p.as_str(), s.as_str())).collect();
    let asks: Vec<(&str, &str)> = asks.iter().map(|(p, s)| (p.as_str(), s.as_str())).collect();
    b.apply(&update(UpdateKind::Snapshot, 9, 9, &bids, &asks), 0)
        .unwrap();
    let mut view = MarketView::new("OLD");
    view.asks[10] = plugin_api::Level::new(5.0, 5.0);
    b.fill_view(&mut view);
    assert_eq!(view.symbol(), "BTCUSDT");
    assert_eq!(view.ts_exchange_ms, 1_009);
    assert_eq!((view.tick_size, view.lot_size), (0.1, 0.001));
    assert_eq!(view.bids().len(), MAX_VIEW_LEVELS);
    assert_eq!(view.bids()[0], plugin_api::Level::new(1000.0, 1.5));
    assert_eq!(view.bids()[19], plugin_api::Level::new(981.0, 1.5));
    assert_eq!(view.asks().len(), 5);
    assert_eq!(view.asks()[0], plugin_api::Level::new(1001.0, 0.25));
    assert_eq!(view.asks[10], plugin_api::Level::default());
    assert_eq!(view.mid(), Some(1000.5));
}

/// One step of a generated stream: a new mid (in ticks) and level changes around it.
#[derive(Clone, Debug)]
struct Step {
    mid: i64,
    changes: Vec<(bool, i64, i64)>, // (is_bid, offset from mid in ticks >= 1, size lots; 0 deletes)
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = (
        -5i64..=5,
        prop::collection::vec(
            (
                any::<bool>(),
                1i64..=30,
                prop_oneof![Just(0i64), 1i64..=1000],
            ),
            0..20,
        ),
    )
        .prop_map(|(drift, changes)| Step {
            mid: drift,
            changes,
        });
    prop::collection::vec(step, 1..60)
}

fn text(ticks: i64, scale: u32) -> String {
    Decimal::new(ticks, scale).to_string()
}

proptest! {
    /// Valid deltas (levels never on the wrong side of the moving mid, levels that would
    /// cross deleted first) keep the book uncrossed, whole, and equal to a reference model.
    #[test]
    fn valid_deltas_never_cross_and_match_model(steps in steps()) {
        let mut b = book();
        let mut model_bids: BTreeMap<i64, i64> = BTreeMap::new();
        let mut model_asks: BTreeMap<i64, i64> = BTreeMap::new();
        let mut mid = 100_000i64; // ticks of 0.1
        b.apply(&update(UpdateKind::Snapshot, 10, 10, &[], &[]), 0).unwrap();
        for (i, step) in steps.iter().enumerate() {
            mid += step.mid;
            let mut bids = Vec::new();
            let mut asks = Vec::new();
            // Delete levels that the new mid puts on the wrong side.
            for (&p, _) in model_bids.range(mid..) { bids.push((text(p, 1), "0".to_string())); }
            for (&p, _) in model_asks.range(..=mid) { asks.push((text(p, 1), "0".to_string())); }
            model_bids.retain(|p, _| *p < mid);
            model_asks.retain(|p, _| *p > mid);
            for &(is_bid, off, lots) in &step.changes {
                let (side, model, price) = if is_bid {
                    (&mut bids, &mut model_bids, mid - off)
                } else {
                    (&mut asks, &mut model_asks, mid + off)
                };
                side.push((text(price, 1), text(lots, 3)));
                if lots == 0 { model.remove(&price); } else { model.insert(price, lots); }
            }
            let bids: Vec<(&str, &str)> = bids.iter().map(|(p, s)| (p.as_str(), s.as_str())).collect();
            let asks: Vec<(&str, &str)> = asks.iter().map(|(p, s)| (p.as_str(), s.as_str())).collect();
            let u = 11 + i as u64;
            let out = b.apply(&update(UpdateKind::Delta, u, u, &bids, &asks), 0);
            prop_assert_eq!(out, Ok(ApplyOutcome::Applied));
            prop_assert!(b.is_whole());
            if let (Some(bid), Some(ask)) = (b.best_bid(), b.best_ask()) {
                prop_assert!(bid.price < ask.price);
            }
            let got: Vec<(Decimal, Decimal)> = b.bids().map(|l| (l.price, l.size)).collect();
            let want: Vec<(Decimal, Decimal)> = model_bids.iter().rev()
                .map(|(&p, &s)| (Decimal::new(p, 1), Decimal::new(s, 3))).collect();
            prop_assert_eq!(got, want);
            let got: Vec<(Decimal, Decimal)> = b.asks().map(|l| (l.price, l.size)).collect();
            let want: Vec<(Decimal, Decimal)> = model_asks.iter()
                .map(|(&p, &s)| (Decimal::new(p, 1), Decimal::new(s, 3))).collect();
            prop_assert_eq!(got, want);
        }
    }

    /// Deleting every level that was inserted empties the book.
    #[test]
    fn deletes_remove(prices in prop::collection::btree_set(1i64..10_000, 1..50)) {
        let mut b = book();
        let levels: Vec<(String, String)> = prices.iter().map(|p| (text(*p, 1), "1".into())).collect();
        let ins: Vec<(&str, &str)> = levels.iter().map(|(p, s)| (p.as_str(), s.as_str())).collect();
        b.apply(&update(UpdateKind::Snapshot, 1, 1, &ins, &[]), 0).unwrap();
        prop_assert_eq!(b.depth().0, prices.len());
        let del: Vec<(&str, &str)> = levels.iter().map(|(p, _)| (p.as_str(), "0")).collect();
        b.apply(&update(UpdateKind::Delta, 2, 2, &del, &[]), 0).unwrap();
        prop_assert_eq!(b.depth(), (0, 0));
    }

    /// Any update id other than previous + 1 is a gap and leaves the book not whole.
    #[test]
    fn gaps_detected(jump in prop_oneof![0u64..=100, 102u64..10_000]) {
        let mut b = book();
        b.apply(&snapshot(), 0).unwrap();
        let out = b.apply(&update(UpdateKind::Delta, jump, 6000, &[], &[]), 0);
        if jump == 1 {
            prop_assert_eq!(out, Ok(ApplyOutcome::Reset));
        } else {
            prop_assert_eq!(out, Err(BookError::Gap { expected: 101, got: jump }));
            prop_assert!(!b.is_whole());
        }
    }
}
