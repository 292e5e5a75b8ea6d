// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumPerformance} from "../../src/interfaces/IPactumPerformance.sol";
import {IPullPayments} from "../../src/interfaces/IPullPayments.sol";
import {
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    PeriodStatus
} from "../../src/types/PerformanceTypes.sol";
import {BlacklistToken, RevertingReceiver} from "../mocks/Mocks.sol";
import {HookToken} from "../mocks/PerformanceMocks.sol";
import {PerformanceBase} from "./PerformanceBase.sol";

/// @notice Termination for cause, close, the end (Closing → Ended, then frozen), and payments to
/// recipients that refuse them.
contract PerformanceEndTest is PerformanceBase {
    function _expectStillDue(uint256 until) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_ReportsStillDue.selector, until)
        );
    }

    /// @dev Reports every period at its end (10 units, then 20, 30, 40): 1,000 USD in all.
    function _reportAll(PerformanceAgreement memory a, bytes32 id) internal {
        for (uint256 i; i < PERIODS; ++i) {
            _warpToEnd(a, i);
            // forge-lint: disable-next-line(unsafe-typecast)
            _submitUnits(a, id, i, 1, uint128(10 * (i + 1)), 0);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               TERMINATION
    //////////////////////////////////////////////////////////////*/

    function test_Terminate_ByBrand() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        vm.warp(T0 + 1 days);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementTerminated(id, brand, REASON);
        _terminate(a, brand);
        PerformanceState memory s = _state(id);
        assertEq(s.terminatedBy, 1);
        assertEq(s.terminatedAt, T0 + 1 days);
        assertEq(
            uint8(s.status), uint8(PerformanceStatus.Active), "termination stops reports, not the agreement"
        );
        assertEq(s.budget, BUDGET, "nothing moves at termination");
    }

    function test_Terminate_ByPartner() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementTerminated(id, partner, REASON);
        _terminate(a, partner);
        assertEq(_state(id).terminatedBy, 2);
    }

    function test_Terminate_RevertsWhen_NotAParty() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        address[3] memory others = [attester, arbiter, stranger];
        for (uint256 i; i < 3; ++i) {
            vm.prank(others[i]);
            _expectUnauthorized(others[i]);
            perf.terminate(a, REASON);
        }
        assertEq(_state(id).terminatedBy, 0);
    }

    function test_Terminate_RevertsWhen_Twice() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _terminate(a, brand);
        vm.warp(block.timestamp + 1 days);
        vm.prank(partner);
        vm.expectRevert(IPactumPerformance.Performance_AlreadyTerminated.selector);
        perf.terminate(a, REASON);
        assertEq(_state(id).terminatedBy, 1);
        assertEq(_state(id).terminatedAt, T0, "the first termination's time stands");
    }

    function test_Terminate_RevertsWhen_ClosedOrUnknown() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        vm.prank(brand);
        _expectWrongStatus(id, PerformanceStatus.None);
        perf.terminate(a, REASON);

        _createFunded(a, BUDGET);
        _reportAll(a, id);
        _close(a);
        vm.prank(brand);
        _expectWrongStatus(id, PerformanceStatus.Closing);
        perf.terminate(a, REASON);
    }

    function test_Terminate_ReportedPayStaysThePartners() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        _terminate(a, brand);
        _close(a); // period 1 started at the termination instant: not reportable, close at once
        vm.warp(_period(id, 0).lockedUntil);
        _release(a, 0);
        assertEq(usd.balanceOf(partner), 1600e6);
        assertEq(usd.balanceOf(brand), 1_000_000_000e6 - 1600e6);
        _assertStatus(id, PerformanceStatus.Ended);
    }

    /*//////////////////////////////////////////////////////////////
                                  CLOSE
    //////////////////////////////////////////////////////////////*/

    function test_Close_RevertsWhen_ReportsStillDue() public {
        PerformanceAgreement memory a = _agreement();
        _createFunded(a, BUDGET);
        uint256 until = _endOf(a, PERIODS - 1) + REPORT_WINDOW;
        _expectStillDue(until);
        perf.close(a);
        vm.warp(until - 1);
        _expectStillDue(until);
        perf.close(a);
    }

    function test_Close_AfterLastWindow_ReturnsUnreservedBudget_Ended() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 20, 0); // 200
        vm.warp(_period(id, 0).lockedUntil);
        _release(a, 0);
        // Periods 1..3 never reported; the last window passes.
        vm.warp(_endOf(a, PERIODS - 1) + REPORT_WINDOW);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementClosed(id, BUDGET - 200e6);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementEnded(id);
        _close(a);
        assertEq(usd.balanceOf(brand) - brandBefore, BUDGET - 200e6, "exactly the unreserved budget");
        assertEq(_state(id).budget, 0);
        assertEq(usd.balanceOf(address(perf)), 0);
        _assertStatus(id, PerformanceStatus.Ended);
        _assertFrozen(a, id);
    }

    function test_Close_EverythingReported_EarlyAllowed_ClosingToEndedOnLastRelease() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _reportAll(a, id); // reserved 100 + 200 + 300 + 400 = 1,000
        assertLt(block.timestamp, _endOf(a, PERIODS - 1) + REPORT_WINDOW, "before the last window closed");
        uint256 brandBefore = usd.balanceOf(brand);

        vm.recordLogs();
        _close(a);
        // Closed (and the token transfer), not ended: four periods are locked.
        assertEq(vm.getRecordedLogs().length, 2);
        assertEq(usd.balanceOf(brand) - brandBefore, BUDGET - 1000e6);
        _assertStatus(id, PerformanceStatus.Closing);
        assertEq(perf.reserved(id), 1000e6);
        assertEq(usd.balanceOf(address(perf)), 1000e6);
        // Closing: close again, fund, terminate are refused.
        _expectWrongStatus(id, PerformanceStatus.Closing);
        perf.close(a);
        vm.prank(brand);
        _expectWrongStatus(id, PerformanceStatus.Closing);
        perf.fund(a, 1);

        // Periods still run to their end: three releases leave it Closing, the last ends it.
        vm.warp(_period(id, PERIODS - 1).lockedUntil);
        for (uint256 i; i < PERIODS - 1; ++i) {
            _release(a, i);
            _assertStatus(id, PerformanceStatus.Closing);
        }
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodPaid(id, PERIODS - 1, 400e6);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementEnded(id);
        _release(a, PERIODS - 1);
        _assertStatus(id, PerformanceStatus.Ended);
        assertEq(usd.balanceOf(partner), 1000e6);
        assertEq(usd.balanceOf(address(perf)), 0);
        _assertFrozen(a, id);
    }

    function test_Close_ClosingToEnded_OnResolve_RemainderToBrand() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0); // 1,600
        _terminate(a, partner);
        _dispute(a, 0);
        _close(a);
        _assertStatus(id, PerformanceStatus.Closing);
        uint256 brandBefore = usd.balanceOf(brand);

        uint256 fee = uint256(1600e6) * FEE_BPS / 10_000;
        uint256 toPartner = (1600e6 - fee) / 2;
        uint256 back = 1600e6 - fee - toPartner;
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodResolved(id, 0, 5000, toPartner, back, fee);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.BudgetReturned(id, back);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementEnded(id);
        vm.prank(arbiter);
        perf.resolve(a, 0, 5000);
        assertEq(usd.balanceOf(brand) - brandBefore, back, "remainder to the brand, not to a budget");
        assertEq(usd.balanceOf(partner), toPartner);
        assertEq(usd.balanceOf(arbiter), fee);
        assertEq(_state(id).budget, 0);
        assertEq(usd.balanceOf(address(perf)), 0);
        _assertFrozen(a, id);
    }

    function test_Close_ClosingToEnded_OnTimeout() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        _dispute(a, 0);
        uint256 closesAt = block.timestamp + ARBITRATION;
        vm.warp(_endOf(a, PERIODS - 1) + REPORT_WINDOW); // also past the arbitration window
        assertGe(block.timestamp, closesAt);
        _close(a);
        _assertStatus(id, PerformanceStatus.Closing);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodTimedOut(id, 0, 800e6, 800e6);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.BudgetReturned(id, 800e6);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementEnded(id);
        perf.resolveAfterTimeout(a, 0);
        assertEq(usd.balanceOf(brand) - brandBefore, 800e6);
        assertEq(usd.balanceOf(partner), 800e6);
        assertEq(usd.balanceOf(address(perf)), 0);
        _assertFrozen(a, id);
    }

    function test_Close_ResolveToPartnerInFull_NoBudgetReturned() public {
        PerformanceAgreement memory a = _agreement();
        a.arbiterFeeBps = 0;
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        _terminate(a, brand);
        _dispute(a, 0);
        _close(a);
        vm.recordLogs();
        vm.prank(arbiter);
        perf.resolve(a, 0, 10_000);
        // PeriodResolved, Ended, the Transfer: nothing returned, so no BudgetReturned.
        assertEq(vm.getRecordedLogs().length, 3);
        assertEq(usd.balanceOf(partner), 1600e6);
        _assertStatus(id, PerformanceStatus.Ended);
    }

    function test_Close_RevertsWhen_UnknownOrRevoked() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        _expectWrongStatus(id, PerformanceStatus.None);
        perf.close(a);
        vm.prank(brand);
        perf.revoke(a);
        _expectWrongStatus(id, PerformanceStatus.Revoked);
        perf.close(a);
    }

    function test_Close_AfterTermination_WaitsForTheUnderwayPeriod() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        vm.warp(_endOf(a, 0) + 1 days); // period 1 under way
        _terminate(a, brand);
        uint256 until = _endOf(a, 1) + REPORT_WINDOW;
        _expectStillDue(until);
        perf.close(a);
        vm.warp(until);
        _close(a);
        _assertStatus(id, PerformanceStatus.Ended);
        assertEq(usd.balanceOf(address(perf)), 0);
    }

    /*//////////////////////////////////////////////////////////////
                          REFUSED PAYMENTS
    //////////////////////////////////////////////////////////////*/

    function test_Release_RevertingPartnerContract_DeferredThenWithdrawn() public {
        HookToken hook = new HookToken();
        hook.mint(brand, BUDGET);
        vm.prank(brand);
        hook.approve(address(perf), type(uint256).max);
        PerformanceAgreement memory a = _agreement();
        a.token = address(hook);
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        // The partner's account becomes a contract that refuses the token's transfer hook.
        vm.etch(partner, type(RevertingReceiver).runtimeCode);
        vm.warp(_period(id, 0).lockedUntil);

        vm.expectEmit(address(perf));
        emit IPactumPerformance.PeriodPaid(id, 0, 1600e6);
        vm.expectEmit(address(perf));
        emit IPullPayments.PaymentDeferred(id, address(hook), partner, 1600e6);
        _release(a, 0);
        assertEq(uint8(_period(id, 0).status), uint8(PeriodStatus.Paid), "the release is not blocked");
        assertEq(perf.claimable(address(hook), partner), 1600e6);
        assertEq(hook.balanceOf(partner), 0);

        vm.expectEmit(address(perf));
        emit IPullPayments.Withdrawn(address(hook), partner, payee, 1600e6);
        vm.prank(partner);
        perf.withdraw(address(hook), payee);
        assertEq(hook.balanceOf(payee), 1600e6);
        assertEq(perf.claimable(address(hook), partner), 0);
        vm.prank(partner);
        vm.expectRevert(
            abi.encodeWithSelector(IPullPayments.Escrow_NothingToWithdraw.selector, address(hook), partner)
        );
        perf.withdraw(address(hook), payee);
    }

    function test_Payments_BlacklistedParties_DeferredThenWithdrawn() public {
        BlacklistToken bl = new BlacklistToken();
        bl.mint(brand, BUDGET);
        vm.prank(brand);
        bl.approve(address(perf), type(uint256).max);
        PerformanceAgreement memory a = _agreement();
        a.token = address(bl);
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 150, 0);
        _terminate(a, partner);
        _dispute(a, 0);
        bl.setBlocked(partner, true);
        bl.setBlocked(arbiter, true);
        bl.setBlocked(brand, true);

        // Close: the brand's return is deferred.
        vm.expectEmit(address(perf));
        emit IPullPayments.PaymentDeferred(id, address(bl), brand, BUDGET - 1600e6);
        _close(a);
        uint256 fee = 80e6;
        uint256 toPartner = 1520e6 * 6000 / 10_000;
        uint256 back = 1520e6 - toPartner;
        vm.expectEmit(address(perf));
        emit IPullPayments.PaymentDeferred(id, address(bl), partner, toPartner);
        vm.expectEmit(address(perf));
        emit IPullPayments.PaymentDeferred(id, address(bl), arbiter, fee);
        vm.expectEmit(address(perf));
        emit IPullPayments.PaymentDeferred(id, address(bl), brand, back);
        vm.prank(arbiter);
        perf.resolve(a, 0, 6000);
        _assertStatus(id, PerformanceStatus.Ended);
        assertEq(perf.claimable(address(bl), partner), toPartner);
        assertEq(perf.claimable(address(bl), arbiter), fee);
        assertEq(perf.claimable(address(bl), brand), BUDGET - 1600e6 + back);
        assertEq(bl.balanceOf(address(perf)), BUDGET, "everything still held, as credits");

        // Each withdraws to an account the token accepts.
        address[3] memory who = [partner, arbiter, brand];
        for (uint256 i; i < 3; ++i) {
            vm.prank(who[i]);
            perf.withdraw(address(bl), makeAddr(string.concat("to", vm.toString(i))));
        }
        assertEq(bl.balanceOf(makeAddr("to0")), toPartner);
        assertEq(bl.balanceOf(makeAddr("to1")), fee);
        assertEq(bl.balanceOf(makeAddr("to2")), BUDGET - 1600e6 + back);
        assertEq(bl.balanceOf(address(perf)), 0);
    }

    function test_Withdraw_RevertsWhen_BadRecipient() public {
        vm.expectRevert(IPullPayments.Escrow_ZeroRecipient.selector);
        perf.withdraw(address(usd), address(0));
        vm.expectRevert(IPullPayments.Escrow_RecipientIsEscrow.selector);
        perf.withdraw(address(usd), address(perf));
    }
}
