//! The reconciliation scenario, shared by the audit, API and CLI tests (the other two include this
//! file by path): a real anvil with the escrow and pUSD, and agreements in ETH and pUSD that leave
//! the escrow by every exit, two payments deferred to a creator whose address reverts on receipt
//! (one withdrawn, one not), one agreement revoked before creation, and money still held. Every
//! figure the reconciliation must find is written out by hand in [`Expected`], not computed by the
//! code under test.

#![allow(dead_code, unreachable_pub)]

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{keccak256, Address, Bytes, Uint, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
};
use eyre::{bail, Result};
use pactum_bindings::{MockStablecoin, PactumEscrow};
use pactum_core::{agreement_id, domain, Agreement, Milestone};

pub(crate) const ETHER: u64 = 1_000_000_000_000_000_000;
/// One pUSD (6 decimals).
pub(crate) const USD: u64 = 1_000_000;
/// Code that reverts on any call, ETH transfers included: PUSH1 0, PUSH1 0, REVERT.
const REVERT_CODE: [u8; 5] = [0x60, 0x00, 0x60, 0x00, 0xfd];

pub(crate) struct Scenario {
    pub(crate) anvil: AnvilInstance,
    pub(crate) provider: DynProvider,
    pub(crate) escrow: PactumEscrow::PactumEscrowInstance<DynProvider>,
    pub(crate) usd: MockStablecoin::MockStablecoinInstance<DynProvider>,
    pub(crate) start_block: u64,
    pub(crate) brand: PrivateKeySigner,
    pub(crate) creator: PrivateKeySigner,
    pub(crate) arbiter: PrivateKeySigner,
    /// Creators whose address gets reverting code: payouts to them are deferred.
    pub(crate) refusing: [PrivateKeySigner; 2],
    /// The ids, by the exit each agreement took.
    pub(crate) ids: Ids,
}

/// The agreements, by the exit each took.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Ids {
    /// ETH: approved, then claimed after the brand's silence. Completed, holds 0.
    pub(crate) approve_claim: B256,
    /// pUSD: reclaimed by the brand after the deadline. Completed, holds 0.
    pub(crate) reclaim: B256,
    /// pUSD: disputed and ruled by the arbiter (with a fee), then settled by both. Holds 0.
    pub(crate) dispute_settle: B256,
    /// ETH: ended by mutual termination. Holds 0.
    pub(crate) mutual: B256,
    /// pUSD: terminated for cause, contested, ruled; milestone 0 under review still holds.
    pub(crate) for_cause: B256,
    /// ETH: approved to a refusing creator, deferred, then withdrawn. Holds 0.
    pub(crate) deferred_withdrawn: B256,
    /// ETH: approved to a refusing creator, deferred and never withdrawn; milestone 1 funded later
    /// and still held.
    pub(crate) deferred_kept: B256,
    /// pUSD: one milestone approved, one funded and open.
    pub(crate) open: B256,
    /// Revoked before creation: no money, no token.
    pub(crate) revoked: B256,
}

/// What the escrow must hold after [`Scenario::play`], worked out by hand.
pub(crate) struct Expected;

impl Expected {
    /// ETH held: `deferred_kept`'s milestone 1.
    pub(crate) fn eth_held() -> U256 {
        U256::from(ETHER / 5)
    }
    /// ETH credits: `deferred_kept`'s milestone 0, never withdrawn.
    pub(crate) fn eth_credits() -> U256 {
        U256::from(7 * ETHER / 10)
    }
    /// pUSD held: `for_cause`'s milestone 0 (400) and `open`'s milestone 1 (70).
    pub(crate) fn usd_held() -> U256 {
        U256::from(470 * USD)
    }
    /// Per agreement.
    pub(crate) fn held(ids: &Ids) -> Vec<(B256, U256)> {
        vec![
            (ids.approve_claim, U256::ZERO),
            (ids.reclaim, U256::ZERO),
            (ids.dispute_settle, U256::ZERO),
            (ids.mutual, U256::ZERO),
            (ids.for_cause, U256::from(400 * USD)),
            (ids.deferred_withdrawn, U256::ZERO),
            (ids.deferred_kept, U256::from(ETHER / 5)),
            (ids.open, U256::from(70 * USD)),
        ]
    }
}

/// anvil, the escrow and pUSD, the brand minted and approved.
pub(crate) async fn deploy() -> Result<Scenario> {
    let anvil = Anvil::new().try_spawn()?;
    let keys: Vec<PrivateKeySigner> = anvil.keys()[..7].iter().cloned().map(Into::into).collect();
    let mut wallet = EthereumWallet::from(keys[0].clone());
    for k in &keys[1..] {
        wallet.register_signer(k.clone());
    }
    let provider =
        ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
    let escrow = PactumEscrow::deploy(provider.clone()).await?;
    let start_block = provider.get_block_number().await?;
    let usd = MockStablecoin::deploy(provider.clone()).await?;
    let brand = keys[1].clone();
    usd.mint(brand.address(), U256::from(1_000_000 * USD)).send().await?.get_receipt().await?;
    usd.approve(*escrow.address(), U256::MAX)
        .from(brand.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(Scenario {
        anvil,
        provider,
        escrow,
        usd,
        start_block,
        brand,
        creator: keys[2].clone(),
        arbiter: keys[3].clone(),
        refusing: [keys[5].clone(), keys[6].clone()],
        ids: Ids::default(),
    })
}

/// Sends a contract call and fails on a revert.
macro_rules! send {
    ($call:expr, $from:expr) => {{
        let receipt = $call.from($from).send().await?.get_receipt().await?;
        if !receipt.status() {
            bail!("{} reverted", stringify!($call));
        }
    }};
}

impl Scenario {
    pub(crate) fn address(&self) -> Address {
        *self.escrow.address()
    }

    pub(crate) fn usd_address(&self) -> Address {
        *self.usd.address()
    }

    fn id(&self, a: &Agreement) -> B256 {
        agreement_id(a, &domain(self.anvil.chain_id(), self.address()))
    }

    fn sign(key: &PrivateKeySigner, digest: B256) -> Result<Bytes> {
        Ok(key.sign_hash_sync(&digest)?.as_bytes().to_vec().into())
    }

    async fn now(&self) -> Result<u64> {
        let block = self.provider.get_block_by_number(Default::default()).await?;
        Ok(block.map(|b| b.header.timestamp).unwrap_or_default())
    }

    /// Moves anvil's clock forward and mines a block.
    pub(crate) async fn warp(&self, seconds: u64) -> Result<()> {
        let _: serde_json::Value =
            self.provider.raw_request("evm_increaseTime".into(), (seconds,)).await?;
        let _: serde_json::Value = self.provider.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }

    async fn set_code(&self, account: Address, code: &[u8]) -> Result<()> {
        let _: serde_json::Value = self
            .provider
            .raw_request("anvil_setCode".into(), (account, Bytes::copy_from_slice(code)))
            .await?;
        Ok(())
    }

    /// An agreement in `token` between the brand and `creator`, milestones due 1, 2… weeks on.
    async fn agreement(
        &self,
        creator: Address,
        token: Address,
        amounts: &[u64],
        arbiter: bool,
        salt: u64,
    ) -> Result<Agreement> {
        let now = self.now().await?;
        Ok(Agreement {
            brand: self.brand.address(),
            creator,
            arbiter: if arbiter { self.arbiter.address() } else { Address::ZERO },
            token,
            termsHash: keccak256(format!("reconciliation terms {salt}")),
            arbiterFeeBps: if arbiter { 250 } else { 0 },
            contestWindow: 2 * 86_400,
            arbitrationWindow: if arbiter { 7 * 86_400 } else { 0 },
            revisionRounds: 1,
            deadline: Uint::from(now + 86_400),
            salt: U256::from(salt),
            milestones: amounts
                .iter()
                .enumerate()
                .map(|(i, a)| Milestone {
                    amount: U256::from(*a),
                    deadline: Uint::from(now + (i as u64 + 1) * 7 * 86_400),
                    reviewWindow: 3 * 86_400,
                })
                .collect(),
        })
    }

    /// Creates `a` (signed by the brand and `creator`) and funds its first `count` milestones.
    async fn create(&self, a: &Agreement, creator: &PrivateKeySigner, count: u64) -> Result<B256> {
        let id = self.id(a);
        let value: U256 = if a.token.is_zero() {
            a.milestones.iter().take(count as usize).map(|m| m.amount).sum()
        } else {
            U256::ZERO
        };
        send!(
            self.escrow
                .createAndFund(
                    a.clone(),
                    Self::sign(&self.brand, id)?,
                    Self::sign(creator, id)?,
                    U256::from(count)
                )
                .value(value),
            self.brand.address()
        );
        Ok(id)
    }

    async fn submit(&self, a: &Agreement, from: Address, milestone: u64) -> Result<()> {
        send!(
            self.escrow.submit(
                a.clone(),
                U256::from(milestone),
                B256::repeat_byte(9),
                "ipfs://d".into()
            ),
            from
        );
        Ok(())
    }

    async fn approve(&self, a: &Agreement, milestone: u64) -> Result<()> {
        send!(self.escrow.approve(a.clone(), U256::from(milestone)), self.brand.address());
        Ok(())
    }

    async fn nonce(&self, id: B256) -> Result<u32> {
        Ok(self.escrow.getState(id).call().await?.nonce)
    }

    /// Every exit, as described on [`Ids`].
    pub(crate) async fn play(&mut self) -> Result<()> {
        let eth = Address::ZERO;
        let usd = self.usd_address();
        let (brand, creator, arbiter) =
            (self.brand.address(), self.creator.address(), self.arbiter.address());
        let c = self.creator.clone();

        // Revoked before it was ever created.
        let revoked = self.agreement(creator, usd, &[10 * USD], false, 0).await?;
        send!(self.escrow.revoke(revoked.clone()), brand);
        self.ids.revoked = self.id(&revoked);

        let approve_claim = self.agreement(creator, eth, &[ETHER, 2 * ETHER], false, 1).await?;
        self.ids.approve_claim = self.create(&approve_claim, &c, 2).await?;
        let reclaim = self.agreement(creator, usd, &[100 * USD], false, 2).await?;
        self.ids.reclaim = self.create(&reclaim, &c, 1).await?;
        let dispute_settle = self.agreement(creator, usd, &[300 * USD, 500 * USD], true, 3).await?;
        self.ids.dispute_settle = self.create(&dispute_settle, &c, 2).await?;
        let mutual = self.agreement(creator, eth, &[ETHER, ETHER], false, 4).await?;
        self.ids.mutual = self.create(&mutual, &c, 2).await?;
        let for_cause = self.agreement(creator, usd, &[400 * USD, 600 * USD], true, 5).await?;
        self.ids.for_cause = self.create(&for_cause, &c, 2).await?;
        let [r0, r1] = self.refusing.clone();
        let deferred_withdrawn =
            self.agreement(r0.address(), eth, &[3 * ETHER / 10], false, 6).await?;
        self.ids.deferred_withdrawn = self.create(&deferred_withdrawn, &r0, 1).await?;
        let deferred_kept =
            self.agreement(r1.address(), eth, &[7 * ETHER / 10, ETHER / 5], false, 7).await?;
        self.ids.deferred_kept = self.create(&deferred_kept, &r1, 1).await?;
        let open = self.agreement(creator, usd, &[50 * USD, 70 * USD], false, 8).await?;
        self.ids.open = self.create(&open, &c, 2).await?;

        // Approved now; milestone 1 claimed after the review window, below.
        self.submit(&approve_claim, creator, 0).await?;
        self.approve(&approve_claim, 0).await?;
        self.submit(&approve_claim, creator, 1).await?;

        // A dispute the arbiter rules 60/40 (with its 2.5% fee), then a settlement both signed.
        let id = self.ids.dispute_settle;
        self.submit(&dispute_settle, creator, 0).await?;
        send!(self.escrow.dispute(dispute_settle.clone(), U256::ZERO, B256::repeat_byte(1)), brand);
        send!(self.escrow.resolveDispute(dispute_settle.clone(), U256::ZERO, 6_000), arbiter);
        self.submit(&dispute_settle, creator, 1).await?;
        let (nonce, deadline) =
            (self.nonce(id).await?, Uint::<40, 1>::from(self.now().await? + 3600));
        let digest = self
            .escrow
            .hashSettlement(id, U256::from(1), U256::from(200 * USD), nonce, deadline)
            .call()
            .await?;
        send!(
            self.escrow.settle(
                dispute_settle.clone(),
                U256::from(1),
                U256::from(200 * USD),
                nonce,
                deadline,
                Self::sign(&self.brand, digest)?,
                Self::sign(&self.creator, digest)?
            ),
            creator
        );

        // Both sign an end: 0.5 ETH to the creator, 1.5 back to the brand.
        let id = self.ids.mutual;
        let (nonce, deadline) =
            (self.nonce(id).await?, Uint::<40, 1>::from(self.now().await? + 3600));
        let digest = self
            .escrow
            .hashMutualTermination(id, U256::from(ETHER / 2), nonce, deadline)
            .call()
            .await?;
        send!(
            self.escrow.terminateMutually(
                mutual.clone(),
                U256::from(ETHER / 2),
                nonce,
                deadline,
                Self::sign(&self.brand, digest)?,
                Self::sign(&self.creator, digest)?
            ),
            brand
        );

        // Terminated for cause with milestone 0 under review: the ruling splits milestone 1 only;
        // milestone 0 stays in the escrow (Closing).
        self.submit(&for_cause, creator, 0).await?;
        send!(self.escrow.terminate(for_cause.clone(), B256::repeat_byte(2)), brand);
        send!(self.escrow.contestTermination(for_cause.clone()), creator);
        send!(self.escrow.resolveTermination(for_cause.clone(), 2_500), arbiter);

        // A creator whose address refuses ETH: the approval is deferred, then withdrawn once the
        // address accepts again.
        self.submit(&deferred_withdrawn, r0.address(), 0).await?;
        self.set_code(r0.address(), &REVERT_CODE).await?;
        self.approve(&deferred_withdrawn, 0).await?;
        self.set_code(r0.address(), &[]).await?;
        send!(self.escrow.withdraw(eth, r0.address()), r0.address());

        // The same, never withdrawn; its second milestone funded afterwards and still held.
        self.submit(&deferred_kept, r1.address(), 0).await?;
        self.set_code(r1.address(), &REVERT_CODE).await?;
        self.approve(&deferred_kept, 0).await?;
        send!(
            self.escrow
                .fund(deferred_kept.clone(), U256::from(1), U256::from(1))
                .value(U256::from(ETHER / 5)),
            brand
        );

        self.submit(&open, creator, 0).await?;
        self.approve(&open, 0).await?;

        // The brand stays silent past the review window: the creator claims.
        self.warp(3 * 86_400 + 1).await?;
        send!(self.escrow.claimAfterSilence(approve_claim.clone(), U256::from(1)), creator);
        // The deadline of the never-delivered pUSD milestone passes: the brand takes it back.
        self.warp(4 * 86_400).await?;
        send!(self.escrow.reclaimAfterDeadline(reclaim.clone(), U256::ZERO), brand);
        Ok(())
    }

    /// Sends `amount` pUSD from the brand straight to the escrow (no agreement, nobody owed).
    pub(crate) async fn stray(&self, amount: U256) -> Result<()> {
        send!(self.usd.transfer(self.address(), amount), self.brand.address());
        Ok(())
    }
}
