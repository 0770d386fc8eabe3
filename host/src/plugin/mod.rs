//! Strategy plugins: WASM (wasmtime) and native (libloading) loaders behind one interface.
//!
//! [`PluginRuntime`] owns the shared WASM engine and the limits. [`StrategyModule::load`] reads
//! a file, recognises its kind by content (WASM magic bytes or WAT text, otherwise a native
//! library), compiles or loads it and checks its ABI, all off the hot path. A module creates
//! any number of [`StrategyInstance`]s, one per symbol. Every output ladder is checked
//! ([`validate::check_ladder`]) before the host acts on it; an instance that crashed or ran
//! past its deadline is disabled and reports [`PluginError::Disabled`] from then on.

mod error;
pub mod native;
pub mod validate;
pub mod wasm;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plugin_api::{Fill, Ladder, QuoteInput, UpdateOutcome};
use sha2::{Digest, Sha256};

pub use error::PluginError;
use native::{NativeInstance, NativeModule};
pub use validate::Touch;
use wasm::{WasmEngine, WasmInstance, WasmModule};

/// Limits applied to every strategy instance.
#[derive(Clone, Debug)]
pub struct PluginLimits {
    /// Linear memory cap of a WASM instance, bytes (default 64 MiB).
    pub memory_bytes: usize,
    /// Deadline of one quote or fill call (default 5 ms). Enforced by interruption for WASM,
    /// after the fact for native code.
    pub call_deadline: Duration,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_millis(5),
        }
    }
}

/// Loads strategy modules; cheap to clone.
#[derive(Clone)]
pub struct PluginRuntime {
    engine: WasmEngine,
    limits: PluginLimits,
}

impl PluginRuntime {
    /// A runtime with the given limits.
    pub fn new(limits: PluginLimits) -> Result<Self, PluginError> {
        let engine = WasmEngine::shared().map_err(|e| PluginError::BadInterface {
            path: PathBuf::from("<engine>"),
            reason: format!("cannot start the WASM engine: {e}"),
        })?;
        Ok(Self { engine, limits })
    }

    /// A runtime with its own WASM engine, whose instances get their memory as `allocation`
    /// says (the process-wide engine of [`Self::new`] pools them when it can).
    pub fn with_allocation(
        limits: PluginLimits,
        allocation: wasm::Allocation,
    ) -> Result<Self, PluginError> {
        let engine =
            WasmEngine::with_allocation(allocation).map_err(|e| PluginError::BadInterface {
                path: PathBuf::from("<engine>"),
                reason: format!("cannot start the WASM engine: {e:#}"),
            })?;
        Ok(Self { engine, limits })
    }

    /// The limits applied to new instances.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// Load the module at `path`.
    pub fn load(&self, path: &Path) -> Result<StrategyModule, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.load_bytes(path, &bytes)
    }

    /// Load a module from `bytes`, reporting errors against `path`.
    pub fn load_bytes(&self, path: &Path, bytes: &[u8]) -> Result<StrategyModule, PluginError> {
        let content_hash = hex::encode(Sha256::digest(bytes));
        let kind = ModuleKind::detect(path, bytes);
        let inner = match kind {
            ModuleKind::Wasm => Inner::Wasm(self.engine.compile(path, bytes)?),
            ModuleKind::Native => Inner::Native(NativeModule::load(path, &content_hash)?),
        };
        Ok(StrategyModule {
            path: Arc::from(path),
            content_hash: Arc::from(content_hash),
            inner,
            limits: self.limits.clone(),
        })
    }
}

/// Which loader a module needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleKind {
    /// A WebAssembly module (binary, or text with a `.wat` extension).
    Wasm,
    /// A native shared library.
    Native,
}

impl ModuleKind {
    /// Recognise a module by its content (WASM magic) or a `.wasm`/`.wat` extension.
    pub fn detect(path: &Path, bytes: &[u8]) -> Self {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if bytes.starts_with(b"\0asm") || ext == "wasm" || ext == "wat" {
            Self::Wasm
        } else {
            Self::Native
        }
    }
}

#[derive(Clone)]
enum Inner {
    Wasm(WasmModule),
    Native(NativeModule),
}

/// A compiled or loaded strategy module.
#[derive(Clone)]
pub struct StrategyModule {
    path: Arc<Path>,
    content_hash: Arc<str>,
    inner: Inner,
    limits: PluginLimits,
}

impl std::fmt::Debug for StrategyModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyModule")
            .field("path", &self.path)
            .field("kind", &self.kind())
            .field("content_hash", &self.content_hash)
            .finish()
    }
}

impl StrategyModule {
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SHA-256 of the file's content, hex.
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    /// WASM or native.
    pub fn kind(&self) -> ModuleKind {
        match self.inner {
            Inner::Wasm(_) => ModuleKind::Wasm,
            Inner::Native(_) => ModuleKind::Native,
        }
    }

    /// Create an instance with `params_json`.
    pub fn instantiate(&self, params_json: &[u8]) -> Result<StrategyInstance, PluginError> {
        let inner = match &self.inner {
            Inner::Wasm(m) => {
                InstanceInner::Wasm(Box::new(m.instantiate(params_json, &self.limits)?))
            }
            Inner::Native(m) => {
                InstanceInner::Native(m.instantiate(&self.path, params_json, &self.limits)?)
            }
        };
        Ok(StrategyInstance {
            inner,
            path: self.path.clone(),
        })
    }
}

thread_local! {
    /// The input of a native instance's [`StrategyInstance::quote_with`], shared by the
    /// instances a thread runs (it stays in cache).
    static NATIVE_INPUT: std::cell::RefCell<Box<QuoteInput>> = std::cell::RefCell::new(Box::default());
}

enum InstanceInner {
    Wasm(Box<WasmInstance>),
    Native(NativeInstance),
}

/// One running strategy (one symbol's).
pub struct StrategyInstance {
    inner: InstanceInner,
    path: Arc<Path>,
}

impl StrategyInstance {
    /// Compute the ladder for `input` into `out`, then check it.
    pub fn quote(&mut self, input: &QuoteInput, out: &mut Ladder) -> Result<(), PluginError> {
        match &mut self.inner {
            InstanceInner::Wasm(i) => i.quote(input, out)?,
            InstanceInner::Native(i) => i.quote(input, out)?,
        }
        validate::check_ladder(out, &input.view).map_err(|reason| PluginError::BadOutput {
            path: self.path.to_path_buf(),
            reason,
        })
    }

    /// [`Self::quote`] on the input `fill` writes, which must write every field. A WASM
    /// instance has it written straight into its linear memory (saving the copy of the whole
    /// input there); a native one reads it from a buffer of this thread's. Returns the touch
    /// of the view written (its [`Touch::mid`] is the view's mid).
    pub fn quote_with(
        &mut self,
        fill: impl FnOnce(&mut QuoteInput),
        out: &mut Ladder,
    ) -> Result<Touch, PluginError> {
        let touch = match &mut self.inner {
            InstanceInner::Wasm(i) => i.quote_with(fill, out)?,
            InstanceInner::Native(i) => NATIVE_INPUT.with_borrow_mut(|input| {
                fill(input);
                i.quote(input, out).map(|()| Touch::of(&input.view))
            })?,
        };
        validate::check_ladder_at(out, touch).map_err(|reason| PluginError::BadOutput {
            path: self.path.to_path_buf(),
            reason,
        })?;
        Ok(touch)
    }

    /// Apply a live parameter update.
    pub fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, PluginError> {
        match &mut self.inner {
            InstanceInner::Wasm(i) => i.update_params(params_json),
            InstanceInner::Native(i) => i.update_params(params_json),
        }
    }

    /// Pass one of our fills to the strategy.
    pub fn on_fill(&mut self, fill: &Fill) -> Result<(), PluginError> {
        match &mut self.inner {
            InstanceInner::Wasm(i) => i.on_fill(fill),
            InstanceInner::Native(i) => i.on_fill(fill),
        }
    }

    /// Save the strategy's state for a hand-over.
    pub fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        match &mut self.inner {
            InstanceInner::Wasm(i) => i.save_state(),
            InstanceInner::Native(i) => i.save_state(),
        }
    }

    /// Restore state saved by an earlier instance.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        match &mut self.inner {
            InstanceInner::Wasm(i) => i.restore_state(state),
            InstanceInner::Native(i) => i.restore_state(state),
        }
    }

    /// The module file this instance runs.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
