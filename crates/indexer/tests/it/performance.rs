//! The performance contract mirrored beside the escrow by the same indexer: exactly once across
//! reruns, rolled back and replayed by a reorg like the escrow's events, and a mirror that cannot
//! start or stop following the contract halfway.

use std::time::Duration;

use alloy::{
    primitives::{aliases::U40, Address, B256, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use eyre::{ensure, Result};
use pactum_bindings::PactumPerformance::{self, PactumPerformanceInstance};
use pactum_core::performance::{self as perf, PerformanceAgreement, Report, Tier};

use crate::helpers::{chain, dump, fresh_db, Chain};

struct Perf {
    contract: PactumPerformanceInstance<alloy::providers::DynProvider>,
    attester: PrivateKeySigner,
    agreement: PerformanceAgreement,
    id: B256,
}

/// Deploys the performance contract and creates a funded agreement (100 units of budget, 10 a
/// conversion, daily periods) with the deployer's key as attester.
async fn setup(c: &Chain) -> Result<Perf> {
    let contract = PactumPerformance::deploy(c.provider.clone()).await?;
    c.usd
        .approve(*contract.address(), U256::MAX)
        .from(c.brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    let attester: PrivateKeySigner = c.anvil.keys()[0].clone().into();
    let now = c.now().await?;
    let agreement = PerformanceAgreement {
        brand: c.brand.address(),
        partner: c.creator.address(),
        attester: attester.address(),
        arbiter: Address::ZERO,
        token: *c.usd.address(),
        termsHash: B256::ZERO,
        metric: 0,
        arbiterFeeBps: 0,
        start: U40::from(now),
        period: 86_400,
        periods: 2,
        reportWindow: 86_400,
        lockWindow: 86_400,
        arbitrationWindow: 86_400,
        deadline: U40::from(now + 3_600),
        salt: U256::from(7),
        tiers: vec![Tier { fromUnits: 0, rate: 10 }],
    };
    let id = perf::agreement_id(&agreement, &perf::domain(c.chain_id(), *contract.address()));
    contract
        .createAndFund(
            agreement.clone(),
            c.sign(&c.brand, id)?,
            c.sign(&c.creator, id)?,
            U256::from(100),
        )
        .from(c.brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(Perf { contract, attester, agreement, id })
}

impl Perf {
    fn report(
        &self,
        c: &Chain,
        period: u32,
        units: u128,
    ) -> Result<(Report, alloy::primitives::Bytes)> {
        let r = Report {
            agreementId: self.id,
            period,
            version: 1,
            units,
            revenue: 0,
            detailRoot: B256::repeat_byte(u8::try_from(units % 256)?),
        };
        let d = perf::domain(c.chain_id(), *self.contract.address());
        Ok((r.clone(), c.sign(&self.attester, perf::report_digest(&r, &d))?))
    }
}

async fn events(pool: &sqlx::PgPool) -> Result<Vec<(String, Option<i32>)>> {
    Ok(sqlx::query_as(
        "SELECT event, period FROM performance_events ORDER BY block_number, log_index",
    )
    .fetch_all(pool)
    .await?)
}

#[tokio::test]
async fn performance_events_are_mirrored_once_and_follow_a_reorg() -> Result<()> {
    let c = chain().await?;
    let p = setup(&c).await?;
    let pool = fresh_db().await?;
    let mut cfg = c.config();
    cfg.performance = Some(*p.contract.address());
    let mut indexer = c.indexer(cfg.clone(), pool.clone());
    indexer.sync_to_head().await?;
    let created = events(&pool).await?;
    ensure!(
        created
            == [
                ("PerformanceAgreementCreated".to_owned(), None),
                ("BudgetFunded".to_owned(), None)
            ],
        "{created:?}"
    );
    // A rerun from the checkpoint adds nothing.
    c.indexer(cfg.clone(), pool.clone()).sync_to_head().await?;
    ensure!(events(&pool).await?.len() == 2, "a rerun duplicated events");

    // Period 0's report of 5 units is mirrored...
    c.warp(86_400 + 10).await?;
    let (r, sig) = p.report(&c, 0, 5)?;
    p.contract.submitReport(p.agreement.clone(), r, sig).send().await?.get_receipt().await?;
    indexer.sync_to_head().await?;
    let units: Vec<String> = sqlx::query_scalar(
        "SELECT fields->>'units' FROM performance_events WHERE event = 'ReportAccepted'",
    )
    .fetch_all(&pool)
    .await?;
    ensure!(units.len() == 1, "{units:?}");

    // ...until a reorg replaces its block with one where the report said 3.
    let _: serde_json::Value = c
        .provider
        .raw_request("anvil_reorg".into(), (1u64, Vec::<serde_json::Value>::new()))
        .await?;
    let (r, sig) = p.report(&c, 0, 3)?;
    let nonce = c.provider.get_transaction_count(p.attester.address()).await?;
    let pending = p.contract.submitReport(p.agreement.clone(), r, sig).nonce(nonce).send().await?;
    let hash = *pending.tx_hash();
    let mut receipt = None;
    for _ in 0..100 {
        receipt = c.provider.get_transaction_receipt(hash).await?;
        if receipt.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ensure!(receipt.is_some_and(|r| r.status()), "the fork's report");
    tokio::time::timeout(Duration::from_secs(60), indexer.sync_to_head()).await??;
    ensure!(indexer.stats().reorgs == 1, "reorgs: {}", indexer.stats().reorgs);
    let reports: Vec<(String, String)> = sqlx::query_as(
        "SELECT fields->>'units', fields->>'pay' FROM performance_events WHERE event = 'ReportAccepted'",
    )
    .fetch_all(&pool)
    .await?;
    ensure!(reports.len() == 1, "one report after the reorg: {reports:?}");
    let on_chain = p.contract.getPeriod(p.id, U256::ZERO).call().await?;
    ensure!(on_chain.units == 3 && on_chain.pay == 30, "the fork's report is canonical");
    ensure!(
        U256::from_str_radix(reports[0].0.trim_start_matches("0x"), 16)? == U256::from(3),
        "{reports:?}"
    );
    // Row for row what a clean run over the new chain mirrors.
    let clean = fresh_db().await?;
    c.indexer(cfg, clean.clone()).sync_to_head().await?;
    ensure!(dump(&pool).await? == dump(&clean).await?, "the mirror differs from a clean run");
    Ok(())
}

#[tokio::test]
async fn a_mirror_cannot_start_or_stop_following_the_contract_halfway() -> Result<()> {
    let c = chain().await?;
    let p = setup(&c).await?;
    let other = PactumPerformance::deploy(c.provider.clone()).await?;
    let pool = fresh_db().await?;
    // Built without the performance contract: its events were never read.
    c.indexer(c.config(), pool.clone()).sync_to_head().await?;
    let mut with = c.config();
    with.performance = Some(*p.contract.address());
    let err = c.indexer(with.clone(), pool.clone()).sync_to_head().await;
    ensure!(
        matches!(err, Err(pactum_indexer::Error::PerformanceMismatch { .. })),
        "started following halfway: {err:?}"
    );
    ensure!(events(&pool).await?.is_empty(), "wrote performance events");

    // Built with it: another contract, or none, is refused.
    let pool = fresh_db().await?;
    c.indexer(with.clone(), pool.clone()).sync_to_head().await?;
    let mut another = with.clone();
    another.performance = Some(*other.address());
    for cfg in [another, c.config()] {
        let err = c.indexer(cfg, pool.clone()).sync_to_head().await;
        ensure!(matches!(err, Err(pactum_indexer::Error::PerformanceMismatch { .. })), "{err:?}");
    }
    ensure!(events(&pool).await?.len() == 2, "the mirror changed");
    Ok(())
}
