//! Reconciliation against a real anvil: every exit of the escrow, deferred payments, a stray
//! transfer, a node that limits `eth_getLogs`, and nodes or addresses that cannot be reconciled.

mod chain;
mod scenario;
