// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumPerformance} from "../../src/interfaces/IPactumPerformance.sol";
import {
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    PeriodState,
    PeriodStatus
} from "../../src/types/PerformanceTypes.sol";
import {PerformanceBase} from "./PerformanceBase.sol";

/// @notice Disputes (brand only, while locked), the arbiter's ruling or the timeout, and release
/// (never before the lock ends).
contract PerformanceSettleTest is PerformanceBase {
    bytes32 internal id;
    /// @dev Period 0 reports 150 units: 1,600 USD locked.
    uint256 internal constant PAY = 1600e6;

    function setUp() public override {
        super.setUp();
        PerformanceAgreement memory a = _agreement();
        id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                DISPUTES
    //////////////////////////////////////////////////////////////*/

    function test_Dispute() public {
        PerformanceAgreement memory a = _agreement();
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodDisputed(id, 0, REASON);
        _dispute(a, 0);
        PeriodState memory p = _period(id, 0);
        assertEq(uint8(p.status), uint8(PeriodStatus.Disputed));
        assertEq(p.disputedAt, block.timestamp);
        assertEq(p.pay, PAY, "a dispute moves nothing");
        assertEq(perf.reserved(id), PAY);
    }

    function test_Dispute_RevertsWhen_NotBrand() public {
        PerformanceAgreement memory a = _agreement();
        address[4] memory others = [partner, attester, arbiter, stranger];
        for (uint256 i; i < 4; ++i) {
            vm.prank(others[i]);
            _expectUnauthorized(others[i]);
            perf.dispute(a, 0, REASON);
        }
        assertEq(uint8(_period(id, 0).status), uint8(PeriodStatus.Locked));
    }

    function test_Dispute_RevertsWhen_NoArbiter() public {
        PerformanceAgreement memory b = _agreement();
        b.arbiter = address(0);
        b.salt = 8;
        vm.warp(T0);
        bytes32 bid = _createFunded(b, BUDGET);
        _warpToEnd(b, 0);
        _submitUnits(b, bid, 0, 1, 10, 0);
        vm.prank(brand);
        vm.expectRevert(IPactumPerformance.Performance_NoArbiter.selector);
        perf.dispute(b, 0, REASON);
    }

    function test_Dispute_UntilLockEnds_RevertsAfter() public {
        PerformanceAgreement memory a = _agreement();
        uint40 lockedUntil = _period(id, 0).lockedUntil;
        vm.warp(lockedUntil);
        vm.prank(brand);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_LockEnded.selector, lockedUntil)
        );
        perf.dispute(a, 0, REASON);
        vm.warp(lockedUntil - 1);
        _dispute(a, 0);
    }

    function test_Dispute_RevertsWhen_UnreportedOrTwice() public {
        PerformanceAgreement memory a = _agreement();
        vm.prank(brand);
        _expectWrongPeriodStatus(1, PeriodStatus.Unreported);
        perf.dispute(a, 1, REASON);
        _dispute(a, 0);
        vm.prank(brand);
        _expectWrongPeriodStatus(0, PeriodStatus.Disputed);
        perf.dispute(a, 0, REASON);
    }

    /*//////////////////////////////////////////////////////////////
                                 RULINGS
    //////////////////////////////////////////////////////////////*/

    function test_Resolve_SplitsExactly() public {
        PerformanceAgreement memory a = _agreement();
        _dispute(a, 0);
        uint256 fee = PAY * FEE_BPS / 10_000; // 80
        uint256 toPartner = (PAY - fee) * 7000 / 10_000; // 1064
        uint256 back = PAY - fee - toPartner; // 456
        uint256 budgetBefore = _state(id).budget;

        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodResolved(id, 0, 7000, toPartner, back, fee);
        vm.prank(arbiter);
        perf.resolve(a, 0, 7000);

        assertEq(toPartner + back + fee, PAY, "fee + partner + returned == pay");
        assertEq(usd.balanceOf(partner), toPartner);
        assertEq(usd.balanceOf(arbiter), fee);
        assertEq(_state(id).budget, budgetBefore + back, "remainder back to the budget");
        assertEq(perf.reserved(id), 0);
        assertEq(_state(id).open, 0);
        assertEq(uint8(_period(id, 0).status), uint8(PeriodStatus.Resolved));
        assertEq(usd.balanceOf(address(perf)), BUDGET - toPartner - fee);
    }

    function test_Resolve_Extremes() public {
        PerformanceAgreement memory a = _agreement();
        _dispute(a, 0);
        uint256 snap = vm.snapshotState();
        vm.prank(arbiter);
        perf.resolve(a, 0, 10_000);
        assertEq(usd.balanceOf(partner), PAY - PAY * FEE_BPS / 10_000);
        vm.revertToState(snap);
        vm.prank(arbiter);
        perf.resolve(a, 0, 0);
        assertEq(usd.balanceOf(partner), 0);
        assertEq(_state(id).budget, BUDGET - PAY * FEE_BPS / 10_000);
    }

    function test_Resolve_RevertsWhen_BpsAbove10000() public {
        PerformanceAgreement memory a = _agreement();
        _dispute(a, 0);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_InvalidBps.selector, 10_001));
        perf.resolve(a, 0, 10_001);
    }

    function test_Resolve_RevertsWhen_NotArbiter() public {
        PerformanceAgreement memory a = _agreement();
        _dispute(a, 0);
        address[4] memory others = [brand, partner, attester, stranger];
        for (uint256 i; i < 4; ++i) {
            vm.prank(others[i]);
            _expectUnauthorized(others[i]);
            perf.resolve(a, 0, 5000);
        }
    }

    function test_Resolve_RevertsWhen_NotDisputed() public {
        PerformanceAgreement memory a = _agreement();
        vm.prank(arbiter);
        _expectWrongPeriodStatus(0, PeriodStatus.Locked);
        perf.resolve(a, 0, 5000);
    }

    function test_Resolve_WithinWindow_RevertsAfter() public {
        PerformanceAgreement memory a = _agreement();
        _dispute(a, 0);
        uint256 closesAt = block.timestamp + ARBITRATION;
        vm.warp(closesAt);
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_ArbitrationWindowClosed.selector, closesAt)
        );
        perf.resolve(a, 0, 5000);
        vm.warp(closesAt - 1);
        vm.prank(arbiter);
        perf.resolve(a, 0, 5000);
        // Ruled: a ruling or a timeout after it is refused.
        vm.prank(arbiter);
        _expectWrongPeriodStatus(0, PeriodStatus.Resolved);
        perf.resolve(a, 0, 5000);
        vm.warp(closesAt);
        _expectWrongPeriodStatus(0, PeriodStatus.Resolved);
        perf.resolveAfterTimeout(a, 0);
    }

    function test_Timeout_HalfSplit_OnlyAfterWindow() public {
        PerformanceAgreement memory a = _agreement();
        _submitUnits(a, id, 0, 2, 149, 0); // 1,588e6
        _dispute(a, 0);
        uint256 pay = _period(id, 0).pay;
        uint256 closesAt = block.timestamp + ARBITRATION;
        vm.warp(closesAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_ArbitrationWindowOpen.selector, closesAt)
        );
        perf.resolveAfterTimeout(a, 0);

        vm.warp(closesAt);
        uint256 budgetBefore = _state(id).budget;
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodTimedOut(id, 0, pay / 2, pay - pay / 2);
        vm.prank(stranger);
        perf.resolveAfterTimeout(a, 0);
        assertEq(usd.balanceOf(partner), pay / 2);
        assertEq(usd.balanceOf(arbiter), 0, "no fee on a timeout");
        assertEq(_state(id).budget, budgetBefore + pay - pay / 2);
        assertEq(uint8(_period(id, 0).status), uint8(PeriodStatus.TimedOut));
        assertEq(perf.reserved(id), 0);
        // Timed out: the arbiter can no longer rule.
        vm.prank(arbiter);
        _expectWrongPeriodStatus(0, PeriodStatus.TimedOut);
        perf.resolve(a, 0, 5000);
    }

    function test_Timeout_OddPay_OddUnitBack() public {
        PerformanceAgreement memory b = _agreement();
        b.salt = 9;
        b.tiers[0].rate = 3; // 3 base units per conversion
        vm.warp(T0);
        bytes32 bid = _createFunded(b, BUDGET);
        _warpToEnd(b, 0);
        _submitUnits(b, bid, 0, 1, 1, 0); // pay 3
        _dispute(b, 0);
        vm.warp(block.timestamp + ARBITRATION);
        perf.resolveAfterTimeout(b, 0);
        assertEq(usd.balanceOf(partner), 1);
        assertEq(_state(bid).budget, BUDGET - 1);
    }

    function test_Timeout_RevertsWhen_NotDisputed() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(block.timestamp + 365 days);
        _expectWrongPeriodStatus(0, PeriodStatus.Locked);
        perf.resolveAfterTimeout(a, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                 RELEASE
    //////////////////////////////////////////////////////////////*/

    function test_Release_LockedPayNeverLeavesEarly() public {
        PerformanceAgreement memory a = _agreement();
        uint40 lockedUntil = _period(id, 0).lockedUntil;
        // Right after the report, and one second before the lock ends: refused, by anyone.
        address[3] memory callers = [partner, brand, stranger];
        for (uint256 i; i < 3; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(
                abi.encodeWithSelector(IPactumPerformance.Performance_Locked.selector, lockedUntil)
            );
            perf.release(a, 0);
        }
        // A correction does not move the lock.
        _submitUnits(a, id, 0, 2, 100, 0);
        vm.warp(lockedUntil - 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_Locked.selector, lockedUntil));
        perf.release(a, 0);
        assertEq(usd.balanceOf(partner), 0);
        assertEq(usd.balanceOf(address(perf)), BUDGET);
    }

    function test_Release_ByAnyoneAfterLock() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(_period(id, 0).lockedUntil);
        uint256 budget = _state(id).budget;
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodPaid(id, 0, PAY);
        _release(a, 0);
        assertEq(usd.balanceOf(partner), PAY);
        assertEq(uint8(_period(id, 0).status), uint8(PeriodStatus.Paid));
        assertEq(perf.reserved(id), 0);
        assertEq(_state(id).open, 0);
        assertEq(_state(id).budget, budget, "release leaves the budget alone");
        assertEq(usd.balanceOf(address(perf)), BUDGET - PAY);
    }

    function test_Release_RevertsWhen_Twice() public {
        PerformanceAgreement memory a = _agreement();
        vm.warp(_period(id, 0).lockedUntil);
        _release(a, 0);
        _expectWrongPeriodStatus(0, PeriodStatus.Paid);
        perf.release(a, 0);
        assertEq(usd.balanceOf(partner), PAY, "paid once");
    }

    function test_Release_RevertsWhen_DisputedOrUnreported() public {
        PerformanceAgreement memory a = _agreement();
        _dispute(a, 0);
        vm.warp(block.timestamp + 365 days);
        _expectWrongPeriodStatus(0, PeriodStatus.Disputed);
        perf.release(a, 0);
        _expectWrongPeriodStatus(1, PeriodStatus.Unreported);
        perf.release(a, 1);
        assertEq(usd.balanceOf(partner), 0);
    }

    function test_Release_CorrectedPay() public {
        PerformanceAgreement memory a = _agreement();
        _submitUnits(a, id, 0, 2, 90, 0);
        vm.warp(_period(id, 0).lockedUntil);
        _release(a, 0);
        assertEq(usd.balanceOf(partner), 900e6, "the final report's pay");
        PerformanceState memory s = _state(id);
        assertEq(s.budget, BUDGET - 900e6);
        assertEq(usd.balanceOf(address(perf)), s.budget);
    }
}
