//! `sim` binary.
fn main() {}
