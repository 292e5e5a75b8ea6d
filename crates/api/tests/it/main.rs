//! The API over HTTP, against a real anvil (escrow and stablecoin deployed), a fresh PostgreSQL
//! database per test, the indexer, and real signatures from local keys.

mod abuse;
mod access;
mod actions;
mod audit;
mod caching;
mod chain_time;
mod chains;
mod conformance;
mod dashboard;
mod helpers;
mod lifecycle;
mod lists;
mod performance;
mod performance_audit;
#[path = "../../../notify/tests/common/receiver.rs"]
mod receiver;
mod reconciliation;
mod reminders;
mod replica;
#[path = "../../../audit/tests/it/scenario.rs"]
mod scenario;
mod siwe_clients;
mod stream;
mod supersede;
mod termination;
mod terms_clauses;
mod wallets;
mod web;
mod webhooks;
