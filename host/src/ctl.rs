//! The operator's control socket: a Unix socket per host instance answering one JSON line per
//! request line.
//!
//! Requests: `{"cmd":"status"}` (every symbol's snapshot), `{"cmd":"reload"}` (same as
//! `SIGHUP`), `{"cmd":"config"}` (the text of the configuration in effect, for `host
//! check-config` to diff against), `{"cmd":"kill","action":"halt","symbol":"BTCUSDT"}` (raise a
//! kill switch by hand; without `symbol`, on the account) and `{"cmd":"clear-kill"}` (clear
//! one symbol's, or without `symbol` every, kill switch). Replies carry `"ok": true` or `"ok": false` with an
//! `"error"`. The socket lives in the temporary directory as `quoter-<instance_id>.sock`
//! unless the configuration names another path.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::{info, warn};

use crate::config::Config;
use crate::reload::ReloadTrigger;
use crate::runtime::Control;

/// The socket path of a host running `config` (relative paths against `base_dir`).
pub fn socket_path(config: &Config, base_dir: &Path) -> PathBuf {
    match &config.control_socket {
        Some(p) => crate::config::resolve(base_dir, p),
        None => std::env::temp_dir().join(format!("quoter-{}.sock", config.instance_id)),
    }
}

/// The configuration text in effect, shared between the reload task and the socket.
#[derive(Clone, Debug, Default)]
pub struct AppliedConfig(Arc<Mutex<String>>);

impl AppliedConfig {
    /// Record the text now in effect.
    pub fn set(&self, text: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }

    /// The text now in effect.
    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serve the socket at `path` until the task is aborted. A live host already answering there
/// is left alone (this one then has no socket); a stale file is replaced.
pub async fn serve(
    path: PathBuf,
    control: Control,
    reload: ReloadTrigger,
    applied: AppliedConfig,
) -> std::io::Result<()> {
    if path.exists() {
        if UnixStream::connect(&path).await.is_ok() {
            warn!(socket = %path.display(), "another host answers on this control socket; this one has none");
            return Ok(());
        }
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    info!(socket = %path.display(), "control socket listening");
    let _cleanup = RemoveOnDrop(path);
    loop {
        let (stream, _) = listener.accept().await?;
        let (control, reload, applied) = (control.clone(), reload.clone(), applied.clone());
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = answer(&line, &control, &reload, &applied).await;
                let mut text = reply.to_string();
                text.push('\n');
                if write.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn answer(
    line: &str,
    control: &Control,
    reload: &ReloadTrigger,
    applied: &AppliedConfig,
) -> Value {
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"ok": false, "error": format!("not JSON: {e}")}),
    };
    match req.get("cmd").and_then(Value::as_str) {
        Some("status") => match control.snapshot().await {
            Some(symbols) => {
                let rows: Vec<Value> = symbols
                    .iter()
                    .map(|s| {
                        json!({
                            "symbol": s.symbol,
                            "open_orders": s.open_orders.len(),
                            "position": s.position.to_string(),
                            "module": s.module,
                            "generation": s.generation,
                            "disabled": s.disabled,
                            "book_msgs": s.book_msgs,
                            "ticks_to_order": s.ticks_to_order,
                            "resyncs": s.resyncs,
                            "retiring": s.retiring,
                            "kill": s.kill,
                            "kill_trigger": s.kill_trigger,
                            "account_kill": s.account_kill,
                            "clamps": s.clamps,
                            "clamped": s.clamped,
                            "protect": s.protect,
                            "account_equity": s.account_equity.map(|e| e.to_string()),
                        })
                    })
                    .collect();
                json!({"ok": true, "symbols": rows})
            }
            None => json!({"ok": false, "error": "the loop is not running"}),
        },
        Some("reload") => {
            reload.fire();
            json!({"ok": true})
        }
        Some("config") => json!({"ok": true, "text": applied.get()}),
        Some("clear-kill") => {
            let symbol = req.get("symbol").and_then(Value::as_str).map(str::to_owned);
            if control.clear_kill(symbol).await {
                json!({"ok": true})
            } else {
                json!({"ok": false, "error": "the loop is not running"})
            }
        }
        Some("kill") => {
            let symbol = req.get("symbol").and_then(Value::as_str).map(str::to_owned);
            let action = req.get("action").cloned().unwrap_or(Value::Null);
            match serde_json::from_value::<crate::config::KillAction>(action) {
                Ok(action) if control.kill(symbol, action).await => json!({"ok": true}),
                Ok(_) => json!({"ok": false, "error": "the loop is not running"}),
                Err(e) => json!({"ok": false, "error": format!("action: {e}")}),
            }
        }
        Some(other) => {
            json!({"ok": false, "error": format!("unknown cmd {other:?}; use status, reload, config, kill or clear-kill")})
        }
        None => json!({"ok": false, "error": "missing \"cmd\""}),
    }
}

/// Send one request to the host at `path` and return its reply.
pub async fn request(path: &Path, req: &Value) -> Result<Value, String> {
    let talk = async {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|e| format!("no host answers on {}: {e}", path.display()))?;
        let (read, mut write) = stream.into_split();
        let mut text = req.to_string();
        text.push('\n');
        write
            .write_all(text.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let line = BufReader::new(read)
            .lines()
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the host closed the socket")?;
        serde_json::from_str(&line).map_err(|e| format!("bad reply: {e}"))
    };
    tokio::time::timeout(Duration::from_secs(5), talk)
        .await
        .map_err(|_| format!("{}: no reply within 5 s", path.display()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_config_reload_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let applied = AppliedConfig::default();
        applied.set("instance_id = \"x\"".into());
        let reload = ReloadTrigger::default();
        let server = tokio::spawn(serve(
            path.clone(),
            Control::default(),
            reload.clone(),
            applied,
        ));
        let mut reply = Err(String::new());
        for _ in 0..100 {
            reply = request(&path, &json!({"cmd": "config"})).await;
            if reply.is_ok() {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(reply.unwrap()["text"], "instance_id = \"x\"");
        let r = request(&path, &json!({"cmd": "status"})).await.unwrap();
        assert_eq!(r["ok"], false, "no loop attached: {r}");
        let r = request(&path, &json!({"cmd": "dance"})).await.unwrap();
        assert!(r["error"].as_str().unwrap().contains("unknown cmd"), "{r}");
        let r = request(&path, &json!({"cmd": "reload"})).await.unwrap();
        assert_eq!(r["ok"], true);
        tokio::time::timeout(Duration::from_secs(1), reload.fired())
            .await
            .expect("the reload trigger fired");
        server.abort();
    }
}
