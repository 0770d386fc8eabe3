//! Error reporting across the boundary.

use bytemuck::{Pod, Zeroable};

use crate::types::truncate_utf8;

/// Bytes an [`ErrorBuf`] can hold.
pub const ERROR_CAP: usize = 508;

/// A fixed-size error message buffer the plugin writes and the host reads.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ErrorBuf {
    /// Length of the UTF-8 message in `bytes`.
    pub len: u32,
    /// Message bytes.
    pub bytes: [u8; ERROR_CAP],
}

impl Default for ErrorBuf {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl ErrorBuf {
    /// Store `message`, truncated to [`ERROR_CAP`] bytes on a character boundary.
    pub fn set(&mut self, message: &str) {
        let bytes = truncate_utf8(message, ERROR_CAP);
        self.bytes[..bytes.len()].copy_from_slice(bytes);
        self.len = bytes.len() as u32;
    }

    /// The stored message.
    pub fn message(&self) -> &str {
        let len = (self.len as usize).min(ERROR_CAP);
        core::str::from_utf8(&self.bytes[..len]).unwrap_or("<invalid utf-8 error message>")
    }
}

/// Text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic with a non-string payload".to_string()
    }
}
