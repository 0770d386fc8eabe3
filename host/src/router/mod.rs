//! The order router: desired quotes against working orders, rate limits, order state.
