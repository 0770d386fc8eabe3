//! Checks on a strategy's output before anything acts on it.

use plugin_api::{
    LADDER_KIND_PULL, LADDER_KIND_QUOTES, Ladder, Level, MAX_LADDER_LEVELS, MarketView,
};

/// Why a ladder is unusable, or `Ok` when every level is finite, positive, ordered best first,
/// our bids are below our asks, and no quote would take liquidity against `view`'s touch.
pub fn check_ladder(ladder: &Ladder, view: &MarketView) -> Result<(), String> {
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
    if let (Some(bid), Some(best_ask)) = (ladder.bids().first(), view.best_ask())
        && bid.price >= best_ask.price
    {
        return Err(format!(
            "bid {} at or above the best ask {}",
            bid.price, best_ask.price
        ));
    }
    if let (Some(ask), Some(best_bid)) = (ladder.asks().first(), view.best_bid())
        && ask.price <= best_bid.price
    {
        return Err(format!(
            "ask {} at or below the best bid {}",
            ask.price, best_bid.price
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
