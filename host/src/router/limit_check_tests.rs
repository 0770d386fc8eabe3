use super::*;
use crate::model::instrument::test_instrument;
use crate::model::{Category, DesiredQuotes, QuoteGrid, quotes_on_grid_into};
use crate::router::limits::apply_hard_limits;
use plugin_api::Ladder;
use rust_decimal_macros::dec;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn instruments() -> Vec<Instrument> {
    let mut out = Vec::new();
    for (tick, lot, min_qty, min_notional) in [
        (dec!(0.1), dec!(0.001), dec!(0.001), dec!(5)),
        (dec!(0.01), dec!(0.01), dec!(0.05), dec!(1)),
        (dec!(0.5), dec!(1), dec!(1), dec!(0)),
        (dec!(0.0001), dec!(0.1), dec!(0.3), dec!(0.3)),
        (dec!(0.3), dec!(0.007), dec!(0.021), dec!(1.23)),
    ] {
        let mut inst = test_instrument(Category::Linear);
        (inst.tick_size, inst.lot_size, inst.min_qty) = (tick, lot, min_qty);
        (inst.max_qty, inst.min_notional) = (dec!(1000), min_notional);
        out.push(inst);
    }
    out
}

/// A value near `scale`, often exactly on a multiple of `step`, sometimes just off it.
fn near(rng: &mut Rng, scale: Decimal, step: Decimal) -> Decimal {
    let base = scale * Decimal::from(rng.below(2_000)) / dec!(1000);
    let on = (base / step).floor() * step;
    match rng.below(4) {
        0 => base,
        1 => on + step * Decimal::from(rng.below(3)),
        2 => on - step / dec!(7),
        _ => on,
    }
}

/// Whenever the check passes, the full pass clamps nothing and changes nothing; and when
/// the full pass changes nothing with the notional cap far away, the check passes (it is not
/// merely conservative). Random instruments, limits around the ladder's totals, positions
/// on both sides, ladders of 0–5 levels a side.
#[test]
fn a_passing_check_means_the_limits_change_nothing() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut passed, mut failed, mut clamped, mut none) = (0, 0, 0, 0);
    for inst in instruments() {
        let grid = QuoteGrid::new(&inst).expect("grid");
        for _ in 0..6_000 {
            let lot = inst.lot_size;
            let limits = HardLimits {
                max_long: near(&mut rng, lot * dec!(40), lot),
                max_short: near(&mut rng, lot * dec!(40), lot),
                max_notional: if rng.below(3) == 0 {
                    dec!(1_000_000_000)
                } else {
                    near(&mut rng, dec!(100) * lot * dec!(40), dec!(0.01))
                },
                max_open_orders: rng.below(12) as usize,
                max_order_qty: near(&mut rng, lot * dec!(12), lot),
            };
            let position = near(&mut rng, lot * dec!(30), lot) - lot * dec!(30);
            let mut ladder = Ladder::default();
            let (tick, lot_f) = (
                f64::try_from(inst.tick_size).unwrap(),
                f64::try_from(lot).unwrap(),
            );
            let mid = 100.0 + rng.below(1_000) as f64 * tick;
            for k in 0..rng.below(6) {
                let size = (1 + rng.below(15)) as f64 * lot_f * 1.000_000_1;
                ladder.push_bid(mid - (k + 1) as f64 * tick, size);
            }
            for k in 0..rng.below(6) {
                let size = (1 + rng.below(15)) as f64 * lot_f * 1.000_000_1;
                ladder.push_ask(mid + (k + 1) as f64 * tick, size);
            }
            let mut desired = DesiredQuotes::default();
            let Ok(Some(summary)) = quotes_on_grid_into(&inst, Some(&grid), &ladder, &mut desired)
            else {
                continue;
            };
            let before = desired.clone();
            let clamps = apply_hard_limits(&inst, &limits, position, &mut desired);
            let unchanged = clamps.is_empty() && desired == before;
            clamped += usize::from(!unchanged);
            let Some(check) = LimitCheck::new(&inst, &limits, position) else {
                // A negative notional cap, or 28-digit limits whose products round: the full
                // pass then always runs.
                none += 1;
                continue;
            };
            if check.passes(&summary) {
                passed += 1;
                assert!(
                    unchanged,
                    "{inst:?} {limits:?} {position} {before:?} -> {desired:?}"
                );
            } else {
                failed += 1;
                let far = limits.max_notional == dec!(1_000_000_000);
                assert!(
                    !(unchanged && far),
                    "check failed, nothing clamped: {inst:?} {limits:?} {position} {before:?}"
                );
            }
        }
    }
    assert!(
        passed > 3_000 && failed > 3_000 && clamped > 3_000 && none < 1_000,
        "{passed} {failed} {clamped} {none}"
    );
}

/// The notional boundary agrees with the full pass's own test on both of its sides.
#[test]
fn notional_boundary_is_exact() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut bound = 0;
    for _ in 0..20_000 {
        let tick =
            [dec!(0.1), dec!(0.01), dec!(0.5), dec!(0.0001), dec!(0.3)][rng.below(5) as usize];
        let qty_cap = Decimal::new(1 + rng.below(100_000) as i64, rng.below(6) as u32);
        let max_notional = Decimal::new(rng.below(10_000_000) as i64, rng.below(4) as u32);
        let Some(t) = max_top_ticks_of(tick, qty_cap, max_notional) else {
            continue;
        };
        bound += 1;
        let at = |t: i64| notional_exceeds(Decimal::from(t) * tick, qty_cap, max_notional);
        if t > 0 {
            assert!(!at(t), "{tick} {qty_cap} {max_notional}: {t}");
        }
        assert!(at(t + 1), "{tick} {qty_cap} {max_notional}: {t}");
    }
    assert!(bound > 19_000, "{bound}");
    assert_eq!(
        max_top_ticks_of(dec!(0.1), dec!(0), dec!(5)),
        Some(i64::MAX)
    );
    assert_eq!(max_top_ticks_of(dec!(0.1), dec!(1), dec!(-5)), None);
}

/// Limits too large for the integer form give no check (the full pass), never a panic.
#[test]
fn unbounded_limits_give_no_check() {
    assert_eq!(max_top_ticks_of(dec!(0.1), dec!(0.001), Decimal::MAX), None);
    assert_eq!(
        max_top_ticks_of(dec!(0.0001), dec!(0.001), dec!(100000000000000000000)),
        None
    );
    let inst = test_instrument(Category::Linear);
    let limits = HardLimits {
        max_long: Decimal::MAX,
        max_short: Decimal::MAX,
        max_notional: Decimal::MAX,
        max_open_orders: usize::MAX,
        max_order_qty: Decimal::MAX,
    };
    assert_eq!(LimitCheck::new(&inst, &limits, dec!(0)), None);
    assert_eq!(LimitCheck::new(&inst, &limits, dec!(-3)), None);
}

/// The memo rebuilds when an input changes and only then.
#[test]
fn memo_follows_its_inputs() {
    let inst = test_instrument(Category::Linear);
    let limits = HardLimits {
        max_long: dec!(1),
        max_short: dec!(1),
        max_notional: dec!(1000000),
        max_open_orders: 4,
        max_order_qty: dec!(0.5),
    };
    let mut memo = LimitMemo::default();
    let flat = *memo.get(&inst, &limits, dec!(0)).unwrap();
    assert_eq!(flat, LimitCheck::new(&inst, &limits, dec!(0)).unwrap());
    let long = *memo.get(&inst, &limits, dec!(0.4)).unwrap();
    assert_eq!(long.room_lots, [600, 1400]);
    let tighter = HardLimits {
        max_long: dec!(0.5),
        ..limits
    };
    assert_eq!(
        memo.get(&inst, &tighter, dec!(0.4)).unwrap().room_lots,
        [100, 1400]
    );
    assert_eq!(*memo.get(&inst, &limits, dec!(0)).unwrap(), flat);
}
