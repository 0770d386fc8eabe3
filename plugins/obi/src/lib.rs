//! `obi` strategy (to be written).
