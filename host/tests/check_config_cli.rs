//! `host check-config`: the bundled paper config is valid (once its modules are built), and a
//! broken one is refused with every problem named.

mod common;

use std::process::Command;

fn check(file: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .arg("check-config")
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn bundled_paper_config_is_valid() {
    common::wasm_plugin("avellaneda_stoikov");
    common::native_plugin("vol_scaled");
    let (ok, text) = check(&common::repo_root().join("config/paper.toml"));
    assert!(ok, "{text}");
    assert!(
        text.contains("3 symbol(s): BTCUSDT, ETHUSDT, SOLUSDT"),
        "{text}"
    );
}

#[test]
fn broken_config_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "instance_id = \"\"\n[[symbols]]\nsymbol = \"BTC/USDT\"\nstrategy = { module = \"nope.wasm\" }\nrisk = { max_position = 0.0 }\n",
    )
    .unwrap();
    let (ok, text) = check(&file);
    assert!(!ok);
    for needle in [
        "instance_id",
        "symbols[0].symbol",
        "symbols[0].strategy.module",
        "symbols[0].risk.max_position",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
