//! A Bybit V5 wire-compatible simulated exchange (work in progress).
