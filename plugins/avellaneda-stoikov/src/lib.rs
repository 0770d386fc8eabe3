//! `avellaneda-stoikov` strategy (to be written).
