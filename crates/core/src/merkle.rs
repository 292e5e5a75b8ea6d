//! Merkle trees of a period's conversion records (written by the records work).
