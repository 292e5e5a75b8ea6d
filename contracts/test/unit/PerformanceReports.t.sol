// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumPerformance} from "../../src/interfaces/IPactumPerformance.sol";
import {
    Metric,
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    PeriodState,
    PeriodStatus,
    Report,
    Tier
} from "../../src/types/PerformanceTypes.sol";
import {PerformanceBase} from "./PerformanceBase.sol";

/// @notice Reports (who signs, which period, when) and corrections (lower only, pay only falls).
contract PerformanceReportsTest is PerformanceBase {
    bytes32 internal id;

    function setUp() public override {
        super.setUp();
        id = _createFunded(_agreement(), BUDGET);
    }

    function _expectStale(uint32 version, uint32 current) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_StaleReport.selector, version, current)
        );
    }

    function _expectNotReportable(uint256 period) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_PeriodNotReportable.selector, period)
        );
    }

    /// @dev Submits a report signed by `key` and expects `err`.
    function _submitReverts(Report memory r, uint256 key, bytes memory err) internal {
        bytes memory sig = _signReport(key, r);
        PerformanceAgreement memory a = _agreement();
        vm.expectRevert(err);
        perf.submitReport(a, r, sig);
    }

    /*//////////////////////////////////////////////////////////////
                              FIRST REPORTS
    //////////////////////////////////////////////////////////////*/

    function test_Report_First() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        Report memory r = _report(id, 0, 1, 150, 7777e6);
        uint256 pay = _defaultPay(150);
        assertEq(pay, 1600e6);
        uint40 lockedUntil = uint40(block.timestamp + LOCK);

        vm.expectEmit(address(perf));
        emit IPactumPerformance.ReportAccepted(
            id, 0, 1, 150, 7777e6, r.detailRoot, pay, lockedUntil, BUDGET - pay
        );
        _submit(a, r);

        PerformanceState memory s = _state(id);
        assertEq(s.budget, BUDGET - pay, "budget");
        assertEq(s.reported, 1);
        assertEq(s.open, 1);
        assertEq(perf.reserved(id), pay, "reserved");
        PeriodState memory p = _period(id, 0);
        assertEq(uint8(p.status), uint8(PeriodStatus.Locked));
        assertEq(p.units, 150);
        assertEq(p.revenue, 7777e6);
        assertEq(p.pay, pay);
        assertEq(p.version, 1);
        assertEq(p.lockedUntil, lockedUntil);
        assertEq(p.disputedAt, 0);
        assertEq(usd.balanceOf(address(perf)), BUDGET, "a report moves no money");
    }

    function test_Report_RevertsWhen_WrongAgreement() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory other = _agreement();
        other.salt = 99;
        bytes32 otherId = _createFunded(other, BUDGET);
        _warpToEnd(a, 0);
        // The attester's report of the other agreement, replayed on this one.
        Report memory r = _report(otherId, 0, 1, 10, 0);
        _submitReverts(
            r,
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_WrongAgreement.selector, otherId)
        );
        assertEq(_state(id).reported, 0);
    }

    function test_Report_RevertsWhen_SignedByPartner() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitReverts(
            _report(id, 0, 1, 10, 0),
            partnerKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_InvalidSignature.selector, attester)
        );
    }

    function test_Report_RevertsWhen_SignedByBrandWithThirdPartyAttester() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitReverts(
            _report(id, 0, 1, 0, 0),
            brandKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_InvalidSignature.selector, attester)
        );
        assertEq(uint8(_period(id, 0).status), uint8(PeriodStatus.Unreported));
    }

    function test_Report_SignedByBrandWhenBrandAttests() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.attester = brand;
        b.salt = 7;
        bytes32 bid = _createFunded(b, BUDGET);
        _warpToEnd(b, 0);
        Report memory r = _report(bid, 0, 1, 3, 0);
        perf.submitReport(b, r, _signReport(brandKey, r));
        assertEq(_period(bid, 0).pay, 3 * RATE0);
    }

    function test_Report_RevertsWhen_SignatureForAnotherPeriod() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 1);
        Report memory r = _report(id, 0, 1, 10, 0);
        bytes memory sig = _signReport(attesterKey, r);
        r.period = 1;
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_InvalidSignature.selector, attester)
        );
        perf.submitReport(a, r, sig);
    }

    function test_Report_RevertsWhen_Replayed() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        Report memory r = _report(id, 0, 1, 10, 0);
        bytes memory sig = _signReport(attesterKey, r);
        perf.submitReport(a, r, sig);
        _expectStale(1, 1);
        perf.submitReport(a, r, sig);
        assertEq(_state(id).reported, 1);
        assertEq(perf.reserved(id), 10 * RATE0);
    }

    function test_Report_RevertsWhen_VersionZero() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitReverts(
            _report(id, 0, 0, 10, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_StaleReport.selector, 0, 0)
        );
    }

    function test_Report_RevertsWhen_PeriodNotOver() public {
        PerformanceAgreement memory a = _agreement();
        uint256 end = _endOf(a, 0);
        vm.warp(end - 1);
        _submitReverts(
            _report(id, 0, 1, 10, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_PeriodNotOver.selector, 0, end)
        );
        vm.warp(end);
        _submitUnits(a, id, 0, 1, 10, 0);
    }

    function test_Report_RevertsWhen_WindowClosed() public {
        PerformanceAgreement memory a = _agreement();
        uint256 closesAt = _endOf(a, 0) + REPORT_WINDOW;
        vm.warp(closesAt);
        _submitReverts(
            _report(id, 0, 1, 10, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_ReportWindowClosed.selector, 0, closesAt)
        );
        vm.warp(closesAt - 1);
        _submitUnits(a, id, 0, 1, 10, 0);
    }

    function test_Report_RevertsWhen_PeriodBeyondPeriods() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(_endOf(a, PERIODS));
        _submitReverts(
            _report(id, PERIODS, 1, 10, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_PeriodNotReportable.selector, PERIODS)
        );
    }

    function test_Report_RevertsWhen_UnknownAgreement() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.salt = 42;
        bytes32 bid = perf.hashAgreement(b);
        _warpToEnd(b, 0);
        Report memory r = _report(bid, 0, 1, 10, 0);
        bytes memory sig = _signReport(attesterKey, r);
        _expectWrongStatus(bid, PerformanceStatus.None);
        perf.submitReport(b, r, sig);
    }

    function test_Report_AfterTermination_LaterPeriodRefused_UnderwayAllowed() public {
        PerformanceAgreement memory a = _agreement();
        // Terminated a day into period 1: period 1 is under way, period 2 starts after.
        uint256 terminatedAt = _endOf(a, 0) + 1 days;
        vm.warp(terminatedAt);
        _terminate(a, brand);

        // The period under way can be reported at once (for what happened before the termination)...
        _submitUnits(a, id, 1, 1, 4, 0);
        assertEq(_period(id, 1).pay, 4 * RATE0);
        // ...and period 0, still in its window, too.
        _submitUnits(a, id, 0, 1, 2, 0);

        // Period 2 never, not even once it is over.
        _warpToEnd(a, 2);
        Report memory r = _report(id, 2, 1, 1, 0);
        bytes memory sig = _signReport(attesterKey, r);
        _expectNotReportable(2);
        perf.submitReport(a, r, sig);
        assertEq(_state(id).reported, 2);
    }

    function test_Report_UnderwayPeriodWindowRunsFromItsOwnEnd() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(_endOf(a, 0) + 1 days);
        _terminate(a, partner);
        uint256 closesAt = _endOf(a, 1) + REPORT_WINDOW;
        vm.warp(closesAt);
        _submitReverts(
            _report(id, 1, 1, 4, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_ReportWindowClosed.selector, 1, closesAt)
        );
        vm.warp(closesAt - 1);
        _submitUnits(a, id, 1, 1, 4, 0);
    }

    function test_Report_TerminationAtPeriodStart_PeriodNotReportable() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(_endOf(a, 0)); // exactly when period 1 starts
        _terminate(a, brand);
        _submitUnits(a, id, 0, 1, 1, 0);
        _warpToEnd(a, 1);
        _submitReverts(
            _report(id, 1, 1, 1, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_PeriodNotReportable.selector, 1)
        );
    }

    function test_Report_TerminatedBeforeStart_NothingReportable() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.start = uint40(block.timestamp + 1 days);
        b.salt = 5;
        bytes32 bid = _createFunded(b, BUDGET);
        _terminate(b, brand);
        _warpToEnd(b, 0);
        Report memory r = _report(bid, 0, 1, 1, 0);
        bytes memory sig = _signReport(attesterKey, r);
        _expectNotReportable(0);
        perf.submitReport(b, r, sig);
    }

    function test_Report_PayCappedByBudget_SecondPeriodGetsTheRest() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.salt = 3;
        bytes32 bid = _createFunded(b, 1000e6);
        _warpToEnd(b, 0);
        _submitUnits(b, bid, 0, 1, 70, 0); // 700e6
        assertEq(_period(bid, 0).pay, 700e6);
        _warpToEnd(b, 1);
        Report memory r = _report(bid, 1, 1, 70, 0); // 700e6 due, 300e6 left
        vm.expectEmit(address(perf));
        emit IPactumPerformance.ReportAccepted(
            bid, 1, 1, 70, 0, r.detailRoot, 300e6, uint40(block.timestamp + LOCK), 0
        );
        _submit(b, r);
        assertEq(_period(bid, 1).pay, 300e6, "capped at what is left");
        assertEq(_state(bid).budget, 0);
        assertEq(perf.reserved(bid), 1000e6);
        // A third period finds nothing: reported, locked, paying zero.
        _warpToEnd(b, 2);
        _submitUnits(b, bid, 2, 1, 70, 0);
        assertEq(_period(bid, 2).pay, 0);
        assertEq(uint8(_period(bid, 2).status), uint8(PeriodStatus.Locked));
        assertEq(perf.reserved(bid), 1000e6, "never more reserved than funded");
    }

    function test_Report_Revenue() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.metric = Metric.Revenue;
        b.salt = 4;
        b.tiers[0].rate = 1000; // 10%
        b.tiers[1].rate = 1500; // 15% from the 100th sale
        bytes32 bid = _createFunded(b, BUDGET);
        _warpToEnd(b, 0);
        // 200 sales, 20,000 USD: 100 at 10% and 100 at 15% of 100 USD each = 2,500 USD.
        _submitUnits(b, bid, 0, 1, 200, 20_000e6);
        assertEq(_period(bid, 0).pay, 2500e6);
        assertEq(perf.payFor(b, 200, 20_000e6), 2500e6);
        // Revenue without units earns nothing.
        _warpToEnd(b, 1);
        _submitUnits(b, bid, 1, 1, 0, 20_000e6);
        assertEq(_period(bid, 1).pay, 0);
    }

    function test_Report_RevertsWhen_Closing() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(_endOf(a, 0) + 1 hours);
        _terminate(a, brand); // period 1 under way: periods 0 and 1 reportable
        _submitUnits(a, id, 0, 1, 1, 0);
        _submitUnits(a, id, 1, 1, 1, 0);
        _close(a); // everything reportable reported
        _assertStatus(id, PerformanceStatus.Closing);
        _warpToEnd(a, 2);
        Report memory r = _report(id, 2, 1, 1, 0);
        bytes memory sig = _signReport(attesterKey, r);
        _expectWrongStatus(id, PerformanceStatus.Closing);
        perf.submitReport(a, r, sig);
    }

    /*//////////////////////////////////////////////////////////////
                               CORRECTIONS
    //////////////////////////////////////////////////////////////*/

    function test_Correction_Lowers_DifferenceBackToBudget() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 900);
        uint40 lockedUntil = _period(id, 0).lockedUntil;
        vm.warp(block.timestamp + 1 days);
        Report memory r = _report(id, 0, 2, 120, 800);
        uint256 pay = _defaultPay(120);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.ReportAccepted(
            id, 0, 2, 120, 800, r.detailRoot, pay, lockedUntil, BUDGET - pay
        );
        _submit(a, r);

        PeriodState memory p = _period(id, 0);
        assertEq(p.pay, pay);
        assertEq(p.units, 120);
        assertEq(p.revenue, 800);
        assertEq(p.version, 2);
        assertEq(p.lockedUntil, lockedUntil, "a correction does not extend the lock");
        assertEq(_state(id).budget, BUDGET - pay, "difference back to the budget");
        assertEq(perf.reserved(id), pay);
        assertEq(_state(id).reported, 1, "a correction is not a new report");
        assertEq(_state(id).open, 1);
    }

    function test_Correction_VersionsMaySkip_StaleRefused() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        _submitUnits(a, id, 0, 3, 140, 0);
        // The attester's v2 (signed earlier, higher than v3's units) can no longer land.
        _submitReverts(
            _report(id, 0, 2, 130, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_StaleReport.selector, 2, 3)
        );
        _submitReverts(
            _report(id, 0, 3, 130, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_StaleReport.selector, 3, 3)
        );
        assertEq(_period(id, 0).units, 140);
    }

    function test_Correction_RevertsWhen_Raises() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 900);
        _submitReverts(
            _report(id, 0, 2, 151, 900),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_CorrectionRaises.selector)
        );
        // Fewer units but more revenue: refused as well.
        _submitReverts(
            _report(id, 0, 2, 100, 901),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_CorrectionRaises.selector)
        );
        assertEq(_period(id, 0).pay, _defaultPay(150));
        // Equal values (a new detail root only) are a valid correction.
        _submitUnits(a, id, 0, 2, 150, 900);
        assertEq(_period(id, 0).pay, _defaultPay(150));
        assertEq(_period(id, 0).version, 2);
    }

    function test_Correction_UntilLockEnds_RevertsAfter() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        uint40 lockedUntil = _period(id, 0).lockedUntil;
        vm.warp(lockedUntil);
        _submitReverts(
            _report(id, 0, 2, 100, 0),
            attesterKey,
            abi.encodeWithSelector(IPactumPerformance.Performance_LockEnded.selector, lockedUntil)
        );
        vm.warp(lockedUntil - 1);
        _submitUnits(a, id, 0, 2, 100, 0);
        assertEq(_period(id, 0).pay, 1000e6);
    }

    function test_Correction_RevertsWhen_Disputed() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        _dispute(a, 0);
        _submitReverts(
            _report(id, 0, 2, 100, 0),
            attesterKey,
            abi.encodeWithSelector(
                IPactumPerformance.Performance_WrongPeriodStatus.selector, 0, uint8(PeriodStatus.Disputed)
            )
        );
    }

    function test_Correction_RevertsWhen_Paid() public {
        PerformanceAgreement memory a = _agreement();
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        vm.warp(_period(id, 0).lockedUntil);
        _release(a, 0);
        _submitReverts(
            _report(id, 0, 2, 100, 0),
            attesterKey,
            abi.encodeWithSelector(
                IPactumPerformance.Performance_WrongPeriodStatus.selector, 0, uint8(PeriodStatus.Paid)
            )
        );
    }

    function test_Correction_PayNeverRises_BudgetCap() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.salt = 11;
        bytes32 bid = _createFunded(b, 100e6);
        _warpToEnd(b, 0);
        _submitUnits(b, bid, 0, 1, 50, 0); // 500e6 due, capped at 100e6
        assertEq(_period(bid, 0).pay, 100e6);
        vm.prank(brand);
        perf.fund(b, 1000e6); // budget now there
        // 40 units would be 400e6 by the formula: the correction must not raise the pay.
        Report memory r = _report(bid, 0, 2, 40, 0);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.ReportAccepted(
            bid, 0, 2, 40, 0, r.detailRoot, 100e6, _period(bid, 0).lockedUntil, 1000e6
        );
        _submit(b, r);
        assertEq(_period(bid, 0).pay, 100e6, "pay unchanged");
        assertEq(_state(bid).budget, 1000e6, "budget unchanged");
        assertEq(perf.reserved(bid), 100e6);
    }

    function test_Correction_PayNeverRises_FallingTierRates() public {
        PerformanceAgreement memory a = _agreement();
        PerformanceAgreement memory b = _agreement();
        b.salt = 12;
        b.metric = Metric.Revenue;
        b.tiers[0] = Tier(0, 5000); // 50% for the first 10 sales
        b.tiers[1] = Tier(10, 1000); // 10% above
        bytes32 bid = _createFunded(b, BUDGET);
        _warpToEnd(b, 0);
        // 20 sales of 2,000: (10 * 50% + 10 * 10%) / 20 of 2,000 = 600.
        _submitUnits(b, bid, 0, 1, 20, 2000e6);
        assertEq(_period(bid, 0).pay, 600e6);
        // 10 reversed sales, same revenue: the formula gives 1,000, more than before.
        assertEq(perf.payFor(b, 10, 2000e6), 1000e6);
        _submitUnits(b, bid, 0, 2, 10, 2000e6);
        assertEq(_period(bid, 0).pay, 600e6, "pay only falls");
        assertEq(_state(bid).budget, BUDGET - 600e6);
        // A real lowering still lowers: 10 sales of 1,000 in total = 500.
        _submitUnits(b, bid, 0, 3, 10, 1000e6);
        assertEq(_period(bid, 0).pay, 500e6);
        assertEq(_state(bid).budget, BUDGET - 500e6);
    }

    function test_Correction_InClosing_DifferenceToBrand() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(uint256(a.start) + 1 days);
        _terminate(a, partner); // only period 0 reportable, and at once
        _submitUnits(a, id, 0, 1, 150, 0);
        uint256 brandBefore = usd.balanceOf(brand);
        _close(a);
        assertEq(usd.balanceOf(brand) - brandBefore, BUDGET - 1600e6, "close returned the unreserved budget");
        _assertStatus(id, PerformanceStatus.Closing);

        Report memory r = _report(id, 0, 2, 100, 0);
        uint40 lockedUntil = _period(id, 0).lockedUntil;
        vm.expectEmit(address(perf));
        emit IPactumPerformance.ReportAccepted(id, 0, 2, 100, 0, r.detailRoot, 1000e6, lockedUntil, 0);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.BudgetReturned(id, 600e6);
        _submit(a, r);
        assertEq(usd.balanceOf(brand) - brandBefore, BUDGET - 1000e6, "difference to the brand");
        assertEq(_state(id).budget, 0, "not to a budget nobody can use");
        assertEq(perf.reserved(id), 1000e6);
        assertEq(usd.balanceOf(address(perf)), 1000e6);

        // A correction that lowers nothing returns nothing (no BudgetReturned).
        vm.recordLogs();
        _submitUnits(a, id, 0, 3, 100, 0);
        assertEq(vm.getRecordedLogs().length, 1, "ReportAccepted only");
    }
}
