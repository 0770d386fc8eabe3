//! Market-data sources.

pub mod synthetic;
