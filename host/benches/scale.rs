//! Scale: the `host` binary quoting N linear symbols (static-spread WASM on every one) against
//! the `sim` binary publishing `orderbook.50` at 50 Hz per symbol, each in its own process.
//! Measures the host's CPU (% of one core, from `/proc/<pid>/stat` utime + stime) and resident
//! memory (`VmRSS`, `VmHWM` from `/proc/<pid>/status`) over a steady window, apart from the
//! sim's CPU; then the per-symbol memory slope between the symbol counts.
//!
//! Run: `cargo build --release -p host --bins && cargo build --release -p sim && \
//! scripts/build-wasm.sh && cargo bench -p host --bench scale`. Settings from the environment:
//! `SCALE_SYMBOLS` (default `50,500`), `SCALE_RATE_HZ` (50), `SCALE_WARMUP_S` (20: counted from
//! the host's "quoting" line), `SCALE_WINDOW_S` (30), `SCALE_SLICE_S` (10: the window is also
//! reported in slices this long, with the machine's steal time in each, since a virtual machine
//! whose CPUs are taken by its neighbours runs everything slower), `SCALE_KEEP=1` keeps the
//! logs' directory.
//!
//! The sim's query and per-IP limits are raised so that 500 sequential symbol set-ups are not
//! refused; its order limits stay Bybit's (10/s per endpoint), which the host's router also
//! assumes (it keeps 20% in reserve), so quoting many symbols is throttled by design.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `<target>/release`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn symbol(i: usize) -> String {
    format!("S{i:03}USDT")
}

fn sim_toml(n: usize, rate_hz: f64) -> String {
    let mut s = String::from(
        r#"seed = 7
ws_ack_delay_ms = 1

[[accounts]]
api_key = "simkey"
api_secret = "simsecret"
usdt = "100000000"

[limits]
order_per_s = 10
query_per_s = 100000
ip_per_5s = 10000000
max_open_orders_per_symbol = 500
"#,
    );
    for i in 0..n {
        let _ = write!(
            s,
            r#"
[[symbols]]
symbol = "{}"
category = "linear"
tick_size = "0.10"
qty_step = "0.001"
min_qty = "0.001"
max_qty = "1190"
min_notional = "5"
start_price = "{}"
book_depth = 60
publish_rate_hz = {rate_hz}
"#,
            symbol(i),
            1000 + 10 * i,
        );
    }
    s
}

fn host_toml(n: usize, urls: &serde_json::Value) -> String {
    let url = |k: &str| urls[k].as_str().expect("sim url").to_owned();
    let module = profile_dir()
        .parent()
        .unwrap()
        .join("plugins/static_spread.wasm");
    let params = root().join("config/strategies/static-spread.json");
    let mut s = format!(
        r#"environment = "custom"
instance_id = "sc1"

[endpoints]
rest = "{}"
public_linear = "{}"
public_spot = "{}"
private = "{}"
trade = "{}"

[credentials]
api_key_env = "QUOTER_SCALE_UNSET_KEY"
api_secret_env = "QUOTER_SCALE_UNSET_SECRET"
file = "creds"

[router]
transport = "rest"
requote_tolerance_ticks = 1
levels = 3
post_only = true
leftover_orders = "cancel"

[default_risk]
max_position = 0.5
max_notional = 500000.0
max_open_orders = 10
max_order_size = 0.1
stale_after_ms = 5000
"#,
        url("rest"),
        url("public_linear"),
        url("public_spot"),
        url("private"),
        url("trade"),
    );
    for i in 0..n {
        let _ = write!(
            s,
            "\n[[symbols]]\nsymbol = \"{}\"\ncategory = \"linear\"\nstrategy = {{ module = \"{}\", params_file = \"{}\" }}\n",
            symbol(i),
            module.display(),
            params.display()
        );
    }
    s
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        f.get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

/// A `kB` field of `/proc/<pid>/status`, in MiB.
fn status_mib(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Steal and total jiffies of the whole machine (first line of `/proc/stat`): time the
/// hypervisor gave our virtual CPUs to someone else shows up as steal.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    (
        f.get(7).copied().unwrap_or(0),
        f.iter().take(8).sum::<u64>().max(1),
    )
}

/// CPU of the host and the sim and the machine's steal over one slice of the window.
#[derive(Clone, Copy)]
struct Slice {
    host_pct: f64,
    sim_pct: f64,
    steal_pct: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn terminate(child: &mut Child, deadline: Duration) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let t = Instant::now();
    while t.elapsed() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Lines of the host's JSON log.
fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn message(v: &serde_json::Value) -> &str {
    v["fields"]["message"].as_str().unwrap_or("")
}

struct Figures {
    symbols: usize,
    host_cpu_pct: f64,
    host_cpu_median_slice: f64,
    steal_pct: f64,
    sim_cpu_pct: f64,
    rss_mib: f64,
    hwm_mib: f64,
    book_msgs_per_s: f64,
    open_orders: u64,
}

fn run(n: usize, rate_hz: f64, warmup: Duration, window: Duration, slice: Duration) -> Figures {
    let bin = profile_dir();
    let (sim_bin, host_bin) = (bin.join("sim"), bin.join("host"));
    for b in [&sim_bin, &host_bin] {
        assert!(
            b.exists(),
            "{} missing: cargo build --release -p host --bins && cargo build --release -p sim",
            b.display()
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_path = dir.path().to_owned();
    std::fs::write(dir_path.join("sim.toml"), sim_toml(n, rate_hz)).unwrap();
    std::fs::write(dir_path.join("creds"), "key=simkey\nsecret=simsecret\n").unwrap();

    let mut sim = Command::new(&sim_bin)
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(dir_path.join("sim.toml"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir_path.join("sim.log")).unwrap())
        .spawn()
        .expect("start sim");
    let mut line = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("sim urls");
    let urls: serde_json::Value = serde_json::from_str(&line).expect("sim urls JSON");
    std::fs::write(dir_path.join("host.toml"), host_toml(n, &urls)).unwrap();

    let log = dir_path.join("host.log");
    let started = Instant::now();
    let mut host = Command::new(&host_bin)
        .args(["--json", "run", "--config"])
        .arg(dir_path.join("host.toml"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start host");
    // Wait for the "quoting" line (every symbol set up), then the warm-up.
    loop {
        if log_lines(&log).iter().any(|v| message(v) == "quoting") {
            break;
        }
        if let Ok(Some(status)) = host.try_wait() {
            panic!("host exited ({status}); log in {}", log.display());
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "host not quoting after 600 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let setup_s = started.elapsed().as_secs_f64();
    std::thread::sleep(warmup);

    let tck = clock_ticks_per_s();
    let (host_pid, sim_pid) = (host.id(), sim.id());
    let (h0, s0, m0, t0) = (
        cpu_ticks(host_pid),
        cpu_ticks(sim_pid),
        machine_jiffies(),
        Instant::now(),
    );
    let mut rss_max: f64 = 0.0;
    let mut rss_sum = 0.0;
    let mut samples = 0;
    let mut slices = Vec::new();
    let mut at = (h0, s0, m0, t0);
    while t0.elapsed() < window {
        std::thread::sleep(Duration::from_secs(1));
        let rss = status_mib(host_pid, "VmRSS:");
        rss_max = rss_max.max(rss);
        rss_sum += rss;
        samples += 1;
        if at.3.elapsed() >= slice {
            let now = (
                cpu_ticks(host_pid),
                cpu_ticks(sim_pid),
                machine_jiffies(),
                Instant::now(),
            );
            let secs = (now.3 - at.3).as_secs_f64();
            slices.push(Slice {
                host_pct: (now.0 - at.0) as f64 / tck / secs * 100.0,
                sim_pct: (now.1 - at.1) as f64 / tck / secs * 100.0,
                steal_pct: (now.2.0 - at.2.0) as f64 / (now.2.1 - at.2.1).max(1) as f64 * 100.0,
            });
            at = now;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let host_cpu_pct = (cpu_ticks(host_pid) - h0) as f64 / tck / secs * 100.0;
    let sim_cpu_pct = (cpu_ticks(sim_pid) - s0) as f64 / tck / secs * 100.0;
    let m1 = machine_jiffies();
    let steal_pct = (m1.0 - m0.0) as f64 / (m1.1 - m0.1).max(1) as f64 * 100.0;
    let host_cpu_median_slice = median(slices.iter().map(|s| s.host_pct).collect());
    let hwm = status_mib(host_pid, "VmHWM:");
    let host_threads = threads(host_pid);

    // The last complete round of status lines: book messages per second and open orders.
    let lines = log_lines(&log);
    let status: Vec<&serde_json::Value> = lines.iter().filter(|v| message(v) == "status").collect();
    let last = &status[status.len().saturating_sub(n)..];
    let book_msgs_per_s: f64 = last
        .iter()
        .filter_map(|v| v["fields"]["book_msgs_per_s"].as_f64())
        .sum();
    let open_orders: u64 = last
        .iter()
        .filter_map(|v| v["fields"]["open_orders"].as_u64())
        .sum();
    let warnings = lines
        .iter()
        .filter(|v| v["level"].as_str() == Some("WARN"))
        .count();
    let rate_limited = lines
        .iter()
        .filter(|v| message(v).starts_with("rate limited"))
        .count();
    // The host's own tick-to-order clock: one line per status interval.
    let t2o: Vec<(f64, f64, f64)> = lines
        .iter()
        .filter(|v| message(v).starts_with("tick to order"))
        .filter_map(|v| {
            let f = &v["fields"];
            Some((
                f["plans"].as_f64()?,
                f["p50_us"].as_f64()?,
                f["p99_us"].as_f64()?,
            ))
        })
        .collect();

    terminate(&mut host, Duration::from_secs(60));
    terminate(&mut sim, Duration::from_secs(10));
    let rss_mean = rss_sum / samples.max(1) as f64;
    println!(
        "{n} symbols at {rate_hz} Hz: set-up {setup_s:.1} s, window {secs:.0} s after {:.0} s warm-up",
        warmup.as_secs_f64()
    );
    println!(
        "  host: CPU {host_cpu_pct:.1}% of one core, RSS mean {rss_mean:.1} MiB (max {rss_max:.1}, high-water {hwm:.1}), {host_threads} threads"
    );
    println!("  sim:  CPU {sim_cpu_pct:.1}% of one core");
    println!(
        "  machine steal {steal_pct:.1}% (CPU time the hypervisor gave to others; slows both sides)"
    );
    let mut by_slice = String::new();
    for s in &slices {
        let _ = write!(
            by_slice,
            " {:.1}/{:.1}/{:.1}",
            s.host_pct, s.sim_pct, s.steal_pct
        );
    }
    println!(
        "  {} s slices, host/sim/steal %:{by_slice}; host median {host_cpu_median_slice:.1}%",
        slice.as_secs()
    );
    println!(
        "  last status round: {book_msgs_per_s:.0} book msgs/s (expected {:.0}), {open_orders} open orders; {warnings} warnings, {rate_limited} rate-limited answers in the log",
        n as f64 * rate_hz
    );
    if !t2o.is_empty() {
        let plans: f64 = t2o.iter().map(|t| t.0).sum();
        let p50s = median(t2o.iter().map(|t| t.1).collect());
        let p99s = median(t2o.iter().map(|t| t.2).collect());
        println!(
            "  host's tick to order (book frame read -> request ready), {} status lines, {plans:.0} plans: median of p50 {p50s:.1} µs, median of p99 {p99s:.1} µs",
            t2o.len()
        );
    }
    if std::env::var_os("SCALE_KEEP").is_some() {
        let kept = dir.keep();
        println!("  logs kept in {}", kept.display());
    }
    Figures {
        symbols: n,
        host_cpu_pct,
        host_cpu_median_slice,
        steal_pct,
        sim_cpu_pct,
        rss_mib: rss_mean,
        hwm_mib: hwm,
        book_msgs_per_s,
        open_orders,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let counts: Vec<usize> = std::env::var("SCALE_SYMBOLS")
        .unwrap_or_else(|_| "50,500".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rate_hz: f64 = env_or("SCALE_RATE_HZ", 50.0);
    let warmup = Duration::from_secs(env_or("SCALE_WARMUP_S", 20));
    let window = Duration::from_secs(env_or("SCALE_WINDOW_S", 30));
    let slice = Duration::from_secs(env_or("SCALE_SLICE_S", 10).max(1));
    let figures: Vec<Figures> = counts
        .iter()
        .map(|&n| run(n, rate_hz, warmup, window, slice))
        .collect();
    println!("summary (host CPU target < 25% of one core, RSS < 256 MiB):");
    for f in &figures {
        println!(
            "  {:>4} symbols: host CPU {:.1}% (median slice {:.1}%, steal {:.1}%), RSS {:.1} MiB (high-water {:.1}), sim CPU {:.1}%, {:.0} book msgs/s, {} open orders",
            f.symbols,
            f.host_cpu_pct,
            f.host_cpu_median_slice,
            f.steal_pct,
            f.rss_mib,
            f.hwm_mib,
            f.sim_cpu_pct,
            f.book_msgs_per_s,
            f.open_orders
        );
    }
    if let [a, .., b] = &figures[..]
        && b.symbols > a.symbols
    {
        let per_symbol_kib = (b.rss_mib - a.rss_mib) * 1024.0 / (b.symbols - a.symbols) as f64;
        let base = a.rss_mib - per_symbol_kib * a.symbols as f64 / 1024.0;
        println!(
            "  RSS slope {per_symbol_kib:.0} KiB per symbol (target ≤ 128), fixed base {base:.1} MiB"
        );
    }
}
