//! The native side of the ABI: a C-layout function table that
//! [`export_strategy!`](crate::export_strategy) exports from a shared library.
//!
//! A native library exports two symbols: `quoter_abi_version() -> u32`, which the host checks
//! first, and `quoter_native_vtable() -> *const NativeVTable`. Each function catches panics and
//! reports them through the [`ErrorBuf`] it is given. Only plain data and raw pointers cross;
//! no Rust trait objects or allocations change owner except [`ByteBuf`], which the host hands
//! back to `free_bytes`.
#![allow(unsafe_code)]

use core::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::ABI_VERSION;
use crate::ffi::{ErrorBuf, panic_message};
use crate::status;
use crate::strategy::{Strategy, UpdateOutcome};
use crate::types::{Fill, Ladder, QuoteInput};

/// Name of the exported ABI version function.
pub const ABI_VERSION_SYMBOL: &[u8] = b"quoter_abi_version";
/// Name of the exported vtable function.
pub const VTABLE_SYMBOL: &[u8] = b"quoter_native_vtable";

/// Bytes owned by the plugin, handed to the host; return them with `free_bytes`.
#[repr(C)]
#[derive(Debug)]
pub struct ByteBuf {
    /// Start of the bytes.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Allocated capacity.
    pub cap: usize,
}

impl ByteBuf {
    /// An empty buffer.
    pub const fn empty() -> Self {
        Self {
            ptr: core::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }
}

/// The function table of a native strategy library.
#[repr(C)]
pub struct NativeVTable {
    /// Must equal the host's [`ABI_VERSION`].
    pub abi_version: u32,
    /// `size_of::<QuoteInput>()` as the plugin was built, checked by the host.
    pub input_size: u32,
    /// `size_of::<Ladder>()` as the plugin was built, checked by the host.
    pub ladder_size: u32,
    /// `size_of::<Fill>()` as the plugin was built, checked by the host.
    pub fill_size: u32,
    /// Create an instance from JSON parameters; null on error (message in `err`).
    pub create: unsafe extern "C" fn(*const u8, usize, *mut ErrorBuf) -> *mut c_void,
    /// Destroy an instance.
    pub destroy: unsafe extern "C" fn(*mut c_void),
    /// Parameter update; returns a [`status`] code.
    pub update: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut ErrorBuf) -> i32,
    /// Quote; returns a [`status`] code.
    pub quote:
        unsafe extern "C" fn(*mut c_void, *const QuoteInput, *mut Ladder, *mut ErrorBuf) -> i32,
    /// Fill callback; returns a [`status`] code.
    pub on_fill: unsafe extern "C" fn(*mut c_void, *const Fill, *mut ErrorBuf) -> i32,
    /// Save state into a [`ByteBuf`]; returns a [`status`] code.
    pub save_state: unsafe extern "C" fn(*mut c_void, *mut ByteBuf, *mut ErrorBuf) -> i32,
    /// Restore state; returns a [`status`] code.
    pub restore_state: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut ErrorBuf) -> i32,
    /// Free a [`ByteBuf`] returned by `save_state`.
    pub free_bytes: unsafe extern "C" fn(ByteBuf),
}

/// The vtable for strategy `S`.
pub const fn vtable<S: Strategy>() -> NativeVTable {
    NativeVTable {
        abi_version: ABI_VERSION,
        input_size: core::mem::size_of::<QuoteInput>() as u32,
        ladder_size: core::mem::size_of::<Ladder>() as u32,
        fill_size: core::mem::size_of::<Fill>() as u32,
        create: create::<S>,
        destroy: destroy::<S>,
        update: update::<S>,
        quote: quote::<S>,
        on_fill: on_fill::<S>,
        save_state: save_state::<S>,
        restore_state: restore_state::<S>,
        free_bytes,
    }
}

/// Run `f`, turning a panic into [`status::PANIC`] with the message in `err`.
fn guarded(err: *mut ErrorBuf, f: impl FnOnce(&mut ErrorBuf) -> i32) -> i32 {
    // SAFETY: the host passes a valid, exclusive ErrorBuf pointer for the duration of the call.
    let err = unsafe { &mut *err };
    match catch_unwind(AssertUnwindSafe(|| f(err))) {
        Ok(code) => code,
        Err(payload) => {
            err.set(&panic_message(payload.as_ref()));
            status::PANIC
        }
    }
}

fn result_code(err: &mut ErrorBuf, r: Result<(), String>) -> i32 {
    match r {
        Ok(()) => status::OK,
        Err(e) => {
            err.set(&e);
            status::ERROR
        }
    }
}

unsafe extern "C" fn create<S: Strategy>(
    params: *const u8,
    len: usize,
    err: *mut ErrorBuf,
) -> *mut c_void {
    let mut out: *mut c_void = core::ptr::null_mut();
    guarded(err, |err| {
        // SAFETY: the host passes `len` readable bytes at `params`.
        let params = unsafe { core::slice::from_raw_parts(params, len) };
        match S::create(params) {
            Ok(s) => {
                out = Box::into_raw(Box::new(s)).cast();
                status::OK
            }
            Err(e) => {
                err.set(&e);
                status::ERROR
            }
        }
    });
    out
}

unsafe extern "C" fn destroy<S: Strategy>(handle: *mut c_void) {
    if handle.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `handle` came from `create::<S>` and the host destroys it once.
        drop(unsafe { Box::from_raw(handle.cast::<S>()) });
    }));
}

unsafe extern "C" fn update<S: Strategy>(
    handle: *mut c_void,
    params: *const u8,
    len: usize,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, |err| {
        // SAFETY: `handle` came from `create::<S>`; the host never calls one instance concurrently.
        let s = unsafe { &mut *handle.cast::<S>() };
        // SAFETY: the host passes `len` readable bytes at `params`.
        let params = unsafe { core::slice::from_raw_parts(params, len) };
        match s.update_params(params) {
            Ok(UpdateOutcome::Applied) => status::OK,
            Ok(UpdateOutcome::Recreate) => status::RECREATE,
            Err(e) => {
                err.set(&e);
                status::ERROR
            }
        }
    })
}

unsafe extern "C" fn quote<S: Strategy>(
    handle: *mut c_void,
    input: *const QuoteInput,
    out: *mut Ladder,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, |err| {
        // SAFETY: `handle` came from `create::<S>`; `input` and `out` are valid for the call.
        let (s, input, out) = unsafe { (&mut *handle.cast::<S>(), &*input, &mut *out) };
        out.clear();
        let r = s.quote(&input.view, &input.inventory, out);
        result_code(err, r)
    })
}

unsafe extern "C" fn on_fill<S: Strategy>(
    handle: *mut c_void,
    fill: *const Fill,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, |_| {
        // SAFETY: `handle` came from `create::<S>`; `fill` is valid for the call.
        let (s, fill) = unsafe { (&mut *handle.cast::<S>(), &*fill) };
        s.on_fill(fill);
        status::OK
    })
}

unsafe extern "C" fn save_state<S: Strategy>(
    handle: *mut c_void,
    out: *mut ByteBuf,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, |_| {
        // SAFETY: `handle` came from `create::<S>`; `out` is valid for the call.
        let (s, out) = unsafe { (&*handle.cast::<S>(), &mut *out) };
        let mut bytes = core::mem::ManuallyDrop::new(s.save_state());
        *out = ByteBuf {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
        };
        status::OK
    })
}

unsafe extern "C" fn restore_state<S: Strategy>(
    handle: *mut c_void,
    state: *const u8,
    len: usize,
    err: *mut ErrorBuf,
) -> i32 {
    guarded(err, |err| {
        // SAFETY: `handle` came from `create::<S>`; `len` bytes are readable at `state`.
        let (s, state) = unsafe {
            (
                &mut *handle.cast::<S>(),
                core::slice::from_raw_parts(state, len),
            )
        };
        let r = s.restore_state(state);
        result_code(err, r)
    })
}

unsafe extern "C" fn free_bytes(buf: ByteBuf) {
    if !buf.ptr.is_null() {
        // SAFETY: `buf` was produced by `save_state` from a Vec<u8> of this library's allocator.
        drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
    }
}
