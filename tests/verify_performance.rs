//! `pactum verify` on a performance bundle file, as an auditor runs it: a bundle built from the
//! node's own logs verifies against the trusted performance contract (exit 0); the same bundle
//! with an altered tier rate fails by name (exit 1); without a trusted contract it is not checked
//! at all (exit 2), the bundle's own claim never standing in for it.

use std::process::Command;

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{aliases::U40, Address, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::Filter,
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::Result;
use pactum_audit::{
    bundle::BlockRef,
    performance::{name_of_topic, AgreementDoc, PerformanceBundle, RawEvent, FORMAT},
};
use pactum_bindings::{MockStablecoin, PactumPerformance};
use pactum_core::performance::{agreement_id, domain, PerformanceAgreement, Tier};

fn verify(file: &std::path::Path, rpc: &str, extra: &[&str]) -> Result<(i32, serde_json::Value)> {
    let out = Command::new(env!("CARGO_BIN_EXE_pactum"))
        .arg("verify")
        .arg(file)
        .args(["--rpc-url", rpc, "--json"])
        .args(extra)
        .output()?;
    let report = serde_json::from_slice(&out.stdout).unwrap_or_default();
    Ok((out.status.code().unwrap_or(-1), report))
}

fn status_of(report: &serde_json::Value, id: &str) -> Option<String> {
    report["checks"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
async fn pactum_verify_checks_a_performance_bundle_file() -> Result<()> {
    let anvil = Anvil::new().try_spawn()?;
    let sender: PrivateKeySigner = anvil.keys()[0].clone().into();
    let brand: PrivateKeySigner = anvil.keys()[1].clone().into();
    let partner: PrivateKeySigner = anvil.keys()[2].clone().into();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(sender))
        .connect_http(anvil.endpoint_url())
        .erased();
    let usd = MockStablecoin::deploy(provider.clone()).await?;
    let perf = PactumPerformance::deploy(provider.clone()).await?;
    let now = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let agreement = PerformanceAgreement {
        brand: brand.address(),
        partner: partner.address(),
        attester: anvil.addresses()[3],
        arbiter: Address::ZERO,
        token: *usd.address(),
        termsHash: B256::repeat_byte(7),
        metric: 0,
        arbiterFeeBps: 0,
        start: U40::from(now),
        period: 86_400,
        periods: 2,
        reportWindow: 86_400,
        lockWindow: 86_400,
        arbitrationWindow: 86_400,
        deadline: U40::from(now + 3_600),
        salt: U256::from(1),
        tiers: vec![
            Tier { fromUnits: 0, rate: 10_000_000 },
            Tier { fromUnits: 3, rate: 15_000_000 },
        ],
    };
    let chain_id = anvil.chain_id();
    let id = agreement_id(&agreement, &domain(chain_id, *perf.address()));
    let brand_sig = brand.sign_hash_sync(&id)?.as_bytes().to_vec();
    let partner_sig = partner.sign_hash_sync(&id)?.as_bytes().to_vec();
    perf.create(agreement.clone(), brand_sig.into(), partner_sig.into())
        .send()
        .await?
        .get_receipt()
        .await?;

    // The bundle, from the node's logs (as an exporter would write it, unsigned).
    let head = provider.get_block_number().await?;
    let block = provider
        .get_block_by_number(head.into())
        .await?
        .ok_or_else(|| eyre::eyre!("no head block"))?;
    let logs = provider
        .get_logs(&Filter::new().address(*perf.address()).topic1(id).from_block(0).to_block(head))
        .await?;
    let bundle = PerformanceBundle {
        format: FORMAT.to_owned(),
        chain_id,
        contract: *perf.address(),
        exported_at: now,
        as_of: BlockRef { number: head, hash: block.header.hash },
        agreement_id: id,
        agreement: AgreementDoc::from(&agreement),
        events: logs
            .iter()
            .map(|l| RawEvent {
                name: name_of_topic(l.topics().first()).to_owned(),
                block_number: l.block_number.unwrap_or_default(),
                block_hash: l.block_hash.unwrap_or_default(),
                transaction_hash: l.transaction_hash.unwrap_or_default(),
                log_index: l.log_index.unwrap_or_default(),
                topics: l.topics().to_vec(),
                data: l.data().data.clone(),
            })
            .collect(),
        periods: Vec::new(),
        extensions: Default::default(),
        exporter: None,
    };
    let dir = std::env::temp_dir().join(format!("pactum-verify-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("bundle.json");
    std::fs::write(&file, serde_json::to_string_pretty(&bundle)?)?;
    let rpc = anvil.endpoint();
    let contract = perf.address().to_string();

    let (code, report) = verify(&file, &rpc, &["--performance", &contract])?;
    assert_eq!(code, 0, "{report:#}");
    for check in ["pinned-contract", "agreement-id", "creation", "events-complete", "state"] {
        assert_eq!(status_of(&report, check).as_deref(), Some("pass"), "{check}: {report:#}");
    }
    assert_eq!(status_of(&report, "exporter-signature").as_deref(), Some("skipped"));

    // A tier rate altered: the id is no longer the digest of the agreement.
    let mut forged = serde_json::to_value(&bundle)?;
    forged["agreement"]["tiers"][1]["rate"] = serde_json::json!("20000000");
    let forged_file = dir.join("forged.json");
    std::fs::write(&forged_file, forged.to_string())?;
    let (code, report) = verify(&forged_file, &rpc, &["--performance", &contract])?;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(status_of(&report, "agreement-id").as_deref(), Some("fail"), "{report:#}");

    // Another contract (the stablecoin) trusted: the bundle's own contract is not taken.
    let other = usd.address().to_string();
    let (code, report) = verify(&file, &rpc, &["--performance", &other])?;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(status_of(&report, "pinned-contract").as_deref(), Some("fail"), "{report:#}");

    // No trusted contract at all: unreadable, exit 2, nothing verified.
    let (code, report) = verify(&file, &rpc, &[])?;
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["outcome"], "unreadable", "{report:#}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
