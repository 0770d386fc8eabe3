//! Everything that knows an exchange's wire format.

pub mod bybit;
