//! Money reconciliation: does the escrow hold exactly what its own events say it owes?
//!
//! Money enters the escrow only by funding (`MilestonesFunded`, through `_pull`), and leaves only
//! by a payout (`MilestoneApproved`, `MilestoneClaimed`, `MilestoneReclaimed`, `DisputeResolved`,
//! `DisputeTimedOut`, `MilestoneSettled`, `AgreementTerminated`) pushed to its recipient or, when
//! the push fails, credited to the recipient (`PaymentDeferred`, `_claimable += amount`) until a
//! `withdraw` (`Withdrawn`, which empties the credit). So at any block, per token:
//!
//! ```text
//! balance == Σ held by each agreement (funded − paid out) + Σ unwithdrawn credits + surplus
//! ```
//!
//! where the surplus is money nobody is owed: a token transferred straight to the escrow, ETH
//! forced in by `selfdestruct`. A surplus is reported, never absorbed into the other figures; a
//! negative one is a shortfall: the escrow owes more than it has.
//!
//! Everything here comes from the node alone: the logs of the escrow from its deployment block to
//! a block N pinned by number and hash at the start, folded through the same
//! [`AgreementLedger`] the indexer uses, and balances (`eth_getBalance`, `balanceOf`) and the
//! contract's own `claimable` read at that block's hash. [`compare`] then sets the same figures,
//! as a database mirror states them, against the chain's, agreement by agreement.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    str::FromStr,
};

use alloy::{
    eips::BlockId,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{BlockNumberOrTag, Filter, Log},
    sol_types::SolEventInterface,
    transports::TransportError,
};
use pactum_bindings::PactumEscrow::{self, PactumEscrowEvents as Ev};
use pactum_core::ledger::{agreement_of, event_name, AgreementLedger, Inconsistent};
use serde::{Deserialize, Serialize};

use crate::num::{dec, is_canonical_decimal};

alloy::sol! {
    /// The one ERC-20 function reconciliation needs.
    #[sol(rpc)]
    interface IERC20Balance {
        /// The token balance of `account`.
        function balanceOf(address account) external view returns (uint256);
    }
}

/// Why a reconciliation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node failed or refused a call (the detail may name the node's URL: log it, do not
    /// show it to strangers).
    #[error("the node failed on {what}: {detail}")]
    Rpc {
        /// The call.
        what: &'static str,
        /// The node's or transport's error.
        detail: String,
    },
    /// The block asked for is past the node's head (or the node has no such block).
    #[error("block {0} is not on the node")]
    NoSuchBlock(u64),
    /// The first block to read logs from is after the block reconciled.
    #[error("the deployment block {from} is after the block reconciled ({to})")]
    BadRange {
        /// First block.
        from: u64,
        /// Block reconciled.
        to: u64,
    },
    /// The escrow already had code the block before the first block to read: logs would be
    /// missed, and the figures with them.
    #[error(
        "{escrow} already has code at block {before}: reading logs from block {from} would miss \
         its beginning; give its deployment block (or none, to find it)"
    )]
    LateFromBlock {
        /// The escrow.
        escrow: Address,
        /// The first block asked for.
        from: u64,
        /// The block before it.
        before: u64,
    },
    /// No code at the escrow's address at the block reconciled.
    #[error("there is no contract at {escrow} at block {block}")]
    NotDeployed {
        /// The address.
        escrow: Address,
        /// The block.
        block: u64,
    },
    /// The node keeps refusing `eth_getLogs` as too large even after the range was halved as
    /// often as allowed.
    #[error("eth_getLogs from block {from} is refused even over {blocks} block(s): {detail}")]
    RangeTooLarge {
        /// First block of the last range tried.
        from: u64,
        /// Its size.
        blocks: u64,
        /// The node's last refusal.
        detail: String,
    },
    /// The chain changed under the reconciliation: the pinned block is no longer canonical.
    #[error("block {number} was {pinned} when the reconciliation began and is now {found}")]
    Reorged {
        /// The block.
        number: u64,
        /// Its hash at the start.
        pinned: B256,
        /// Its hash now (zero: gone).
        found: B256,
    },
    /// A log of the escrow is not one of its events (a wrong address, or a wrong ABI).
    #[error("log {log_index} of block {block} is not an escrow event: {reason}")]
    Decode {
        /// Block.
        block: u64,
        /// Log index.
        log_index: u64,
        /// Why.
        reason: String,
    },
    /// A log without the position fields every mined log has.
    #[error("the node returned a log without its block number or index")]
    IncompleteLog,
    /// The events do not fold (out of order, or for an agreement never created).
    #[error("block {block}, log {log_index}: {source}")]
    Inconsistent {
        /// Block.
        block: u64,
        /// Log index.
        log_index: u64,
        /// What did not fit.
        source: Inconsistent,
    },
    /// A withdrawal of more than was credited: the events contradict the contract's rules.
    #[error("{account} withdrew {withdrawn} of token {token} but was credited only {credited}")]
    Overdrawn {
        /// Token.
        token: Address,
        /// Account.
        account: Address,
        /// Withdrawn.
        withdrawn: U256,
        /// Credited before.
        credited: U256,
    },
}

impl Error {
    /// Whether the node (rather than the chain's content) is at fault: a failed or refused call,
    /// a missing block, a reorganisation while reading. Worth retrying; the API answers
    /// `rpc_unavailable`.
    pub fn is_node(&self) -> bool {
        matches!(
            self,
            Self::Rpc { .. }
                | Self::NoSuchBlock(_)
                | Self::RangeTooLarge { .. }
                | Self::Reorged { .. }
        )
    }
}

/// This module's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn rpc(what: &'static str) -> impl FnOnce(TransportError) -> Error {
    move |e| Error::Rpc { what, detail: e.to_string() }
}

/// How to read the chain.
#[derive(Debug, Clone)]
pub struct Options {
    /// The escrow's deployment block: logs are read from here (refused if the escrow already
    /// had code the block before). `None`: found from the node by bisecting `eth_getCode`. Both
    /// need a node that keeps old state.
    pub from_block: Option<u64>,
    /// The block to reconcile at (`None`: the node's latest).
    pub block: Option<u64>,
    /// Blocks per `eth_getLogs` call at most.
    pub chunk: u64,
    /// How many times one range may be halved after "too many results" before giving up.
    pub max_halvings: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self { from_block: None, block: None, chunk: 10_000, max_halvings: 16 }
    }
}

/// A block, by number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRef {
    /// Number.
    #[serde(with = "dec")]
    pub number: u64,
    /// Hash.
    pub hash: B256,
}

/// An amount that may be negative (a surplus that is a shortfall, a corrupt mirror's sum),
/// written as a decimal string with a leading `-` when negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SignedAmount {
    /// Below zero.
    pub negative: bool,
    /// Size.
    pub magnitude: U256,
}

impl SignedAmount {
    /// A non-negative amount.
    pub const fn positive(v: U256) -> Self {
        Self { negative: false, magnitude: v }
    }

    /// `a − b`.
    pub fn difference(a: U256, b: U256) -> Self {
        if a >= b {
            Self::positive(a - b)
        } else {
            Self { negative: true, magnitude: b - a }
        }
    }

    /// Whether it is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative && !self.magnitude.is_zero()
    }

    /// Whether it is above zero.
    pub fn is_positive(&self) -> bool {
        !self.negative && !self.magnitude.is_zero()
    }
}

impl fmt::Display for SignedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_negative() {
            write!(f, "-{}", self.magnitude)
        } else {
            write!(f, "{}", self.magnitude)
        }
    }
}

/// A decimal that is not one (what [`SignedAmount::from_str`] refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a decimal integer (digits, an optional leading minus, no leading zero) of at most 78 digits")]
pub struct NotDecimal(pub String);

impl FromStr for SignedAmount {
    type Err = NotDecimal;

    fn from_str(s: &str) -> Result<Self, NotDecimal> {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, s),
        };
        // The audit format's decimals (crate::num), with an optional sign; no "-0".
        if !is_canonical_decimal(digits) || (negative && digits == "0") {
            return Err(NotDecimal(s.to_owned()));
        }
        let magnitude = U256::from_str_radix(digits, 10).map_err(|_| NotDecimal(s.to_owned()))?;
        Ok(Self { negative, magnitude })
    }
}

impl Serialize for SignedAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SignedAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One token's figures at the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenFigures {
    /// The token (zero: ETH).
    pub token: Address,
    /// The escrow's balance.
    #[serde(with = "dec")]
    pub balance: U256,
    /// What agreements still hold (funded minus paid out), summed.
    #[serde(with = "dec")]
    pub held: U256,
    /// Unwithdrawn credits (deferred payments minus withdrawals), summed.
    #[serde(with = "dec")]
    pub credits: U256,
    /// `balance − (held + credits)`: above zero, money nobody is owed (reported, not absorbed);
    /// below zero, a shortfall.
    pub surplus: SignedAmount,
}

impl TokenFigures {
    /// Whether the escrow holds less than it owes in this token.
    pub fn shortfall(&self) -> bool {
        self.surplus.is_negative()
    }
}

/// What one agreement still holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementHeld {
    /// The agreement.
    pub id: B256,
    /// Its token (zero: ETH).
    pub token: Address,
    /// Its status, as the ledger names it.
    pub status: String,
    /// Funded minus paid out (deferred payouts are paid out of the agreement: they are credits).
    #[serde(with = "dec")]
    pub held: U256,
}

/// One account's unwithdrawn credit in one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credit {
    /// The token (zero: ETH).
    pub token: Address,
    /// Whose.
    pub account: Address,
    /// Deferred minus withdrawn, from the events.
    #[serde(with = "dec")]
    pub amount: U256,
    /// What the contract's `claimable(token, account)` says at the block.
    #[serde(with = "dec")]
    pub claimable: U256,
}

/// The chain's figures at one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The escrow.
    pub escrow: Address,
    /// The block reconciled.
    pub block: BlockRef,
    /// The first block whose logs were read.
    #[serde(with = "dec")]
    pub from_block: u64,
    /// How many escrow events were folded.
    #[serde(with = "dec")]
    pub events: u64,
    /// Per token (ETH always, then every token an agreement or a credit names), in address order.
    pub tokens: Vec<TokenFigures>,
    /// Every agreement created by the block (revoked ones hold nothing and are left out), by id.
    pub agreements: Vec<AgreementHeld>,
    /// Every account ever credited, by token and account (withdrawn ones with amount 0).
    pub credits: Vec<Credit>,
}

impl Report {
    /// Tokens the escrow holds less of than it owes.
    pub fn shortfalls(&self) -> impl Iterator<Item = &TokenFigures> {
        self.tokens.iter().filter(|t| t.shortfall())
    }

    /// Tokens the escrow holds more of than it owes (sent to it directly).
    pub fn surpluses(&self) -> impl Iterator<Item = &TokenFigures> {
        self.tokens.iter().filter(|t| t.surplus.is_positive())
    }

    /// Credits the events and the contract's `claimable` disagree on.
    pub fn claimable_mismatches(&self) -> impl Iterator<Item = &Credit> {
        self.credits.iter().filter(|c| c.amount != c.claimable)
    }

    /// Whether the chain reconciles with itself: no shortfall and every credit as the contract
    /// says. A surplus alone does not fail it (nobody is owed that money), but it is listed.
    pub fn reconciles(&self) -> bool {
        self.shortfalls().next().is_none() && self.claimable_mismatches().next().is_none()
    }
}

/// What the escrow owes, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owed {
    /// Every agreement created, with its ledger.
    pub agreements: BTreeMap<B256, AgreementLedger>,
    /// Unwithdrawn credit per (token, account), including accounts that withdrew everything.
    pub credits: BTreeMap<(Address, Address), U256>,
    /// Events folded.
    pub events: u64,
}

/// Folds the escrow's logs, in chain order, into what it owes.
pub fn fold(logs: &[Log]) -> Result<Owed> {
    let mut owed = Owed::default();
    for log in logs {
        let (block, log_index) = match (log.block_number, log.log_index) {
            (Some(b), Some(i)) => (b, i),
            _ => return Err(Error::IncompleteLog),
        };
        let event = Ev::decode_raw_log(log.topics(), &log.data().data)
            .map_err(|e| Error::Decode { block, log_index, reason: e.to_string() })?;
        let inconsistent = |source| Error::Inconsistent { block, log_index, source };
        owed.events += 1;
        match &event {
            Ev::AgreementCreated(e) => {
                if owed.agreements.contains_key(&e.id) {
                    return Err(inconsistent(Inconsistent {
                        event: "AgreementCreated",
                        reason: "the agreement already exists".to_owned(),
                    }));
                }
                owed.agreements.insert(e.id, AgreementLedger::created(e.agreement.clone()));
            }
            Ev::AgreementRevoked(e) => {
                owed.agreements.insert(e.id, AgreementLedger::revoked());
            }
            Ev::Withdrawn(e) => {
                let credit = owed.credits.entry((e.token, e.account)).or_default();
                *credit = credit.checked_sub(e.amount).ok_or(Error::Overdrawn {
                    token: e.token,
                    account: e.account,
                    withdrawn: e.amount,
                    credited: *credit,
                })?;
            }
            Ev::EIP712DomainChanged(_) => {}
            other => {
                if let Ev::PaymentDeferred(e) = other {
                    *owed.credits.entry((e.token, e.account)).or_default() += e.amount;
                }
                let Some(id) = agreement_of(other) else { continue };
                let ledger = owed.agreements.get_mut(&id).ok_or_else(|| {
                    inconsistent(Inconsistent {
                        event: event_name(other),
                        reason: format!("agreement {id} was never created"),
                    })
                })?;
                ledger.apply(other, log.block_timestamp.unwrap_or(0)).map_err(inconsistent)?;
            }
        }
    }
    Ok(owed)
}

/// Pins `block` (or the latest) to its number and hash.
pub async fn pin(provider: &DynProvider, block: Option<u64>) -> Result<BlockRef> {
    let tag = block.map_or(BlockNumberOrTag::Latest, BlockNumberOrTag::Number);
    let header = provider
        .get_block_by_number(tag)
        .await
        .map_err(rpc("eth_getBlockByNumber"))?
        .ok_or(Error::NoSuchBlock(block.unwrap_or(0)))?;
    Ok(BlockRef { number: header.header.number, hash: header.header.hash })
}

/// The first block at which the escrow has code (at or before `at`), by bisecting
/// `eth_getCode`: about log2(`at`) calls, on a node that keeps old state.
pub async fn deployment_block(
    provider: &DynProvider,
    escrow: Address,
    at: &BlockRef,
) -> Result<u64> {
    let has_code = |n: u64| async move {
        provider
            .get_code_at(escrow)
            .block_id(BlockId::number(n))
            .await
            .map(|c| !c.is_empty())
            .map_err(rpc("eth_getCode"))
    };
    let code_now = provider
        .get_code_at(escrow)
        .block_id(BlockId::hash(at.hash))
        .await
        .map_err(rpc("eth_getCode"))?;
    if code_now.is_empty() {
        return Err(Error::NotDeployed { escrow, block: at.number });
    }
    // Invariant: code at `hi`; none before `lo`.
    let (mut lo, mut hi) = (0u64, at.number);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if has_code(mid).await? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(hi)
}

/// The deployment block the committed deployments file (`deployments/escrows.json`, built in)
/// records for `escrow` on `chain_id`, if it lists that escrow. [`reconcile`] still checks that
/// the escrow has no code the block before.
pub fn known_deployment_block(chain_id: u64, escrow: Address) -> Option<u64> {
    let file = crate::deployments::Deployments::built_in().ok()?;
    file.for_chain(chain_id).filter(|d| d.escrow == escrow).map(|d| d.deployment_block)
}

/// Whether a node's error means "ask for fewer blocks" (result or range limits, which providers
/// word differently) rather than a failure.
fn too_large(e: &TransportError) -> bool {
    let Some(payload) = e.as_error_resp() else { return false };
    let m = payload.message.to_ascii_lowercase();
    ["too many", "range", "limit", "exceed", "too large", "more than", "response size", "timeout"]
        .iter()
        .any(|w| m.contains(w))
}

/// Every log of `escrow` in `[from, to]`, in chain order: ranges of at most `opts.chunk` blocks,
/// halved on a "too many results" refusal (at most `opts.max_halvings` times in a row) and grown
/// back after each success. Logs of block `to` must carry its pinned hash.
pub async fn logs(
    provider: &DynProvider,
    escrow: Address,
    from: u64,
    to: &BlockRef,
    opts: &Options,
) -> Result<Vec<Log>> {
    if from > to.number {
        return Err(Error::BadRange { from, to: to.number });
    }
    let chunk = opts.chunk.max(1);
    let mut range = chunk;
    let mut halvings = 0u32;
    let mut start = from;
    let mut out = Vec::new();
    while start <= to.number {
        let end = to.number.min(start.saturating_add(range - 1));
        let filter = Filter::new().address(escrow).from_block(start).to_block(end);
        match provider.get_logs(&filter).await {
            Ok(mut batch) => {
                batch.retain(|l| !l.removed);
                out.append(&mut batch);
                halvings = 0;
                range = range.saturating_mul(2).min(chunk);
                match end.checked_add(1) {
                    Some(next) => start = next,
                    None => break,
                }
            }
            Err(e) if too_large(&e) && range > 1 && halvings < opts.max_halvings => {
                tracing::debug!(start, end, error = %e, "eth_getLogs refused; halving the range");
                range = (range / 2).max(1);
                halvings += 1;
            }
            Err(e) if too_large(&e) => {
                return Err(Error::RangeTooLarge {
                    from: start,
                    blocks: end - start + 1,
                    detail: e.to_string(),
                })
            }
            Err(e) => return Err(rpc("eth_getLogs")(e)),
        }
    }
    out.sort_by_key(|l| (l.block_number, l.log_index));
    for l in out.iter().filter(|l| l.block_number == Some(to.number)) {
        if l.block_hash.is_some_and(|h| h != to.hash) {
            return Err(Error::Reorged {
                number: to.number,
                pinned: to.hash,
                found: l.block_hash.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// Reconciles the escrow at `opts.block` (or the latest block) from the node alone.
pub async fn reconcile(provider: &DynProvider, escrow: Address, opts: &Options) -> Result<Report> {
    let block = pin(provider, opts.block).await?;
    let at = BlockId::hash(block.hash);
    let from_block = match opts.from_block {
        // A later block than the deployment would silently drop the escrow's first events.
        Some(b) if b > 0 => {
            let before = provider
                .get_code_at(escrow)
                .block_id(BlockId::number(b - 1))
                .await
                .map_err(rpc("eth_getCode"))?;
            if !before.is_empty() {
                return Err(Error::LateFromBlock { escrow, from: b, before: b - 1 });
            }
            b
        }
        Some(b) => b,
        None => deployment_block(provider, escrow, &block).await?,
    };
    let logs = logs(provider, escrow, from_block, &block, opts).await?;
    let owed = fold(&logs)?;

    let mut agreements = Vec::new();
    let mut held: BTreeMap<Address, U256> = BTreeMap::from([(Address::ZERO, U256::ZERO)]);
    for (id, ledger) in &owed.agreements {
        let Some(a) = &ledger.agreement else { continue };
        let h = ledger.held();
        *held.entry(a.token).or_default() += h;
        agreements.push(AgreementHeld {
            id: *id,
            token: a.token,
            status: ledger.status.as_str().to_owned(),
            held: h,
        });
    }
    let mut credited: BTreeMap<Address, U256> = BTreeMap::new();
    let contract = PactumEscrow::new(escrow, provider.clone());
    let mut credits = Vec::new();
    for ((token, account), amount) in &owed.credits {
        *credited.entry(*token).or_default() += *amount;
        let claimable = contract
            .claimable(*token, *account)
            .block(at)
            .call()
            .await
            .map_err(|e| Error::Rpc { what: "claimable", detail: e.to_string() })?;
        credits.push(Credit { token: *token, account: *account, amount: *amount, claimable });
    }

    let tokens: BTreeSet<Address> = held.keys().chain(credited.keys()).copied().collect();
    let mut figures = Vec::new();
    for token in tokens {
        let balance = if token.is_zero() {
            provider.get_balance(escrow).block_id(at).await.map_err(rpc("eth_getBalance"))?
        } else {
            IERC20Balance::new(token, provider.clone())
                .balanceOf(escrow)
                .block(at)
                .call()
                .await
                .map_err(|e| Error::Rpc { what: "balanceOf", detail: e.to_string() })?
        };
        let h = held.get(&token).copied().unwrap_or_default();
        let c = credited.get(&token).copied().unwrap_or_default();
        let owes = h.saturating_add(c);
        figures.push(TokenFigures {
            token,
            balance,
            held: h,
            credits: c,
            surplus: SignedAmount::difference(balance, owes),
        });
    }

    // Every read above named the pinned block; it must still be the chain's block N.
    let now = pin(provider, Some(block.number)).await?;
    if now.hash != block.hash {
        return Err(Error::Reorged { number: block.number, pinned: block.hash, found: now.hash });
    }
    Ok(Report {
        escrow,
        block,
        from_block,
        events: owed.events,
        tokens: figures,
        agreements,
        credits,
    })
}

/// One agreement's held amount as a database mirror states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorAgreement {
    /// The agreement.
    pub id: B256,
    /// Its token.
    pub token: Address,
    /// Deposits minus payouts, as the mirror sums them (negative in a corrupt mirror).
    pub held: SignedAmount,
}

/// One account's credit as a database mirror states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorCredit {
    /// The token.
    pub token: Address,
    /// The account.
    pub account: Address,
    /// Deferred minus withdrawn, as the mirror sums them.
    pub amount: SignedAmount,
}

/// The figures a database mirror states at a block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirror {
    /// Per agreement.
    pub agreements: Vec<MirrorAgreement>,
    /// Per (token, account).
    pub credits: Vec<MirrorCredit>,
}

/// An agreement whose held amount (or token) differs between chain and mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementDifference {
    /// The agreement.
    pub id: B256,
    /// Its token on chain (absent: the chain has no such agreement).
    pub chain_token: Option<Address>,
    /// Its token in the mirror (absent: the mirror has no such agreement).
    pub database_token: Option<Address>,
    /// Held, on chain.
    pub chain: SignedAmount,
    /// Held, in the mirror.
    pub database: SignedAmount,
}

/// A credit that differs between chain and mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditDifference {
    /// The token.
    pub token: Address,
    /// The account.
    pub account: Address,
    /// On chain.
    pub chain: SignedAmount,
    /// In the mirror.
    pub database: SignedAmount,
}

/// Chain against mirror, difference by difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// Agreements that differ, by id.
    pub agreements: Vec<AgreementDifference>,
    /// Credits that differ, by token and account.
    pub credits: Vec<CreditDifference>,
}

impl Comparison {
    /// Whether nothing differs.
    pub fn matches(&self) -> bool {
        self.agreements.is_empty() && self.credits.is_empty()
    }
}

/// Sets the mirror's figures against the chain's. An agreement or credit on one side only counts
/// as zero on the other, so a mirror that dropped a finished agreement still matches (it owes
/// nothing) while one that dropped a holding agreement does not.
pub fn compare(chain: &Report, mirror: &Mirror) -> Comparison {
    // Per id: (token, held) on chain, (token, held) in the mirror.
    type Sides = (Option<(Address, U256)>, Option<(Address, SignedAmount)>);
    let mut agreements: BTreeMap<B256, Sides> = BTreeMap::new();
    for a in &chain.agreements {
        agreements.entry(a.id).or_default().0 = Some((a.token, a.held));
    }
    for a in &mirror.agreements {
        agreements.entry(a.id).or_default().1 = Some((a.token, a.held));
    }
    let mut out = Comparison::default();
    for (id, (c, d)) in agreements {
        let chain_held = SignedAmount::positive(c.map(|c| c.1).unwrap_or_default());
        let database_held = d.map(|d| d.1).unwrap_or_default();
        let token_differs = matches!((c, d), (Some(c), Some(d)) if c.0 != d.0);
        if chain_held != database_held || token_differs {
            out.agreements.push(AgreementDifference {
                id,
                chain_token: c.map(|c| c.0),
                database_token: d.map(|d| d.0),
                chain: chain_held,
                database: database_held,
            });
        }
    }
    let mut credits: BTreeMap<(Address, Address), (U256, SignedAmount)> = BTreeMap::new();
    for c in &chain.credits {
        credits.entry((c.token, c.account)).or_default().0 = c.amount;
    }
    for c in &mirror.credits {
        credits.entry((c.token, c.account)).or_default().1 = c.amount;
    }
    for ((token, account), (c, d)) in credits {
        let c = SignedAmount::positive(c);
        if c != d {
            out.credits.push(CreditDifference { token, account, chain: c, database: d });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            escrow: Address::ZERO,
            block: BlockRef { number: 9, hash: B256::ZERO },
            from_block: 1,
            events: 0,
            tokens: vec![],
            agreements: vec![
                AgreementHeld {
                    id: B256::repeat_byte(1),
                    token: Address::ZERO,
                    status: "active".into(),
                    held: U256::from(5),
                },
                AgreementHeld {
                    id: B256::repeat_byte(2),
                    token: Address::ZERO,
                    status: "completed".into(),
                    held: U256::ZERO,
                },
            ],
            credits: vec![Credit {
                token: Address::ZERO,
                account: Address::repeat_byte(7),
                amount: U256::from(3),
                claimable: U256::from(3),
            }],
        }
    }

    #[test]
    fn signed_amounts_round_trip_as_decimal_strings() {
        for s in [
            "0",
            "42",
            "-42",
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        ] {
            let a: SignedAmount = s.parse().expect("decimal");
            assert_eq!(a.to_string(), s);
            assert_eq!(serde_json::to_string(&a).expect("json"), format!("\"{s}\""));
        }
        for bad in [
            "",
            "-",
            "-0",
            "01",
            "-01",
            "+1",
            "0x10",
            "1e3",
            " 1",
            "1157920892373161954235709850086879078532699846656405640394575840079131296399350",
        ] {
            assert!(bad.parse::<SignedAmount>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(SignedAmount::difference(U256::from(3), U256::from(5)).to_string(), "-2");
    }

    #[test]
    fn a_mirror_that_drops_a_finished_agreement_matches_one_that_drops_money_does_not() {
        let r = report();
        let mut m = Mirror {
            agreements: vec![MirrorAgreement {
                id: B256::repeat_byte(1),
                token: Address::ZERO,
                held: SignedAmount::positive(U256::from(5)),
            }],
            credits: vec![MirrorCredit {
                token: Address::ZERO,
                account: Address::repeat_byte(7),
                amount: SignedAmount::positive(U256::from(3)),
            }],
        };
        assert!(compare(&r, &m).matches());
        m.agreements[0].held = SignedAmount::positive(U256::from(4));
        m.credits.clear();
        let c = compare(&r, &m);
        assert_eq!(c.agreements.len(), 1);
        assert_eq!(
            (c.agreements[0].chain.to_string(), c.agreements[0].database.to_string()),
            ("5".into(), "4".into())
        );
        assert_eq!(c.credits.len(), 1);
        assert_eq!(c.credits[0].database, SignedAmount::default());
        // Same amount, another token: still a difference.
        m.agreements[0].held = SignedAmount::positive(U256::from(5));
        m.agreements[0].token = Address::repeat_byte(9);
        assert_eq!(compare(&r, &m).agreements.len(), 1);
    }

    #[test]
    fn shortfall_fails_and_surplus_is_listed() {
        let mut r = report();
        r.tokens = vec![TokenFigures {
            token: Address::ZERO,
            balance: U256::from(10),
            held: U256::from(5),
            credits: U256::from(3),
            surplus: SignedAmount::difference(U256::from(10), U256::from(8)),
        }];
        assert!(r.reconciles());
        assert_eq!(r.surpluses().count(), 1);
        r.tokens[0].balance = U256::from(7);
        r.tokens[0].surplus = SignedAmount::difference(U256::from(7), U256::from(8));
        assert!(!r.reconciles());
        assert_eq!(r.tokens[0].surplus.to_string(), "-1");
        r.tokens[0].surplus = SignedAmount::positive(U256::ZERO);
        r.credits[0].claimable = U256::from(2);
        assert!(!r.reconciles(), "a credit the contract disagrees with fails");
    }
}
