//! The binary prints one JSON line with the URLs when ready and exits on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn binary_prints_ready_line_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(line.starts_with("{\"rest\":\"http://127.0.0.1:"));
    for k in ["rest", "public_linear", "public_spot", "private", "trade"] {
        assert!(keys.contains(&k), "{k} in {line}");
    }
    assert!(v["trade"].as_str().unwrap().ends_with("/v5/trade"));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "clean exit: {st:?}");
            break;
        }
        assert!(Instant::now() < deadline, "sim exits after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
