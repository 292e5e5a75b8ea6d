// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {PullPayments} from "./abstract/PullPayments.sol";
import {IPactumPerformance} from "./interfaces/IPactumPerformance.sol";
import {PerformanceHashing} from "./libraries/PerformanceHashing.sol";
import {PerformanceMath} from "./libraries/PerformanceMath.sol";
import {SignatureRules} from "./libraries/SignatureRules.sol";
import {SplitMath} from "./libraries/SplitMath.sol";
import {
    Metric,
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    PeriodState,
    PeriodStatus,
    Report,
    Tier
} from "./types/PerformanceTypes.sol";

/// @title PactumPerformance
/// @notice Performance-based pay (per conversion, per qualified lead, or a share of revenue) for
/// brand–partner agreements. A singleton beside `PactumEscrow`, sharing its signature rules, split
/// arithmetic and push-then-pull payments; like it, it has no owner, admin, pause or upgrade path.
/// @dev The rules it keeps, each tested as an attack in `test/`:
/// - the budget caps pay: a report reserves at most the unreserved budget, and the contract never
///   pays out of one agreement more than was funded into it;
/// - a period's pay is the rate applied to its final report, capped by the budget left when it was
///   first reported (`PerformanceMath.pay`);
/// - corrections (reversals) only lower units, revenue and pay, and only while the period is locked;
/// - locked pay never leaves before the lock ends, except by the arbiter's ruling on a dispute;
/// - pay reported stays the partner's through a termination; termination only stops later periods;
/// - an ended agreement never changes.
/// Only ERC-20 tokens: performance pay is paid in stablecoins, and a native-ETH budget would add a
/// second funding path to get wrong. Fee-on-transfer tokens are refused at funding.
contract PactumPerformance is IPactumPerformance, PullPayments, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MAX_TIERS = 8;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MAX_PERIODS = 520;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MAX_FEE_BPS = 2000;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MIN_WINDOW = 1 hours;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MAX_WINDOW = 90 days;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MAX_PERIOD = 366 days;

    /// @inheritdoc IPactumPerformance
    uint256 public constant MAX_TERM = 10 * 365 days;

    uint8 private constant _BRAND = 1;
    uint8 private constant _PARTNER = 2;

    mapping(bytes32 id => PerformanceState) private _states;
    mapping(bytes32 id => mapping(uint256 period => PeriodState)) private _periods;
    mapping(bytes32 id => uint256) private _reserved;

    constructor() EIP712("Pactum Performance", "1") {}

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumPerformance
    function hashAgreement(PerformanceAgreement calldata agreement) external view returns (bytes32) {
        return _id(agreement);
    }

    /// @inheritdoc IPactumPerformance
    function hashReport(Report calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(PerformanceHashing.hashReport(report));
    }

    /// @inheritdoc IPactumPerformance
    function payFor(PerformanceAgreement calldata agreement, uint256 units, uint256 revenue)
        external
        pure
        returns (uint256)
    {
        return PerformanceMath.pay(agreement.metric, agreement.tiers, units, revenue);
    }

    /// @inheritdoc IPactumPerformance
    function getState(bytes32 id) external view returns (PerformanceState memory) {
        return _states[id];
    }

    /// @inheritdoc IPactumPerformance
    function getPeriod(bytes32 id, uint256 period) external view returns (PeriodState memory) {
        return _periods[id][period];
    }

    /// @inheritdoc IPactumPerformance
    function reserved(bytes32 id) external view returns (uint256) {
        return _reserved[id];
    }

    /*//////////////////////////////////////////////////////////////
                           CREATION AND FUNDING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumPerformance
    function create(
        PerformanceAgreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata partnerSignature
    ) external nonReentrant returns (bytes32 id) {
        id = _id(agreement);
        _create(agreement, id, brandSignature, partnerSignature);
    }

    /// @inheritdoc IPactumPerformance
    function createAndFund(
        PerformanceAgreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata partnerSignature,
        uint256 amount
    ) external nonReentrant returns (bytes32 id) {
        id = _id(agreement);
        // A front-run `create` of exactly this agreement must not make the brand's call fail.
        PerformanceState storage s = _states[id];
        if (!(s.status == PerformanceStatus.Active && s.budget == 0 && s.reported == 0)) {
            _create(agreement, id, brandSignature, partnerSignature);
        }
        _fund(agreement, id, amount);
    }

    /// @inheritdoc IPactumPerformance
    function fund(PerformanceAgreement calldata agreement, uint256 amount) external nonReentrant {
        _fund(agreement, _id(agreement), amount);
    }

    /// @inheritdoc IPactumPerformance
    function revoke(PerformanceAgreement calldata agreement) external nonReentrant {
        // Checks
        bytes32 id = _id(agreement);
        if (msg.sender != agreement.brand && msg.sender != agreement.partner) {
            revert Performance_Unauthorized(msg.sender);
        }
        PerformanceState storage s = _states[id];
        if (s.status != PerformanceStatus.None) revert Performance_AlreadyExists(id);

        // Effects
        s.status = PerformanceStatus.Revoked;
        emit PerformanceAgreementRevoked(id, msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                                REPORTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumPerformance
    function submitReport(
        PerformanceAgreement calldata agreement,
        Report calldata report,
        bytes calldata signature
    ) external nonReentrant {
        // Checks: the cheap ones first, the signature last.
        bytes32 id = _id(agreement);
        if (report.agreementId != id) revert Performance_WrongAgreement(report.agreementId);
        PerformanceState storage s = _states[id];
        PeriodState storage p = _periods[id][report.period];
        PeriodStatus status = p.status;
        if (report.version <= p.version) revert Performance_StaleReport(report.version, p.version);
        bool first = status == PeriodStatus.Unreported;
        if (first) {
            _checkReportable(agreement, s, id, report.period);
        } else {
            // A correction: only while locked (not disputed, not final), only lower.
            if (status != PeriodStatus.Locked) {
                revert Performance_WrongPeriodStatus(report.period, uint8(status));
            }
            if (block.timestamp >= p.lockedUntil) revert Performance_LockEnded(p.lockedUntil);
            if (report.units > p.units || report.revenue > p.revenue) revert Performance_CorrectionRaises();
        }
        if (!SignatureRules.isValidNow(
                agreement.attester, _hashTypedDataV4(PerformanceHashing.hashReport(report)), signature
            )) revert Performance_InvalidSignature(agreement.attester);
        uint256 pay = PerformanceMath.pay(agreement.metric, agreement.tiers, report.units, report.revenue);
        if (first) _acceptFirst(agreement, id, report, pay);
        else _acceptCorrection(agreement, id, report, pay);
    }

    /// @dev Effects of a first report: reserves its pay, capped by what is left of the budget, and
    /// locks it.
    function _acceptFirst(PerformanceAgreement calldata a, bytes32 id, Report calldata r, uint256 pay)
        private
    {
        PerformanceState storage s = _states[id];
        PeriodState storage p = _periods[id][r.period];
        uint256 budget = s.budget;
        if (pay > budget) pay = budget;
        budget -= pay;
        uint40 lockedUntil = uint40(block.timestamp + a.lockWindow);

        // Safe: budget only fell; pay <= the budget, below 2^128.
        // forge-lint: disable-next-line(unsafe-typecast)
        s.budget = uint128(budget);
        s.reported += 1;
        s.open += 1;
        _reserved[id] += pay;
        p.units = r.units;
        p.revenue = r.revenue;
        // forge-lint: disable-next-line(unsafe-typecast)
        p.pay = uint128(pay);
        p.version = r.version;
        p.status = PeriodStatus.Locked;
        p.lockedUntil = lockedUntil;
        _emitReport(id, r, pay, lockedUntil, budget);
    }

    /// @dev Effects and interactions of a correction: the pay only falls (a lower report never earns
    /// more than the one it corrects, though the budget cap or falling tier rates could make the
    /// formula's value rise). The difference goes back to the budget, or to the brand once the
    /// agreement is closing (no report can use it then).
    function _acceptCorrection(PerformanceAgreement calldata a, bytes32 id, Report calldata r, uint256 pay)
        private
    {
        PerformanceState storage s = _states[id];
        PeriodState storage p = _periods[id][r.period];
        uint256 old = p.pay;
        if (pay > old) pay = old;
        uint256 back = old - pay;
        bool closing = s.status == PerformanceStatus.Closing;
        uint256 budget = closing ? s.budget : s.budget + back;

        // Effects
        // Safe: budget + reserved fits 128 bits (`_fund` checks it) and back was reserved.
        // forge-lint: disable-next-line(unsafe-typecast)
        s.budget = uint128(budget);
        _reserved[id] -= back;
        p.units = r.units;
        p.revenue = r.revenue;
        // forge-lint: disable-next-line(unsafe-typecast)
        p.pay = uint128(pay);
        p.version = r.version;
        _emitReport(id, r, pay, p.lockedUntil, budget);
        if (closing && back != 0) {
            emit BudgetReturned(id, back);
            // Interactions
            _push(id, a.token, a.brand, back);
        }
    }

    function _emitReport(bytes32 id, Report calldata r, uint256 pay, uint40 lockedUntil, uint256 budget)
        private
    {
        emit ReportAccepted(
            id, r.period, r.version, r.units, r.revenue, r.detailRoot, pay, lockedUntil, budget
        );
    }

    /// @inheritdoc IPactumPerformance
    function dispute(PerformanceAgreement calldata agreement, uint256 period, bytes32 reasonHash)
        external
        nonReentrant
    {
        // Checks
        bytes32 id = _id(agreement);
        if (msg.sender != agreement.brand) revert Performance_Unauthorized(msg.sender);
        if (agreement.arbiter == address(0)) revert Performance_NoArbiter();
        PeriodState storage p = _periods[id][period];
        if (p.status != PeriodStatus.Locked) revert Performance_WrongPeriodStatus(period, uint8(p.status));
        if (block.timestamp >= p.lockedUntil) revert Performance_LockEnded(p.lockedUntil);

        // Effects
        p.status = PeriodStatus.Disputed;
        p.disputedAt = uint40(block.timestamp);
        emit PeriodDisputed(id, period, reasonHash);
    }

    /// @inheritdoc IPactumPerformance
    function resolve(PerformanceAgreement calldata agreement, uint256 period, uint16 partnerBps)
        external
        nonReentrant
    {
        // Checks
        bytes32 id = _id(agreement);
        if (msg.sender != agreement.arbiter) revert Performance_Unauthorized(msg.sender);
        if (partnerBps > SplitMath.BPS) revert Performance_InvalidBps(partnerBps);
        PeriodState storage p = _periods[id][period];
        if (p.status != PeriodStatus.Disputed) revert Performance_WrongPeriodStatus(period, uint8(p.status));
        uint256 closesAt = uint256(p.disputedAt) + agreement.arbitrationWindow;
        if (block.timestamp >= closesAt) revert Performance_ArbitrationWindowClosed(closesAt);
        (uint256 toPartner, uint256 back, uint256 fee) =
            SplitMath.split(p.pay, agreement.arbiterFeeBps, partnerBps);

        // Effects
        p.status = PeriodStatus.Resolved;
        emit PeriodResolved(id, period, partnerBps, toPartner, back, fee);
        bool toBrand = _settlePeriod(id, p.pay, back);

        // Interactions
        _push(id, agreement.token, agreement.partner, toPartner);
        _push(id, agreement.token, agreement.arbiter, fee);
        if (toBrand) _push(id, agreement.token, agreement.brand, back);
    }

    /// @inheritdoc IPactumPerformance
    function resolveAfterTimeout(PerformanceAgreement calldata agreement, uint256 period)
        external
        nonReentrant
    {
        // Checks
        bytes32 id = _id(agreement);
        PeriodState storage p = _periods[id][period];
        if (p.status != PeriodStatus.Disputed) revert Performance_WrongPeriodStatus(period, uint8(p.status));
        uint256 closesAt = uint256(p.disputedAt) + agreement.arbitrationWindow;
        if (block.timestamp < closesAt) revert Performance_ArbitrationWindowOpen(closesAt);
        (uint256 toPartner, uint256 back) = SplitMath.half(p.pay);

        // Effects
        p.status = PeriodStatus.TimedOut;
        emit PeriodTimedOut(id, period, toPartner, back);
        bool toBrand = _settlePeriod(id, p.pay, back);

        // Interactions
        _push(id, agreement.token, agreement.partner, toPartner);
        if (toBrand) _push(id, agreement.token, agreement.brand, back);
    }

    /// @inheritdoc IPactumPerformance
    function release(PerformanceAgreement calldata agreement, uint256 period) external nonReentrant {
        // Checks
        bytes32 id = _id(agreement);
        PeriodState storage p = _periods[id][period];
        if (p.status != PeriodStatus.Locked) revert Performance_WrongPeriodStatus(period, uint8(p.status));
        if (block.timestamp < p.lockedUntil) revert Performance_Locked(p.lockedUntil);
        uint256 pay = p.pay;

        // Effects
        p.status = PeriodStatus.Paid;
        emit PeriodPaid(id, period, pay);
        _settlePeriod(id, pay, 0);

        // Interactions
        _push(id, agreement.token, agreement.partner, pay);
    }

    /*//////////////////////////////////////////////////////////////
                               THE END
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumPerformance
    function terminate(PerformanceAgreement calldata agreement, bytes32 reasonHash) external nonReentrant {
        // Checks
        bytes32 id = _id(agreement);
        uint8 by = msg.sender == agreement.brand ? _BRAND : msg.sender == agreement.partner ? _PARTNER : 0;
        if (by == 0) revert Performance_Unauthorized(msg.sender);
        PerformanceState storage s = _states[id];
        if (s.status != PerformanceStatus.Active) revert Performance_WrongStatus(id, uint8(s.status));
        if (s.terminatedBy != 0) revert Performance_AlreadyTerminated();

        // Effects
        s.terminatedBy = by;
        s.terminatedAt = uint40(block.timestamp);
        emit PerformanceAgreementTerminated(id, msg.sender, reasonHash);
    }

    /// @inheritdoc IPactumPerformance
    function close(PerformanceAgreement calldata agreement) external nonReentrant {
        // Checks
        bytes32 id = _id(agreement);
        PerformanceState storage s = _states[id];
        if (s.status != PerformanceStatus.Active) revert Performance_WrongStatus(id, uint8(s.status));
        (uint256 count, uint256 until) = _reportable(agreement, s);
        if (s.reported < count && block.timestamp < until) revert Performance_ReportsStillDue(until);
        uint256 back = s.budget;

        // Effects
        s.budget = 0;
        s.status = PerformanceStatus.Closing;
        emit PerformanceAgreementClosed(id, back);
        if (s.open == 0) {
            s.status = PerformanceStatus.Ended;
            emit PerformanceAgreementEnded(id);
        }

        // Interactions
        _push(id, agreement.token, agreement.brand, back);
    }

    /// @notice Withdraws the caller's deferred payments in `token` to `to` (neither zero nor this
    /// contract).
    function withdraw(address token, address to) external nonReentrant {
        _withdraw(token, to);
    }

    /*//////////////////////////////////////////////////////////////
                                PRIVATE
    //////////////////////////////////////////////////////////////*/

    /// @dev The agreement's id, EIP-712 digest under this contract's domain.
    function _id(PerformanceAgreement calldata a) private view returns (bytes32) {
        return _hashTypedDataV4(PerformanceHashing.hash(a));
    }

    /// @dev Validates, checks both signatures and records the agreement as active.
    function _create(
        PerformanceAgreement calldata a,
        bytes32 id,
        bytes calldata brandSignature,
        bytes calldata partnerSignature
    ) private {
        // Checks
        _validate(a);
        PerformanceState storage s = _states[id];
        if (s.status != PerformanceStatus.None) revert Performance_AlreadyExists(id);
        if (!SignatureRules.isValidNow(a.brand, id, brandSignature)) {
            revert Performance_InvalidSignature(a.brand);
        }
        if (!SignatureRules.isValidNow(a.partner, id, partnerSignature)) {
            revert Performance_InvalidSignature(a.partner);
        }

        // Effects
        s.status = PerformanceStatus.Active;
        emit PerformanceAgreementCreated(id, a.brand, a.partner, a);
    }

    /// @dev What both parties can act on: distinct parties (the attester may be the brand, never the
    /// partner; the arbiter neither), a token with code, 1..MAX_TIERS tiers from 0 and ascending
    /// (revenue rates at most 100%), windows within bounds, and an end that is in the future and
    /// within MAX_TERM.
    function _validate(PerformanceAgreement calldata a) private view {
        if (block.timestamp > a.deadline) revert Performance_SignatureExpired(a.deadline);
        if (
            a.brand == address(0) || a.partner == address(0) || a.attester == address(0)
                || a.brand == a.partner || a.attester == a.partner || a.arbiter == a.brand
                || a.arbiter == a.partner || a.arbiter == a.attester
        ) revert Performance_InvalidParties();
        if (a.token == address(0) || a.token.code.length == 0) revert Performance_InvalidToken(a.token);
        if (a.arbiterFeeBps > MAX_FEE_BPS) revert Performance_InvalidFee(a.arbiterFeeBps);

        Tier[] calldata tiers = a.tiers;
        uint256 n = tiers.length;
        if (n == 0 || n > MAX_TIERS || tiers[0].fromUnits != 0) revert Performance_InvalidTiers();
        for (uint256 i; i < n; ++i) {
            if (i > 0 && tiers[i].fromUnits <= tiers[i - 1].fromUnits) revert Performance_InvalidTiers();
            if (a.metric == Metric.Revenue && tiers[i].rate > PerformanceMath.BPS) {
                revert Performance_InvalidTiers();
            }
        }

        if (a.period < MIN_WINDOW || a.period > MAX_PERIOD) revert Performance_InvalidWindow(a.period);
        _checkWindow(a.reportWindow);
        _checkWindow(a.lockWindow);
        _checkWindow(a.arbitrationWindow);
        if (a.periods == 0 || a.periods > MAX_PERIODS) revert Performance_InvalidTerm();
        uint256 end = uint256(a.start) + uint256(a.period) * a.periods;
        if (end <= block.timestamp || end > block.timestamp + MAX_TERM) revert Performance_InvalidTerm();
    }

    function _checkWindow(uint256 w) private pure {
        if (w < MIN_WINDOW || w > MAX_WINDOW) revert Performance_InvalidWindow(w);
    }

    /// @dev Records a top-up and takes it from the caller.
    function _fund(PerformanceAgreement calldata a, bytes32 id, uint256 amount) private {
        // Checks
        PerformanceState storage s = _states[id];
        if (s.status != PerformanceStatus.Active) revert Performance_WrongStatus(id, uint8(s.status));
        if (s.terminatedBy != 0) revert Performance_AlreadyTerminated();
        uint256 end = uint256(a.start) + uint256(a.period) * a.periods;
        if (block.timestamp >= end) revert Performance_Over(end);
        if (amount == 0) revert Performance_ZeroAmount();
        uint256 budget = s.budget + amount;
        // Budget plus reserved, not the budget alone: reserved pay comes back to the budget (a
        // lowering correction, a ruling's remainder), which must then still fit its 128 bits.
        if (budget + _reserved[id] > type(uint128).max) revert Performance_BudgetTooLarge();

        // Effects
        // Safe: checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        s.budget = uint128(budget);
        emit BudgetFunded(id, msg.sender, amount, budget);

        // Interactions
        uint256 before = IERC20(a.token).balanceOf(address(this));
        IERC20(a.token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(a.token).balanceOf(address(this)) - before;
        if (received != amount) revert Performance_FundingShortfall(amount, received);
    }

    /// @dev How many periods can be reported (all, or those starting before a termination) and
    /// until when the last of them can be.
    function _reportable(PerformanceAgreement calldata a, PerformanceState storage s)
        private
        view
        returns (uint256 count, uint256 until)
    {
        count = a.periods;
        uint256 terminatedAt = s.terminatedAt;
        if (s.terminatedBy != 0) {
            if (terminatedAt <= a.start) return (0, 0);
            uint256 started = (terminatedAt - a.start + a.period - 1) / a.period;
            if (started < count) count = started;
        }
        until = uint256(a.start) + uint256(a.period) * count + a.reportWindow;
    }

    /// @dev A first report of `period` is allowed: the agreement is active, the period is one of
    /// those that can be reported, it is over (or the termination cut it short), and its report
    /// window is open.
    function _checkReportable(
        PerformanceAgreement calldata a,
        PerformanceState storage s,
        bytes32 id,
        uint256 period
    ) private view {
        if (s.status != PerformanceStatus.Active) {
            revert Performance_WrongStatus(id, uint8(s.status));
        }
        (uint256 count,) = _reportable(a, s);
        if (period >= count) revert Performance_PeriodNotReportable(period);
        uint256 endsAt = uint256(a.start) + uint256(a.period) * (period + 1);
        uint256 opensAt = endsAt;
        if (s.terminatedBy != 0 && s.terminatedAt < opensAt) opensAt = s.terminatedAt;
        if (block.timestamp < opensAt) revert Performance_PeriodNotOver(period, opensAt);
        uint256 closesAt = endsAt + a.reportWindow;
        if (block.timestamp >= closesAt) revert Performance_ReportWindowClosed(period, closesAt);
    }

    /// @dev A period left `Locked`/`Disputed` with `pay` reserved, of which `back` is not paid out:
    /// releases the reservation and returns `back` to the budget, or says it goes to the brand when
    /// the agreement is closing (no later report could use it). Ends a closing agreement whose last
    /// open period this was.
    function _settlePeriod(bytes32 id, uint256 pay, uint256 back) private returns (bool toBrand) {
        PerformanceState storage s = _states[id];
        _reserved[id] -= pay;
        s.open -= 1;
        if (s.status == PerformanceStatus.Closing) {
            toBrand = back != 0;
            if (toBrand) emit BudgetReturned(id, back);
            if (s.open == 0) {
                s.status = PerformanceStatus.Ended;
                emit PerformanceAgreementEnded(id);
            }
        } else {
            // Safe: budget + reserved fits 128 bits (`_fund` checks it) and back was reserved.
            // forge-lint: disable-next-line(unsafe-typecast)
            s.budget = uint128(s.budget + back);
        }
    }
}
