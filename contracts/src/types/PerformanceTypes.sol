// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What a performance agreement pays for.
enum Metric {
    /// Per conversion (a sale, a sign-up): `Tier.rate` is an amount per unit.
    Conversions,
    /// Per qualified lead: `Tier.rate` is an amount per unit.
    QualifiedLeads,
    /// A share of attested revenue: `Tier.rate` is basis points of the period's revenue.
    Revenue
}

/// @notice One step of the rate. A period's units from `fromUnits` up to the next tier's
/// `fromUnits` are paid at `rate`: marginal tiers, like tax brackets, counted within each period.
/// @param fromUnits Where the tier starts; the first tier starts at 0 and each starts above the last.
/// @param rate An amount per unit in the agreement's token (conversions, leads), or basis points of
/// revenue (revenue share; at most 10,000).
struct Tier {
    uint128 fromUnits;
    uint128 rate;
}

/// @notice The performance agreement brand and partner sign as EIP-712 typed data. Its digest is
/// its id; every later call passes it again and is checked against that digest.
/// @param brand The payer; budget not earned goes back here.
/// @param partner The payee (affiliate, referral partner, creator on commission).
/// @param attester Signs the periodic reports (a tracking service both accept, or the brand itself
/// if the partner accepts that); never the partner.
/// @param arbiter Rules on disputed reports; zero for none (then reports cannot be disputed).
/// @param token The ERC-20 paid in.
/// @param termsHash keccak256 of the canonical off-chain terms document.
/// @param metric What is paid for (see `Metric`).
/// @param arbiterFeeBps The arbiter's fee, in basis points of the disputed pay.
/// @param start Unix time period 0 starts.
/// @param period Length of a report period, in seconds.
/// @param periods How many periods the agreement runs; it ends at `start + period * periods`.
/// @param reportWindow Seconds after a period's end in which its first report must be submitted.
/// @param lockWindow Seconds a report's pay stays locked (correctable, disputable) after it is
/// submitted: the affiliate programs' locking period.
/// @param arbitrationWindow Seconds the arbiter has to rule on a disputed period.
/// @param deadline Unix time after which the signatures can no longer create the agreement.
/// @param salt Distinguishes otherwise identical agreements.
/// @param tiers One to eight tiers, by ascending `fromUnits`, the first from 0.
struct PerformanceAgreement {
    address brand;
    address partner;
    address attester;
    address arbiter;
    address token;
    bytes32 termsHash;
    Metric metric;
    uint16 arbiterFeeBps;
    uint40 start;
    uint32 period;
    uint32 periods;
    uint32 reportWindow;
    uint32 lockWindow;
    uint32 arbitrationWindow;
    uint40 deadline;
    uint256 salt;
    Tier[] tiers;
}

/// @notice The attester's signed statement of one period. A later version with lower or equal
/// units and revenue corrects it (a reversal) while the period is locked.
/// @param agreementId The agreement's id.
/// @param period The period's index, from 0.
/// @param version 1 for the first report; each correction names a higher one.
/// @param units Conversions or leads counted (for revenue share: the sales the revenue came from).
/// @param revenue Attested revenue in the token's units (informational unless the metric is revenue).
/// @param detailRoot Merkle root of the period's conversion records, so each can be proved.
struct Report {
    bytes32 agreementId;
    uint32 period;
    uint32 version;
    uint128 units;
    uint128 revenue;
    bytes32 detailRoot;
}

/// @notice Where a performance agreement is in its life.
enum PerformanceStatus {
    /// Never created.
    None,
    /// Created; periods are reported, locked and paid; the brand may top up the budget.
    Active,
    /// No more reports: the end date's report windows passed, or a termination's did. The unreserved
    /// budget went back to the brand; periods still locked or disputed run to their own end.
    Closing,
    /// Closed with nothing locked or disputed. Ended: nothing changes any more.
    Ended,
    /// A party revoked its signature before creation; it can never be created.
    Revoked
}

/// @notice Where one period is. Values from `Paid` up are final: its money has left.
enum PeriodStatus {
    /// Not reported.
    Unreported,
    /// Reported; its pay is reserved and locked until `lockedUntil`.
    Locked,
    /// The brand disputed it while locked; the arbiter rules, or the timeout splits it.
    Disputed,
    /// The lock ended undisputed; the pay went to the partner.
    Paid,
    /// The arbiter split the pay.
    Resolved,
    /// The arbiter did not rule in time; the pay was split evenly.
    TimedOut
}

/// @notice What the contract stores per agreement: one slot.
/// @param status Where the agreement is.
/// @param terminatedBy 0, or 1 (brand) / 2 (partner) when a party ended it for cause.
/// @param terminatedAt When it was ended for cause; periods starting at or after it are never
/// reported.
/// @param reported How many periods have a report.
/// @param open How many periods are locked or disputed.
/// @param budget Funded and not yet reserved, paid or returned.
struct PerformanceState {
    PerformanceStatus status;
    uint8 terminatedBy;
    uint40 terminatedAt;
    uint32 reported;
    uint32 open;
    uint128 budget;
}

/// @notice What the contract stores per period: two slots.
/// @param units The latest report's units.
/// @param revenue The latest report's revenue.
/// @param pay The pay reserved for the period (final once it leaves `Locked`/`Disputed`).
/// @param status Where the period is.
/// @param version The latest report's version.
/// @param lockedUntil When the lock of the first report ends.
/// @param disputedAt When the brand disputed it (0 if not).
struct PeriodState {
    uint128 units;
    uint128 revenue;
    uint128 pay;
    PeriodStatus status;
    uint32 version;
    uint40 lockedUntil;
    uint40 disputedAt;
}
