//! `host quote` end to end: the binary talks JSON lines with a real plugin, one flushed reply
//! per line, and keeps reading after bad lines.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

const MARKET: &str = r#"{"symbol":"BTCUSDT","ts_ms":0,"bids":[[99.9,5],[99.8,3],[99.7,2]],"asks":[[100.1,1],[100.2,4],[100.3,6]],"last_trade":{"price":100.1,"size":0.5,"side":"Buy"},"tick_size":0.01,"lot_size":0.001,"mark_price":null,"position":0,"avg_entry_price":0,"realised_pnl":0,"unrealised_pnl":0,"max_position":10}"#;

#[test]
fn quote_tool_answers_each_line_interactively() {
    for plugin in [
        common::wasm_plugin("static_spread"),
        common::native_plugin("static_spread"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let params = dir.path().join("params.json");
        std::fs::write(
            &params,
            r#"{"half_spread_bps": 20, "min_spread_ticks": 0, "size": 1}"#,
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
            .args(["quote", "--plugin"])
            .arg(&plugin)
            .arg("--params")
            .arg(&params)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // Interactive: each reply arrives before the next line is written.
        let mut ask = |line: &str| -> Value {
            writeln!(stdin, "{line}").unwrap();
            stdin.flush().unwrap();
            let mut reply = String::new();
            stdout.read_line(&mut reply).unwrap();
            serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?}: {e}"))
        };
        let ladder = ask(MARKET);
        let bid = ladder["bids"][0][0].as_f64().unwrap();
        let ask_px = ladder["asks"][0][0].as_f64().unwrap();
        assert!(
            (bid - 99.8).abs() < 1e-9 && (ask_px - 100.2).abs() < 1e-9,
            "{ladder}"
        );
        assert_eq!(ladder["bids"][0][1].as_f64(), Some(1.0));

        assert_eq!(
            ask(r#"{"params":{"half_spread_bps": 50, "min_spread_ticks": 0, "size": 1}}"#),
            serde_json::json!({"ok": true})
        );
        let ladder = ask(MARKET);
        assert!(
            (ladder["bids"][0][0].as_f64().unwrap() - 99.5).abs() < 1e-9,
            "new parameters in effect: {ladder}"
        );

        let err = ask(r#"{"params":{"levels": 0}}"#);
        assert!(
            err["error"]
                .as_str()
                .unwrap()
                .contains("levels must be between 1 and 10"),
            "{err}"
        );
        let ladder = ask(MARKET);
        assert!(
            (ladder["bids"][0][0].as_f64().unwrap() - 99.5).abs() < 1e-9,
            "rejected update keeps the old parameters"
        );

        assert_eq!(
            ask(r#"{"fill":{"side":"Buy","price":99.5,"size":1,"ts_ms":5}}"#),
            serde_json::json!({"ok": true})
        );
        assert!(ask("{not json").get("error").is_some());
        let err = ask(r#"{"symbol":"BTCUSDT"}"#);
        assert!(
            err["error"].as_str().unwrap().contains("bad market line"),
            "{err}"
        );
        let err = ask(r#"{"fill":{"side":"Up","price":1,"size":1}}"#);
        assert!(err["error"].as_str().unwrap().contains("bad fill"), "{err}");
        let pull = ask(
            r#"{"symbol":"BTCUSDT","ts_ms":1,"bids":[],"asks":[[100.1,1]],"tick_size":0.01,"lot_size":0.001,"max_position":10}"#,
        );
        assert!(pull["pull"].is_string(), "{pull}");
        assert!(
            ask(MARKET)["bids"].is_array(),
            "still answering after errors"
        );

        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

#[test]
fn quote_tool_reports_a_bad_plugin_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("broken.wasm");
    std::fs::write(&plugin, b"not wasm at all").unwrap();
    let params = dir.path().join("params.json");
    std::fs::write(&params, "{}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["quote", "--plugin"])
        .arg(&plugin)
        .arg("--params")
        .arg(&params)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.wasm") && stderr.contains("not a strategy module"),
        "{stderr}"
    );
}
