//! Containment: misbehaving modules produce errors naming the file and the reason, and a
//! healthy plugin keeps working in the same process.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use host::plugin::{PluginError, PluginLimits, PluginRuntime, StrategyModule};
use plugin_api::Ladder;

fn runtime() -> PluginRuntime {
    PluginRuntime::new(PluginLimits::default()).expect("runtime")
}

/// A healthy static-spread instance that must keep quoting after each failure.
struct Healthy {
    wasm: host::plugin::StrategyInstance,
    native: host::plugin::StrategyInstance,
    stream: common::ViewStream,
}

impl Healthy {
    fn new(rt: &PluginRuntime) -> Self {
        let params = br#"{"half_spread_bps": 5, "size": 0.01}"#;
        let wasm = rt
            .load(&common::wasm_plugin("static_spread"))
            .unwrap()
            .instantiate(params)
            .unwrap();
        let native = rt
            .load(&common::native_plugin("static_spread"))
            .unwrap()
            .instantiate(params)
            .unwrap();
        Self {
            wasm,
            native,
            stream: common::ViewStream::new(7),
        }
    }

    fn still_quotes(&mut self) {
        let input = self.stream.next_input();
        for inst in [&mut self.wasm, &mut self.native] {
            let mut out = Ladder::default();
            inst.quote(&input, &mut out)
                .expect("healthy plugin keeps quoting");
            assert_eq!(out.bids().len(), 1);
            assert_eq!(out.asks().len(), 1);
        }
    }
}

fn misbehave(rt: &PluginRuntime, wasm: bool) -> StrategyModule {
    let path = if wasm {
        common::wasm_plugin("misbehave")
    } else {
        common::native_plugin("misbehave")
    };
    rt.load(&path).expect("misbehave module loads")
}

fn quote_once(module: &StrategyModule, mode: &str) -> Result<(), PluginError> {
    let params = format!(r#"{{"mode": "{mode}", "after": 2}}"#);
    let mut inst = module.instantiate(params.as_bytes())?;
    let mut stream = common::ViewStream::new(1);
    let mut out = Ladder::default();
    for _ in 0..2 {
        inst.quote(&stream.next_input(), &mut out)
            .expect("well-behaved for the first calls");
    }
    let result = inst.quote(&stream.next_input(), &mut out);
    if let Err(e) = &result
        && e.disables_instance()
    {
        let again = inst.quote(&stream.next_input(), &mut out).unwrap_err();
        assert!(matches!(again, PluginError::Disabled { .. }), "{again}");
    }
    result
}

fn assert_names_file(e: &PluginError, file: &Path) {
    let text = e.to_string();
    assert!(
        text.contains(&file.display().to_string()),
        "error does not name {}: {text}",
        file.display()
    );
}

#[test]
fn misbehaving_wasm_strategy_is_contained() {
    let rt = runtime();
    let mut healthy = Healthy::new(&rt);
    let module = misbehave(&rt, true);

    let started = Instant::now();
    let e = quote_once(&module, "loop").unwrap_err();
    assert!(matches!(e, PluginError::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "endless loop stopped in {:?}",
        started.elapsed()
    );
    assert_names_file(&e, module.path());
    healthy.still_quotes();

    let e = quote_once(&module, "panic").unwrap_err();
    assert!(matches!(e, PluginError::Crashed { .. }), "{e}");
    assert!(
        e.to_string().contains("asked to panic in quote"),
        "panic message reported: {e}"
    );
    healthy.still_quotes();

    let e = quote_once(&module, "alloc").unwrap_err();
    assert!(
        matches!(e, PluginError::MemoryLimit { limit_bytes, .. } if limit_bytes == 64 << 20),
        "{e}"
    );
    healthy.still_quotes();

    for (mode, needle) in [
        ("nan", "price NaN"),
        ("negative", "size -1"),
        ("crossed", "crossed output"),
    ] {
        let e = quote_once(&module, mode).unwrap_err();
        assert!(
            matches!(e, PluginError::BadOutput { .. }) && e.to_string().contains(needle),
            "{mode}: {e}"
        );
        healthy.still_quotes();
    }

    let e = quote_once(&module, "error").unwrap_err();
    assert!(
        matches!(e, PluginError::Strategy { .. }) && e.to_string().contains("asked to fail"),
        "{e}"
    );

    let e = module
        .instantiate(br#"{"mode": "panic_create"}"#)
        .err()
        .expect("create fails");
    assert!(
        matches!(e, PluginError::Crashed { call: "create", .. })
            && e.to_string().contains("panic in create"),
        "{e}"
    );
    let e = module
        .instantiate(br#"{"mood": 1}"#)
        .err()
        .expect("bad params fail");
    assert!(
        matches!(e, PluginError::Strategy { call: "create", .. })
            && e.to_string().contains("unknown field"),
        "{e}"
    );

    // Another instance of the same module is unaffected by its siblings' failures.
    quote_once(&module, "ok").expect("healthy instance of the misbehave module");
    healthy.still_quotes();
}

#[test]
fn misbehaving_native_strategy_is_contained() {
    let rt = runtime();
    let mut healthy = Healthy::new(&rt);
    let module = misbehave(&rt, false);

    let e = quote_once(&module, "panic").unwrap_err();
    assert!(
        matches!(e, PluginError::Crashed { .. })
            && e.to_string().contains("asked to panic in quote"),
        "{e}"
    );
    assert_names_file(&e, module.path());
    healthy.still_quotes();

    for (mode, needle) in [
        ("nan", "price NaN"),
        ("negative", "size -1"),
        ("crossed", "crossed output"),
    ] {
        let e = quote_once(&module, mode).unwrap_err();
        assert!(
            matches!(e, PluginError::BadOutput { .. }) && e.to_string().contains(needle),
            "{mode}: {e}"
        );
        healthy.still_quotes();
    }
    let e = module
        .instantiate(br#"{"mode": "panic_create"}"#)
        .err()
        .expect("create fails");
    assert!(
        matches!(e, PluginError::Crashed { call: "create", .. }),
        "{e}"
    );
    quote_once(&module, "ok").expect("healthy instance of the misbehave module");
    healthy.still_quotes();
}

fn write_fixture(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn hand_written_bad_modules_are_reported() {
    let rt = runtime();
    let mut healthy = Healthy::new(&rt);
    let dir = tempfile::tempdir().unwrap();

    let ok = write_fixture(
        dir.path(),
        "ok.wat",
        common::wat_module(plugin_api::ABI_VERSION as i32, "i32.const 0", "", "").as_bytes(),
    );
    let mut inst = rt.load(&ok).unwrap().instantiate(b"{}").unwrap();
    let mut out = Ladder::default();
    inst.quote(&common::ViewStream::new(3).next_input(), &mut out)
        .expect("an empty ladder is valid");

    let wrong_abi = write_fixture(
        dir.path(),
        "wrong-abi.wat",
        common::wat_module(99, "i32.const 0", "", "").as_bytes(),
    );
    let e = rt.load(&wrong_abi).unwrap_err();
    assert!(
        matches!(
            e,
            PluginError::AbiMismatch {
                found: 99,
                expected: plugin_api::ABI_VERSION,
                ..
            }
        ),
        "{e}"
    );
    assert_names_file(&e, &wrong_abi);

    let looping = write_fixture(
        dir.path(),
        "loop.wat",
        common::wat_module(
            plugin_api::ABI_VERSION as i32,
            "(loop $l (br $l)) i32.const 0",
            "",
            "",
        )
        .as_bytes(),
    );
    let mut inst = rt.load(&looping).unwrap().instantiate(b"{}").unwrap();
    let e = inst
        .quote(&common::ViewStream::new(3).next_input(), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            PluginError::Timeout {
                deadline_us: 5000,
                ..
            }
        ),
        "{e}"
    );
    healthy.still_quotes();

    let trap = write_fixture(
        dir.path(),
        "trap.wat",
        common::wat_module(plugin_api::ABI_VERSION as i32, "unreachable", "", "").as_bytes(),
    );
    let mut inst = rt.load(&trap).unwrap().instantiate(b"{}").unwrap();
    let e = inst
        .quote(&common::ViewStream::new(3).next_input(), &mut out)
        .unwrap_err();
    assert!(
        matches!(e, PluginError::Crashed { call: "quote", .. })
            && e.to_string().contains("unreachable"),
        "{e}"
    );
    healthy.still_quotes();

    let missing = write_fixture(
        dir.path(),
        "missing.wat",
        common::wat_module(
            plugin_api::ABI_VERSION as i32,
            "i32.const 0",
            "quoter_quote",
            "",
        )
        .as_bytes(),
    );
    let e = rt.load(&missing).unwrap_err();
    assert!(
        e.to_string().contains("missing export `quoter_quote`"),
        "{e}"
    );

    let wasi = "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func (param i32 i32 i32 i32) (result i32)))\n";
    let importing = write_fixture(
        dir.path(),
        "wasi.wat",
        common::wat_module(plugin_api::ABI_VERSION as i32, "i32.const 0", "", wasi).as_bytes(),
    );
    let e = rt.load(&importing).unwrap_err();
    assert!(
        matches!(e, PluginError::BadInterface { .. }) && e.to_string().contains("may not import"),
        "{e}"
    );

    let garbage_wasm = write_fixture(dir.path(), "garbage.wasm", b"\0asm\x01\0\0\0garbage");
    let e = rt.load(&garbage_wasm).unwrap_err();
    assert!(matches!(e, PluginError::NotAModule { .. }), "{e}");
    assert_names_file(&e, &garbage_wasm);

    let garbage_so = write_fixture(dir.path(), "garbage.so", b"this is not an ELF file");
    let e = rt.load(&garbage_so).unwrap_err();
    assert!(matches!(e, PluginError::NotAModule { .. }), "{e}");
    assert_names_file(&e, &garbage_so);

    let e = rt.load(&dir.path().join("absent.wasm")).unwrap_err();
    assert!(matches!(e, PluginError::Io { .. }), "{e}");
    healthy.still_quotes();
}
