// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {
    Agreement,
    AgreementState,
    MilestoneStatus,
    Status,
    TerminationKind
} from "../../src/types/DataTypes.sol";
import {UnitBase} from "./UnitBase.sol";

contract TerminationTest is UnitBase {
    /// @dev Four milestones, three funded: 0 approved, 1 submitted, 2 open, 3 unfunded.
    /// The agreement still holds 2 * AMOUNT.
    function _mixed() internal returns (Agreement memory a, bytes32 id) {
        a = _usd(4);
        id = _createFundedN(a, 3);
        _approve(a, 0);
        _submit(a, 1);
    }

    function _mutualSigs(bytes32 id, uint256 creatorAmount, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        return _signBoth(escrow.hashMutualTermination(id, creatorAmount, deadline));
    }

    /*//////////////////////////////////////////////////////////////
                               TERMINATE
    //////////////////////////////////////////////////////////////*/

    function test_Terminate_ByBrand() public {
        (Agreement memory a, bytes32 id) = _mixed();
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.TerminationStarted(id, brand, REASON, block.timestamp + CONTEST);
        _terminate(a, brand);
        AgreementState memory s = escrow.getState(id);
        assertEq(uint8(s.status), uint8(Status.Terminating));
        assertEq(s.terminatedBy, 1);
        assertFalse(s.contested);
        assertEq(s.since, block.timestamp);
        assertEq(s.fundedCount, 3);
    }

    function test_Terminate_ByCreator() public {
        (Agreement memory a, bytes32 id) = _mixed();
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.TerminationStarted(id, creator, REASON, block.timestamp + CONTEST);
        _terminate(a, creator);
        assertEq(escrow.getState(id).terminatedBy, 2);
    }

    function test_RevertWhen_Terminate_ByStranger() public {
        (Agreement memory a,) = _mixed();
        _expectUnauthorized(stranger);
        _terminate(a, stranger);
    }

    function test_RevertWhen_Terminate_ByArbiter() public {
        (Agreement memory a,) = _mixed();
        _expectUnauthorized(arbiter);
        _terminate(a, arbiter);
    }

    function test_RevertGiven_Terminate_AlreadyTerminating() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        _expectWrongStatus(id, Status.Terminating);
        _terminate(a, creator);
    }

    /*//////////////////////////////////////////////////////////////
                                CONTEST
    //////////////////////////////////////////////////////////////*/

    function test_ContestTermination_ByCreator() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.TerminationContested(id, creator);
        _contest(a, creator);
        AgreementState memory s = escrow.getState(id);
        assertTrue(s.contested);
        assertEq(s.since, block.timestamp);
        assertEq(uint8(s.status), uint8(Status.Terminating));
    }

    function test_ContestTermination_ByBrand() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, creator);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.TerminationContested(id, brand);
        _contest(a, brand);
        assertTrue(escrow.getState(id).contested);
    }

    function test_RevertWhen_Contest_ByInitiator() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        _expectUnauthorized(brand);
        _contest(a, brand);
    }

    function test_RevertWhen_Contest_ByStranger() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        _expectUnauthorized(stranger);
        _contest(a, stranger);
    }

    function test_RevertWhen_Contest_ByArbiter() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, creator);
        _expectUnauthorized(arbiter);
        _contest(a, arbiter);
    }

    function test_RevertWhen_Contest_WindowClosed() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        uint256 closesAt = block.timestamp + CONTEST;
        vm.warp(closesAt + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ContestWindowClosed.selector, closesAt));
        _contest(a, creator);
    }

    function test_RevertWhen_Contest_NoArbiter() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        _createFunded(a);
        _terminate(a, brand);
        vm.expectRevert(IPactumEscrow.Escrow_NoArbiter.selector);
        _contest(a, creator);
    }

    function test_RevertGiven_Contest_AlreadyContested() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        _contest(a, creator);
        _expectWrongStatus(id, Status.Terminating);
        _contest(a, creator);
    }

    function test_RevertGiven_Contest_NotTerminating() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _expectWrongStatus(id, Status.Active);
        _contest(a, creator);
    }

    /*//////////////////////////////////////////////////////////////
                           FINALIZE UNCONTESTED
    //////////////////////////////////////////////////////////////*/

    function test_FinalizeTermination() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.warp(block.timestamp + CONTEST + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Uncontested, 0, 2 * AMOUNT, 0);
        vm.prank(stranger); // anyone may finalize
        escrow.finalizeTermination(a);
        // Funded, unfinished milestones 1 and 2 go back; the approved one stays paid.
        assertEq(usd.balanceOf(brand), brandBefore + 2 * AMOUNT);
        assertEq(usd.balanceOf(creator), AMOUNT);
        assertEq(usd.balanceOf(arbiter), 0);
        assertEq(usd.balanceOf(address(escrow)), 0);
        _assertStatus(id, Status.Terminated);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
    }

    function test_FinalizeTermination_ByCreatorInitiated_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _terminate(a, creator);
        uint256 brandBefore = brand.balance;
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        assertEq(brand.balance, brandBefore + 2 * AMOUNT);
        assertEq(address(escrow).balance, 0);
        _assertStatus(id, Status.Terminated);
    }

    function test_FinalizeTermination_NothingHeld() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Uncontested, 0, 0, 0);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Terminated);
    }

    function test_FinalizeTermination_WithoutArbiter() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        bytes32 id = _createFunded(a);
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Terminated);
    }

    function test_RevertWhen_FinalizeTermination_WindowOpen() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        uint256 closesAt = block.timestamp + CONTEST;
        vm.warp(closesAt);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ContestWindowOpen.selector, closesAt));
        escrow.finalizeTermination(a);
    }

    function test_RevertGiven_FinalizeTermination_Contested() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        _contest(a, creator);
        vm.warp(block.timestamp + CONTEST + ARBITRATION + 1);
        _expectWrongStatus(id, Status.Terminating);
        escrow.finalizeTermination(a);
    }

    function test_RevertGiven_FinalizeTermination_Active() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _expectWrongStatus(id, Status.Active);
        escrow.finalizeTermination(a);
    }

    /*//////////////////////////////////////////////////////////////
                          RESOLVE TERMINATION
    //////////////////////////////////////////////////////////////*/

    function test_ResolveTermination() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        _contest(a, creator);
        uint256 brandBefore = usd.balanceOf(brand);
        // Held 2,000e6: fee 2.5% = 50e6; rest 1,950e6; creator 30% = 585e6; brand 1,365e6.
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterRuling, 585e6, 1365e6, 50e6);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 3000);
        assertEq(usd.balanceOf(creator), AMOUNT + 585e6);
        assertEq(usd.balanceOf(brand), brandBefore + 1365e6);
        assertEq(usd.balanceOf(arbiter), 50e6);
        assertEq(usd.balanceOf(address(escrow)), 0);
        _assertStatus(id, Status.Terminated);
    }

    function test_ResolveTermination_IncludesDisputedMilestone() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _dispute(a, 1, brand);
        _terminate(a, creator);
        _contest(a, brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterRuling, 1950e6, 0, 50e6);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 10_000);
        assertEq(usd.balanceOf(creator), AMOUNT + 1950e6);
    }

    function test_RevertWhen_ResolveTermination_ByParty() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        _contest(a, creator);
        _expectUnauthorized(creator);
        vm.prank(creator);
        escrow.resolveTermination(a, 5000);
    }

    function test_RevertWhen_ResolveTermination_BpsTooHigh() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        _contest(a, creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidBps.selector, 10_001));
        vm.prank(arbiter);
        escrow.resolveTermination(a, 10_001);
    }

    function test_RevertGiven_ResolveTermination_Uncontested() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        _expectWrongStatus(id, Status.Terminating);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 5000);
    }

    /*//////////////////////////////////////////////////////////////
                         TERMINATION TIMEOUT
    //////////////////////////////////////////////////////////////*/

    function test_ResolveTerminationAfterTimeout() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + 1 days);
        _contest(a, creator);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.warp(block.timestamp + ARBITRATION + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterTimeout, AMOUNT, AMOUNT, 0);
        vm.prank(brand);
        escrow.resolveTerminationAfterTimeout(a);
        assertEq(usd.balanceOf(creator), 2 * AMOUNT);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
        assertEq(usd.balanceOf(arbiter), 0);
        _assertStatus(id, Status.Terminated);
    }

    function test_ResolveTerminationAfterTimeout_OddUnitToBrand() public {
        Agreement memory a = _usd(1);
        a.milestones[0].amount = 7;
        bytes32 id = _createFunded(a);
        _terminate(a, creator);
        _contest(a, brand);
        vm.warp(block.timestamp + ARBITRATION + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterTimeout, 3, 4, 0);
        vm.prank(creator);
        escrow.resolveTerminationAfterTimeout(a);
    }

    function test_RevertWhen_ResolveTerminationAfterTimeout_WindowOpen() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + 1 days);
        _contest(a, creator);
        uint256 until = block.timestamp + ARBITRATION; // runs from the contest, not the termination
        vm.warp(until);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowOpen.selector, until));
        vm.prank(creator);
        escrow.resolveTerminationAfterTimeout(a);
    }

    function test_RevertWhen_ResolveTerminationAfterTimeout_ByStranger() public {
        (Agreement memory a,) = _mixed();
        _terminate(a, brand);
        _contest(a, creator);
        vm.warp(block.timestamp + ARBITRATION + 1);
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        escrow.resolveTerminationAfterTimeout(a);
    }

    function test_RevertGiven_ResolveTerminationAfterTimeout_Uncontested() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + ARBITRATION + 1);
        _expectWrongStatus(id, Status.Terminating);
        vm.prank(creator);
        escrow.resolveTerminationAfterTimeout(a);
    }

    /*//////////////////////////////////////////////////////////////
                          MUTUAL TERMINATION
    //////////////////////////////////////////////////////////////*/

    function test_TerminateMutually_FromActive() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 700e6, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Mutual, 700e6, 1300e6, 0);
        vm.prank(stranger);
        escrow.terminateMutually(a, 700e6, deadline, bs, cs);
        assertEq(usd.balanceOf(creator), AMOUNT + 700e6);
        assertEq(usd.balanceOf(brand), brandBefore + 1300e6);
        assertEq(usd.balanceOf(arbiter), 0);
        assertEq(usd.balanceOf(address(escrow)), 0);
        _assertStatus(id, Status.Terminated);
    }

    function test_TerminateMutually_FromTerminating() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 2 * AMOUNT, deadline);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Mutual, 2 * AMOUNT, 0, 0);
        escrow.terminateMutually(a, 2 * AMOUNT, deadline, bs, cs);
        assertEq(usd.balanceOf(creator), 3 * AMOUNT);
        _assertStatus(id, Status.Terminated);
    }

    function test_TerminateMutually_FromContested() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, creator);
        _contest(a, brand);
        uint40 deadline = uint40(block.timestamp);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 0, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        escrow.terminateMutually(a, 0, deadline, bs, cs);
        assertEq(usd.balanceOf(brand), brandBefore + 2 * AMOUNT);
        _assertStatus(id, Status.Terminated);
    }

    function test_TerminateMutually_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        uint40 deadline = uint40(block.timestamp + 1);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 1, deadline);
        uint256 brandBefore = brand.balance;
        escrow.terminateMutually(a, 1, deadline, bs, cs);
        assertEq(creator.balance, 1);
        assertEq(brand.balance, brandBefore + 2 * AMOUNT - 1);
        assertEq(address(escrow).balance, 0);
    }

    function test_RevertWhen_TerminateMutually_SplitTooLarge() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 2 * AMOUNT + 1, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, 2 * AMOUNT + 1, 2 * AMOUNT)
        );
        escrow.terminateMutually(a, 2 * AMOUNT + 1, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_Expired() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 1, deadline);
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_SignatureExpired.selector, deadline, uint256(deadline) + 1
            )
        );
        escrow.terminateMutually(a, 1, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_BrandSignedByWrongKey() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        bytes32 digest = escrow.hashMutualTermination(id, 1, deadline);
        bytes memory bs = _sign(creatorKey, digest);
        bytes memory cs = _sign(creatorKey, digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.terminateMutually(a, 1, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_CreatorSignedByWrongKey() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        bytes32 digest = escrow.hashMutualTermination(id, 1, deadline);
        bytes memory bs = _sign(brandKey, digest);
        bytes memory cs = _sign(arbiterKey, digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, creator));
        escrow.terminateMutually(a, 1, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_SettlementSignatureReused() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        // A settlement signed for the same amount is a different typed message.
        (bytes memory bs, bytes memory cs) = _signBoth(escrow.hashSettlement(id, 0, 1, deadline));
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.terminateMutually(a, 1, deadline, bs, cs);
    }

    function test_RevertGiven_TerminateMutually_Replay() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 1, deadline);
        escrow.terminateMutually(a, 1, deadline, bs, cs);
        _expectWrongStatus(id, Status.Terminated);
        escrow.terminateMutually(a, 1, deadline, bs, cs);
    }

    function test_RevertGiven_TerminateMutually_Completed() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _approve(a, 0);
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 0, deadline);
        _expectWrongStatus(id, Status.Completed);
        escrow.terminateMutually(a, 0, deadline, bs, cs);
    }

    /*//////////////////////////////////////////////////////////////
                            TERMINATED IS FINAL
    //////////////////////////////////////////////////////////////*/

    function test_RevertGiven_Terminated_EverythingReverts() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _assertFrozen(a, id, Status.Terminated);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(creator);
        escrow.revoke(a);
    }

    function test_RevertGiven_TerminatedByRuling_EverythingReverts() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, creator);
        _contest(a, brand);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 5000);
        _assertFrozen(a, id, Status.Terminated);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        escrow.create(a, bs, cs);
    }

    function test_RevertGiven_Terminating_MilestoneActionsRevert() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + REVIEW + 1);
        _expectWrongStatus(id, Status.Terminating);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 1);
        _expectWrongStatus(id, Status.Terminating);
        _approve(a, 1);
        _expectWrongStatus(id, Status.Terminating);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 2);
        _expectWrongStatus(id, Status.Terminating);
        _requestRevision(a, 1);
    }
}
