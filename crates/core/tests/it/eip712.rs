use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, Bytes, Uint, B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::Result;
use pactum_bindings::PactumEscrow;
use pactum_core::{
    agreement_id, agreement_typed_data, domain, mutual_termination_digest, recover_signer,
    settlement_digest, settlement_typed_data, Agreement, Milestone, MutualTermination, Settlement,
};

fn agreement(brand: Address, creator: Address, arbiter: Address, now: u64) -> Agreement {
    Agreement {
        brand,
        creator,
        arbiter,
        token: Address::ZERO,
        termsHash: alloy::primitives::keccak256(b"{\"deliverables\":[]}"),
        arbiterFeeBps: 250,
        contestWindow: 2 * 86_400,
        arbitrationWindow: 7 * 86_400,
        revisionRounds: 2,
        deadline: Uint::from(now + 86_400),
        salt: U256::from(42),
        milestones: (1..=3u64)
            .map(|i| Milestone {
                amount: U256::from(i) * U256::from(10u64).pow(U256::from(17)),
                deadline: Uint::from(now + i * 7 * 86_400),
                reviewWindow: 3 * 86_400,
            })
            .collect(),
    }
}

/// The Rust digests equal the contract's; a Rust-signed (brand) and an anvil-signed typed-data
/// (creator) signature create and fund the agreement, and the event's id is the Rust digest.
#[tokio::test]
async fn rust_digest_equals_contract_and_creates_agreement() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let brand_key: PrivateKeySigner = anvil.keys()[1].clone().into();
    let creator = anvil.addresses()[2];
    let arbiter = anvil.addresses()[3];
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(brand_key.clone()))
        .connect_http(anvil.endpoint_url());

    let escrow = PactumEscrow::deploy(&provider).await?;
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .expect("latest block")
        .header
        .timestamp;
    let a = agreement(brand_key.address(), creator, arbiter, now);
    let dom = domain(anvil.chain_id(), *escrow.address());

    // Same digest on both sides, for the agreement and for the two other signed types.
    let id = agreement_id(&a, &dom);
    assert_eq!(escrow.hashAgreement(a.clone()).call().await?, id);
    let deadline = Uint::from(now + 3_600);
    for nonce in [0u32, 1, u32::MAX] {
        let settlement = Settlement {
            agreementId: id,
            milestone: U256::from(1),
            creatorAmount: U256::from(5),
            nonce,
            deadline,
        };
        assert_eq!(
            escrow.hashSettlement(id, U256::from(1), U256::from(5), nonce, deadline).call().await?,
            settlement_digest(&settlement, &dom)
        );
        let termination =
            MutualTermination { agreementId: id, creatorAmount: U256::from(9), nonce, deadline };
        assert_eq!(
            escrow.hashMutualTermination(id, U256::from(9), nonce, deadline).call().await?,
            mutual_termination_digest(&termination, &dom)
        );
    }

    // The brand signs the digest with a local key (k256); the creator's wallet signs the typed
    // data JSON, as a browser wallet would.
    let brand_sig = brand_key.sign_hash_sync(&id)?.as_bytes();
    let typed = agreement_typed_data(&a, &dom)?;
    let creator_sig: Bytes =
        provider.raw_request("eth_signTypedData_v4".into(), (creator, typed)).await?;
    assert_eq!(recover_signer(id, &brand_sig)?, brand_key.address());
    assert_eq!(recover_signer(id, &creator_sig)?, creator);

    let total: U256 = a.milestones.iter().map(|m| m.amount).sum();
    let receipt = escrow
        .createAndFund(a.clone(), brand_sig.to_vec().into(), creator_sig, U256::from(3))
        .value(total)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let created = receipt
        .decoded_log::<PactumEscrow::AgreementCreated>()
        .expect("AgreementCreated in the receipt");
    assert_eq!(created.id, id);
    assert_eq!(created.agreement.milestones.len(), 3);
    assert_eq!(provider.get_balance(*escrow.address()).await?, total);
    let state = escrow.getState(id).call().await?;
    assert_eq!(state.fundedCount, 3);
    assert_eq!(state.nonce, 1, "funding moved the state nonce");

    // A settlement signed (as typed data, by the creator's wallet) for the current nonce settles;
    // the same split signed for the previous nonce is refused as stale.
    let settle_typed = |nonce: u32| -> Result<(Settlement, serde_json::Value)> {
        let s = Settlement {
            agreementId: id,
            milestone: U256::ZERO,
            creatorAmount: U256::from(4) * U256::from(10u64).pow(U256::from(16)),
            nonce,
            deadline,
        };
        let typed = settlement_typed_data(&s, &dom)?;
        Ok((s, typed))
    };
    let (stale, stale_typed) = settle_typed(0)?;
    let digest = settlement_digest(&stale, &dom);
    let brand_sig = brand_key.sign_hash_sync(&digest)?.as_bytes();
    let creator_sig: Bytes =
        provider.raw_request("eth_signTypedData_v4".into(), (creator, stale_typed)).await?;
    assert_eq!(recover_signer(digest, &creator_sig)?, creator);
    let err = escrow
        .settle(
            a.clone(),
            stale.milestone,
            stale.creatorAmount,
            stale.nonce,
            deadline,
            brand_sig.to_vec().into(),
            creator_sig,
        )
        .call()
        .await
        .err()
        .expect("a stale nonce is refused");
    let decoded = err
        .as_decoded_interface_error::<PactumEscrow::PactumEscrowErrors>()
        .expect("decoded revert");
    assert!(
        matches!(decoded, PactumEscrow::PactumEscrowErrors::Escrow_StaleNonce(ref e)
            if e.signed == 0 && e.current == 1),
        "{decoded:?}"
    );
    let (fresh, fresh_typed) = settle_typed(1)?;
    let digest = settlement_digest(&fresh, &dom);
    let brand_sig = brand_key.sign_hash_sync(&digest)?.as_bytes();
    let creator_sig: Bytes =
        provider.raw_request("eth_signTypedData_v4".into(), (creator, fresh_typed)).await?;
    let receipt = escrow
        .settle(
            a.clone(),
            fresh.milestone,
            fresh.creatorAmount,
            fresh.nonce,
            deadline,
            brand_sig.to_vec().into(),
            creator_sig,
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let settled = receipt
        .decoded_log::<PactumEscrow::MilestoneSettled>()
        .expect("MilestoneSettled in the receipt");
    assert_eq!(settled.creatorAmount, fresh.creatorAmount);
    assert_eq!(escrow.getState(id).call().await?.nonce, 2);
    Ok(())
}

/// A signature by the wrong key, or over another chain's domain, does not create the agreement.
#[tokio::test]
async fn wrong_signer_and_wrong_domain_are_refused() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let brand_key: PrivateKeySigner = anvil.keys()[1].clone().into();
    let creator_key: PrivateKeySigner = anvil.keys()[2].clone().into();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(brand_key.clone()))
        .connect_http(anvil.endpoint_url());
    let escrow = PactumEscrow::deploy(&provider).await?;
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .expect("latest block")
        .header
        .timestamp;
    // Without an arbiter the fee must be zero, or creation fails before the signatures are read.
    let a = Agreement {
        arbiterFeeBps: 0,
        ..agreement(brand_key.address(), creator_key.address(), Address::ZERO, now)
    };

    let id = agreement_id(&a, &domain(anvil.chain_id(), *escrow.address()));
    let other_chain = agreement_id(&a, &domain(1, *escrow.address()));
    let brand_sig = brand_key.sign_hash_sync(&id)?.as_bytes().to_vec();
    let stranger: PrivateKeySigner = PrivateKeySigner::random();

    for (label, creator_sig) in [
        ("wrong signer", stranger.sign_hash_sync(&id)?.as_bytes().to_vec()),
        ("other chain", creator_key.sign_hash_sync(&other_chain)?.as_bytes().to_vec()),
    ] {
        let err = escrow
            .create(a.clone(), brand_sig.clone().into(), creator_sig.into())
            .call()
            .await
            .expect_err(label);
        let decoded = err
            .as_decoded_interface_error::<PactumEscrow::PactumEscrowErrors>()
            .unwrap_or_else(|| panic!("{label}: undecoded revert {err}"));
        assert!(
            matches!(
                decoded,
                PactumEscrow::PactumEscrowErrors::Escrow_InvalidSignature(ref e)
                    if e.signer == creator_key.address()
            ),
            "{label}: {decoded:?}"
        );
    }
    assert_eq!(escrow.getState(B256::from(id)).call().await?.status, 0);
    Ok(())
}
