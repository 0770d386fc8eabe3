//! The WASM and native builds of each strategy produce identical ladders for the same inputs,
//! state saved by one build restores into the other, and WASM instances quote the same whether
//! their memory comes from the pool or is mapped on demand.

mod common;

use host::plugin::wasm::Allocation;
use host::plugin::{PluginLimits, PluginRuntime, StrategyInstance};
use plugin_api::{Fill, Ladder, SIDE_BUY, SIDE_SELL};

const STRATEGIES: &[(&str, &str)] = &[
    ("static-spread", "static_spread"),
    ("vol-scaled", "vol_scaled"),
    ("avellaneda-stoikov", "avellaneda_stoikov"),
    ("obi", "obi"),
];
const VIEWS: usize = 10_000;

fn params(name: &str) -> Vec<u8> {
    let path = common::repo_root()
        .join("config/strategies")
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pair(rt: &PluginRuntime, lib: &str, params: &[u8]) -> (StrategyInstance, StrategyInstance) {
    let wasm = rt
        .load(&common::wasm_plugin(lib))
        .unwrap()
        .instantiate(params)
        .unwrap();
    let native = rt
        .load(&common::native_plugin(lib))
        .unwrap()
        .instantiate(params)
        .unwrap();
    (wasm, native)
}

/// Quote both with the same input and require identical results; returns the ladder.
fn same(
    step: usize,
    name: &str,
    a: &mut StrategyInstance,
    b: &mut StrategyInstance,
    input: &plugin_api::QuoteInput,
) -> Ladder {
    let (mut la, mut lb) = (Ladder::default(), Ladder::default());
    let ra = a.quote(input, &mut la).map_err(|e| e.to_string());
    let rb = b.quote(input, &mut lb).map_err(|e| e.to_string());
    assert_eq!(
        ra.is_ok(),
        rb.is_ok(),
        "{name} step {step}: {ra:?} vs {rb:?}"
    );
    assert_eq!(la, lb, "{name} step {step}: ladders differ");
    la
}

#[test]
fn wasm_and_native_builds_quote_identically() {
    let rt = PluginRuntime::new(PluginLimits::default()).unwrap();
    for &(name, lib) in STRATEGIES {
        let params = params(name);
        let (mut wasm, mut native) = pair(&rt, lib, &params);
        let mut stream = common::ViewStream::new(42);
        let (mut quoted, mut pulled) = (0usize, 0usize);
        for step in 0..VIEWS {
            let input = stream.next_input();
            let ladder = same(step, name, &mut wasm, &mut native, &input);
            if ladder.is_pull() {
                pulled += 1;
            } else if !ladder.bids().is_empty() || !ladder.asks().is_empty() {
                quoted += 1;
            }
            if step % 50 == 49 {
                let side = if step % 100 == 49 {
                    SIDE_BUY
                } else {
                    SIDE_SELL
                };
                let price = input.view.mid().unwrap();
                let fill = Fill {
                    price,
                    size: 0.01,
                    ts_ms: input.view.ts_exchange_ms,
                    side,
                    reserved: 0,
                };
                wasm.on_fill(&fill).unwrap();
                native.on_fill(&fill).unwrap();
            }
        }
        assert!(
            quoted > VIEWS * 9 / 10,
            "{name}: only {quoted} of {VIEWS} views produced quotes ({pulled} pulls)"
        );
        assert_eq!(
            wasm.save_state().unwrap(),
            native.save_state().unwrap(),
            "{name}: saved state differs"
        );
    }
}

#[test]
fn state_saved_by_one_build_restores_into_the_other() {
    let rt = PluginRuntime::new(PluginLimits::default()).unwrap();
    for &(name, lib) in STRATEGIES {
        let params = params(name);
        let (mut wasm, mut native) = pair(&rt, lib, &params);
        let mut stream = common::ViewStream::new(9);
        for step in 0..500 {
            same(step, name, &mut wasm, &mut native, &stream.next_input());
        }
        // Hand the WASM instance's state to a fresh native instance and vice versa.
        let (mut fresh_wasm, mut fresh_native) = pair(&rt, lib, &params);
        fresh_native
            .restore_state(&wasm.save_state().unwrap())
            .unwrap();
        fresh_wasm
            .restore_state(&native.save_state().unwrap())
            .unwrap();
        for step in 500..1000 {
            let input = stream.next_input();
            let expected = same(step, name, &mut wasm, &mut native, &input);
            let got = same(step, name, &mut fresh_wasm, &mut fresh_native, &input);
            assert_eq!(
                expected, got,
                "{name} step {step}: restored instance quotes differently"
            );
        }
    }
}

#[test]
fn on_demand_memory_quotes_as_the_pool_does() {
    let pooled = PluginRuntime::new(PluginLimits::default()).unwrap();
    let on_demand = PluginRuntime::with_allocation(PluginLimits::default(), Allocation::OnDemand)
        .expect("on-demand engine");
    for &(name, lib) in STRATEGIES {
        let params = params(name);
        let path = common::wasm_plugin(lib);
        let mut a = pooled.load(&path).unwrap().instantiate(&params).unwrap();
        let mut b = on_demand.load(&path).unwrap().instantiate(&params).unwrap();
        let mut stream = common::ViewStream::new(7);
        let mut quoted = 0;
        for step in 0..1_000 {
            let ladder = same(step, name, &mut a, &mut b, &stream.next_input());
            quoted += usize::from(!ladder.bids().is_empty() || !ladder.asks().is_empty());
        }
        assert!(quoted > 900, "{name}: only {quoted} of 1000 views quoted");
        assert_eq!(a.save_state().unwrap(), b.save_state().unwrap(), "{name}");
    }
}

/// `quote_with` (the input written in place, in the instance's linear memory) quotes exactly
/// as `quote` (the input copied in), and reports the touch and mid of the view it wrote.
#[test]
fn in_place_input_quotes_as_the_copied_one() {
    let rt = PluginRuntime::new(PluginLimits::default()).unwrap();
    for &(name, lib) in STRATEGIES {
        let params = params(name);
        let module = rt.load(&common::wasm_plugin(lib)).unwrap();
        let (mut copied, mut in_place) = (
            module.instantiate(&params).unwrap(),
            module.instantiate(&params).unwrap(),
        );
        let mut stream = common::ViewStream::new(7);
        for step in 0..2_000 {
            let input = stream.next_input();
            let (mut la, mut lb) = (Ladder::default(), Ladder::default());
            let ra = copied.quote(&input, &mut la).map_err(|e| e.to_string());
            let rb = in_place
                .quote_with(|buf| *buf = input, &mut lb)
                .map_err(|e| e.to_string());
            assert_eq!(
                ra.is_ok(),
                rb.is_ok(),
                "{name} step {step}: {ra:?} vs {rb:?}"
            );
            assert_eq!(la, lb, "{name} step {step}: ladders differ");
            if let Ok(touch) = rb {
                assert_eq!(touch.best_bid, input.view.best_bid().map(|l| l.price));
                assert_eq!(touch.best_ask, input.view.best_ask().map(|l| l.price));
                let mid = input.view.mid().unwrap_or(f64::NAN);
                assert_eq!(touch.mid().to_bits(), mid.to_bits(), "{name} step {step}");
            }
        }
    }
}
