// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice One deliverable of an agreement and the money attached to it.
/// @param amount What the creator earns for it, in the agreement's token (wei for native ETH).
/// @param deadline Unix time by which the creator must submit the deliverable.
/// @param reviewWindow Seconds the brand has to approve or request a revision after a submission;
/// past it, silence counts as approval and the creator may claim the payout.
struct Milestone {
    uint256 amount;
    uint40 deadline;
    uint32 reviewWindow;
}

/// @notice The agreement both parties sign as EIP-712 typed data. The escrow stores only its
/// digest; every later call passes the agreement again and is checked against that digest.
/// @param brand The payer; unearned escrow always returns here.
/// @param creator The payee.
/// @param arbiter Resolves disputes and contested terminations; zero for none (then there are no
/// disputes, only mutual settlements, and terminations cannot be contested).
/// @param token The ERC-20 paid in, or zero for native ETH.
/// @param termsHash keccak256 of the canonical off-chain terms document.
/// @param arbiterFeeBps The arbiter's fee, in basis points of the amount it rules on.
/// @param contestWindow Seconds the other party has to contest a termination for cause.
/// @param arbitrationWindow Seconds the arbiter has to rule before the timeout exit opens; the
/// arbiter cannot rule after it.
/// @param revisionRounds How many times the brand may ask for a revision of each milestone; past
/// that it can only approve, dispute (with an arbiter), or let its silence pay the creator.
/// @param deadline Unix time after which the signatures can no longer create the agreement.
/// @param salt Distinguishes otherwise identical agreements.
/// @param milestones One to 32 milestones, funded in this order.
struct Agreement {
    address brand;
    address creator;
    address arbiter;
    address token;
    bytes32 termsHash;
    uint16 arbiterFeeBps;
    uint32 contestWindow;
    uint32 arbitrationWindow;
    uint8 revisionRounds;
    uint40 deadline;
    uint256 salt;
    Milestone[] milestones;
}

/// @notice An EIP-2612 permit signed by the funder for exactly the amount being funded.
struct Permit {
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @notice Where an agreement is in its life.
enum Status {
    /// Never created (the zero value of storage).
    None,
    /// Created; milestones are funded, delivered and paid.
    Active,
    /// A party ended it for cause; the contest window or the arbiter's ruling is pending.
    Terminating,
    /// Every milestone reached a final state. Ended: nothing changes any more.
    Completed,
    /// Ended by termination; unearned escrow was returned. Ended: nothing changes any more.
    Terminated,
    /// A party revoked its signature before creation; the agreement can never be created.
    Revoked,
    /// A termination ended the agreement and its unearned escrow went as it decided, but milestones
    /// delivered before it (under review, in revision or in dispute) still run to their own end;
    /// the agreement becomes `Terminated` when the last of them does.
    Closing
}

/// @notice Where one milestone is. Values from `Approved` up are final: its money has left.
enum MilestoneStatus {
    /// Not submitted yet (funded or not: see the agreement's funded count).
    Open,
    /// Deliverable submitted; the brand's review window runs.
    Submitted,
    /// The brand asked for a revision; the creator may submit again.
    RevisionRequested,
    /// A party disputed; the arbiter rules, or the timeout splits it.
    Disputed,
    /// The brand approved; paid to the creator.
    Approved,
    /// The brand stayed silent past the review window; the creator claimed it.
    Claimed,
    /// The creator missed the deadline; the brand took it back.
    Reclaimed,
    /// The arbiter split it.
    Resolved,
    /// The arbiter did not rule in time; split evenly.
    TimedOut,
    /// Both parties signed a split.
    Settled,
    /// Never delivered when a termination ended the agreement; its money (if it was funded) went as
    /// the termination decided.
    Cancelled
}

/// @notice How a termination ended.
enum TerminationKind {
    /// Nobody contested within the contest window: unearned escrow went back to the brand.
    Uncontested,
    /// The arbiter ruled on a contested termination.
    ArbiterRuling,
    /// The arbiter did not rule in time: the stake was split evenly, without a fee.
    ArbiterTimeout,
    /// Both parties signed the termination and its split.
    Mutual
}

/// @notice What the escrow stores per agreement: one storage slot.
/// @param status Where the agreement is.
/// @param nonce Bumped by every change of the agreement's state (and by `cancelSignatures`): signed
/// settlements and mutual terminations name the nonce of the state they priced. Each bump comes with
/// exactly one event other than `AgreementCompleted` (which never comes alone), and
/// `AgreementCreated` and `AgreementRevoked` never bump it, so a mirror of the log can follow the
/// nonce by counting; `SignaturesCancelled` carries its new value as a check.
/// @param fundedCount Milestones [0, fundedCount) are funded.
/// @param terminatedBy 1 when the brand started a termination, 2 when the creator did.
/// @param contested Whether the termination was contested.
/// @param since When the termination started, or when it was contested.
/// @param milestones Four bits of `MilestoneStatus` per milestone, milestone 0 in the low bits.
struct AgreementState {
    Status status;
    uint32 nonce;
    uint8 fundedCount;
    uint8 terminatedBy;
    bool contested;
    uint40 since;
    uint128 milestones;
}
