//! The quoter host: quotes many symbols on Bybit V5 from one process.
//!
//! Data flows `exchange streams -> books -> strategy runtime -> order router -> exchange`,
//! with the private stream feeding positions and order state back. The modules follow it:
//! [`exchange`] knows Bybit's wire format, [`book`] keeps local L2 books, [`plugin`] loads and
//! runs strategies, [`router`] turns desired quotes into orders, [`model`] holds the domain types.

pub mod app;
pub mod book;
pub mod cli;
pub mod config;
pub mod ctl;
pub mod exchange;
pub mod model;
pub mod plugin;
pub mod reload;
pub mod risk;
pub mod router;
pub mod runtime;
