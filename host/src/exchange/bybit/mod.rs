//! Bybit V5: wire types, parsing, signing, REST and WebSocket clients.
