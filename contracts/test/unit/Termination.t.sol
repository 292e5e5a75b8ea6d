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
    /// The agreement still holds 2 * AMOUNT, of which only milestone 2's AMOUNT is unearned escrow
    /// (never submitted): the stake a termination decides on. Milestone 1 keeps its own exits.
    function _mixed() internal returns (Agreement memory a, bytes32 id) {
        a = _usd(4);
        id = _createFundedN(a, 3);
        _approve(a, 0);
        _submit(a, 1);
    }

    /// @dev Both parties' signatures of a mutual termination at the agreement's current state nonce.
    function _mutualSigs(bytes32 id, uint256 creatorAmount, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        return _signBoth(escrow.hashMutualTermination(id, creatorAmount, _nonce(id), deadline));
    }

    /// @dev Milestone 1 of `_mixed` finishes by the creator's claim after silence.
    function _claimMilestone1(Agreement memory a) internal {
        vm.warp(block.timestamp + REVIEW + 1);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 1);
    }

    /*//////////////////////////////////////////////////////////////
                               TERMINATE
    //////////////////////////////////////////////////////////////*/

    function test_Terminate_ByBrand() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint32 nonce = _nonce(id);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.TerminationStarted(id, brand, REASON, block.timestamp + CONTEST);
        _terminate(a, brand);
        AgreementState memory s = escrow.getState(id);
        assertEq(uint8(s.status), uint8(Status.Terminating));
        assertEq(s.terminatedBy, 1);
        assertFalse(s.contested);
        assertEq(s.since, block.timestamp);
        assertEq(s.fundedCount, 3);
        assertEq(s.nonce, nonce + 1, "terminating moves the nonce");
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
        uint32 nonce = _nonce(id);
        _contest(a, creator);
        AgreementState memory s = escrow.getState(id);
        assertEq(s.nonce, nonce + 1, "contesting moves the nonce");
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
        uint32 nonce = _nonce(id);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Uncontested, 0, AMOUNT, 0);
        vm.prank(stranger); // anyone may finalize
        escrow.finalizeTermination(a);
        // Only the unearned escrow (milestone 2, never submitted) goes back; the approved one stays
        // paid and the submitted one stays in the escrow, under review.
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
        assertEq(usd.balanceOf(creator), AMOUNT);
        assertEq(usd.balanceOf(arbiter), 0);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        assertEq(_nonce(id), nonce + 1, "ending moves the nonce");
        _assertStatus(id, Status.Closing);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
        _assertMilestone(id, 1, MilestoneStatus.Submitted);
        _assertMilestone(id, 2, MilestoneStatus.Cancelled);
        _assertMilestone(id, 3, MilestoneStatus.Cancelled);

        // The submitted milestone runs to its own end; its finish ends the agreement.
        vm.warp(block.timestamp + REVIEW);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneClaimed(id, 1, AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 1);
        assertEq(usd.balanceOf(creator), 2 * AMOUNT);
        assertEq(usd.balanceOf(address(escrow)), 0);
        _assertStatus(id, Status.Terminated);
    }

    function test_FinalizeTermination_ByCreatorInitiated_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _terminate(a, creator);
        uint256 brandBefore = brand.balance;
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        // Milestone 1 was never submitted: back to the brand. Milestone 0 was delivered: it stays.
        assertEq(brand.balance, brandBefore + AMOUNT);
        assertEq(address(escrow).balance, AMOUNT);
        _assertStatus(id, Status.Closing);
        // The brand approves the delivered milestone: the agreement ends.
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        _approve(a, 0);
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
        // Unfunded milestones are cancelled as well.
        _assertMilestone(id, 0, MilestoneStatus.Cancelled);
        _assertMilestone(id, 1, MilestoneStatus.Cancelled);
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
        // Unearned 1,000e6 (milestone 2): fee 2.5% = 25e6; rest 975e6; creator 30% = 292.5e6;
        // brand 682.5e6. The submitted milestone 1 is not the arbiter's to split here.
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterRuling, 2925e5, 6825e5, 25e6);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 3000);
        assertEq(usd.balanceOf(creator), AMOUNT + 2925e5);
        assertEq(usd.balanceOf(brand), brandBefore + 6825e5);
        assertEq(usd.balanceOf(arbiter), 25e6);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        _assertStatus(id, Status.Closing);
        _assertMilestone(id, 1, MilestoneStatus.Submitted);
    }

    function test_ResolveTermination_AtArbitrationWindowEnd() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + 1 hours);
        _contest(a, creator);
        vm.warp(block.timestamp + ARBITRATION);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 5000);
        _assertStatus(id, Status.Closing);
    }

    /// @dev Past its window (counted from the contest) the arbiter can no longer rule; the timeout
    /// exit is open instead.
    function test_RevertWhen_ResolveTermination_AfterArbitrationWindow() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + 1 hours);
        _contest(a, creator);
        uint256 closedAt = block.timestamp + ARBITRATION;
        vm.warp(closedAt + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowClosed.selector, closedAt)
        );
        vm.prank(arbiter);
        escrow.resolveTermination(a, 5000);
        vm.prank(creator);
        escrow.resolveTerminationAfterTimeout(a);
        _assertStatus(id, Status.Closing);
    }

    /// @dev A disputed milestone is outside the termination's stake: the arbiter rules on it in its own
    /// dispute, and the agreement ends when that ruling finishes it.
    function test_ResolveTermination_ExcludesDisputedMilestone() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _dispute(a, 1, brand);
        _terminate(a, creator);
        _contest(a, brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterRuling, 975e6, 0, 25e6);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 10_000);
        assertEq(usd.balanceOf(creator), AMOUNT + 975e6);
        _assertMilestone(id, 1, MilestoneStatus.Disputed);
        _assertStatus(id, Status.Closing);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeResolved(id, 1, 0, 975e6, 25e6, 0);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 1, 0);
        _assertStatus(id, Status.Terminated);
        assertEq(usd.balanceOf(address(escrow)), 0);
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
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.ArbiterTimeout, AMOUNT / 2, AMOUNT / 2, 0);
        vm.prank(brand);
        escrow.resolveTerminationAfterTimeout(a);
        assertEq(usd.balanceOf(creator), AMOUNT + AMOUNT / 2);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT / 2);
        assertEq(usd.balanceOf(arbiter), 0);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT, "the submitted milestone stays");
        _assertStatus(id, Status.Closing);
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
        _assertStatus(id, Status.Terminated);
        _assertMilestone(id, 0, MilestoneStatus.Cancelled);
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
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 700e6, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Mutual, 700e6, 300e6, 0);
        vm.prank(stranger);
        escrow.terminateMutually(a, 700e6, nonce, deadline, bs, cs);
        // The signed split covers the unearned escrow (milestone 2); milestone 1 stays under review.
        assertEq(usd.balanceOf(creator), AMOUNT + 700e6);
        assertEq(usd.balanceOf(brand), brandBefore + 300e6);
        assertEq(usd.balanceOf(arbiter), 0);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        _assertStatus(id, Status.Closing);
        _assertMilestone(id, 1, MilestoneStatus.Submitted);
        _assertMilestone(id, 2, MilestoneStatus.Cancelled);
    }

    function test_TerminateMutually_FromTerminating() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, AMOUNT, deadline);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Mutual, AMOUNT, 0, 0);
        escrow.terminateMutually(a, AMOUNT, nonce, deadline, bs, cs);
        assertEq(usd.balanceOf(creator), 2 * AMOUNT);
        _assertStatus(id, Status.Closing);
    }

    function test_TerminateMutually_FromContested() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, creator);
        _contest(a, brand);
        uint40 deadline = uint40(block.timestamp);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 0, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        escrow.terminateMutually(a, 0, nonce, deadline, bs, cs);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
        _assertStatus(id, Status.Closing);
    }

    function test_TerminateMutually_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        uint40 deadline = uint40(block.timestamp + 1);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 1, deadline);
        uint256 brandBefore = brand.balance;
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
        assertEq(creator.balance, 1);
        assertEq(brand.balance, brandBefore + 2 * AMOUNT - 1);
        assertEq(address(escrow).balance, 0);
        _assertStatus(id, Status.Terminated);
    }

    function test_RevertWhen_TerminateMutually_SplitTooLarge() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        // The unearned escrow is AMOUNT: the submitted milestone cannot be given away in the split.
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, AMOUNT + 1, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, AMOUNT + 1, AMOUNT)
        );
        escrow.terminateMutually(a, AMOUNT + 1, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_Expired() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 1, deadline);
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_SignatureExpired.selector, deadline, uint256(deadline) + 1
            )
        );
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_BrandSignedByWrongKey() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        bytes32 digest = escrow.hashMutualTermination(id, 1, nonce, deadline);
        bytes memory bs = _sign(creatorKey, digest);
        bytes memory cs = _sign(creatorKey, digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_CreatorSignedByWrongKey() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        bytes32 digest = escrow.hashMutualTermination(id, 1, nonce, deadline);
        bytes memory bs = _sign(brandKey, digest);
        bytes memory cs = _sign(arbiterKey, digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, creator));
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_SettlementSignatureReused() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        // A settlement signed for the same amount is a different typed message.
        (bytes memory bs, bytes memory cs) = _signBoth(escrow.hashSettlement(id, 0, 1, nonce, deadline));
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
    }

    function test_RevertGiven_TerminateMutually_Replay() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 1, deadline);
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
        // Milestone 1 is still under review: the agreement is closing, and ends no second time.
        _expectWrongStatus(id, Status.Closing);
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
        _claimMilestone1(a);
        _expectWrongStatus(id, Status.Terminated);
        escrow.terminateMutually(a, 1, nonce, deadline, bs, cs);
    }

    function test_RevertGiven_TerminateMutually_Completed() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _approve(a, 0);
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 0, deadline);
        _expectWrongStatus(id, Status.Completed);
        escrow.terminateMutually(a, 0, nonce, deadline, bs, cs);
    }

    /// @dev A mutual termination signed before any later state change is void: here the brand's
    /// approval of milestone 2 took it out of the unearned escrow the split priced.
    function test_RevertWhen_TerminateMutually_StaleNonce() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 0, deadline);
        _approve(a, 2);
        uint32 current = _nonce(id);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, current));
        escrow.terminateMutually(a, 0, nonce, deadline, bs, cs);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.terminateMutually(a, 0, current, deadline, bs, cs);
    }

    /// @dev Signed while active, submitted after a termination began: stale.
    function test_RevertWhen_TerminateMutually_SignedBeforeTermination() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 0, deadline);
        _terminate(a, creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce + 1));
        escrow.terminateMutually(a, 0, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_TerminateMutually_CancelledSignatures() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _mutualSigs(id, 500e6, deadline);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.SignaturesCancelled(id, creator, nonce + 1);
        vm.prank(creator);
        escrow.cancelSignatures(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce + 1));
        escrow.terminateMutually(a, 500e6, nonce, deadline, bs, cs);
        _assertStatus(id, Status.Active);
    }

    /// @dev Checks run in order: status, deadline, nonce, split, signatures.
    function test_RevertWhen_TerminateMutually_CheckOrder() public {
        (Agreement memory a, bytes32 id) = _mixed();
        uint32 nonce = _nonce(id);
        uint40 deadline = uint40(block.timestamp);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SignatureExpired.selector, deadline, block.timestamp)
        );
        escrow.terminateMutually(a, AMOUNT + 1, nonce + 1, deadline, "", "");
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce + 1, nonce));
        escrow.terminateMutually(a, AMOUNT + 1, nonce + 1, type(uint40).max, "", "");
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, AMOUNT + 1, AMOUNT)
        );
        escrow.terminateMutually(a, AMOUNT + 1, nonce, type(uint40).max, "", "");
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.terminateMutually(a, AMOUNT, nonce, type(uint40).max, "", "");
    }

    /*//////////////////////////////////////////////////////////////
                  CLOSING: DELIVERED WORK RUNS TO ITS END
    //////////////////////////////////////////////////////////////*/

    /// @dev `_mixed`, terminated by the brand and finalized: milestone 1 submitted, status Closing.
    function _closing() internal returns (Agreement memory a, bytes32 id) {
        (a, id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Closing);
    }

    /// @dev A termination ends nothing more than it decides on: no new termination, funding, contest,
    /// finalization or mutual termination once closing; a cancelled milestone has no exit left.
    function test_RevertGiven_Closing_TerminationAndFundingActions() public {
        (Agreement memory a, bytes32 id) = _closing();
        uint32 nonce = _nonce(id);
        _expectWrongStatus(id, Status.Closing);
        _terminate(a, creator);
        _expectWrongStatus(id, Status.Closing);
        _contest(a, creator);
        _expectWrongStatus(id, Status.Closing);
        escrow.finalizeTermination(a);
        _expectWrongStatus(id, Status.Closing);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 5000);
        _expectWrongStatus(id, Status.Closing);
        vm.prank(brand);
        escrow.resolveTerminationAfterTimeout(a);
        _expectWrongStatus(id, Status.Closing);
        escrow.terminateMutually(a, 0, nonce, type(uint40).max, "", "");
        _expectWrongStatus(id, Status.Closing);
        vm.prank(brand);
        escrow.fund(a, 3, 1);
    }

    function test_RevertGiven_Closing_CancelledMilestoneIsFinal() public {
        (Agreement memory a, bytes32 id) = _closing();
        _expectWrongMilestoneStatus(2, MilestoneStatus.Cancelled);
        _submit(a, 2);
        _expectWrongMilestoneStatus(2, MilestoneStatus.Cancelled);
        _approve(a, 2);
        vm.warp(uint256(a.milestones[2].deadline) + 1);
        _expectWrongMilestoneStatus(2, MilestoneStatus.Cancelled);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 2);
        uint32 nonce = _nonce(id);
        _expectWrongMilestoneStatus(2, MilestoneStatus.Cancelled);
        escrow.settle(a, 2, 0, nonce, type(uint40).max, "", "");
        // An unfunded milestone was cancelled too, and stays unfunded.
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 3, 3));
        _approve(a, 3);
        _assertMilestone(id, 3, MilestoneStatus.Cancelled);
    }

    /// @dev While closing, a delivered milestone keeps every exit: revision, resubmission, dispute,
    /// ruling, signed settlement; the last one to finish ends the agreement as Terminated.
    function test_Closing_DeliveredMilestoneKeepsItsExits() public {
        (Agreement memory a, bytes32 id) = _closing();
        // Still within the review window: the brand asks for a revision, twice (all its rounds).
        _requestRevision(a, 1);
        _submit(a, 1);
        _requestRevision(a, 1);
        _dispute(a, 1, creator);
        uint32 nonce = _nonce(id);
        vm.prank(brand);
        escrow.cancelSignatures(a);
        assertEq(_nonce(id), nonce + 1);
        uint40 deadline = uint40(block.timestamp + 1 days);
        (bytes memory bs, bytes memory cs) =
            _signBoth(escrow.hashSettlement(id, 1, 600e6, _nonce(id), deadline));
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneSettled(id, 1, 600e6, 400e6);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        escrow.settle(a, 1, 600e6, nonce + 1, deadline, bs, cs);
        _assertStatus(id, Status.Terminated);
        assertEq(usd.balanceOf(brand), brandBefore + 400e6);
        assertEq(usd.balanceOf(address(escrow)), 0);
        _assertFrozen(a, id, Status.Terminated);
    }

    function test_Closing_DisputeRuledEndsAgreement() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _dispute(a, 1, brand);
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Closing);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 1, 5000);
        _assertStatus(id, Status.Terminated);
    }

    function test_Closing_DisputeTimeoutEndsAgreement() public {
        (Agreement memory a, bytes32 id) = _closing();
        _dispute(a, 1, creator);
        vm.warp(block.timestamp + ARBITRATION + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(brand);
        escrow.resolveDisputeAfterTimeout(a, 1);
        _assertStatus(id, Status.Terminated);
    }

    function test_Closing_RevisionMissedIsReclaimed() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _requestRevision(a, 1);
        _terminate(a, creator);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Closing);
        vm.warp(uint256(a.milestones[1].deadline) + 1);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 1);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
        _assertStatus(id, Status.Terminated);
    }

    /*//////////////////////////////////////////////////////////////
                            TERMINATED IS FINAL
    //////////////////////////////////////////////////////////////*/

    function test_RevertGiven_Terminated_EverythingReverts() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _claimMilestone1(a);
        _assertStatus(id, Status.Terminated);
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
        _approve(a, 1);
        _assertStatus(id, Status.Terminated);
        _assertFrozen(a, id, Status.Terminated);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        escrow.create(a, bs, cs);
    }

    /// @dev A termination stops new work and funding only: the delivered milestone keeps its exits
    /// while the termination is pending (here the creator's claim after silence), and the brand may
    /// still ask for a revision of a submission within its window.
    function test_Terminating_DeliveredMilestonesKeepTheirExits() public {
        (Agreement memory a, bytes32 id) = _mixed();
        _terminate(a, brand);
        _expectWrongMilestoneStatus(2, MilestoneStatus.Open);
        _submit(a, 2);
        uint256 snap = vm.snapshotState();
        _requestRevision(a, 1);
        _assertMilestone(id, 1, MilestoneStatus.RevisionRequested);
        vm.revertToState(snap);
        vm.warp(block.timestamp + REVIEW + 1);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 1);
        _assertMilestone(id, 1, MilestoneStatus.Claimed);
        _assertStatus(id, Status.Terminating);
        assertEq(usd.balanceOf(creator), 2 * AMOUNT);
        // Milestone 2 is what the termination still decides on.
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementTerminated(id, TerminationKind.Uncontested, 0, AMOUNT, 0);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Terminated);
    }

    /// @dev If every milestone finishes while a termination is pending, the agreement ends as
    /// Terminated right away (there is nothing left to decide on).
    function test_Terminating_LastMilestoneFinishes_Terminated() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _terminate(a, brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        _approve(a, 0);
        _assertStatus(id, Status.Terminated);
        _expectWrongStatus(id, Status.Terminated);
        escrow.finalizeTermination(a);
    }
}
