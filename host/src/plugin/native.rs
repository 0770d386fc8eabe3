//! Native strategy libraries through libloading.
//!
//! A library is copied to a unique path before loading: the dynamic loader caches libraries by
//! path, so a rebuilt file at the same path would otherwise come back as the old code. Loaded
//! libraries are never unloaded (a swapped-out strategy's code may still be on a stack, or have
//! registered thread-local destructors); the cost is the mapping of each retired build.
//!
//! Native code cannot be interrupted, so no per-call deadline applies: native plugins are
//! trusted code (a stuck symbol is the strategy runtime's watchdog's business).
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use plugin_api::native::{ABI_VERSION_SYMBOL, ByteBuf, NativeVTable, VTABLE_SYMBOL};
use plugin_api::{ABI_VERSION, ErrorBuf, Fill, Ladder, QuoteInput, UpdateOutcome, status};

use super::PluginLimits;
use super::error::PluginError;

/// A loaded native strategy library.
#[derive(Clone, Copy)]
pub struct NativeModule {
    vtable: &'static NativeVTable,
}

static LOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

impl NativeModule {
    /// Copy `path` to a unique location, load it and check its ABI.
    pub fn load(path: &Path, content_hash: &str) -> Result<Self, PluginError> {
        let dir = std::env::temp_dir().join("quoter-native-plugins");
        let io = |source| PluginError::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin");
        let n = LOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let short_hash = &content_hash[..content_hash.len().min(16)];
        let copy = dir.join(format!("{stem}-{short_hash}-{}-{n}.so", std::process::id()));
        std::fs::copy(path, &copy).map_err(io)?;
        // SAFETY: loading runs the library's initialisers. Strategy libraries are trusted code
        // built against plugin-api; this is the documented contract for native plugins.
        let loaded = unsafe { libloading::Library::new(&copy) };
        // The mapping stays valid after the file is removed.
        let _ = std::fs::remove_file(&copy);
        let library = loaded.map_err(|e| PluginError::NotAModule {
            path: path.to_owned(),
            reason: format!("cannot load as a native library: {e}"),
        })?;
        // Never unloaded, see the module docs.
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        let missing = |name: &[u8], e: libloading::Error| PluginError::BadInterface {
            path: path.to_owned(),
            reason: format!("missing export `{}`: {e}", String::from_utf8_lossy(name)),
        };
        // SAFETY: the symbol's type is fixed by the ABI; a library exporting it with another
        // signature violates the plugin contract.
        let version_fn = unsafe { library.get::<extern "C" fn() -> u32>(ABI_VERSION_SYMBOL) }
            .map_err(|e| missing(ABI_VERSION_SYMBOL, e))?;
        let found = version_fn();
        if found != ABI_VERSION {
            return Err(PluginError::AbiMismatch {
                path: path.to_owned(),
                found: found.into(),
                expected: ABI_VERSION,
            });
        }
        // SAFETY: as above; the version matched, so the vtable has this layout.
        let vtable_fn =
            unsafe { library.get::<extern "C" fn() -> *const NativeVTable>(VTABLE_SYMBOL) }
                .map_err(|e| missing(VTABLE_SYMBOL, e))?;
        let ptr = vtable_fn();
        if ptr.is_null() {
            return Err(PluginError::BadInterface {
                path: path.to_owned(),
                reason: "null vtable".into(),
            });
        }
        // SAFETY: the vtable is a static inside a library that is never unloaded.
        let vtable: &'static NativeVTable = unsafe { &*ptr };
        let sizes = (vtable.input_size, vtable.ladder_size, vtable.fill_size);
        let expected = (
            size_of::<QuoteInput>() as u32,
            size_of::<Ladder>() as u32,
            size_of::<Fill>() as u32,
        );
        if vtable.abi_version != ABI_VERSION || sizes != expected {
            return Err(PluginError::BadInterface {
                path: path.to_owned(),
                reason: format!("layout mismatch: sizes {sizes:?}, expected {expected:?}"),
            });
        }
        Ok(Self { vtable })
    }

    /// Create a strategy instance from `params_json`.
    pub fn instantiate(
        &self,
        path: &Path,
        params_json: &[u8],
        _limits: &PluginLimits,
    ) -> Result<NativeInstance, PluginError> {
        let mut err = Box::<ErrorBuf>::default();
        // SAFETY: params slice and error buffer are valid for the call.
        let handle =
            unsafe { (self.vtable.create)(params_json.as_ptr(), params_json.len(), &mut *err) };
        if handle.is_null() {
            let message = err.message().to_string();
            let crashed = message.starts_with("panic");
            let path = path.to_owned();
            return Err(if crashed {
                PluginError::Crashed {
                    path,
                    call: "create",
                    message,
                }
            } else {
                PluginError::Strategy {
                    path,
                    call: "create",
                    message,
                }
            });
        }
        Ok(NativeInstance {
            vtable: self.vtable,
            handle,
            err,
            path: path.to_owned(),
            disabled: false,
        })
    }
}

/// One native strategy instance.
pub struct NativeInstance {
    vtable: &'static NativeVTable,
    handle: *mut c_void,
    err: Box<ErrorBuf>,
    path: PathBuf,
    disabled: bool,
}

// SAFETY: an instance is used by one thread at a time (`&mut self` on every call); strategies
// are plain data behind the handle, and the ABI does not allow thread-affine state.
unsafe impl Send for NativeInstance {}

impl Drop for NativeInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from this vtable's `create` and is destroyed once.
        unsafe { (self.vtable.destroy)(self.handle) };
    }
}

impl NativeInstance {
    /// Quote into `out`.
    pub fn quote(&mut self, input: &QuoteInput, out: &mut Ladder) -> Result<(), PluginError> {
        self.guard()?;
        // SAFETY: handle is live; input, out and err are valid for the call.
        let code = unsafe { (self.vtable.quote)(self.handle, input, out, &mut *self.err) };
        self.finish("quote", code)
    }

    /// Apply a parameter update.
    pub fn update_params(&mut self, params_json: &[u8]) -> Result<UpdateOutcome, PluginError> {
        self.guard()?;
        // SAFETY: handle is live; the params slice and err are valid for the call.
        let code = unsafe {
            (self.vtable.update)(
                self.handle,
                params_json.as_ptr(),
                params_json.len(),
                &mut *self.err,
            )
        };
        if code == status::RECREATE {
            return Ok(UpdateOutcome::Recreate);
        }
        self.finish("update", code).map(|()| UpdateOutcome::Applied)
    }

    /// Pass one of our fills to the strategy.
    pub fn on_fill(&mut self, fill: &Fill) -> Result<(), PluginError> {
        self.guard()?;
        // SAFETY: handle is live; fill and err are valid for the call.
        let code = unsafe { (self.vtable.on_fill)(self.handle, fill, &mut *self.err) };
        self.finish("on_fill", code)
    }

    /// Save the strategy's state.
    pub fn save_state(&mut self) -> Result<Vec<u8>, PluginError> {
        self.guard()?;
        let mut buf = ByteBuf::empty();
        // SAFETY: handle is live; buf and err are valid for the call.
        let code = unsafe { (self.vtable.save_state)(self.handle, &mut buf, &mut *self.err) };
        let bytes = if buf.ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: on success the plugin filled `buf` with `len` initialised bytes.
            unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) }.to_vec()
        };
        // SAFETY: `buf` came from this library's `save_state` and is freed once.
        unsafe { (self.vtable.free_bytes)(buf) };
        self.finish("save_state", code).map(|()| bytes)
    }

    /// Restore state saved earlier (possibly by another build).
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), PluginError> {
        self.guard()?;
        // SAFETY: handle is live; the state slice and err are valid for the call.
        let code = unsafe {
            (self.vtable.restore_state)(self.handle, state.as_ptr(), state.len(), &mut *self.err)
        };
        self.finish("restore_state", code)
    }

    fn guard(&self) -> Result<(), PluginError> {
        if self.disabled {
            Err(PluginError::Disabled {
                path: self.path.clone(),
            })
        } else {
            Ok(())
        }
    }

    fn finish(&mut self, call: &'static str, code: i32) -> Result<(), PluginError> {
        let path = self.path.clone();
        let message = || self.err.message().to_string();
        match code {
            status::OK => Ok(()),
            status::PANIC => {
                let message = message();
                self.disabled = true;
                Err(PluginError::Crashed {
                    path,
                    call,
                    message,
                })
            }
            _ => Err(PluginError::Strategy {
                path,
                call,
                message: message(),
            }),
        }
    }
}
