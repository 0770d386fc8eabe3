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

/// `host check-config` against a running host (over its control socket), `--against` a file,
/// and `host ctl` status.
#[test]
fn check_config_diffs_against_the_running_host() {
    use std::io::BufRead;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let root = common::repo_root();
    let paper = std::fs::read_to_string(root.join("config/paper.toml")).unwrap();
    let text = paper
        .replace("\"../target/", &format!("\"{}/target/", root.display()))
        .replace(
            "\"strategies/",
            &format!("\"{}/config/strategies/", root.display()),
        )
        .replace(
            "instance_id = \"q1\"",
            "instance_id = \"cc1\"\ncontrol_socket = \"ctl.sock\"",
        );
    let running = dir.path().join("running.toml");
    std::fs::write(&running, &text).unwrap();
    let edited = dir.path().join("edited.toml");
    std::fs::write(
        &edited,
        text.replace("max_position = 0.05", "max_position = 0.04"),
    )
    .unwrap();

    // Against a file: no host needed.
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["check-config"])
        .arg(&edited)
        .arg("--against")
        .arg(&running)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("BTCUSDT: risk"), "{stdout}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["run", "--config"])
        .arg(&running)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("host starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = Vec::new();
    let listening = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let done = line.contains("control socket listening");
                log.push(line);
                if done {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let (ok, diff) = check(&edited);
    let status = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["ctl", "--config"])
        .arg(&running)
        .arg("status")
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().expect("host exits");
    reader.join().unwrap();
    log.extend(rx.try_iter());
    assert!(listening, "no control socket:\n{}", log.join("\n"));
    assert!(ok, "{diff}");
    assert!(diff.contains("against the running host"), "{diff}");
    assert!(diff.contains("BTCUSDT: risk"), "{diff}");
    let status = String::from_utf8_lossy(&status.stdout);
    let reply: serde_json::Value = serde_json::from_str(&status).expect("JSON status");
    assert_eq!(
        reply["symbols"].as_array().map(Vec::len),
        Some(3),
        "{status}"
    );
    // Each row carries the symbol's count of clocked tick-to-order plans.
    assert!(
        reply["symbols"]
            .as_array()
            .is_some_and(|rows| rows.iter().all(|r| r["ticks_to_order"].is_u64())),
        "{status}"
    );
    assert!(exit.success(), "{}", log.join("\n"));
}
