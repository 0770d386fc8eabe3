//! Domain types without I/O: instruments, orders, price and quantity rounding, ids.
