//! Command-line tools of the `host` binary that are not the main loop.

pub mod quote;
