// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {console} from "forge-std/console.sol";

import {PactumPerformance} from "../../src/PactumPerformance.sol";
import {
    PerformanceState,
    PerformanceStatus,
    PeriodState,
    PeriodStatus
} from "../../src/types/PerformanceTypes.sol";
import {MockStablecoin} from "../mocks/Mocks.sol";
import {PerformanceHandler} from "./handlers/PerformanceHandler.sol";

/// @notice Invariants of PactumPerformance over random action sequences on a pool of agreements (see
/// README.md, "Performance invariants"). One `invariant_` function checks every property, so the
/// handler runs one campaign; each check is an internal function whose failure names its property.
contract PerformanceInvariantTest is Test {
    /// @dev The least share (percent) of a run's contract actions that must apply. The handler
    /// prepares what an action needs (a warp to a window, a report to act on), so most apply.
    uint256 internal constant MIN_APPLIED_PERCENT = 70;
    /// @dev Runs of at least this many contract actions are held to MIN_APPLIED_PERCENT and must have
    /// applied at least MIN_LIFECYCLE reports + releases + closes (3 of the 14 actions are these: a
    /// run of 50 expects about ten). Shorter sequences (shrunk counterexamples) are not judged.
    uint256 internal constant LONG_RUN = 50;
    uint256 internal constant MIN_LIFECYCLE = 3;

    PactumPerformance internal perf;
    MockStablecoin internal usd;
    PerformanceHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        perf = new PactumPerformance();
        usd = new MockStablecoin();
        handler = new PerformanceHandler(perf, usd);

        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = PerformanceHandler.create.selector;
        selectors[1] = PerformanceHandler.fund.selector;
        selectors[2] = PerformanceHandler.report.selector;
        selectors[3] = PerformanceHandler.correct.selector;
        selectors[4] = PerformanceHandler.dispute.selector;
        selectors[5] = PerformanceHandler.resolve.selector;
        selectors[6] = PerformanceHandler.timeout.selector;
        selectors[7] = PerformanceHandler.release.selector;
        selectors[8] = PerformanceHandler.terminate.selector;
        selectors[9] = PerformanceHandler.close.selector;
        selectors[10] = PerformanceHandler.withdraw.selector;
        selectors[11] = PerformanceHandler.misuse.selector;
        selectors[12] = PerformanceHandler.warp.selector;
        selectors[13] = PerformanceHandler.toggle.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// forge-config: default.invariant.fail-on-revert = true
    /// @dev Agreements are compared with the model after every call when the call acted on them
    /// (the handler's `touchedMask`), and all of them every SWEEP calls: no call changes an agreement
    /// it does not name, and a full sweep after each of 100,000 calls would cost the `ci` profile
    /// several times its budget.
    uint256 internal constant SWEEP = 10;

    function invariant_PerformanceProperties() public view {
        if (!handler.touched()) return; // the last call changed nothing these read
        uint256[6] memory d = handler.deviations();
        _eq(d[0], 0, "a valid action reverted");
        _eq(d[1], 0, "budget, reserved or pay differs from the model");
        _eq(d[2], 0, "a payout differed from the rules");
        _eq(d[3], 0, "locked pay left before the lock ended");
        _eq(d[4], 0, "a correction raised the pay");
        _eq(d[5], 0, "a forbidden action succeeded");
        PerformanceHandler.Model[] memory pool = handler.models();
        _checkBalanceMatchesBooks(pool);
        uint256 mask = handler.calls() % SWEEP == 0 ? type(uint256).max : handler.touchedMask();
        for (uint256 i; i < pool.length; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            _checkNoAgreementPaysMoreThanFunded(pool[i]);
            _checkPeriodPayFollowsTheModel(i, pool[i]);
            _checkEndedNeverChanges(i, pool[i]);
        }
    }

    /// @notice 1. Per token, the contract's balance == sum over its agreements of (budget + reserved)
    /// + everything claimable. (The model's budget and reserved are compared with the contract's
    /// below and after every action: `modelErrors`.)
    function _checkBalanceMatchesBooks(PerformanceHandler.Model[] memory pool) internal view {
        uint256[2] memory held;
        for (uint256 i; i < pool.length; ++i) {
            held[pool[i].tokenIdx] += pool[i].budget + pool[i].reserved;
        }
        for (uint256 t; t < 2; ++t) {
            address token = handler.tokens(t);
            uint256 claimable = perf.claimable(token, handler.arbiter());
            for (uint256 k; k < 2; ++k) {
                claimable += perf.claimable(token, handler.brands(k))
                + perf.claimable(token, handler.partners(k));
            }
            _eq(
                MockStablecoin(token).balanceOf(address(perf)),
                held[t] + claimable,
                "balance != sum(budget + reserved) + claimable"
            );
        }
    }

    /// @notice 2. No agreement ever pays out (partner + arbiter + brand) more than was funded into
    /// it; what it still holds (by the contract's own views) is exactly funded minus paid out.
    function _checkNoAgreementPaysMoreThanFunded(PerformanceHandler.Model memory m) internal view {
        uint256 out = m.toPartner + m.toBrand + m.toArbiter;
        if (out > m.funded) assertLe(out, m.funded, "paid out more than funded");
        _eq(m.funded - out, perf.getState(m.id).budget + perf.reserved(m.id), "holds != funded - paid out");
        _eq(perf.getState(m.id).budget, m.budget, "budget != model");
        _eq(perf.reserved(m.id), m.reserved, "reserved != model");
    }

    /// @notice 3. Each reported period holds the pay the model computes (rate applied to the final
    /// report, capped by the budget at its first report, never raised by a correction); a paid
    /// period paid the partner exactly that.
    function _checkPeriodPayFollowsTheModel(uint256 i, PerformanceHandler.Model memory m) internal view {
        for (uint256 p; p < m.periods; ++p) {
            PeriodState memory ps = perf.getPeriod(m.id, p);
            if (ps.status == PeriodStatus.Unreported) continue;
            PerformanceHandler.PModel memory pm = handler.periodModel(i, p);
            _eq(ps.pay, pm.pay, "period pay != model");
            if (ps.status == PeriodStatus.Paid) _eq(pm.partnerPaid, pm.pay, "paid period: partner != pay");
        }
    }

    /// @notice 5. An ended agreement never changes (its state and periods are as when it ended) and
    /// paid out exactly what was funded; every action on it reverts (`misuseAccepted`, above).
    /// (4., nothing leaves a period before its lock ends except by a ruling or timeout, is the
    /// handler's `earlyPayouts`, checked above: every release is timed against the lock, and the
    /// misuse action tries releases while locked.)
    function _checkEndedNeverChanges(uint256 i, PerformanceHandler.Model memory m) internal view {
        if (!m.ended) return;
        bytes32 print = handler.fingerprint(i);
        if (print != m.endPrint) assertEq(print, m.endPrint, "ended agreement changed");
        _eq(uint8(perf.getState(m.id).status), uint8(PerformanceStatus.Ended), "left Ended");
        _eq(m.toPartner + m.toBrand + m.toArbiter, m.funded, "ended: out != funded");
    }

    /// @dev The run must have done something: most contract actions applied, and a long run applied
    /// reports, releases or closes. Logs the call summary.
    function afterInvariant() external {
        uint256 tried;
        uint256 done;
        string[14] memory names = [
            "create",
            "fund",
            "report",
            "correct",
            "dispute",
            "resolve",
            "timeout",
            "release",
            "terminate",
            "close",
            "withdraw",
            "misuse",
            "warp",
            "toggle"
        ];
        string memory path = vm.envOr("PACTUM_INVARIANT_LOG", string(""));
        for (uint256 i; i < 14; ++i) {
            console.log(names[i], handler.attempted(i), handler.applied(i), handler.assists(i));
            if (bytes(path).length != 0) {
                vm.writeLine(
                    path,
                    string.concat(
                        names[i],
                        " ",
                        vm.toString(handler.attempted(i)),
                        " ",
                        vm.toString(handler.applied(i)),
                        " ",
                        vm.toString(handler.assists(i))
                    )
                );
            }
            if (i < handler.N_CONTRACT_ACTIONS()) {
                tried += handler.attempted(i);
                done += handler.applied(i);
            }
        }
        uint256 lifecycle = handler.applied(2) + handler.applied(7) + handler.applied(9);
        console.log("agreements", handler.count(), "applied contract actions", done);
        console.log("corrections", handler.corrections(), "capped reports", handler.cappedReports());
        console.log("closing corrections", handler.closingCorrections(), "deferred", handler.deferrals());
        if (bytes(path).length != 0) {
            vm.writeLine(path, string.concat("ratio ", vm.toString(tried), " ", vm.toString(done), " 0"));
        }
        if (tried < LONG_RUN) return; // a shrunk sequence of a few calls: nothing to require
        if (done * 100 < tried * MIN_APPLIED_PERCENT) {
            assertGe(done * 100, tried * MIN_APPLIED_PERCENT, "too few handler calls applied");
        }
        if (lifecycle < MIN_LIFECYCLE) {
            assertGe(lifecycle, MIN_LIFECYCLE, "too few reports, releases and closes applied");
        }
    }

    /// @dev assertEq that costs nothing while the values agree.
    function _eq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) assertEq(a, b, message);
    }
}
