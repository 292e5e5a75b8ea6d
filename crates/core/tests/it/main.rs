//! pactum-core against a real escrow on anvil: the digests this crate computes are the ones the
//! contract computes, and signatures made from them (by a local key, or by anvil's own
//! `eth_signTypedData_v4` over [`pactum_core::agreement_typed_data`]) create agreements on chain.

mod eip712;
