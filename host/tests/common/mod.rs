//! Shared helpers of the host's plugin tests: where the built modules are, and market views.
#![allow(dead_code)]

pub mod harness;

use std::path::PathBuf;

use plugin_api::{Inventory, Level, MarketView, QuoteInput, SIDE_BUY, SIDE_SELL, Trade};

/// `target/<profile>`: the directory holding this test binary's `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// The native build of plugin crate `lib_name` (e.g. `static_spread`). Panics with the build
/// command when it is missing: these tests must not pass without the module.
pub fn native_plugin(lib_name: &str) -> PathBuf {
    let path = profile_dir().join(format!("lib{lib_name}.so"));
    assert!(
        path.exists(),
        "{} is missing: build the plugins first (`cargo build --release -p <crate>`; scripts/test.sh does it)",
        path.display()
    );
    path
}

/// The WASM build of plugin crate `lib_name`, from `target/plugins/`.
pub fn wasm_plugin(lib_name: &str) -> PathBuf {
    let dir = std::env::var_os("QUOTER_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile_dir().parent().expect("target/").join("plugins"));
    let path = dir.join(format!("{lib_name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-wasm.sh first",
        path.display()
    );
    path
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// A small deterministic generator (xorshift64*), so tests need no RNG crate.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// Next `u64`.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A stream of realistic inputs: a random-walk mid on a 0.1 tick, 20 levels per side with
/// random sizes, occasional trades, a drifting position within ±`max_position`, 100 ms apart.
pub struct ViewStream {
    rng: Rng,
    mid_ticks: i64,
    ts_ms: i64,
    position: f64,
}

impl ViewStream {
    /// Stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            mid_ticks: 1_000_000,
            ts_ms: 1_700_000_000_000,
            position: 0.0,
        }
    }

    /// The next input.
    pub fn next_input(&mut self) -> QuoteInput {
        let tick = 0.1;
        let step = (self.rng.next_u64() % 7) as i64 - 3;
        self.mid_ticks += step;
        self.ts_ms += 100;
        let spread_ticks = 1 + (self.rng.next_u64() % 4) as i64;
        let best_bid = self.mid_ticks - spread_ticks / 2 - 1;
        let best_ask = best_bid + spread_ticks;
        let mut bids = [Level::default(); 20];
        let mut asks = [Level::default(); 20];
        for i in 0..20 {
            bids[i] = Level::new(
                (best_bid - i as i64) as f64 * tick,
                0.001 * (1 + self.rng.next_u64() % 5000) as f64,
            );
            asks[i] = Level::new(
                (best_ask + i as i64) as f64 * tick,
                0.001 * (1 + self.rng.next_u64() % 5000) as f64,
            );
        }
        let mut view = MarketView::new("BTCUSDT");
        view.ts_exchange_ms = self.ts_ms;
        view.ts_local_ms = self.ts_ms + 3;
        view.set_bids(&bids);
        view.set_asks(&asks);
        view.tick_size = tick;
        view.lot_size = 0.001;
        view.mark_price = self.mid_ticks as f64 * tick;
        if self.rng.unit() < 0.3 {
            let buy = self.rng.unit() < 0.5;
            let price = if buy { asks[0].price } else { bids[0].price };
            view.last_trade = Trade {
                price,
                size: 0.01,
                side: if buy { SIDE_BUY } else { SIDE_SELL },
                reserved: 0,
            };
        }
        self.position = (self.position + (self.rng.unit() - 0.5) * 0.2).clamp(-1.5, 1.5);
        let inventory = Inventory {
            position: (self.position * 1000.0).round() / 1000.0,
            avg_entry_price: view.mark_price,
            realised_pnl: 0.0,
            unrealised_pnl: 0.0,
            max_position: 2.0,
            ..Default::default()
        };
        QuoteInput { view, inventory }
    }
}

/// `POST /sim/fault` with `body` (see sim/README.md: `delay_ms`, `close_ws`, `fail_next`, ...).
pub async fn sim_fault(sim: &sim::SimHandle, body: serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/sim/fault", sim.rest_url()))
        .body(body.to_string())
        .send()
        .await
        .expect("POST /sim/fault");
    assert!(
        resp.status().is_success(),
        "fault {body}: {}",
        resp.status()
    );
}

/// The `environment = "custom"` venue part of a `host run` config pointing at `sim`, with the
/// sim's default account (`simkey` / `simsecret`) in a credentials file written into `dir`.
/// It ends inside `[credentials]`: put other top-level keys before it.
pub fn sim_venue_toml(dir: &std::path::Path, sim: &sim::SimHandle) -> String {
    std::fs::write(dir.join("creds"), "key=simkey\nsecret=simsecret\n").expect("creds file");
    format!(
        r#"
environment = "custom"

[endpoints]
rest = "{rest}"
public_linear = "{public_linear}"
public_spot = "{public_spot}"
private = "{private}"
trade = "{trade}"

[credentials]
api_key_env = "QUOTER_TEST_UNSET_KEY"
api_secret_env = "QUOTER_TEST_UNSET_SECRET"
file = "creds"
"#,
        rest = sim.rest_url(),
        public_linear = sim.public_linear_url(),
        public_spot = sim.public_spot_url(),
        private = sim.private_url(),
        trade = sim.trade_url(),
    )
}

/// Most order units any one order path of the sim's record received within one rolling
/// second (batch items count one each), and that path.
pub fn busiest_second(records: &[sim::RequestRecord]) -> (u32, String) {
    let mut by_path: std::collections::BTreeMap<String, Vec<(i64, u32)>> = Default::default();
    for r in records {
        let path = match r.method.as_str() {
            // The trade WebSocket records its op; it shares the REST path's budget.
            "WS" => format!("/v5/{}", r.path.replace('.', "/")),
            "POST" if r.path.starts_with("/v5/order/") => r.path.clone(),
            _ => continue,
        };
        let units = serde_json::from_str::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| {
                let body = v.get("args").and_then(|a| a.get(0)).cloned().unwrap_or(v);
                body.get("request")
                    .and_then(|x| x.as_array())
                    .map(|a| a.len() as u32)
            })
            .unwrap_or(1);
        by_path.entry(path).or_default().push((r.time_ms, units));
    }
    let mut best = (0, String::new());
    for (path, mut v) in by_path {
        v.sort_unstable();
        for (i, &(start, _)) in v.iter().enumerate() {
            let units: u32 = v[i..]
                .iter()
                .take_while(|(t, _)| *t < start + 1_000)
                .map(|(_, u)| u)
                .sum();
            if units > best.0 {
                best = (units, path.clone());
            }
        }
    }
    best
}

/// A hand-written module with every export; `abi` is what `quoter_abi_version` returns and
/// `quote` is the body of `quoter_quote`; `skip` names an export to leave out.
pub fn wat_module(abi: i32, quote: &str, skip: &str, extra: &str) -> String {
    let exports = [
        (
            "quoter_abi_version",
            "(result i32)",
            format!("i32.const {abi}"),
        ),
        (
            "quoter_alloc",
            "(param i32) (result i32)",
            "i32.const 4096".into(),
        ),
        (
            "quoter_scratch_ptr",
            "(result i32)",
            "i32.const 4096".into(),
        ),
        (
            "quoter_create",
            "(param i32) (result i32)",
            "i32.const 0".into(),
        ),
        (
            "quoter_update",
            "(param i32) (result i32)",
            "i32.const 0".into(),
        ),
        ("quoter_input_ptr", "(result i32)", "i32.const 8192".into()),
        (
            "quoter_output_ptr",
            "(result i32)",
            "i32.const 16384".into(),
        ),
        ("quoter_fill_ptr", "(result i32)", "i32.const 20480".into()),
        ("quoter_error_ptr", "(result i32)", "i32.const 24576".into()),
        ("quoter_quote", "(result i32)", quote.into()),
        ("quoter_on_fill", "(result i32)", "i32.const 0".into()),
        ("quoter_save_state", "(result i32)", "i32.const 0".into()),
        (
            "quoter_restore_state",
            "(param i32) (result i32)",
            "i32.const 0".into(),
        ),
    ];
    let funcs: String = exports
        .iter()
        .filter(|(name, _, _)| *name != skip)
        .map(|(name, sig, body)| format!("  (func (export \"{name}\") {sig} {body})\n"))
        .collect();
    format!("(module\n{extra}  (memory (export \"memory\") 1)\n{funcs})\n")
}
