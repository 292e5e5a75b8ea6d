// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

import {PactumPerformance} from "../../../src/PactumPerformance.sol";
import {PerformanceMath} from "../../../src/libraries/PerformanceMath.sol";
import {SplitMath} from "../../../src/libraries/SplitMath.sol";
import {
    Metric,
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    PeriodState,
    PeriodStatus,
    Report,
    Tier
} from "../../../src/types/PerformanceTypes.sol";
import {BlacklistToken, MockStablecoin} from "../../mocks/Mocks.sol";

/// @notice Drives mostly valid action sequences over a pool of performance agreements (two brands,
/// two partners, a third-party attester or the brand attesting, an arbiter or none; a plain
/// stablecoin and a blacklist token that can block one brand and one partner) and keeps its own
/// model: per agreement the funds in and out (measured as balance plus claimable deltas of each
/// party), the budget and reservation, and per period the pay the rules give (the rate applied to
/// the final report, capped by the budget at the first report, never rising).
/// @dev Each action picks an agreement by a bounded index and scans from there for one it applies to;
/// when there is none it prepares one where it can (warps to a report window or a lock's end, reports
/// a period to release or dispute it): such steps are counted as `assists`. Deviations are counted
/// (`unexpectedReverts`, `modelErrors`, `accountingErrors`, `earlyPayouts`, `payRises`,
/// `misuseAccepted`) because assertions inside a handler are discarded with the reverted call; the
/// invariants require them to stay zero. The handler itself never reverts.
contract PerformanceHandler is Test {
    /*//////////////////////////////////////////////////////////////
                              CONFIGURATION
    //////////////////////////////////////////////////////////////*/

    uint256 public constant MAX_AGREEMENTS = 32;
    uint256 public constant MAX_PERIODS = 6;
    uint32 internal constant PERIOD = 1 days;
    uint32 internal constant REPORT_WINDOW = 3 days;
    uint32 internal constant LOCK = 2 days;
    uint32 internal constant ARBITRATION = 1 days;

    PactumPerformance public immutable perf;
    MockStablecoin public immutable usd;
    BlacklistToken public immutable bl;
    /// @dev Pays every budget in (never blocked); withdrawals go to `sink`.
    address public immutable funder;
    address public immutable sink;
    address public immutable attester;
    address public immutable arbiter;
    address[2] public brands;
    address[2] public partners;
    mapping(address account => uint256 key) internal _keyOf;
    address[2] public tokens;

    /*//////////////////////////////////////////////////////////////
                             AGREEMENT POOL
    //////////////////////////////////////////////////////////////*/

    /// @dev What rebuilds an agreement (its tiers are kept apart: legacy codegen cannot copy a
    /// struct array from memory to storage).
    struct Params {
        uint8 brandIdx;
        uint8 partnerIdx;
        uint8 tokenIdx;
        bool brandAttests;
        bool hasArbiter;
        Metric metric;
        uint16 feeBps;
        uint40 start;
        uint32 periods;
        uint256 salt;
    }

    /// @dev The model of one agreement.
    struct Model {
        bytes32 id;
        uint8 tokenIdx;
        uint8 periods;
        uint256 funded;
        uint256 toPartner;
        uint256 toBrand;
        uint256 toArbiter;
        uint256 budget;
        uint256 reserved;
        bool ended;
        bytes32 endPrint;
    }

    /// @dev The model of one period: the pay the rules give and what the partner was paid for it.
    struct PModel {
        uint256 pay;
        uint256 partnerPaid;
        bool paidByRuling;
    }

    Params[] internal _params;
    mapping(uint256 idx => Tier[]) internal _tiers;
    Model[] internal _models;
    mapping(uint256 idx => mapping(uint256 period => PModel)) internal _pm;
    uint256 internal _salt;

    /*//////////////////////////////////////////////////////////////
                          COUNTERS AND FLAGS
    //////////////////////////////////////////////////////////////*/

    bool public touched;
    /// @dev The agreements the last call acted on (bit idx), and how many calls reached the contract.
    uint256 public touchedMask;
    uint256 public calls;
    uint256 public unexpectedReverts;
    uint256 public modelErrors;
    uint256 public accountingErrors;
    uint256 public earlyPayouts;
    uint256 public payRises;
    uint256 public misuseAccepted;

    enum Action {
        Create,
        Fund,
        Report,
        Correct,
        Dispute,
        Resolve,
        Timeout,
        Release,
        Terminate,
        Close,
        Withdraw,
        Misuse,
        Warp,
        Toggle
    }

    uint256 public constant N_ACTIONS = 14;
    /// @dev Warp and Toggle never reach the contract: left out of the applied ratio.
    uint256 public constant N_CONTRACT_ACTIONS = 12;
    uint256[N_ACTIONS] public attempted;
    uint256[N_ACTIONS] public applied;
    uint256[N_ACTIONS] public assists;
    /// @dev Payouts to a blocked partner (deferred to `claimable`).
    uint256 public deferrals;
    uint256 public corrections;
    uint256 public cappedReports;
    uint256 public closingCorrections;

    modifier acts(Action action) {
        touched = true;
        touchedMask = 0;
        ++calls;
        ++attempted[uint256(action)];
        _;
    }

    constructor(PactumPerformance perf_, MockStablecoin usd_) {
        perf = perf_;
        usd = usd_;
        bl = new BlacklistToken();
        tokens = [address(usd_), address(bl)];
        funder = makeAddr("funder");
        sink = makeAddr("sink");
        string[6] memory names = ["brand0", "brand1", "partner0", "partner1", "attester", "arbiter"];
        address[6] memory who;
        for (uint256 i; i < 6; ++i) {
            (address account, uint256 key) = makeAddrAndKey(names[i]);
            who[i] = account;
            _keyOf[account] = key;
        }
        brands = [who[0], who[1]];
        partners = [who[2], who[3]];
        attester = who[4];
        arbiter = who[5];
        usd_.mint(funder, type(uint128).max);
        bl.mint(funder, type(uint128).max);
        vm.startPrank(funder);
        usd_.approve(address(perf_), type(uint256).max);
        bl.approve(address(perf_), type(uint256).max);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @dev Every deviation counter, in one call: unexpected reverts, model errors, accounting errors,
    /// early payouts, pay rises, forbidden actions accepted.
    function deviations() external view returns (uint256[6] memory) {
        return [unexpectedReverts, modelErrors, accountingErrors, earlyPayouts, payRises, misuseAccepted];
    }

    function count() external view returns (uint256) {
        return _models.length;
    }

    function models() external view returns (Model[] memory) {
        return _models;
    }

    function periodModel(uint256 idx, uint256 period) external view returns (PModel memory) {
        return _pm[idx][period];
    }

    function agreement(uint256 idx) public view returns (PerformanceAgreement memory a) {
        Params storage p = _params[idx];
        a.brand = brands[p.brandIdx];
        a.partner = partners[p.partnerIdx];
        a.attester = p.brandAttests ? a.brand : attester;
        a.arbiter = p.hasArbiter ? arbiter : address(0);
        a.token = tokens[p.tokenIdx];
        a.termsHash = keccak256("terms");
        a.metric = p.metric;
        a.arbiterFeeBps = p.feeBps;
        a.start = p.start;
        a.period = PERIOD;
        a.periods = p.periods;
        a.reportWindow = REPORT_WINDOW;
        a.lockWindow = LOCK;
        a.arbitrationWindow = ARBITRATION;
        a.deadline = p.start;
        a.salt = p.salt;
        a.tiers = _tiers[idx];
    }

    /// @dev What the contract stores for agreement `idx` (state, reserved, every period), hashed.
    function fingerprint(uint256 idx) public view returns (bytes32 h) {
        bytes32 id = _models[idx].id;
        h = keccak256(abi.encode(perf.getState(id), perf.reserved(id)));
        uint256 n = _params[idx].periods;
        for (uint256 i; i < n; ++i) {
            h = keccak256(abi.encode(h, perf.getPeriod(id, i)));
        }
    }

    /*//////////////////////////////////////////////////////////////
                                ACTIONS
    //////////////////////////////////////////////////////////////*/

    function create(uint256 seed) external acts(Action.Create) {
        if (_models.length >= MAX_AGREEMENTS) return;
        if (_create(seed)) ++applied[uint256(Action.Create)];
    }

    function fund(uint256 aSeed, uint256 amount) external acts(Action.Fund) {
        (bool found, uint256 idx) = _find(aSeed, _isFundable);
        if (!found) (found, idx) = _assistCreate(aSeed);
        if (!found) return;
        amount = bound(amount, 1, 1e10);
        PerformanceAgreement memory a = agreement(idx);
        vm.prank(funder);
        try perf.fund(a, amount) {
            _models[idx].funded += amount;
            _models[idx].budget += amount;
            _done(Action.Fund, idx);
        } catch {
            ++unexpectedReverts;
        }
    }

    function report(uint256 aSeed, uint256 units, uint256 revenue) external acts(Action.Report) {
        (bool found, uint256 idx, uint256 p) = _prepareReport(aSeed);
        if (!found) return;
        if (_first(idx, p, units, revenue)) _done(Action.Report, idx);
    }

    /// @dev Lowers a locked period's report (reporting one first when none is locked).
    function correct(uint256 aSeed, uint256 seed) external acts(Action.Correct) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isCorrectable);
        if (!found) (found, idx, p) = _assistLocked(aSeed, seed);
        if (!found) return;
        if (_correct(idx, p, seed)) _done(Action.Correct, idx);
    }

    function dispute(uint256 aSeed, uint256 seed) external acts(Action.Dispute) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isDisputable);
        if (!found) {
            (found,,) = _assistLocked(aSeed, seed);
            if (found) (found, idx, p) = _findPeriod(aSeed, _isDisputable);
        }
        if (!found) return;
        if (_dispute(idx, p)) _done(Action.Dispute, idx);
    }

    function _dispute(uint256 idx, uint256 p) internal returns (bool) {
        PerformanceAgreement memory a = agreement(idx);
        vm.prank(a.brand);
        try perf.dispute(a, p, keccak256("why")) {
            return true;
        } catch {
            ++unexpectedReverts;
            return false;
        }
    }

    /// @dev Disputes a locked period (reporting one first when none is locked): an assist.
    function _assistDispute(uint256 aSeed, uint256 seed) internal returns (bool, uint256, uint256) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isDisputable);
        if (!found) {
            (found,,) = _assistLocked(aSeed, seed);
            if (found) (found, idx, p) = _findPeriod(aSeed, _isDisputable);
        }
        if (!found || !_dispute(idx, p)) return (false, 0, 0);
        ++assists[uint256(Action.Dispute)];
        return (true, idx, p);
    }

    function resolve(uint256 aSeed, uint256 bps) external acts(Action.Resolve) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isRulable);
        if (!found) (found, idx, p) = _assistDispute(aSeed, bps);
        if (!found) return;
        PerformanceAgreement memory a = agreement(idx);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint16 partnerBps = uint16(bound(bps, 0, 10_000));
        uint256 pay = _pm[idx][p].pay;
        (uint256 toPartner, uint256 back, uint256 fee) = SplitMath.split(pay, a.arbiterFeeBps, partnerBps);
        uint256[3] memory before = _snap(a);
        bool closing = perf.getState(_models[idx].id).status == PerformanceStatus.Closing;
        vm.prank(arbiter);
        try perf.resolve(a, p, partnerBps) {
            _settled(idx, p, a, before, toPartner, back, fee, closing);
            _done(Action.Resolve, idx);
        } catch {
            ++unexpectedReverts;
        }
    }

    /// @dev Times out a disputed period (warping past the arbiter's window when needed).
    function timeout(uint256 aSeed) external acts(Action.Timeout) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isTimedOut);
        if (!found) (found, idx, p) = _findPeriod(aSeed, _isDisputed);
        if (!found) (found, idx, p) = _assistDispute(aSeed, aSeed >> 8);
        if (!found) return;
        PeriodState memory ps = perf.getPeriod(_models[idx].id, p);
        uint256 closesAt = uint256(ps.disputedAt) + ARBITRATION;
        if (block.timestamp < closesAt) {
            vm.warp(closesAt);
            ++assists[uint256(Action.Warp)];
        }
        PerformanceAgreement memory a = agreement(idx);
        uint256 pay = _pm[idx][p].pay;
        uint256[3] memory before = _snap(a);
        bool closing = perf.getState(_models[idx].id).status == PerformanceStatus.Closing;
        try perf.resolveAfterTimeout(a, p) {
            _settled(idx, p, a, before, pay / 2, pay - pay / 2, 0, closing);
            _done(Action.Timeout, idx);
        } catch {
            ++unexpectedReverts;
        }
    }

    /// @dev Releases a locked period (warping to its lock's end, or reporting one first, when needed).
    function release(uint256 aSeed, uint256 seed) external acts(Action.Release) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isReleasable);
        if (!found) (found, idx, p) = _findPeriod(aSeed, _isLocked);
        if (!found) (found, idx, p) = _assistLocked(aSeed, seed);
        if (!found) return;
        bytes32 id = _models[idx].id;
        uint256 until = perf.getPeriod(id, p).lockedUntil;
        if (block.timestamp < until) {
            vm.warp(until);
            ++assists[uint256(Action.Warp)];
        }
        PerformanceAgreement memory a = agreement(idx);
        uint256 pay = _pm[idx][p].pay;
        uint256[3] memory before = _snap(a);
        bool closing = perf.getState(id).status == PerformanceStatus.Closing;
        vm.prank(sink);
        try perf.release(a, p) {
            if (block.timestamp < until) ++earlyPayouts;
            _settled(idx, p, a, before, pay, 0, 0, closing);
            _pm[idx][p].paidByRuling = false;
            _done(Action.Release, idx);
        } catch {
            ++unexpectedReverts;
        }
    }

    function terminate(uint256 aSeed, bool byPartner) external acts(Action.Terminate) {
        (bool found, uint256 idx) = _find(aSeed, _isTerminable);
        if (!found) (found, idx) = _assistCreate(aSeed);
        if (!found) return;
        PerformanceAgreement memory a = agreement(idx);
        vm.prank(byPartner ? a.partner : a.brand);
        try perf.terminate(a, keccak256("cause")) {
            _done(Action.Terminate, idx);
        } catch {
            ++unexpectedReverts;
        }
    }

    /// @dev Closes an active agreement (warping past its last report window when reports are due).
    function close(uint256 aSeed) external acts(Action.Close) {
        (bool found, uint256 idx) = _find(aSeed, _isClosable);
        if (!found) (found, idx) = _find(aSeed, _isActive);
        if (!found) (found, idx) = _assistCreate(aSeed);
        if (!found) return;
        PerformanceAgreement memory a = agreement(idx);
        if (!_allReported(idx, a)) {
            uint256 until = _reportableUntil(idx, a);
            if (block.timestamp < until) {
                vm.warp(until);
                ++assists[uint256(Action.Warp)];
            }
        }
        uint256[3] memory before = _snap(a);
        uint256 back = _models[idx].budget;
        vm.prank(sink);
        try perf.close(a) {
            _models[idx].budget = 0;
            _expectPaid(idx, a, before, 0, back, 0);
            _done(Action.Close, idx);
        } catch {
            ++unexpectedReverts;
        }
    }

    function withdraw(uint256 seed) external acts(Action.Withdraw) {
        address who = seed % 2 == 0 ? brands[1] : partners[1];
        if (perf.claimable(address(bl), who) == 0) {
            who = who == brands[1] ? partners[1] : brands[1];
        }
        if (perf.claimable(address(bl), who) == 0) {
            // Nothing to withdraw: refused.
            vm.prank(who);
            try perf.withdraw(address(bl), sink) {
                ++misuseAccepted;
            } catch {
                ++applied[uint256(Action.Withdraw)];
            }
            return;
        }
        uint256 amount = perf.claimable(address(bl), who);
        uint256 before = bl.balanceOf(sink);
        vm.prank(who);
        try perf.withdraw(address(bl), sink) {
            if (bl.balanceOf(sink) - before != amount) ++accountingErrors;
            ++applied[uint256(Action.Withdraw)];
        } catch {
            ++unexpectedReverts;
        }
    }

    /// @dev A forbidden call, which must revert: release before the lock ends, a raising correction,
    /// a report signed by the partner, a dispute by the partner, a report of a period beyond the
    /// agreement's or after its termination, and any action on an ended agreement.
    function misuse(uint256 aSeed, uint256 kind) external acts(Action.Misuse) {
        for (uint256 k; k < 4; ++k) {
            if (_misuse(aSeed, (kind % 4 + k) % 4)) {
                ++applied[uint256(Action.Misuse)];
                return;
            }
        }
        (bool found,) = _assistCreate(aSeed);
        if (found && _misuseReport(aSeed)) ++applied[uint256(Action.Misuse)];
    }

    function warp(uint256 secs) external acts(Action.Warp) {
        touched = false;
        vm.warp(block.timestamp + bound(secs, 1, 3 days));
    }

    function toggle(bool blocked) external acts(Action.Toggle) {
        touched = false;
        bl.setBlocked(brands[1], blocked);
        bl.setBlocked(partners[1], blocked);
    }

    /*//////////////////////////////////////////////////////////////
                           ACTION INTERNALS
    //////////////////////////////////////////////////////////////*/

    function _create(uint256 seed) internal returns (bool) {
        uint256 idx = _params.length;
        _params.push(
            Params({
                // forge-lint: disable-next-line(unsafe-typecast)
                brandIdx: uint8(seed % 2),
                // forge-lint: disable-next-line(unsafe-typecast)
                partnerIdx: uint8((seed >> 8) % 2),
                // forge-lint: disable-next-line(unsafe-typecast)
                tokenIdx: uint8((seed >> 16) % 2),
                brandAttests: (seed >> 24) % 4 == 0,
                hasArbiter: (seed >> 32) % 8 != 0,
                metric: Metric((seed >> 40) % 3),
                // forge-lint: disable-next-line(unsafe-typecast)
                feeBps: uint16((seed >> 48) % 2001),
                start: uint40(block.timestamp),
                // forge-lint: disable-next-line(unsafe-typecast)
                periods: uint32(1 + (seed >> 64) % MAX_PERIODS),
                salt: ++_salt
            })
        );
        uint256 nTiers = 1 + (seed >> 72) % 3;
        uint256 maxRate = _params[idx].metric == Metric.Revenue ? 10_000 : 1e8;
        uint256 from;
        for (uint256 i; i < nTiers; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            if (i > 0) from += 1 + r % 60;
            // forge-lint: disable-next-line(unsafe-typecast)
            _tiers[idx].push(Tier(uint128(from), uint128((r >> 64) % (maxRate + 1))));
        }
        PerformanceAgreement memory a = agreement(idx);
        bytes32 id = perf.hashAgreement(a);
        uint256 amount = bound(seed >> 96, 1, 1e10);
        bytes memory bs = _sign(_keyOf[a.brand], id);
        bytes memory ps = _sign(_keyOf[a.partner], id);
        if ((seed >> 200) % 3 == 0) {
            // Created by someone else first: createAndFund must adopt it.
            try perf.create(a, bs, ps) {}
            catch {
                ++unexpectedReverts;
            }
        }
        vm.prank(funder);
        try perf.createAndFund(a, bs, ps, amount) returns (bytes32 got) {
            if (got != id) ++modelErrors;
            _models.push(
                Model({
                    id: id,
                    tokenIdx: _params[idx].tokenIdx,
                    // forge-lint: disable-next-line(unsafe-typecast)
                    periods: uint8(a.periods),
                    funded: amount,
                    toPartner: 0,
                    toBrand: 0,
                    toArbiter: 0,
                    budget: amount,
                    reserved: 0,
                    ended: false,
                    endPrint: bytes32(0)
                })
            );
            _check(idx);
            return true;
        } catch {
            ++unexpectedReverts;
            _params.pop();
            delete _tiers[idx];
            return false;
        }
    }

    /// @dev A correction of locked period `p` to lower (or equal) values drawn from `seed`.
    function _correct(uint256 idx, uint256 p, uint256 seed) internal returns (bool) {
        PerformanceAgreement memory a = agreement(idx);
        Report memory r = _lowerReport(idx, p, seed);
        uint256 old = _pm[idx][p].pay;
        uint256 pay = PerformanceMath.pay(a.metric, a.tiers, r.units, r.revenue);
        if (pay > old) pay = old;
        bool closing = _status(idx).status == PerformanceStatus.Closing;
        uint256[3] memory before = _snap(a);
        try perf.submitReport(a, r, _signReport(a, r)) {}
        catch {
            ++unexpectedReverts;
            return false;
        }
        _bookCorrection(idx, p, a, before, pay, closing);
        return true;
    }

    function _lowerReport(uint256 idx, uint256 p, uint256 seed) internal view returns (Report memory) {
        PeriodState memory ps = perf.getPeriod(_models[idx].id, p);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint128 units = uint128(bound(seed, 0, ps.units));
        // forge-lint: disable-next-line(unsafe-typecast)
        uint128 revenue = uint128(bound(seed >> 128, 0, ps.revenue));
        return _report(_models[idx].id, p, ps.version + 1, units, revenue);
    }

    /// @dev The difference goes back to the budget, or to the brand once closing; the pay only falls.
    function _bookCorrection(
        uint256 idx,
        uint256 p,
        PerformanceAgreement memory a,
        uint256[3] memory before,
        uint256 pay,
        bool closing
    ) internal {
        uint256 old = _pm[idx][p].pay;
        uint256 back = old - pay;
        _pm[idx][p].pay = pay;
        _models[idx].reserved -= back;
        if (closing) {
            _expectPaid(idx, a, before, 0, back, 0);
            ++closingCorrections;
        } else {
            _models[idx].budget += back;
            _expectPaid(idx, a, before, 0, 0, 0);
        }
        uint256 got = perf.getPeriod(_models[idx].id, p).pay;
        if (got > old) ++payRises;
        if (got != pay) ++modelErrors;
        ++corrections;
    }

    /// @dev Creates a funded agreement (an assist) when the pool has room.
    function _assistCreate(uint256 seed) internal returns (bool, uint256) {
        if (_models.length >= MAX_AGREEMENTS || !_create(seed)) return (false, 0);
        ++assists[uint256(Action.Create)];
        return (true, _models.length - 1);
    }

    /// @dev A first report of period `p` of agreement `idx`, now reportable.
    function _first(uint256 idx, uint256 p, uint256 unitsSeed, uint256 revenueSeed) internal returns (bool) {
        PerformanceAgreement memory a = agreement(idx);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint128 units = uint128(bound(unitsSeed, 0, 300));
        // forge-lint: disable-next-line(unsafe-typecast)
        uint128 revenue = uint128(bound(revenueSeed, 0, 1e12));
        uint256 pay = PerformanceMath.pay(a.metric, a.tiers, units, revenue);
        Model storage m = _models[idx];
        if (pay > m.budget) {
            pay = m.budget;
            ++cappedReports;
        }
        Report memory r = _report(m.id, p, 1, units, revenue);
        try perf.submitReport(a, r, _signReport(a, r)) {
            m.budget -= pay;
            m.reserved += pay;
            _pm[idx][p].pay = pay;
            if (perf.getPeriod(m.id, p).pay != pay) ++modelErrors;
            return true;
        } catch {
            ++unexpectedReverts;
            return false;
        }
    }

    /// @dev Finds an agreement and period that can be reported now, or after a warp to the period's
    /// end (an assist), scanning from `aSeed`.
    function _prepareReport(uint256 aSeed) internal returns (bool, uint256, uint256) {
        uint256 n = _models.length;
        uint256 bestIdx;
        uint256 bestP;
        uint256 bestOpens = type(uint256).max;
        for (uint256 k; k < n; ++k) {
            uint256 idx = (aSeed % n + k) % n;
            (bool ok, uint256 p, uint256 opensAt) = _nextReportable(idx);
            if (!ok) continue;
            if (opensAt <= block.timestamp) return (true, idx, p);
            if (opensAt < bestOpens) (bestIdx, bestP, bestOpens) = (idx, p, opensAt);
        }
        if (bestOpens == type(uint256).max) {
            (bool created, uint256 idx) = _assistCreate(aSeed);
            if (!created) return (false, 0, 0);
            (, bestP, bestOpens) = _nextReportable(idx);
            bestIdx = idx;
        }
        vm.warp(bestOpens);
        ++assists[uint256(Action.Warp)];
        return (true, bestIdx, bestP);
    }

    /// @dev The first unreported period of `idx` whose report window has not closed, and when it opens.
    function _nextReportable(uint256 idx) internal view returns (bool, uint256, uint256) {
        bytes32 id = _models[idx].id;
        PerformanceState memory s = perf.getState(id);
        if (s.status != PerformanceStatus.Active) return (false, 0, 0);
        Params storage prm = _params[idx];
        uint256 n = _reportableCount(prm, s);
        for (uint256 p; p < n; ++p) {
            if (perf.getPeriod(id, p).status != PeriodStatus.Unreported) continue;
            uint256 endsAt = uint256(prm.start) + uint256(PERIOD) * (p + 1);
            if (block.timestamp >= endsAt + REPORT_WINDOW) continue;
            uint256 opensAt = endsAt;
            if (s.terminatedBy != 0 && s.terminatedAt < opensAt) opensAt = s.terminatedAt;
            return (true, p, opensAt);
        }
        return (false, 0, 0);
    }

    function _reportableCount(Params storage prm, PerformanceState memory s)
        internal
        view
        returns (uint256 n)
    {
        n = prm.periods;
        if (s.terminatedBy != 0) {
            if (s.terminatedAt <= prm.start) return 0;
            uint256 started = (uint256(s.terminatedAt) - prm.start + PERIOD - 1) / PERIOD;
            if (started < n) n = started;
        }
    }

    function _reportableUntil(uint256 idx, PerformanceAgreement memory a) internal view returns (uint256) {
        PerformanceState memory s = perf.getState(_models[idx].id);
        uint256 n = _reportableCount(_params[idx], s);
        return uint256(a.start) + uint256(PERIOD) * n + REPORT_WINDOW;
    }

    function _allReported(uint256 idx, PerformanceAgreement memory) internal view returns (bool) {
        PerformanceState memory s = perf.getState(_models[idx].id);
        return s.reported >= _reportableCount(_params[idx], s);
    }

    /// @dev Reports a period (an assist) so that there is a locked one to act on.
    function _assistLocked(uint256 aSeed, uint256 seed) internal returns (bool, uint256, uint256) {
        (bool found, uint256 idx, uint256 p) = _prepareReport(aSeed);
        if (!found || !_first(idx, p, seed, seed >> 64)) return (false, 0, 0);
        ++assists[uint256(Action.Report)];
        _check(idx);
        return (true, idx, p);
    }

    /// @dev Books a period leaving Locked/Disputed: the partner, arbiter and brand were paid exactly
    /// their parts, the remainder went back to the budget (or to the brand once closing).
    function _settled(
        uint256 idx,
        uint256 p,
        PerformanceAgreement memory a,
        uint256[3] memory before,
        uint256 toPartner,
        uint256 back,
        uint256 fee,
        bool closing
    ) internal {
        Model storage m = _models[idx];
        m.reserved -= _pm[idx][p].pay;
        _pm[idx][p].partnerPaid = toPartner;
        _pm[idx][p].paidByRuling = true;
        if (closing) {
            _expectPaid(idx, a, before, toPartner, back, fee);
        } else {
            m.budget += back;
            _expectPaid(idx, a, before, toPartner, 0, fee);
        }
    }

    /// @dev Checks each party's balance + claimable delta and books it.
    function _expectPaid(
        uint256 idx,
        PerformanceAgreement memory a,
        uint256[3] memory before,
        uint256 toPartner,
        uint256 toBrand,
        uint256 toArbiter
    ) internal {
        uint256[3] memory afterwards = _snap(a);
        uint256 dp = afterwards[0] - before[0];
        uint256 db = afterwards[1] - before[1];
        uint256 da = afterwards[2] - before[2];
        if (dp != toPartner || db != toBrand || da != toArbiter) ++accountingErrors;
        if (a.token == address(bl) && bl.blocked(a.partner) && toPartner != 0) ++deferrals;
        Model storage m = _models[idx];
        m.toPartner += dp;
        m.toBrand += db;
        m.toArbiter += da;
    }

    /// @dev Partner, brand and arbiter holdings in the agreement's token: balance plus claimable.
    function _snap(PerformanceAgreement memory a) internal view returns (uint256[3] memory s) {
        address[3] memory who = [a.partner, a.brand, arbiter];
        for (uint256 i; i < 3; ++i) {
            s[i] = IERC20(a.token).balanceOf(who[i]) + perf.claimable(a.token, who[i]);
        }
    }

    function _done(Action action, uint256 idx) internal {
        ++applied[uint256(action)];
        _check(idx);
    }

    /// @dev Compares the contract with the model after an action on `idx`, and records an agreement's
    /// fingerprint the first time it is seen ended.
    function _check(uint256 idx) internal {
        touchedMask |= 2 ** idx;
        Model storage m = _models[idx];
        PerformanceState memory s = perf.getState(m.id);
        if (s.budget != m.budget || perf.reserved(m.id) != m.reserved) ++modelErrors;
        if (s.status == PerformanceStatus.Ended && !m.ended) {
            m.ended = true;
            m.endPrint = fingerprint(idx);
            if (m.toPartner + m.toBrand + m.toArbiter != m.funded) ++accountingErrors;
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 MISUSE
    //////////////////////////////////////////////////////////////*/

    function _misuse(uint256 aSeed, uint256 kind) internal returns (bool) {
        if (kind == 0) return _misuseEarlyRelease(aSeed);
        if (kind == 1) return _misuseRaise(aSeed);
        if (kind == 2) return _misuseReport(aSeed);
        return _misuseEnded(aSeed);
    }

    function _misuseEarlyRelease(uint256 aSeed) internal returns (bool) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isCorrectable);
        if (!found) return false;
        touchedMask |= 2 ** idx;
        PerformanceAgreement memory a = agreement(idx);
        vm.prank(a.partner);
        try perf.release(a, p) {
            ++misuseAccepted;
            ++earlyPayouts;
        } catch {}
        // The partner may not dispute either.
        vm.prank(a.partner);
        try perf.dispute(a, p, bytes32(0)) {
            ++misuseAccepted;
        } catch {}
        return true;
    }

    function _misuseRaise(uint256 aSeed) internal returns (bool) {
        (bool found, uint256 idx, uint256 p) = _findPeriod(aSeed, _isCorrectable);
        if (!found) return false;
        touchedMask |= 2 ** idx;
        PerformanceAgreement memory a = agreement(idx);
        PeriodState memory ps = perf.getPeriod(_models[idx].id, p);
        Report memory r = _report(_models[idx].id, p, ps.version + 1, ps.units + 1, ps.revenue);
        try perf.submitReport(a, r, _signReport(a, r)) {
            ++misuseAccepted;
            ++payRises;
        } catch {}
        return true;
    }

    /// @dev A report signed by the partner, and a report of a period beyond the term.
    function _misuseReport(uint256 aSeed) internal returns (bool) {
        (bool found, uint256 idx) = _find(aSeed, _isActive);
        if (!found) return false;
        touchedMask |= 2 ** idx;
        PerformanceAgreement memory a = agreement(idx);
        Report memory r = _report(_models[idx].id, 0, 100, 0, 0);
        try perf.submitReport(a, r, _sign(_keyOf[a.partner], perf.hashReport(r))) {
            ++misuseAccepted;
        } catch {}
        r = _report(_models[idx].id, a.periods, 1, 0, 0);
        try perf.submitReport(a, r, _signReport(a, r)) {
            ++misuseAccepted;
        } catch {}
        return true;
    }

    /// @dev Every action on an ended agreement.
    function _misuseEnded(uint256 aSeed) internal returns (bool) {
        (bool found, uint256 idx) = _find(aSeed, _isEnded);
        if (!found) return false;
        touchedMask |= 2 ** idx;
        PerformanceAgreement memory a = agreement(idx);
        uint256 accepted = misuseAccepted;
        vm.startPrank(a.brand);
        try perf.fund(a, 1) {
            ++misuseAccepted;
        } catch {}
        try perf.terminate(a, bytes32(0)) {
            ++misuseAccepted;
        } catch {}
        try perf.close(a) {
            ++misuseAccepted;
        } catch {}
        vm.stopPrank();
        for (uint256 p; p < a.periods; ++p) {
            _misuseEndedPeriod(idx, a, p);
        }
        if (misuseAccepted != accepted) return true;
        if (fingerprint(idx) != _models[idx].endPrint) ++misuseAccepted;
        return true;
    }

    function _misuseEndedPeriod(uint256 idx, PerformanceAgreement memory a, uint256 p) internal {
        PeriodState memory ps = perf.getPeriod(_models[idx].id, p);
        Report memory r = _report(_models[idx].id, p, ps.version + 1, 0, 0);
        try perf.submitReport(a, r, _signReport(a, r)) {
            ++misuseAccepted;
        } catch {}
        try perf.release(a, p) {
            ++misuseAccepted;
        } catch {}
        try perf.resolveAfterTimeout(a, p) {
            ++misuseAccepted;
        } catch {}
        vm.prank(a.brand);
        try perf.dispute(a, p, bytes32(0)) {
            ++misuseAccepted;
        } catch {}
        vm.prank(arbiter);
        try perf.resolve(a, p, 5000) {
            ++misuseAccepted;
        } catch {}
    }

    /*//////////////////////////////////////////////////////////////
                                FINDERS
    //////////////////////////////////////////////////////////////*/

    function _find(uint256 aSeed, function(uint256) internal view returns (bool) pred)
        internal
        view
        returns (bool, uint256)
    {
        uint256 n = _models.length;
        for (uint256 k; k < n; ++k) {
            uint256 idx = (aSeed % n + k) % n;
            if (pred(idx)) return (true, idx);
        }
        return (false, 0);
    }

    function _findPeriod(
        uint256 aSeed,
        function(uint256, PeriodState memory) internal view returns (bool) pred
    ) internal view returns (bool, uint256, uint256) {
        uint256 n = _models.length;
        for (uint256 k; k < n; ++k) {
            uint256 idx = (aSeed % n + k) % n;
            if (_models[idx].ended) continue;
            bytes32 id = _models[idx].id;
            uint256 periods = _params[idx].periods;
            for (uint256 p; p < periods; ++p) {
                if (pred(idx, perf.getPeriod(id, p))) return (true, idx, p);
            }
        }
        return (false, 0, 0);
    }

    function _status(uint256 idx) internal view returns (PerformanceState memory) {
        return perf.getState(_models[idx].id);
    }

    function _isActive(uint256 idx) internal view returns (bool) {
        return _status(idx).status == PerformanceStatus.Active;
    }

    function _isEnded(uint256 idx) internal view returns (bool) {
        return _models[idx].ended;
    }

    function _isTerminable(uint256 idx) internal view returns (bool) {
        PerformanceState memory s = _status(idx);
        return s.status == PerformanceStatus.Active && s.terminatedBy == 0;
    }

    function _isFundable(uint256 idx) internal view returns (bool) {
        if (!_isTerminable(idx)) return false;
        Params storage p = _params[idx];
        return block.timestamp < uint256(p.start) + uint256(PERIOD) * p.periods;
    }

    function _isClosable(uint256 idx) internal view returns (bool) {
        if (!_isActive(idx)) return false;
        PerformanceAgreement memory a = agreement(idx);
        return _allReported(idx, a) || block.timestamp >= _reportableUntil(idx, a);
    }

    function _isReleasable(uint256, PeriodState memory ps) internal view returns (bool) {
        return ps.status == PeriodStatus.Locked && block.timestamp >= ps.lockedUntil;
    }

    function _isTimedOut(uint256, PeriodState memory ps) internal view returns (bool) {
        return ps.status == PeriodStatus.Disputed && block.timestamp >= uint256(ps.disputedAt) + ARBITRATION;
    }

    function _isLocked(uint256, PeriodState memory ps) internal pure returns (bool) {
        return ps.status == PeriodStatus.Locked;
    }

    function _isCorrectable(uint256, PeriodState memory ps) internal view returns (bool) {
        return ps.status == PeriodStatus.Locked && block.timestamp < ps.lockedUntil;
    }

    function _isDisputable(uint256 idx, PeriodState memory ps) internal view returns (bool) {
        return _params[idx].hasArbiter && _isCorrectable(idx, ps);
    }

    function _isDisputed(uint256, PeriodState memory ps) internal pure returns (bool) {
        return ps.status == PeriodStatus.Disputed;
    }

    function _isRulable(uint256, PeriodState memory ps) internal view returns (bool) {
        return ps.status == PeriodStatus.Disputed && block.timestamp < uint256(ps.disputedAt) + ARBITRATION;
    }

    /*//////////////////////////////////////////////////////////////
                               SIGNING
    //////////////////////////////////////////////////////////////*/

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signReport(PerformanceAgreement memory a, Report memory r)
        internal
        view
        returns (bytes memory)
    {
        return _sign(_keyOf[a.attester], perf.hashReport(r));
    }

    function _report(bytes32 id, uint256 period, uint32 version, uint128 units, uint128 revenue)
        internal
        pure
        returns (Report memory r)
    {
        r.agreementId = id;
        // forge-lint: disable-next-line(unsafe-typecast)
        r.period = uint32(period);
        r.version = version;
        r.units = units;
        r.revenue = revenue;
        r.detailRoot = keccak256(abi.encode(period, version));
    }
}
