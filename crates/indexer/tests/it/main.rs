//! The indexer against a real anvil and a real PostgreSQL (a fresh database per test).

mod faults;
mod helpers;
mod lifecycle;
mod performance;
mod resilience;
