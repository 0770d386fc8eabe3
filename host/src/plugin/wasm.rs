//! WASM strategy modules on wasmtime.
//!
//! Modules are compiled once (off the hot path) into a [`WasmModule`] holding an `InstancePre`,
//! so creating an instance per symbol only allocates its store and memory. Each instance has
//! its own store with a memory cap (a [`ResourceLimiter`] that remembers when it refused).
//!
//! Deadlines count the calling thread's CPU time, not wall time, so a call that was merely
//! preempted (two cores, many tasks) is never mistaken for a runaway. A background thread bumps
//! the engine's epoch every [`EPOCH_TICK`]; each call sets a one-tick epoch deadline, which costs
//! nothing unless the call spans a tick. When it does, the epoch callback samples the thread's
//! CPU clock: the first time it records the start, later it interrupts the call once the CPU
//! time spent exceeds the deadline (so the deadline is enforced to within one tick).
//!
//! No imports are provided: a module that imports anything (WASI included) is refused.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytemuck::Pod;
use plugin_api::{
    ABI_VERSION, ErrorBuf, Fill, Ladder, QuoteInput, UpdateOutcome, status, wasm_exports as ex,
};

use super::validate::Touch;
use wasmtime::{
    Config, Engine, ExternType, Instance, InstanceAllocationStrategy, InstancePre, Linker, Memory,
    Module, PoolingAllocationConfig, ResourceLimiter, Store, Trap, TypedFunc, UpdateDeadline,
    ValType,
};

use super::PluginLimits;
use super::error::PluginError;

/// How often the epoch advances: as long as the default call deadline (5 ms), so a runaway
/// call is stopped after 5–10 ms of CPU, while the ticker thread wakes only 200 times a second
/// (each wake-up of a thread costs the process CPU, and more on a virtual machine).
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// WASM instances that can exist at once in the process (the pool's size).
pub const MAX_WASM_INSTANCES: u32 = 1024;

/// Largest linear memory a pool slot can hold; the per-instance cap
/// ([`PluginLimits::memory_bytes`]) is enforced below it by the store's limiter.
pub const POOL_MEMORY_BYTES: usize = 1 << 30;

/// Deadline of the calls off the hot path (create, update, save and restore state).
pub const SLOW_CALL_DEADLINE: Duration = Duration::from_millis(100);

/// Where WASM instances get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// A pool of [`MAX_WASM_INSTANCES`] slots reserved up front (virtual memory only, about
    /// 4 TiB of address space), reused with their pages reset: instantiation is cheap.
    Pooled,
    /// Each instance maps its memory when it is created (slower instantiation; for hosts that
    /// cannot reserve the pool).
    OnDemand,
}

/// A wasmtime engine with epoch interruption and its ticker thread.
#[derive(Clone)]
pub struct WasmEngine {
    engine: Engine,
}

impl WasmEngine {
    /// The process-wide engine (one instance pool, one epoch ticker), created on first use.
    pub fn shared() -> Result<Self, String> {
        static ENGINE: OnceLock<Result<WasmEngine, String>> = OnceLock::new();
        ENGINE
            .get_or_init(|| Self::new().map_err(|e| format!("{e:#}")))
            .clone()
    }

    /// Create an engine and start its epoch ticker (which stops when the engine is dropped).
    ///
    /// Instances come from a pooling allocator ([`Allocation::Pooled`]). Where the pool's
    /// address space cannot be reserved (a capped `ulimit -v`, valgrind), the engine says so in
    /// a warning and allocates each instance's memory on demand instead.
    pub fn new() -> Result<Self, wasmtime::Error> {
        Self::with_allocation(Allocation::Pooled).or_else(|e| {
            tracing::warn!(
                error = %format!("{e:#}"),
                "cannot reserve the WASM instance pool; instances map their memory on demand"
            );
            Self::with_allocation(Allocation::OnDemand)
        })
    }

    /// Create an engine whose instances get their memory as `allocation` says.
    pub fn with_allocation(allocation: Allocation) -> Result<Self, wasmtime::Error> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Modules arrive optimised by LLVM, but Cranelift's own optimisations still pay on the
        // hot path: ≈210 fewer instructions per avellaneda-stoikov quote call (2,299 → 2,087
        // under callgrind with a 4 GiB reservation, as pool slots have: no bounds checks), for
        // about half again the compile time (≈119 ms single-threaded for that module), spent off
        // the hot path (load, hot reload); `parallel-compilation` spreads it over the cores
        // (≈50 ms wall on two).
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        // Traps are reported by kind, not by wasm offset: skip the address map (faster compiles).
        config.generate_address_map(false);
        match allocation {
            Allocation::Pooled => {
                let mut pool = PoolingAllocationConfig::default();
                pool.total_core_instances(MAX_WASM_INSTANCES)
                    .total_memories(MAX_WASM_INSTANCES)
                    .total_tables(MAX_WASM_INSTANCES)
                    .max_memory_size(POOL_MEMORY_BYTES)
                    .linear_memory_keep_resident(1 << 20);
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            }
            // Each memory reserves the largest size a pool slot holds, so it can grow in place
            // up to the same cap.
            Allocation::OnDemand => {
                config.memory_reservation(POOL_MEMORY_BYTES as u64);
            }
        }
        // Pool slots (and on-demand reservations) are fixed, so memories never move; saying so
        // lets compiled code treat the base as invariant and lets the host keep the base
        // address per instance (see `GuestPtr`).
        config.memory_may_move(false);
        let engine = Engine::new(&config)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(wasmtime::Error::from)?;
        Ok(Self { engine })
    }

    /// Compile `bytes` (binary or text format) and check its interface.
    pub fn compile(&self, path: &Path, bytes: &[u8]) -> Result<WasmModule, PluginError> {
        let module = Module::new(&self.engine, bytes).map_err(|e| PluginError::NotAModule {
            path: path.to_owned(),
            reason: format!("invalid WASM: {e:#}"),
        })?;
        check_interface(path, &module)?;
        let linker: Linker<StoreData> = Linker::new(&self.engine);
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| PluginError::BadInterface {
                path: path.to_owned(),
                reason: format!("cannot prepare instantiation: {e:#}"),
            })?;
        let compiled = WasmModule {
            engine: self.engine.clone(),
            pre,
            path: Arc::from(path),
        };
        compiled.check_abi()?;
        Ok(compiled)
    }
}

/// Whether `call` is on the hot path (and gets the configured deadline).
fn is_hot(call: &str) -> bool {
    matches!(call, "quote" | "on_fill")
}

/// The `(params, results)` signature each export must have; every value is `i32`.
const EXPORTS: &[(&str, usize, usize)] = &[
    (ex::ABI_VERSION, 0, 1),
    (ex::ALLOC, 1, 1),
    (ex::SCRATCH_PTR, 0, 1),
    (ex::CREATE, 1, 1),
    (ex::UPDATE, 1, 1),
    (ex::INPUT_PTR, 0, 1),
    (ex::OUTPUT_PTR, 0, 1),
    (ex::FILL_PTR, 0, 1),
    (ex::ERROR_PTR, 0, 1),
    (ex::QUOTE, 0, 1),
    (ex::ON_FILL, 0, 1),
    (ex::SAVE_STATE, 0, 1),
    (ex::RESTORE_STATE, 1, 1),
];

fn check_interface(path: &Path, module: &Module) -> Result<(), PluginError> {
    let bad = |reason: String| PluginError::BadInterface {
        path: path.to_owned(),
        reason,
    };
    if let Some(import) = module.imports().next() {
        return Err(bad(format!(
            "imports {}::{}, but strategy modules may not import anything",
            import.module(),
            import.name()
        )));
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(m)) if !m.is_shared() && !m.is_64() => {}
        Some(ExternType::Memory(_)) => {
            return Err(bad("its `memory` must be an unshared 32-bit memory".into()));
        }
        _ => return Err(bad("does not export its linear memory as `memory`".into())),
    }
    for &(name, params, results) in EXPORTS {
        let Some(ExternType::Func(ty)) = module.get_export(name) else {
            return Err(bad(format!("missing export `{name}`")));
        };
        let all_i32 = ty
            .params()
            .chain(ty.results())
            .all(|t| matches!(t, ValType::I32));
        if ty.params().len() != params || ty.results().len() != results || !all_i32 {
            return Err(bad(format!(
                "export `{name}` has type {ty}, expected {params} i32 param(s) -> i32"
            )));
        }
    }
    Ok(())
}

/// A compiled, checked module ready to instantiate.
#[derive(Clone)]
pub struct WasmModule {
    engine: Engine,
    pre: InstancePre<StoreData>,
    path: Arc<Path>,
}

struct StoreData {
    memory_cap: usize,
    refused_growth: bool,
    /// CPU time of the current call so far is measured from here (set lazily, see module docs).
    call_cpu_start: Option<Duration>,
    /// The current call's CPU-time budget.
    call_budget: Duration,
}

/// CPU time consumed by the calling thread.
#[allow(unsafe_code)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is always available
    // on Linux. On failure `ts` stays zero, which only delays an interrupt by one tick.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The epoch callback: decide whether the call that spans a tick has used up its CPU budget.
fn on_epoch(data: &mut StoreData) -> UpdateDeadline {
    let now = thread_cpu_time();
    match data.call_cpu_start {
        None => {
            data.call_cpu_start = Some(now);
            UpdateDeadline::Continue(1)
        }
        Some(start) if now.saturating_sub(start) >= data.call_budget => UpdateDeadline::Interrupt,
        Some(_) => UpdateDeadline::Continue(1),
    }
}

impl ResourceLimiter for StoreData {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.memory_cap;
        self.refused_growth |= !ok;
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

struct Exports {
    create: TypedFunc<i32, i32>,
    update: TypedFunc<i32, i32>,
    alloc: TypedFunc<i32, i32>,
    scratch_ptr: TypedFunc<(), i32>,
    quote: TypedFunc<(), i32>,
    on_fill: TypedFunc<(), i32>,
    save_state: TypedFunc<(), i32>,
    restore_state: TypedFunc<i32, i32>,
}

/// The address of a `T` in an instance's linear memory, checked to lie inside the memory when
/// it was made (linear memory never shrinks, so it stays inside).
struct GuestPtr<T> {
    offset: usize,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for GuestPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for GuestPtr<T> {}

impl<T> GuestPtr<T> {
    /// Before the module has told us where its buffer is.
    const UNSET: Self = Self {
        offset: 0,
        _type: PhantomData,
    };
}

/// One instance of a WASM strategy: its own store, memory and strategy state.
pub struct WasmInstance {
    store: Store<StoreData>,
    memory: Memory,
    /// Host address of linear memory's first byte. Memories never move (the engine sets
    /// `memory_may_move(false)` and allocates from a pool of fixed slots), and this one lives
    /// as long as `store`, so the address holds for the instance's life.
    memory_base: usize,
    funcs: Exports,
    input: GuestPtr<QuoteInput>,
    /// The input buffer's host address is aligned for a `QuoteInput`, so the host may write
    /// the input there in place ([`WasmInstance::quote_with`]).
    input_aligned: bool,
    output: GuestPtr<Ladder>,
    fill: GuestPtr<Fill>,
    error_ptr: usize,
    deadline: Duration,
    deadline_us: u64,
    path: PathBuf,
    disabled: bool,
}

impl WasmModule {
    /// Instantiate once and ask for `quoter_abi_version`, so that a module built for another
    /// ABI is refused at load time.
    fn check_abi(&self) -> Result<(), PluginError> {
        let data = StoreData {
            memory_cap: PluginLimits::default().memory_bytes,
            refused_growth: false,
            call_cpu_start: None,
            call_budget: SLOW_CALL_DEADLINE,
        };
        let mut store = Store::new(&self.engine, data);
        store.limiter(|d| d as &mut dyn ResourceLimiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| Ok(on_epoch(ctx.data_mut())));
        let path = self.path.to_path_buf();
        let crashed = |e: wasmtime::Error| PluginError::Crashed {
            path: path.clone(),
            call: "abi_version",
            message: format!("{e:#}"),
        };
        let instance = self.pre.instantiate(&mut store).map_err(crashed)?;
        let version = instance
            .get_typed_func::<(), i32>(&mut store, ex::ABI_VERSION)
            .map_err(crashed)?
            .call(&mut store, ())
            .map_err(crashed)?;
        if version as u32 != ABI_VERSION {
            return Err(PluginError::AbiMismatch {
                path,
                found: version.into(),
                expected: ABI_VERSION,
            });
        }
        Ok(())
    }

    /// Instantiate, check the ABI version and create the strategy from `params_json`.
    pub fn instantiate(
        &self,
        params_json: &[u8],
        limits: &PluginLimits,
    ) -> Result<WasmInstance, PluginError> {
        let path = self.path.to_path_buf();
        let data = StoreData {
            memory_cap: limits.memory_bytes,
            refused_growth: false,
            call_cpu_start: None,
            call_budget: SLOW_CALL_DEADLINE.max(limits.call_deadline),
        };
        let mut store = Store::new(&self.engine, data);
        store.limiter(|d| d as &mut dyn ResourceLimiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| Ok(on_epoch(ctx.data_mut())));
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| PluginError::Crashed {
                path: path.clone(),
                call: "instantiate",
                message: format!("{e:#}"),
            })?;
        let memory =
            instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| PluginError::BadInterface {
                    path: path.clone(),
                    reason: "no `memory` export".into(),
                })?;
        let mut getter = Getter {
            store: &mut store,
            instance: &instance,
            path: &path,
        };
        let version = getter.func::<(), i32>(ex::ABI_VERSION)?;
        let input_ptr = getter.func::<(), i32>(ex::INPUT_PTR)?;
        let output_ptr = getter.func::<(), i32>(ex::OUTPUT_PTR)?;
        let fill_ptr = getter.func::<(), i32>(ex::FILL_PTR)?;
        let error_ptr = getter.func::<(), i32>(ex::ERROR_PTR)?;
        let funcs = Exports {
            create: getter.func(ex::CREATE)?,
            update: getter.func(ex::UPDATE)?,
            alloc: getter.func(ex::ALLOC)?,
            scratch_ptr: getter.func(ex::SCRATCH_PTR)?,
            quote: getter.func(ex::QUOTE)?,
            on_fill: getter.func(ex::ON_FILL)?,
            save_state: getter.func(ex::SAVE_STATE)?,
            restore_state: getter.func(ex::RESTORE_STATE)?,
        };
        let memory_base = memory.data_ptr(&store) as usize;
        let mut inst = WasmInstance {
            store,
            memory,
            memory_base,
            funcs,
            input: GuestPtr::UNSET,
            input_aligned: false,
            output: GuestPtr::UNSET,
            fill: GuestPtr::UNSET,
            error_ptr: 0,
            deadline: limits.call_deadline,
            deadline_us: limits.call_deadline.as_micros() as u64,
            path,
            disabled: false,
        };
        let found = inst.call_ext("abi_version", &version)?;
        if found as u32 != ABI_VERSION {
            return Err(PluginError::AbiMismatch {
                path: inst.path,
                found: found.into(),
                expected: ABI_VERSION,
            });
        }
        inst.error_ptr = inst.pointer::<ErrorBuf>("error_ptr", error_ptr)?.offset;
        inst.input = inst.pointer("input_ptr", input_ptr)?;
        inst.input_aligned = (inst.memory_base + inst.input.offset)
            .is_multiple_of(std::mem::align_of::<QuoteInput>());
        inst.output = inst.pointer("output_ptr", output_ptr)?;
        inst.fill = inst.pointer("fill_ptr", fill_ptr)?;
        let len = inst.write_scratch("create", params_json)?;
        let code = inst.call1("create", |f| &f.create, len)?;
        inst.check_status("create", code)?;
        Ok(inst)
    }
}

struct Getter<'a> {
    store: &'a mut Store<StoreData>,
    instance: &'a Instance,
    path: &'a Path,
}

impl Getter<'_> {
    fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
    ) -> Result<TypedFunc<P, R>, PluginError> {
        self.instance
            .get_typed_func(&mut *self.store, name)
            .map_err(|e| PluginError::BadInterface {
                path: self.path.to_owned(),
                reason: format!("export `{name}`: {e:#}"),
            })
    }
}

impl WasmInstance {
    /// Quote: copy `input` in, run, copy the ladder out into `out`.
    pub fn quote(&mut self, input: &QuoteInput, out: &mut Ladder) -> Result<(), PluginError> {
        self.guard("quote")?;
        self.put(self.input, input);
        self.start_call(self.deadline);
        let code = match self.funcs.quote.call(&mut self.store, ()) {
            Ok(code) => code,
            Err(e) => return Err(self.trap("quote", e)),
        };
        self.check_status("quote", code)?;
        self.get_ladder(out);
        Ok(())
    }

    /// Quote on the input `fill` writes, straight into the instance's input buffer (no copy
    /// of the input); returns the touch of the view it wrote, for the output check. `fill`
    /// must write every field: the buffer holds the previous call's input, or whatever the
    /// guest left there.
    pub fn quote_with(
        &mut self,
        fill: impl FnOnce(&mut QuoteInput),
        out: &mut Ladder,
    ) -> Result<Touch, PluginError> {
        self.guard("quote")?;
        let touch = match self.input_in_place() {
            Some(input) => {
                fill(input);
                Touch::of(&input.view)
            }
            None => {
                let mut input = QuoteInput::default();
                fill(&mut input);
                self.put(self.input, &input);
                Touch::of(&input.view)
            }
        };
        self.start_call(self.deadline);
        let code = match self.funcs.quote.call(&mut self.store, ()) {
            Ok(code) => code,
            Err(e) => return Err(self.trap("quote", e)),
        };
        self.check_status("quote", code)?;
        self.get_ladder(out);
        Ok(touch)
    }

    /// The guest's input buffer as a `QuoteInput`, when its address is aligned for one.
    #[allow(unsafe_code)]
    fn input_in_place(&mut self) -> Option<&mut QuoteInput> {
        if !self.input_aligned {
            return None;
        }
        let at = self.input;
        debug_assert!(at.offset + size_of::<QuoteInput>() <= self.memory.data_size(&self.store));
        // SAFETY: as in `put`: `at` lies inside linear memory (checked when it was made; memory
        // never shrinks or moves) and `&mut self` holds the store exclusively, so no guest code
        // runs and nothing else borrows the memory while the returned reference (tied to
        // `&mut self`) lives; the memory is not shared. The address is aligned for a
        // `QuoteInput` (`input_aligned`), and every bit pattern is a valid one (`Pod`).
        Some(unsafe { &mut *((self.memory_base + at.offset) as *mut QuoteInput) })
    }

    /// Apply a parameter update.
    pub fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, PluginError> {
        let len = self.write_scratch("update", params_json)?;
        let code = self.call1("update", |f| &f.update, len)?;
        if code == status::RECREATE {
            return Ok(UpdateOutcome::Recreate);
        }
        self.check_status("update", code)?;
        Ok(UpdateOutcome::Applied)
    }

    /// Pass one of our fills to the strategy.
    pub fn on_fill(&mut self, fill: &Fill) -> Result<(), PluginError> {
        self.guard("on_fill")?;
        self.put(self.fill, fill);
        self.start_call(self.deadline);
        let code = match self.funcs.on_fill.call(&mut self.store, ()) {
            Ok(code) => code,
            Err(e) => return Err(self.trap("on_fill", e)),
        };
        self.check_status("on_fill", code)
    }

    /// Save the strategy's state.
    pub fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        let len = self.call0("save_state", |f| &f.save_state)?;
        if len < 0 {
            self.check_status("save_state", len)?;
        }
        let ptr = self.call0("save_state", |f| &f.scratch_ptr)?;
        Ok(self.read(ptr as u32 as usize, len as usize)?.to_vec())
    }

    /// Restore state saved earlier (possibly by another build).
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        let len = self.write_scratch("restore_state", state)?;
        let code = self.call1("restore_state", |f| &f.restore_state, len)?;
        self.check_status("restore_state", code)
    }

    /// Bytes of linear memory in use.
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    fn write_scratch(&mut self, call: &'static str, bytes: &[u8]) -> Result<i32, PluginError> {
        let len = i32::try_from(bytes.len())
            .map_err(|_| self.strategy_error(call, "input too large".into()))?;
        let ptr = self.call1(call, |f| &f.alloc, len)?;
        self.write(ptr as u32 as usize, bytes)?;
        Ok(len)
    }

    /// Ask the module where its `T` buffer is and check that it lies inside linear memory.
    fn pointer<T>(
        &mut self,
        call: &'static str,
        f: TypedFunc<(), i32>,
    ) -> Result<GuestPtr<T>, PluginError> {
        let offset = self.call_ext(call, &f)? as u32 as usize;
        self.read(offset, size_of::<T>())?;
        Ok(GuestPtr {
            offset,
            _type: PhantomData,
        })
    }

    /// Copy `value` into the guest's buffer at `at`.
    #[allow(unsafe_code)]
    fn put<T: Pod>(&mut self, at: GuestPtr<T>, value: &T) {
        let bytes = bytemuck::bytes_of(value);
        debug_assert!(at.offset + bytes.len() <= self.memory.data_size(&self.store));
        // SAFETY: `at` was checked to lie inside linear memory when it was made, and linear
        // memory never shrinks; `memory_base` is the memory's current base (memories never
        // move). `&mut self` holds the store exclusively, so no guest code runs and no slice
        // of the memory is borrowed while we write; the memory is not shared (checked at load).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (self.memory_base + at.offset) as *mut u8,
                bytes.len(),
            );
        }
    }

    /// Copy the guest's output ladder into `out` (one copy, no intermediate).
    #[allow(unsafe_code)]
    fn get_ladder(&self, out: &mut Ladder) {
        let at = self.output;
        debug_assert!(at.offset + size_of::<Ladder>() <= self.memory.data_size(&self.store));
        let dst = bytemuck::bytes_of_mut(out);
        // SAFETY: as in `put`: `at` lies inside linear memory and nothing else accesses the
        // memory during this call; `dst` is exactly one `Ladder` long, and every bit pattern
        // is a valid `Ladder` (`Pod`).
        unsafe {
            std::ptr::copy_nonoverlapping(
                (self.memory_base + at.offset) as *const u8,
                dst.as_mut_ptr(),
                dst.len(),
            );
        }
    }

    fn write(&mut self, ptr: usize, bytes: &[u8]) -> Result<(), PluginError> {
        let mem = self.memory.data_mut(&mut self.store);
        match mem.get_mut(ptr..ptr + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(self.bad_pointer(ptr, bytes.len())),
        }
    }

    fn read(&self, ptr: usize, len: usize) -> Result<&[u8], PluginError> {
        let mem = self.memory.data(&self.store);
        mem.get(ptr..ptr.saturating_add(len))
            .ok_or_else(|| self.bad_pointer(ptr, len))
    }

    fn bad_pointer(&self, ptr: usize, len: usize) -> PluginError {
        PluginError::BadInterface {
            path: self.path.clone(),
            reason: format!("buffer {ptr:#x}+{len} lies outside linear memory"),
        }
    }

    /// A call off the hot path (create, update, state transfer, the pointer queries).
    fn call0(
        &mut self,
        call: &'static str,
        f: impl Fn(&Exports) -> &TypedFunc<(), i32>,
    ) -> Result<i32, PluginError> {
        self.guard(call)?;
        self.start_call(self.slow_deadline());
        let r = f(&self.funcs).call(&mut self.store, ());
        r.map_err(|e| self.trap(call, e))
    }

    fn call_ext(&mut self, call: &'static str, f: &TypedFunc<(), i32>) -> Result<i32, PluginError> {
        self.guard(call)?;
        self.start_call(self.slow_deadline());
        let r = f.call(&mut self.store, ());
        r.map_err(|e| self.trap(call, e))
    }

    fn call1(
        &mut self,
        call: &'static str,
        f: impl Fn(&Exports) -> &TypedFunc<i32, i32>,
        arg: i32,
    ) -> Result<i32, PluginError> {
        self.guard(call)?;
        self.start_call(self.slow_deadline());
        let r = f(&self.funcs).call(&mut self.store, arg);
        r.map_err(|e| self.trap(call, e))
    }

    /// The budget of the calls off the hot path: create, update and state transfer parse JSON,
    /// so they get [`SLOW_CALL_DEADLINE`] if that is longer than the configured deadline.
    fn slow_deadline(&self) -> Duration {
        self.deadline.max(SLOW_CALL_DEADLINE)
    }

    /// Arm the CPU-time deadline for one call.
    fn start_call(&mut self, budget: Duration) {
        let data = self.store.data_mut();
        data.call_cpu_start = None;
        data.call_budget = budget;
        self.store.set_epoch_deadline(1);
    }

    fn guard(&self, _call: &'static str) -> Result<(), PluginError> {
        if self.disabled {
            Err(PluginError::Disabled {
                path: self.path.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// `Ok` for [`status::OK`], else the error the code stands for.
    #[inline]
    fn check_status(&mut self, call: &'static str, code: i32) -> Result<(), PluginError> {
        if code == status::OK {
            Ok(())
        } else {
            self.status_error(call, code)
        }
    }

    #[cold]
    #[inline(never)]
    fn status_error(&mut self, call: &'static str, code: i32) -> Result<(), PluginError> {
        match code {
            status::OK => Ok(()),
            status::PANIC => {
                self.disabled = true;
                Err(PluginError::Crashed {
                    path: self.path.clone(),
                    call,
                    message: self.error_message(),
                })
            }
            _ => Err(self.strategy_error(call, self.error_message())),
        }
    }

    fn strategy_error(&self, call: &'static str, message: String) -> PluginError {
        PluginError::Strategy {
            path: self.path.clone(),
            call,
            message,
        }
    }

    fn error_message(&self) -> String {
        match self.read(self.error_ptr, size_of::<ErrorBuf>()) {
            Ok(bytes) if self.error_ptr != 0 => {
                let buf: ErrorBuf = bytemuck::pod_read_unaligned(bytes);
                buf.message().to_string()
            }
            _ => String::new(),
        }
    }

    fn trap(&mut self, call: &'static str, e: wasmtime::Error) -> PluginError {
        self.disabled = true;
        let path = self.path.clone();
        if self.store.data().refused_growth {
            return PluginError::MemoryLimit {
                path,
                call,
                limit_bytes: self.store.data().memory_cap,
            };
        }
        if let Some(Trap::Interrupt) = e.downcast_ref::<Trap>() {
            let deadline_us = if is_hot(call) {
                self.deadline_us
            } else {
                self.deadline_us.max(SLOW_CALL_DEADLINE.as_micros() as u64)
            };
            return PluginError::Timeout {
                path,
                call,
                deadline_us,
            };
        }
        let recorded = self.error_message();
        let message = if recorded.starts_with("panic") {
            format!("{recorded} ({e})")
        } else {
            format!("{e:#}")
        };
        PluginError::Crashed {
            path,
            call,
            message,
        }
    }
}
