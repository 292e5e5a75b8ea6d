//! Several agreements in ETH and ERC-20 through every kind of step; the mirror must equal what the
//! contract itself reports for each agreement and milestone, and the escrow's balances.

use alloy::primitives::{keccak256, Address, Uint, B256, U256};
use eyre::Result;
use pactum_core::Agreement;
use sqlx::{PgPool, Row};

use crate::helpers::{chain, fresh_db, Chain};

/// Plays the scenario; returns the agreements it created (and the revoked one's id).
pub(crate) async fn scenario(c: &Chain) -> Result<(Vec<Agreement>, B256)> {
    let usd = *c.usd.address();
    let (brand, creator, arbiter) = (c.brand.address(), c.creator.address(), c.arbiter.address());
    let reason = keccak256("reason");

    // A1 (USD, arbiter): approve after delivery; revision, dispute, arbiter ruling; approve unsubmitted.
    let a1 = c.agreement(usd, &[1_000_000_000, 2_000_000_000, 3_000_000_000], true, 1).await?;
    c.create_and_fund(&a1, 3).await?;
    c.escrow
        .submit(a1.clone(), U256::ZERO, keccak256("v1"), "ipfs://a1-0".into())
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow.approve(a1.clone(), U256::ZERO).from(brand).send().await?.get_receipt().await?;
    c.escrow
        .submit(a1.clone(), U256::from(1), keccak256("v1"), "ipfs://a1-1".into())
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .requestRevision(a1.clone(), U256::from(1), reason)
        .from(brand)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .submit(a1.clone(), U256::from(1), keccak256("v2"), "ipfs://a1-1b".into())
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .dispute(a1.clone(), U256::from(1), reason)
        .from(brand)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .resolveDispute(a1.clone(), U256::from(1), 6_000)
        .from(arbiter)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow.approve(a1.clone(), U256::from(2)).from(brand).send().await?.get_receipt().await?;

    // A2 (ETH, arbiter): partial funding; claim after silence; contested termination ruled by the arbiter.
    let eth = U256::from(10u64).pow(U256::from(18));
    let a2 = Agreement {
        milestones: c
            .agreement(Address::ZERO, &[1, 1], true, 2)
            .await?
            .milestones
            .into_iter()
            .map(|mut m| {
                m.amount = eth;
                m
            })
            .collect(),
        ..c.agreement(Address::ZERO, &[1, 1], true, 2).await?
    };
    c.create_and_fund(&a2, 1).await?;
    c.escrow
        .fund(a2.clone(), U256::from(1), U256::from(1))
        .value(eth)
        .from(brand)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .submit(a2.clone(), U256::ZERO, keccak256("eth"), "ipfs://a2-0".into())
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.warp(3 * 86_400 + 1).await?;
    c.escrow
        .claimAfterSilence(a2.clone(), U256::ZERO)
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow.terminate(a2.clone(), reason).from(brand).send().await?.get_receipt().await?;
    c.escrow.contestTermination(a2.clone()).from(creator).send().await?.get_receipt().await?;
    c.escrow
        .resolveTermination(a2.clone(), 3_000)
        .from(arbiter)
        .send()
        .await?
        .get_receipt()
        .await?;

    // A3 (USD, no arbiter): created unfunded, funded later, terminated by the creator, finalized.
    let a3 = c.agreement(usd, &[500_000_000, 700_000_000], false, 3).await?;
    let id3 = c.id(&a3);
    c.escrow
        .create(a3.clone(), c.sign(&c.brand, id3)?, c.sign(&c.creator, id3)?)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow
        .fund(a3.clone(), U256::ZERO, U256::from(2))
        .from(brand)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow.terminate(a3.clone(), reason).from(creator).send().await?.get_receipt().await?;
    c.warp(2 * 86_400 + 1).await?;
    c.escrow.finalizeTermination(a3.clone()).send().await?.get_receipt().await?;

    // A4 (USD): revoked before creation.
    let a4 = c.agreement(usd, &[1_000_000], true, 4).await?;
    c.escrow.revoke(a4.clone()).from(creator).send().await?.get_receipt().await?;

    // A5 (USD): a mutual settlement of its only milestone; A6 (USD): left open mid-way.
    let a5 = c.agreement(usd, &[1_000_000_000], true, 5).await?;
    let id5 = c.create_and_fund(&a5, 1).await?;
    let deadline = Uint::from(c.now().await? + 3_600);
    let nonce = c.escrow.getState(id5).call().await?.nonce;
    let digest = c
        .escrow
        .hashSettlement(id5, U256::ZERO, U256::from(400_000_000u64), nonce, deadline)
        .call()
        .await?;
    c.escrow
        .settle(
            a5.clone(),
            U256::ZERO,
            U256::from(400_000_000u64),
            nonce,
            deadline,
            c.sign(&c.brand, digest)?,
            c.sign(&c.creator, digest)?,
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    let a6 = c.agreement(usd, &[300_000_000, 300_000_000], true, 6).await?;
    c.create_and_fund(&a6, 2).await?;
    c.escrow
        .submit(a6.clone(), U256::from(1), keccak256("a6"), "ipfs://a6-1".into())
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;

    // A7 (USD, arbiter): terminated while milestone 0 is under review. The termination takes only
    // the funded, never submitted milestone 1 (back to the brand) and leaves the agreement
    // closing; the creator's claim after silence then ends it as terminated.
    let a7 = c.agreement(usd, &[200_000_000, 250_000_000], true, 7).await?;
    c.create_and_fund(&a7, 2).await?;
    c.escrow
        .submit(a7.clone(), U256::ZERO, keccak256("a7"), "ipfs://a7-0".into())
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;
    c.escrow.terminate(a7.clone(), reason).from(brand).send().await?.get_receipt().await?;
    c.warp(2 * 86_400 + 1).await?;
    c.escrow.finalizeTermination(a7.clone()).send().await?.get_receipt().await?;
    c.warp(86_400).await?;
    c.escrow
        .claimAfterSilence(a7.clone(), U256::ZERO)
        .from(creator)
        .send()
        .await?
        .get_receipt()
        .await?;

    // A6 then: the brand voids any signed split, and both sign a mutual termination for the new
    // nonce: milestone 0 (unearned) is split, milestone 1 (under review) runs on: closing.
    let id6 = c.id(&a6);
    c.escrow.cancelSignatures(a6.clone()).from(brand).send().await?.get_receipt().await?;
    let nonce = c.escrow.getState(id6).call().await?.nonce;
    let deadline = Uint::from(c.now().await? + 3_600);
    let digest = c
        .escrow
        .hashMutualTermination(id6, U256::from(100_000_000u64), nonce, deadline)
        .call()
        .await?;
    c.escrow
        .terminateMutually(
            a6.clone(),
            U256::from(100_000_000u64),
            nonce,
            deadline,
            c.sign(&c.brand, digest)?,
            c.sign(&c.creator, digest)?,
        )
        .send()
        .await?
        .get_receipt()
        .await?;

    Ok((vec![a1, a2, a3, a5, a6, a7], c.id(&a4)))
}

const STATUS: [&str; 7] =
    ["none", "active", "terminating", "completed", "terminated", "revoked", "closing"];
const MILESTONE: [&str; 11] = [
    "open",
    "submitted",
    "revision_requested",
    "disputed",
    "approved",
    "claimed",
    "reclaimed",
    "resolved",
    "timed_out",
    "settled",
    "cancelled",
];

/// Asserts the mirror equals the contract's view of every agreement, and the escrow's balances.
pub(crate) async fn assert_mirrors_chain(
    c: &Chain,
    pool: &PgPool,
    agreements: &[Agreement],
    revoked: B256,
) -> Result<()> {
    let chain_id = c.chain_id() as i64;
    for a in agreements {
        let id = c.id(a);
        let on_chain = c.escrow.getState(id).call().await?;
        let row = sqlx::query(
            "SELECT status, funded_count, terminated_by, contested, since, nonce FROM agreements \
             WHERE chain_id = $1 AND id = $2",
        )
        .bind(chain_id)
        .bind(id.to_vec())
        .fetch_one(pool)
        .await?;
        assert_eq!(
            row.get::<String, _>("status"),
            STATUS[on_chain.status as usize],
            "status of {id}"
        );
        assert_eq!(
            row.get::<i32, _>("funded_count"),
            i32::from(on_chain.fundedCount),
            "funded of {id}"
        );
        assert_eq!(row.get::<i32, _>("terminated_by"), i32::from(on_chain.terminatedBy));
        assert_eq!(row.get::<bool, _>("contested"), on_chain.contested);
        assert_eq!(row.get::<i64, _>("since"), on_chain.since.to::<u64>() as i64, "since of {id}");
        assert_eq!(row.get::<i64, _>("nonce"), i64::from(on_chain.nonce), "nonce of {id}");
        for i in 0..a.milestones.len() {
            let m = c.escrow.getMilestone(id, U256::from(i)).call().await?;
            let row = sqlx::query(
                "SELECT status, since, revisions FROM milestones \
                 WHERE chain_id = $1 AND agreement_id = $2 AND index = $3",
            )
            .bind(chain_id)
            .bind(id.to_vec())
            .bind(i as i32)
            .fetch_one(pool)
            .await?;
            assert_eq!(
                row.get::<String, _>("status"),
                MILESTONE[m._0 as usize],
                "milestone {i} of {id}"
            );
            assert_eq!(
                row.get::<i64, _>("since"),
                m._1.to::<u64>() as i64,
                "since of milestone {i} of {id}"
            );
            assert_eq!(
                row.get::<i32, _>("revisions"),
                i32::from(m._2),
                "revisions of milestone {i} of {id}"
            );
        }
    }
    let revoked_status: String =
        sqlx::query_scalar("SELECT status FROM agreements WHERE chain_id = $1 AND id = $2")
            .bind(chain_id)
            .bind(revoked.to_vec())
            .fetch_one(pool)
            .await?;
    assert_eq!(revoked_status, STATUS[c.escrow.getState(revoked).call().await?.status as usize]);

    // What the mirror says the escrow holds, per token, equals the escrow's balance (no payment
    // was deferred in this scenario, so nothing else is held).
    for (token, balance) in [
        (Address::ZERO, c.provider_balance(*c.escrow.address()).await?),
        (*c.usd.address(), c.usd.balanceOf(*c.escrow.address()).call().await?),
    ] {
        let held: String = sqlx::query_scalar(
            "SELECT COALESCE(SUM(funded - paid_to_creator - refunded_to_brand - arbiter_fees), 0)::text \
             FROM agreements WHERE chain_id = $1 AND token = $2",
        )
        .bind(chain_id)
        .bind(token.to_vec())
        .fetch_one(pool)
        .await?;
        assert_eq!(held.parse::<U256>()?, balance, "held in token {token}");
    }
    Ok(())
}

impl Chain {
    async fn provider_balance(&self, who: Address) -> Result<U256> {
        use alloy::providers::Provider;
        Ok(self.provider.get_balance(who).await?)
    }
}

#[tokio::test]
async fn mirror_equals_contract_after_full_lifecycles() -> Result<()> {
    let c = chain().await?;
    let pool = fresh_db().await?;
    let (agreements, revoked) = scenario(&c).await?;
    let mut indexer = c.indexer(c.config(), pool.clone());
    indexer.sync_to_head().await?;
    assert_mirrors_chain(&c, &pool, &agreements, revoked).await?;

    // Ledger rows: the deposits and payouts add up to the agreements' totals.
    let deposits: String =
        sqlx::query_scalar("SELECT SUM(amount)::text FROM deposits").fetch_one(&pool).await?;
    let funded: String =
        sqlx::query_scalar("SELECT SUM(funded)::text FROM agreements").fetch_one(&pool).await?;
    assert_eq!(deposits, funded);
    let paid: String =
        sqlx::query_scalar("SELECT SUM(amount)::text FROM payouts").fetch_one(&pool).await?;
    let out: String = sqlx::query_scalar(
        "SELECT SUM(paid_to_creator + refunded_to_brand + arbiter_fees)::text FROM agreements",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(paid, out);
    let disputes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM disputes").fetch_one(&pool).await?;
    assert_eq!(disputes, 1);
    let steps: Vec<String> =
        sqlx::query_scalar("SELECT step FROM terminations ORDER BY block_number, log_index")
            .fetch_all(&pool)
            .await?;
    assert_eq!(
        steps,
        ["started", "contested", "ended", "started", "ended", "started", "ended", "ended"]
    );
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM agreements ORDER BY created_block, created_log_index",
    )
    .fetch_all(&pool)
    .await?;
    // A1 completed; A2, A3 terminated; A4 revoked; A5 completed (settled); A6 closing (its
    // delivered milestone runs on); A7 terminated (its delivered milestone was claimed later).
    assert_eq!(
        statuses,
        ["completed", "terminated", "terminated", "revoked", "completed", "closing", "terminated"]
    );
    let cancelled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM milestones WHERE status = 'cancelled'")
            .fetch_one(&pool)
            .await?;
    // Never submitted when a termination ended: A2's second, A3's two, A6's first, A7's second.
    assert_eq!(cancelled, 5);
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM escrow_events WHERE event IN ('SignaturesCancelled', 'AgreementCompleted') \
         ORDER BY block_number, log_index",
    )
    .fetch_all(&pool)
    .await?;
    assert_eq!(
        events,
        ["AgreementCompleted", "AgreementCompleted", "AgreementCompleted", "SignaturesCancelled"]
    );

    // A restart finds nothing new and changes nothing.
    let before = crate::helpers::dump(&pool).await?;
    let mut again = c.indexer(c.config(), pool.clone());
    again.sync_to_head().await?;
    assert_eq!(crate::helpers::dump(&pool).await?, before);
    Ok(())
}
