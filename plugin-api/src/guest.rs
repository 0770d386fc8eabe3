//! The WASM side of the ABI: state and logic behind the exports that
//! [`export_strategy!`](crate::export_strategy) generates for `wasm32`.
//!
//! A WASM instance holds one strategy. The host writes parameters and state into the scratch
//! buffer, the market into the input buffer and fills into the fill buffer, all at addresses it
//! reads once after instantiation; results come back in the output and error buffers. Nothing
//! on the quote path allocates.
//!
//! With `panic = "abort"` a panic cannot be caught inside the module, so [`install_panic_hook`]
//! records the message in the error buffer before the abort traps; the host reads it from
//! memory after the trap.

use std::cell::RefCell;

use crate::ffi::{ErrorBuf, panic_message};
use crate::status;
use crate::strategy::{Strategy, UpdateOutcome};
use crate::types::{Fill, Ladder, QuoteInput};

thread_local! {
    static ERROR: RefCell<Box<ErrorBuf>> = RefCell::new(Box::default());
}

/// Per-instance state of a WASM strategy module.
pub struct GuestRuntime<S> {
    strategy: Option<S>,
    input: Box<QuoteInput>,
    output: Box<Ladder>,
    fill: Box<Fill>,
    scratch: Vec<u8>,
}

impl<S: Strategy> Default for GuestRuntime<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Strategy> GuestRuntime<S> {
    /// Empty runtime; installs the panic hook.
    pub fn new() -> Self {
        install_panic_hook();
        Self {
            strategy: None,
            input: Box::default(),
            output: Box::default(),
            fill: Box::default(),
            scratch: Vec::new(),
        }
    }

    /// Resize scratch to `len` bytes and return its address.
    pub fn alloc(&mut self, len: i32) -> i32 {
        self.scratch.resize(len.max(0) as usize, 0);
        self.scratch_ptr()
    }

    /// Address of the scratch buffer.
    pub fn scratch_ptr(&mut self) -> i32 {
        addr(self.scratch.as_mut_ptr())
    }

    /// Address of the input buffer.
    pub fn input_ptr(&mut self) -> i32 {
        addr(&mut *self.input as *mut QuoteInput)
    }

    /// Address of the output buffer.
    pub fn output_ptr(&mut self) -> i32 {
        addr(&mut *self.output as *mut Ladder)
    }

    /// Address of the fill buffer.
    pub fn fill_ptr(&mut self) -> i32 {
        addr(&mut *self.fill as *mut Fill)
    }

    /// Create the strategy from the first `len` scratch bytes.
    pub fn create(&mut self, len: i32) -> i32 {
        match S::create(self.scratch_slice(len)) {
            Ok(s) => {
                self.strategy = Some(s);
                status::OK
            }
            Err(e) => fail(&e),
        }
    }

    /// Apply a parameter update from the first `len` scratch bytes.
    pub fn update(&mut self, len: i32) -> i32 {
        let params = self.scratch_slice_owned(len);
        let Some(s) = self.strategy.as_mut() else {
            return not_created();
        };
        match s.update_params(&params) {
            Ok(UpdateOutcome::Applied) => status::OK,
            Ok(UpdateOutcome::Recreate) => status::RECREATE,
            Err(e) => fail(&e),
        }
    }

    /// Quote from the input buffer into the output buffer.
    pub fn quote(&mut self) -> i32 {
        let Some(s) = self.strategy.as_mut() else {
            return not_created();
        };
        self.output.clear();
        match s.quote(&self.input.view, &self.input.inventory, &mut self.output) {
            Ok(()) => status::OK,
            Err(e) => fail(&e),
        }
    }

    /// Pass the fill in the fill buffer to the strategy.
    pub fn on_fill(&mut self) -> i32 {
        let Some(s) = self.strategy.as_mut() else {
            return not_created();
        };
        s.on_fill(&self.fill);
        status::OK
    }

    /// Save state into scratch and return its length.
    pub fn save_state(&mut self) -> i32 {
        let Some(s) = self.strategy.as_ref() else {
            return not_created();
        };
        self.scratch = s.save_state();
        self.scratch.len() as i32
    }

    /// Restore state from the first `len` scratch bytes.
    pub fn restore_state(&mut self, len: i32) -> i32 {
        let state = self.scratch_slice_owned(len);
        let Some(s) = self.strategy.as_mut() else {
            return not_created();
        };
        match s.restore_state(&state) {
            Ok(()) => status::OK,
            Err(e) => fail(&e),
        }
    }

    fn scratch_slice(&self, len: i32) -> &[u8] {
        &self.scratch[..(len.max(0) as usize).min(self.scratch.len())]
    }

    fn scratch_slice_owned(&self, len: i32) -> Vec<u8> {
        self.scratch_slice(len).to_vec()
    }
}

/// Address of the error buffer.
pub fn error_ptr() -> i32 {
    ERROR.with(|e| addr(&mut **e.borrow_mut() as *mut ErrorBuf))
}

/// Record `message` in the error buffer.
pub fn set_error(message: &str) {
    ERROR.with(|e| {
        if let Ok(mut buf) = e.try_borrow_mut() {
            buf.set(message);
        }
    });
}

/// Install a panic hook that copies the panic message into the error buffer.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let mut message = panic_message(info.payload());
        if let Some(loc) = info.location() {
            message.push_str(&format!(" at {}:{}", loc.file(), loc.line()));
        }
        set_error(&message);
    }));
}

fn fail(message: &str) -> i32 {
    set_error(message);
    status::ERROR
}

fn not_created() -> i32 {
    set_error("strategy called before a successful create");
    status::NOT_CREATED
}

/// A linear-memory address as the `i32` WASM passes around (identity on wasm32).
fn addr<T>(ptr: *mut T) -> i32 {
    ptr as usize as i32
}
