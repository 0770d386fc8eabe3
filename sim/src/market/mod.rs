//! Market-data sources.

pub mod replay;
pub mod synthetic;
