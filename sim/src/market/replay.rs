//! Reads a file of recorded Bybit public WS messages (JSON lines, exactly the text Bybit
//! sent) and feeds it to the engine at the recorded pace (by `ts`) or as fast as possible.

use crate::state::Shared;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Spawn the replay thread of market `mi`.
pub fn spawn(
    shared: Arc<Shared>,
    mi: usize,
    path: PathBuf,
    speed: f64,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let file = std::fs::File::open(&path)?;
    std::thread::Builder::new()
        .name(format!("sim-replay-{mi}"))
        .spawn(move || {
            let start = Instant::now();
            let mut ts0: Option<i64> = None;
            for line in std::io::BufReader::new(file).lines() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(line) = line else { return };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    tracing::warn!(path = %path.display(), "replay: skipping a line that is not JSON");
                    continue;
                };
                if speed > 0.0
                    && let Some(ts) = v.get("ts").and_then(serde_json::Value::as_i64)
                {
                    let base = *ts0.get_or_insert(ts);
                    let due = Duration::from_secs_f64(((ts - base).max(0) as f64 / 1000.0) / speed);
                    while start.elapsed() < due {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep((due - start.elapsed()).min(Duration::from_millis(50)));
                    }
                }
                shared.engine().apply_replay(mi, &v, &line);
            }
        })
}
