//! Local L2 order books and their sequencing (snapshot, deltas, gaps).
