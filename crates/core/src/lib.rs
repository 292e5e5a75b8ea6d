//! Pactum's agreement types and the EIP-712 rules both parties sign by.
//!
//! The escrow keeps only an agreement's digest: the EIP-712 hash, under the domain
//! (`"Pactum"`, `"1"`, chain id, escrow address), of the agreement both parties signed. Whatever
//! computes or checks such a digest — the indexer, the API, the CLI, the tests — goes through this
//! crate, so there is exactly one implementation to keep equal to the contract's, and a test
//! proves it equal against a deployed escrow.

use alloy::{
    dyn_abi::TypedData,
    primitives::{Address, Signature, B256, U256},
    sol,
    sol_types::{eip712_domain, Eip712Domain, SolStruct},
};

pub mod disclosure;
pub mod ledger;
pub mod merkle;
pub mod notifications;
pub mod performance;
pub mod siwe;
pub mod terms;

pub use pactum_bindings::PactumEscrow::{Agreement, Milestone};

/// The EIP-712 domain name the escrow was deployed with.
pub const DOMAIN_NAME: &str = "Pactum";
/// The EIP-712 domain version the escrow was deployed with.
pub const DOMAIN_VERSION: &str = "1";

sol! {
    /// Both parties' signed split of one milestone (`PactumEscrow.settle`).
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Settlement {
        /// The agreement's id.
        bytes32 agreementId;
        /// The milestone's index.
        uint256 milestone;
        /// What the creator receives; the brand receives the rest.
        uint256 creatorAmount;
        /// The agreement's state nonce the split prices (`getState(id).nonce`): any change of
        /// the agreement's state, or either party's `cancelSignatures`, voids the signatures.
        uint32 nonce;
        /// Unix time after which the signatures are void.
        uint40 deadline;
    }

    /// Both parties' signed termination (`PactumEscrow.terminateMutually`).
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct MutualTermination {
        /// The agreement's id.
        bytes32 agreementId;
        /// What the creator receives of the agreement's unearned escrow (funded milestones never
        /// submitted).
        uint256 creatorAmount;
        /// The agreement's state nonce the split prices (`getState(id).nonce`).
        uint32 nonce;
        /// Unix time after which the signatures are void.
        uint40 deadline;
    }
}

/// What can go wrong when checking a signature or building typed data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The signature is not 65 bytes of r, s and v, or recovers to no key.
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    /// The signature's s lies in the upper half of the curve order: a malleable copy of a valid
    /// signature. The escrow refuses these, so this crate does too.
    #[error("signature has a high s value (malleable); the escrow accepts low-s signatures only")]
    HighS,
    /// The typed data could not be serialized.
    #[error("typed data: {0}")]
    TypedData(String),
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The EIP-712 domain of the escrow at `escrow` on chain `chain_id`.
pub fn domain(chain_id: u64, escrow: Address) -> Eip712Domain {
    eip712_domain! {
        name: DOMAIN_NAME,
        version: DOMAIN_VERSION,
        chain_id: chain_id,
        verifying_contract: escrow,
    }
}

/// The agreement's id: the EIP-712 digest both parties sign and the escrow stores.
pub fn agreement_id(agreement: &Agreement, domain: &Eip712Domain) -> B256 {
    agreement.eip712_signing_hash(domain)
}

/// The digest both parties sign to split one milestone between them.
pub fn settlement_digest(settlement: &Settlement, domain: &Eip712Domain) -> B256 {
    settlement.eip712_signing_hash(domain)
}

/// The digest both parties sign to end an agreement at once.
pub fn mutual_termination_digest(termination: &MutualTermination, domain: &Eip712Domain) -> B256 {
    termination.eip712_signing_hash(domain)
}

/// The agreement as the JSON a wallet's `eth_signTypedData_v4` takes (types, primary type, domain
/// and message); signing it yields a signature over [`agreement_id`].
pub fn agreement_typed_data(
    agreement: &Agreement,
    domain: &Eip712Domain,
) -> Result<serde_json::Value> {
    let typed = TypedData::from_struct(agreement, Some(domain.clone()));
    serde_json::to_value(typed).map_err(|e| Error::TypedData(e.to_string()))
}

/// The settlement as the JSON a wallet's `eth_signTypedData_v4` takes; signing it yields a
/// signature over [`settlement_digest`].
pub fn settlement_typed_data(
    settlement: &Settlement,
    domain: &Eip712Domain,
) -> Result<serde_json::Value> {
    let typed = TypedData::from_struct(settlement, Some(domain.clone()));
    serde_json::to_value(typed).map_err(|e| Error::TypedData(e.to_string()))
}

/// The mutual termination as the JSON a wallet's `eth_signTypedData_v4` takes; signing it yields
/// a signature over [`mutual_termination_digest`].
pub fn mutual_termination_typed_data(
    termination: &MutualTermination,
    domain: &Eip712Domain,
) -> Result<serde_json::Value> {
    let typed = TypedData::from_struct(termination, Some(domain.clone()));
    serde_json::to_value(typed).map_err(|e| Error::TypedData(e.to_string()))
}

/// Recovers the account that signed `digest` with a 65-byte (r, s, v) ECDSA signature, refusing
/// malleable high-s signatures as the escrow does. Contract wallets (EIP-1271) do not recover: they
/// are checked on chain with `isValidSignature`.
pub fn recover_signer(digest: B256, signature: &[u8]) -> Result<Address> {
    let sig =
        Signature::try_from(signature).map_err(|e| Error::MalformedSignature(e.to_string()))?;
    if sig.s() > HALF_ORDER {
        return Err(Error::HighS);
    }
    sig.recover_address_from_prehash(&digest).map_err(|e| Error::MalformedSignature(e.to_string()))
}

/// Half the secp256k1 group order: the largest s a canonical (low-s) signature may have.
const HALF_ORDER: U256 = U256::from_be_slice(&[
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// The sum of the agreement's milestone amounts: what funding it in full costs.
pub fn total_amount(agreement: &Agreement) -> U256 {
    agreement.milestones.iter().fold(U256::ZERO, |sum, m| sum.saturating_add(m.amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256, Uint};

    fn sample() -> Agreement {
        Agreement {
            brand: address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            creator: address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
            arbiter: address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
            token: Address::ZERO,
            termsHash: b256!("0x1111111111111111111111111111111111111111111111111111111111111111"),
            arbiterFeeBps: 250,
            contestWindow: 172_800,
            arbitrationWindow: 604_800,
            revisionRounds: 2,
            deadline: Uint::from(1_900_000_000u64),
            salt: U256::from(7),
            milestones: vec![Milestone {
                amount: U256::from(1_000_000_000u64),
                deadline: Uint::from(1_900_500_000u64),
                reviewWindow: 259_200,
            }],
        }
    }

    #[test]
    fn type_string_matches_the_contract() {
        // The contract's AGREEMENT_TYPEHASH preimage, copied from AgreementHashing.sol.
        assert_eq!(
            Agreement::eip712_encode_type(),
            "Agreement(address brand,address creator,address arbiter,address token,\
             bytes32 termsHash,uint16 arbiterFeeBps,uint32 contestWindow,\
             uint32 arbitrationWindow,uint8 revisionRounds,uint40 deadline,uint256 salt,Milestone[] milestones)\
             Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)"
        );
        assert_eq!(
            Settlement::eip712_encode_type(),
            "Settlement(bytes32 agreementId,uint256 milestone,uint256 creatorAmount,uint32 nonce,\
             uint40 deadline)"
        );
        assert_eq!(
            MutualTermination::eip712_encode_type(),
            "MutualTermination(bytes32 agreementId,uint256 creatorAmount,uint32 nonce,uint40 deadline)"
        );
    }

    #[test]
    fn typed_data_names_revision_rounds_and_nonce() {
        let dom = domain(31337, address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"));
        let a = sample();
        let typed = agreement_typed_data(&a, &dom).expect("typed data");
        let fields = typed["types"]["Agreement"].as_array().expect("Agreement type");
        assert!(fields.iter().any(|f| f["name"] == "revisionRounds" && f["type"] == "uint8"));
        assert_eq!(typed["message"]["revisionRounds"], 2);
        let s = Settlement {
            agreementId: agreement_id(&a, &dom),
            milestone: U256::ZERO,
            creatorAmount: U256::from(5),
            nonce: 7,
            deadline: Uint::from(1_900_000_000u64),
        };
        let typed = settlement_typed_data(&s, &dom).expect("typed data");
        let fields = typed["types"]["Settlement"].as_array().expect("Settlement type");
        assert!(fields.iter().any(|f| f["name"] == "nonce" && f["type"] == "uint32"));
        assert_eq!(typed["message"]["nonce"], 7);
        // The nonce is part of the digest: another nonce, another digest.
        let other = Settlement { nonce: 8, ..s.clone() };
        assert_ne!(settlement_digest(&s, &dom), settlement_digest(&other, &dom));
    }

    #[test]
    fn id_depends_on_chain_and_escrow() {
        let a = sample();
        let escrow = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
        let id = agreement_id(&a, &domain(31337, escrow));
        assert_ne!(id, agreement_id(&a, &domain(1, escrow)));
        assert_ne!(id, agreement_id(&a, &domain(31337, Address::ZERO)));
    }

    #[test]
    fn recover_refuses_high_s_and_garbage() {
        assert!(matches!(
            recover_signer(B256::ZERO, &[0u8; 10]),
            Err(Error::MalformedSignature(_))
        ));
        let mut sig = [0u8; 65];
        sig[32..64].copy_from_slice(&[0xff; 32]);
        sig[64] = 27;
        assert!(matches!(recover_signer(B256::ZERO, &sig), Err(Error::HighS)));
    }
}
