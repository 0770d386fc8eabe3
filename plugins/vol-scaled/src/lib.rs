//! `vol-scaled` strategy (to be written).
