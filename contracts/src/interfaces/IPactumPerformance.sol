// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerformanceAgreement, PerformanceState, PeriodState, Report} from "../types/PerformanceTypes.sol";
import {IPullPayments} from "./IPullPayments.sol";

/// @title IPactumPerformance
/// @notice Performance-based pay (affiliate, CPA, revenue share) held in escrow: the brand escrows a
/// budget, an attester both parties named signs a report per period, the pay it implies is locked
/// for a window in which the attester may only lower it and the brand may dispute it, and then it is
/// the partner's. Every state change emits exactly one event carrying what a mirror needs.
interface IPactumPerformance is IPullPayments {
    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Both parties' signatures created the agreement; carries the whole signed agreement.
    event PerformanceAgreementCreated(
        bytes32 indexed id, address indexed brand, address indexed partner, PerformanceAgreement agreement
    );

    /// @notice A party revoked its signature before creation.
    event PerformanceAgreementRevoked(bytes32 indexed id, address indexed by);

    /// @notice `from` added `amount` to the budget, which is now `budget` (unreserved).
    event BudgetFunded(bytes32 indexed id, address indexed from, uint256 amount, uint256 budget);

    /// @notice The attester's report `version` of `period` was accepted (version 1: the first report;
    /// above: a correction). `pay` is what the period now holds for the partner, locked until
    /// `lockedUntil`; `budget` is the unreserved budget after it.
    event ReportAccepted(
        bytes32 indexed id,
        uint256 indexed period,
        uint32 version,
        uint256 units,
        uint256 revenue,
        bytes32 detailRoot,
        uint256 pay,
        uint40 lockedUntil,
        uint256 budget
    );

    /// @notice The brand disputed a locked period.
    event PeriodDisputed(bytes32 indexed id, uint256 indexed period, bytes32 reasonHash);

    /// @notice A period's lock ended undisputed: `amount` went to the partner.
    event PeriodPaid(bytes32 indexed id, uint256 indexed period, uint256 amount);

    /// @notice The arbiter split a disputed period: `partnerAmount` to the partner, `fee` to the
    /// arbiter, `returned` back to the budget (or, once the agreement is closing, to the brand, with
    /// `BudgetReturned`).
    event PeriodResolved(
        bytes32 indexed id,
        uint256 indexed period,
        uint16 partnerBps,
        uint256 partnerAmount,
        uint256 returned,
        uint256 fee
    );

    /// @notice The arbiter did not rule in time: half to the partner, the rest back.
    event PeriodTimedOut(bytes32 indexed id, uint256 indexed period, uint256 partnerAmount, uint256 returned);

    /// @notice A party ended the agreement for cause: no period starting from now is reported.
    event PerformanceAgreementTerminated(bytes32 indexed id, address indexed by, bytes32 reasonHash);

    /// @notice No more reports can come: `returned` (the unreserved budget) went back to the brand.
    event PerformanceAgreementClosed(bytes32 indexed id, uint256 returned);

    /// @notice `amount` went back to the brand after the agreement closed: a correction lowered, or a
    /// ruling or timeout split, a period that was still locked or disputed.
    event BudgetReturned(bytes32 indexed id, uint256 amount);

    /// @notice The agreement is over: closed, and nothing locked or disputed. Nothing changes after.
    event PerformanceAgreementEnded(bytes32 indexed id);

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Brand, partner, attester or arbiter are missing or overlap where they must not.
    error Performance_InvalidParties();
    /// @notice The token is zero or has no code.
    error Performance_InvalidToken(address token);
    /// @notice Tiers are empty, too many, not from 0, not ascending, or a revenue rate above 100%.
    error Performance_InvalidTiers();
    /// @notice A window or the period length is outside its bounds.
    error Performance_InvalidWindow(uint256 window);
    /// @notice Zero periods, or an end beyond MAX_TERM.
    error Performance_InvalidTerm();
    /// @notice The arbiter's fee is above MAX_FEE_BPS.
    error Performance_InvalidFee(uint16 feeBps);
    /// @notice The signatures' deadline passed.
    error Performance_SignatureExpired(uint256 deadline);
    /// @notice A signature is not its signer's.
    error Performance_InvalidSignature(address signer);
    /// @notice An agreement with this id exists, or was revoked.
    error Performance_AlreadyExists(bytes32 id);
    /// @notice The agreement is not in a status that allows this.
    error Performance_WrongStatus(bytes32 id, uint8 status);
    /// @notice The caller may not do this.
    error Performance_Unauthorized(address caller);
    /// @notice A zero top-up.
    error Performance_ZeroAmount();
    /// @notice The token took less than it was asked to transfer (fee-on-transfer).
    error Performance_FundingShortfall(uint256 expected, uint256 received);
    /// @notice The report names another agreement.
    error Performance_WrongAgreement(bytes32 named);
    /// @notice The period is beyond the agreement's periods, or starts at or after its termination.
    error Performance_PeriodNotReportable(uint256 period);
    /// @notice The period has not ended yet.
    error Performance_PeriodNotOver(uint256 period, uint256 endsAt);
    /// @notice The period's report window closed.
    error Performance_ReportWindowClosed(uint256 period, uint256 closedAt);
    /// @notice The report's version is not above the one accepted.
    error Performance_StaleReport(uint32 version, uint32 current);
    /// @notice A correction raised units or revenue: corrections may only lower.
    error Performance_CorrectionRaises();
    /// @notice The period is not in a status that allows this.
    error Performance_WrongPeriodStatus(uint256 period, uint8 status);
    /// @notice The lock is still running.
    error Performance_Locked(uint256 until);
    /// @notice The lock ended: the period can no longer be corrected or disputed.
    error Performance_LockEnded(uint256 endedAt);
    /// @notice The agreement names no arbiter.
    error Performance_NoArbiter();
    /// @notice Basis points above 10,000.
    error Performance_InvalidBps(uint256 bps);
    /// @notice The arbiter's window is still open.
    error Performance_ArbitrationWindowOpen(uint256 until);
    /// @notice The arbiter's window closed.
    error Performance_ArbitrationWindowClosed(uint256 closedAt);
    /// @notice Reports may still come (a report window is open and a period unreported).
    error Performance_ReportsStillDue(uint256 until);
    /// @notice A top-up would take the budget beyond 2^128 - 1.
    error Performance_BudgetTooLarge();
    /// @notice The agreement's end date passed: no more top-ups.
    error Performance_Over(uint256 endedAt);
    /// @notice The agreement already ended for cause.
    error Performance_AlreadyTerminated();

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice At most this many tiers.
    function MAX_TIERS() external view returns (uint256);
    /// @notice At most this many periods.
    function MAX_PERIODS() external view returns (uint256);
    /// @notice The arbiter's fee is at most this, in basis points.
    function MAX_FEE_BPS() external view returns (uint256);
    /// @notice Windows and the period length are at least this, in seconds.
    function MIN_WINDOW() external view returns (uint256);
    /// @notice Windows are at most this, in seconds (a period may be up to MAX_PERIOD).
    function MAX_WINDOW() external view returns (uint256);
    /// @notice A period is at most this long, in seconds.
    function MAX_PERIOD() external view returns (uint256);
    /// @notice The agreement's end lies at most this far after its creation.
    function MAX_TERM() external view returns (uint256);

    /// @notice The agreement's id: its EIP-712 digest under this contract's domain.
    function hashAgreement(PerformanceAgreement calldata agreement) external view returns (bytes32 id);

    /// @notice The EIP-712 digest the attester signs for `report`.
    function hashReport(Report calldata report) external view returns (bytes32 digest);

    /// @notice The pay a report of `units` and `revenue` earns under `agreement`, before the budget cap.
    function payFor(PerformanceAgreement calldata agreement, uint256 units, uint256 revenue)
        external
        pure
        returns (uint256);

    /// @notice The stored state of agreement `id`.
    function getState(bytes32 id) external view returns (PerformanceState memory);

    /// @notice The stored state of one period.
    function getPeriod(bytes32 id, uint256 period) external view returns (PeriodState memory);

    /// @notice Funds held for locked and disputed periods of agreement `id`.
    function reserved(bytes32 id) external view returns (uint256);

    /*//////////////////////////////////////////////////////////////
                                ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates the agreement from both parties' signatures; anyone may send them.
    /// @param agreement The signed agreement.
    /// @param brandSignature The brand's signature over its id (ECDSA, EIP-1271 or EIP-7702).
    /// @param partnerSignature The partner's signature over its id.
    /// @return id The agreement's id.
    function create(
        PerformanceAgreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata partnerSignature
    ) external returns (bytes32 id);

    /// @notice Creates the agreement (or adopts it if exactly it was just created by someone else)
    /// and funds `amount` of budget from the caller.
    function createAndFund(
        PerformanceAgreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata partnerSignature,
        uint256 amount
    ) external returns (bytes32 id);

    /// @notice Adds `amount` to the budget, from the caller (a top-up). Only while active, not ended
    /// for cause, and before the end date.
    function fund(PerformanceAgreement calldata agreement, uint256 amount) external;

    /// @notice Brand or partner revokes its signature before creation.
    function revoke(PerformanceAgreement calldata agreement) external;

    /// @notice Submits the attester's signed report of a period; anyone may send it. The first
    /// version reserves the pay it implies (capped by the unreserved budget) and locks it for the
    /// lock window. A later version, within that window, may only lower units and revenue, and the
    /// period's pay only falls; the difference returns to the budget.
    /// @param agreement The agreement.
    /// @param report The report.
    /// @param signature The attester's signature over `hashReport(report)`.
    function submitReport(
        PerformanceAgreement calldata agreement,
        Report calldata report,
        bytes calldata signature
    ) external;

    /// @notice The brand disputes a locked period, within its lock window (needs an arbiter).
    function dispute(PerformanceAgreement calldata agreement, uint256 period, bytes32 reasonHash) external;

    /// @notice The arbiter splits a disputed period within its window: its fee first, then
    /// `partnerBps` of the rest to the partner; the remainder returns.
    function resolve(PerformanceAgreement calldata agreement, uint256 period, uint16 partnerBps) external;

    /// @notice Anyone, once the arbiter's window passed without a ruling: half to the partner.
    function resolveAfterTimeout(PerformanceAgreement calldata agreement, uint256 period) external;

    /// @notice Anyone, once a period's lock ended undisputed: pays the partner.
    function release(PerformanceAgreement calldata agreement, uint256 period) external;

    /// @notice Brand or partner ends the agreement for cause (the morality clause): periods starting
    /// from now are never reported. Pay already reported stays the partner's, under its lock as
    /// before; the period under way may still be reported, for what happened before now.
    function terminate(PerformanceAgreement calldata agreement, bytes32 reasonHash) external;

    /// @notice Anyone, once no more reports can come (every reportable period reported, or the last
    /// report window passed): returns the unreserved budget to the brand.
    function close(PerformanceAgreement calldata agreement) external;
}
