//! Checks on a strategy's output before anything acts on it.

use plugin_api::{
    LADDER_KIND_PULL, LADDER_KIND_QUOTES, Ladder, Level, MAX_LADDER_LEVELS, MarketView,
};

/// Why a ladder is unusable, or `Ok` when every level is finite, positive, ordered best first,
/// our bids are below our asks, and no quote would take liquidity against `view`'s touch.
pub fn check_ladder(ladder: &Ladder, view: &MarketView) -> Result<(), String> {
    check_ladder_at(ladder, Touch::of(view))
}

/// The best prices of a view, all [`check_ladder`] needs of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Touch {
    /// Best bid price, if the bid side is not empty.
    pub best_bid: Option<f64>,
    /// Best ask price, if the ask side is not empty.
    pub best_ask: Option<f64>,
}

impl Touch {
    /// The touch of `view` (its [`MarketView::best_bid`] and [`MarketView::best_ask`] prices).
    #[inline]
    pub fn of(view: &MarketView) -> Self {
        Self {
            best_bid: (view.bid_count != 0).then(|| view.bids[0].price),
            best_ask: (view.ask_count != 0).then(|| view.asks[0].price),
        }
    }

    /// The mid, bit for bit [`MarketView::mid`]; NaN when a side is empty.
    pub fn mid(&self) -> f64 {
        match (self.best_bid, self.best_ask) {
            (Some(bid), Some(ask)) => (bid + ask) / 2.0,
            _ => f64::NAN,
        }
    }
}

/// [`check_ladder`] against a view's [`Touch`].
pub fn check_ladder_at(ladder: &Ladder, touch: Touch) -> Result<(), String> {
    // On the hot path ladders are good: one branch-light pass decides, and only a ladder it
    // refuses goes through the detailed checks, which say why (they are the reference: the
    // pass accepts exactly the ladders they accept, see the tests).
    if ladder_is_valid(ladder, touch) {
        Ok(())
    } else {
        explain(ladder, touch)
    }
}

/// Whether [`explain`] would accept `ladder`: the same conditions, folded into one pass per
/// side without building any message.
#[inline]
fn ladder_is_valid(ladder: &Ladder, touch: Touch) -> bool {
    if ladder.kind != LADDER_KIND_QUOTES {
        return ladder.kind == LADDER_KIND_PULL;
    }
    let (nb, na) = (ladder.bid_count as usize, ladder.ask_count as usize);
    if nb > MAX_LADDER_LEVELS || na > MAX_LADDER_LEVELS {
        return false;
    }
    let (bids, asks) = (&ladder.bids[..nb], &ladder.asks[..na]);
    // Each price strictly inside the previous one; the first bid below +inf, the first ask
    // above 0, which `positive_finite` requires anyway. Every comparison is false for NaN.
    let mut ok = true;
    let mut prev = f64::INFINITY;
    for l in bids {
        ok &= positive_finite(l.price) & positive_finite(l.size) & (l.price < prev);
        prev = l.price;
    }
    let mut prev = 0.0;
    for l in asks {
        ok &= positive_finite(l.price) & positive_finite(l.size) & (l.price > prev);
        prev = l.price;
    }
    if !ok {
        return false;
    }
    match (bids.first(), asks.first()) {
        (Some(bid), Some(ask)) if bid.price >= ask.price => false,
        (bid, ask) => {
            !(bid.is_some_and(|b| touch.best_ask.is_some_and(|t| b.price >= t))
                || ask.is_some_and(|a| touch.best_bid.is_some_and(|t| a.price <= t)))
        }
    }
}

/// `0 < x < inf` (false for NaN and -0) as one integer compare on the bits: the positive
/// finite non-zero doubles are exactly the bit patterns `1..=f64::MAX.to_bits()`. (Written as
/// two float compares, the compiler turns it into a classification of several instructions.)
#[inline(always)]
fn positive_finite(x: f64) -> bool {
    x.to_bits().wrapping_sub(1) < f64::MAX.to_bits()
}

/// [`check_ladder`]'s reference: each check in turn, the first failure described.
#[cold]
#[inline(never)]
fn explain(ladder: &Ladder, touch: Touch) -> Result<(), String> {
    match ladder.kind {
        LADDER_KIND_PULL => return Ok(()),
        LADDER_KIND_QUOTES => {}
        other => return Err(format!("unknown ladder kind {other}")),
    }
    if ladder.bid_count as usize > MAX_LADDER_LEVELS
        || ladder.ask_count as usize > MAX_LADDER_LEVELS
    {
        return Err(format!(
            "{} bids / {} asks, at most {MAX_LADDER_LEVELS} per side",
            ladder.bid_count, ladder.ask_count
        ));
    }
    check_side("bid", ladder.bids(), |a, b| a > b)?;
    check_side("ask", ladder.asks(), |a, b| a < b)?;
    if let (Some(bid), Some(ask)) = (ladder.bids().first(), ladder.asks().first())
        && bid.price >= ask.price
    {
        return Err(format!(
            "crossed output: bid {} >= ask {}",
            bid.price, ask.price
        ));
    }
    if let (Some(bid), Some(best_ask)) = (ladder.bids().first(), touch.best_ask)
        && bid.price >= best_ask
    {
        return Err(format!(
            "bid {} at or above the best ask {best_ask}",
            bid.price
        ));
    }
    if let (Some(ask), Some(best_bid)) = (ladder.asks().first(), touch.best_bid)
        && ask.price <= best_bid
    {
        return Err(format!(
            "ask {} at or below the best bid {best_bid}",
            ask.price
        ));
    }
    Ok(())
}

fn check_side(
    name: &str,
    levels: &[Level],
    better: impl Fn(f64, f64) -> bool,
) -> Result<(), String> {
    // `0 < x < inf` is false for NaN too: two compares instead of a classification.
    let positive_finite = |x: f64| x > 0.0 && x < f64::INFINITY;
    for (i, level) in levels.iter().enumerate() {
        if !positive_finite(level.price) {
            return Err(format!("{name} level {i} has price {}", level.price));
        }
        if !positive_finite(level.size) {
            return Err(format!("{name} level {i} has size {}", level.size));
        }
        if i > 0 && !better(levels[i - 1].price, level.price) {
            return Err(format!("{name} levels not ordered best first at level {i}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn view() -> MarketView {
        let mut v = MarketView::new("T");
        v.set_bids(&[Level::new(99.0, 1.0)]);
        v.set_asks(&[Level::new(101.0, 1.0)]);
        v
    }

    fn ladder(bids: &[(f64, f64)], asks: &[(f64, f64)]) -> Ladder {
        let mut l = Ladder::default();
        bids.iter().for_each(|&(p, s)| {
            l.push_bid(p, s);
        });
        asks.iter().for_each(|&(p, s)| {
            l.push_ask(p, s);
        });
        l
    }

    type Case<'a> = (&'a [(f64, f64)], &'a [(f64, f64)], Option<&'a str>);

    #[test]
    fn table_of_bad_ladders() {
        let cases: &[Case] = &[
            (&[(98.0, 1.0)], &[(102.0, 1.0)], None),
            (&[(f64::NAN, 1.0)], &[], Some("bid level 0 has price NaN")),
            (&[(98.0, -1.0)], &[], Some("bid level 0 has size -1")),
            (&[(0.0, 1.0)], &[], Some("bid level 0 has price 0")),
            (
                &[(f64::INFINITY, 1.0)],
                &[],
                Some("bid level 0 has price inf"),
            ),
            (&[(98.0, -0.0)], &[], Some("bid level 0 has size -0")),
            (
                &[],
                &[(f64::NEG_INFINITY, 1.0)],
                Some("ask level 0 has price -inf"),
            ),
            (&[], &[(102.0, f64::NAN)], Some("ask level 0 has size NaN")),
            (&[(98.0, f64::MIN_POSITIVE / 2.0)], &[], None),
            (
                &[],
                &[(102.0, f64::INFINITY)],
                Some("ask level 0 has size inf"),
            ),
            (
                &[(98.0, 1.0), (98.5, 1.0)],
                &[],
                Some("bid levels not ordered"),
            ),
            (&[(100.5, 1.0)], &[(100.2, 1.0)], Some("crossed output")),
            (&[(101.0, 1.0)], &[], Some("at or above the best ask")),
            (&[], &[(99.0, 1.0)], Some("at or below the best bid")),
        ];
        for (bids, asks, want) in cases {
            let got = check_ladder(&ladder(bids, asks), &view());
            match want {
                None => assert!(got.is_ok(), "{bids:?} {asks:?}: {got:?}"),
                Some(w) => assert!(
                    got.as_ref().is_err_and(|e| e.contains(w)),
                    "{bids:?} {asks:?}: {got:?}"
                ),
            }
        }
    }

    /// Prices and sizes that hit every edge of the checks: NaN, infinities, zeros, negative
    /// zero, ties with neighbours and with the touch (99 and 101).
    fn edgy() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => prop::sample::select(vec![98.0, 98.5, 99.0, 100.0, 100.5, 101.0, 102.0]),
            1 => prop::sample::select(vec![
                f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, -1.0,
                f64::MIN_POSITIVE, f64::MAX,
            ]),
            2 => 90.0f64..110.0,
        ]
    }

    fn levels() -> impl Strategy<Value = Vec<Level>> {
        prop::collection::vec(
            (edgy(), edgy()).prop_map(|(p, s)| Level::new(p, s.abs())),
            0..=MAX_LADDER_LEVELS,
        )
    }

    proptest! {
        /// The one-pass check accepts exactly the ladders the detailed checks accept, for any
        /// levels, counts, kinds and touch (empty sides and NaN touches included).
        #[test]
        fn fast_check_agrees_with_the_detailed_one(
            bids in levels(),
            asks in levels(),
            kind in prop::sample::select(vec![LADDER_KIND_QUOTES, LADDER_KIND_PULL, 7]),
            counts in prop::option::of((0u32..40, 0u32..40)),
            touch_bid in prop::option::of(edgy()),
            touch_ask in prop::option::of(edgy()),
        ) {
            let mut l = Ladder::default();
            bids.iter().for_each(|b| { l.push_bid(b.price, b.size); });
            asks.iter().for_each(|a| { l.push_ask(a.price, a.size); });
            l.kind = kind;
            if let Some((nb, na)) = counts {
                l.bid_count = nb;
                l.ask_count = na;
            }
            let mut v = MarketView::new("T");
            v.set_bids(&touch_bid.map(|p| vec![Level::new(p, 1.0)]).unwrap_or_default());
            v.set_asks(&touch_ask.map(|p| vec![Level::new(p, 1.0)]).unwrap_or_default());
            let touch = Touch::of(&v);
            let bits = |p: Option<f64>| p.map(f64::to_bits);
            prop_assert_eq!(bits(touch.best_bid), bits(v.best_bid().map(|l| l.price)));
            prop_assert_eq!(bits(touch.best_ask), bits(v.best_ask().map(|l| l.price)));
            prop_assert_eq!(touch.mid().to_bits(), v.mid().unwrap_or(f64::NAN).to_bits());
            prop_assert_eq!(ladder_is_valid(&l, touch), explain(&l, touch).is_ok());
            prop_assert_eq!(check_ladder(&l, &v), explain(&l, touch));
        }
    }

    #[test]
    fn positive_finite_is_the_two_compares() {
        let edges = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1.0,
            -1.0,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(u64::MAX),
        ];
        for x in edges {
            assert_eq!(
                positive_finite(x),
                x > 0.0 && x < f64::INFINITY,
                "{x:e} {:#x}",
                x.to_bits()
            );
        }
    }

    #[test]
    fn garbage_counts_and_kind_are_rejected() {
        let mut l = Ladder {
            bid_count: 50,
            ..Ladder::default()
        };
        assert!(check_ladder(&l, &view()).unwrap_err().contains("at most"));
        l.bid_count = 0;
        l.kind = 7;
        assert!(
            check_ladder(&l, &view())
                .unwrap_err()
                .contains("unknown ladder kind")
        );
    }
}
