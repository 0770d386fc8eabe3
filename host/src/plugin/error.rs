//! Errors of the plugin runtime. Every variant names the module file.

use std::path::PathBuf;

/// Something went wrong loading or calling a strategy module.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be read or copied.
    #[error("{path}: cannot read module: {source}")]
    Io {
        /// Module file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is neither a WASM module nor a loadable native library, or is malformed.
    #[error("{path}: not a strategy module: {reason}")]
    NotAModule {
        /// Module file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The module was built against another ABI version.
    #[error("{path}: ABI version {found}, but this host speaks version {expected}")]
    AbiMismatch {
        /// Module file.
        path: PathBuf,
        /// Version the module reports.
        found: i64,
        /// Version the host expects.
        expected: u32,
    },
    /// A required export is missing or has the wrong type, or an import is not allowed.
    #[error("{path}: {reason}")]
    BadInterface {
        /// Module file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The strategy returned an error (bad parameters, bad state, ...).
    #[error("{path}: {call} failed: {message}")]
    Strategy {
        /// Module file.
        path: PathBuf,
        /// Which call.
        call: &'static str,
        /// The strategy's message.
        message: String,
    },
    /// The strategy panicked or trapped; the instance is disabled.
    #[error("{path}: {call} crashed: {message}")]
    Crashed {
        /// Module file.
        path: PathBuf,
        /// Which call.
        call: &'static str,
        /// Panic message or trap description.
        message: String,
    },
    /// The call ran past its deadline; the instance is disabled.
    #[error("{path}: {call} exceeded its deadline of {deadline_us} µs")]
    Timeout {
        /// Module file.
        path: PathBuf,
        /// Which call.
        call: &'static str,
        /// The deadline.
        deadline_us: u64,
    },
    /// The module tried to grow its memory past the cap; the instance is disabled.
    #[error("{path}: {call} exceeded the memory cap of {limit_bytes} bytes")]
    MemoryLimit {
        /// Module file.
        path: PathBuf,
        /// Which call.
        call: &'static str,
        /// The cap.
        limit_bytes: usize,
    },
    /// The ladder returned is unusable (NaN, negative, unordered, crossed, ...).
    #[error("{path}: bad output: {reason}")]
    BadOutput {
        /// Module file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The instance crashed or timed out earlier and takes no more calls.
    #[error("{path}: instance disabled after an earlier failure")]
    Disabled {
        /// Module file.
        path: PathBuf,
    },
}

impl PluginError {
    /// Whether the instance that produced this error can no longer be called.
    pub fn disables_instance(&self) -> bool {
        matches!(
            self,
            Self::Crashed { .. }
                | Self::Timeout { .. }
                | Self::MemoryLimit { .. }
                | Self::Disabled { .. }
        )
    }
}
