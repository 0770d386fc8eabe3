//! quoter host library.
