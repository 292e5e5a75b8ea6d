// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {UnitBase} from "./UnitBase.sol";

contract DeliveryTest is UnitBase {
    bytes32 internal constant CONTENT = keccak256("content");

    function _deadline(Agreement memory a, uint256 i) internal pure returns (uint256) {
        return a.milestones[i].deadline;
    }

    function _since(bytes32 id, uint256 i) internal view returns (uint256 since) {
        (, since,) = escrow.getMilestone(id, i);
    }

    /*//////////////////////////////////////////////////////////////
                                 SUBMIT
    //////////////////////////////////////////////////////////////*/

    function test_Submit() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        vm.warp(block.timestamp + 1 hours);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DeliverableSubmitted(id, 1, CONTENT, "ipfs://x");
        vm.prank(creator);
        escrow.submit(a, 1, CONTENT, "ipfs://x");
        (MilestoneStatus st, uint40 since,) = escrow.getMilestone(id, 1);
        assertEq(uint8(st), uint8(MilestoneStatus.Submitted));
        assertEq(since, block.timestamp);
        _assertMilestone(id, 0, MilestoneStatus.Open);
    }

    function test_Submit_AtDeadline() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        vm.warp(_deadline(a, 0));
        _submit(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Submitted);
    }

    function test_RevertWhen_Submit_DeadlinePassed() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        vm.warp(_deadline(a, 0) + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, _deadline(a, 0)));
        _submit(a, 0);
    }

    function test_RevertWhen_Submit_ByBrand() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _expectUnauthorized(brand);
        vm.prank(brand);
        escrow.submit(a, 0, CONTENT, "");
    }

    function test_RevertWhen_Submit_ByStranger() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        escrow.submit(a, 0, CONTENT, "");
    }

    function test_RevertWhen_Submit_NotFunded() public {
        Agreement memory a = _usd(3);
        _createFundedN(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        _submit(a, 1);
    }

    function test_RevertWhen_Submit_NothingFunded() public {
        Agreement memory a = _usd(1);
        _createOnly(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 0, 0));
        _submit(a, 0);
    }

    function test_RevertWhen_Submit_InvalidMilestone() public {
        Agreement memory a = _usd(2);
        _createFunded(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestone.selector, 2, 2));
        _submit(a, 2);
    }

    function test_RevertWhen_Submit_AlreadySubmitted() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Submitted);
        _submit(a, 0);
    }

    function test_RevertWhen_Submit_Disputed() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, brand);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Disputed);
        _submit(a, 0);
    }

    function test_RevertWhen_Submit_Approved() public {
        Agreement memory a = _usd(2);
        _createFunded(a);
        _approve(a, 0);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Approved);
        _submit(a, 0);
    }

    /// @dev A termination stops new work: a milestone never submitted cannot be submitted any more.
    function test_RevertGiven_Submit_Terminating() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _terminate(a, brand);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Open);
        _submit(a, 0);
    }

    /// @dev ...but not the revision of work delivered before it.
    function test_Resubmit_WhileTerminating() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _requestRevision(a, 0);
        _terminate(a, brand);
        _submit(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Submitted);
        _assertStatus(id, Status.Terminating);
    }

    function test_Submit_BumpsNonceAndKeepsRevisionCount() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        uint32 n0 = _nonce(id);
        _submit(a, 0);
        assertEq(_nonce(id), n0 + 1, "submit");
        _requestRevision(a, 0);
        assertEq(_nonce(id), n0 + 2, "revision");
        vm.warp(block.timestamp + 1 hours);
        _submit(a, 0);
        assertEq(_nonce(id), n0 + 3, "resubmit");
        (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.Submitted));
        assertEq(since, block.timestamp);
        assertEq(revisions, 1, "the resubmission keeps the rounds used");
    }

    /*//////////////////////////////////////////////////////////////
                                APPROVE
    //////////////////////////////////////////////////////////////*/

    function test_Approve_AfterSubmission() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneApproved(id, 0, AMOUNT);
        _approve(a, 0);
        assertEq(usd.balanceOf(creator), AMOUNT);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
        _assertStatus(id, Status.Active);
    }

    function test_Approve_WithoutSubmission() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneApproved(id, 1, AMOUNT);
        _approve(a, 1);
        assertEq(usd.balanceOf(creator), AMOUNT);
        _assertMilestone(id, 1, MilestoneStatus.Approved);
        _assertMilestone(id, 0, MilestoneStatus.Open);
    }

    function test_Approve_AfterRevisionRequest() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _requestRevision(a, 0);
        _approve(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
    }

    function test_Approve_Disputed() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, creator);
        _approve(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
        assertEq(usd.balanceOf(creator), AMOUNT);
        assertEq(usd.balanceOf(arbiter), 0, "no arbiter fee when the brand concedes");
    }

    function test_Approve_AfterDeadline() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        vm.warp(_deadline(a, 0) + 1);
        _approve(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
    }

    function test_Approve_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        uint256 before = creator.balance;
        _submit(a, 0);
        _approve(a, 0);
        assertEq(creator.balance, before + AMOUNT);
        assertEq(address(escrow).balance, AMOUNT);
        assertEq(escrow.claimable(address(0), creator), 0);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
    }

    function test_RevertWhen_Approve_ByCreator() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _expectUnauthorized(creator);
        vm.prank(creator);
        escrow.approve(a, 0);
    }

    function test_RevertWhen_Approve_ByArbiter() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _expectUnauthorized(arbiter);
        vm.prank(arbiter);
        escrow.approve(a, 0);
    }

    function test_RevertWhen_Approve_NotFunded() public {
        Agreement memory a = _usd(2);
        _createFundedN(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        _approve(a, 1);
    }

    function test_RevertWhen_Approve_InvalidMilestone() public {
        Agreement memory a = _usd(2);
        _createFunded(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestone.selector, 5, 2));
        _approve(a, 5);
    }

    function test_RevertWhen_Approve_Twice() public {
        Agreement memory a = _usd(2);
        _createFunded(a);
        _approve(a, 0);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Approved);
        _approve(a, 0);
    }

    function test_RevertWhen_Approve_Reclaimed() public {
        Agreement memory a = _usd(2);
        _createFunded(a);
        vm.warp(_deadline(a, 0) + 1);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Reclaimed);
        _approve(a, 0);
    }

    /*//////////////////////////////////////////////////////////////
                            REQUEST REVISION
    //////////////////////////////////////////////////////////////*/

    function test_RequestRevision() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(block.timestamp + 1 days);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.RevisionRequested(id, 0, REASON);
        _requestRevision(a, 0);
        (MilestoneStatus st, uint40 since,) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.RevisionRequested));
        assertEq(since, block.timestamp);
    }

    function test_RequestRevision_AtWindowEnd() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(block.timestamp + REVIEW);
        _requestRevision(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.RevisionRequested);
    }

    function test_RevertWhen_RequestRevision_WindowClosed() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        uint256 closedAt = block.timestamp + REVIEW;
        vm.warp(closedAt + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ReviewWindowClosed.selector, closedAt));
        _requestRevision(a, 0);
    }

    function test_RevertWhen_RequestRevision_NotSubmitted() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Open);
        _requestRevision(a, 0);
    }

    function test_RevertWhen_RequestRevision_Twice() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        _requestRevision(a, 0);
        _expectWrongMilestoneStatus(0, MilestoneStatus.RevisionRequested);
        _requestRevision(a, 0);
    }

    /// @dev The brand may ask for at most `revisionRounds` revisions per milestone; then it can only
    /// approve, dispute or let its silence pay the creator.
    function test_RevertWhen_RequestRevision_NoRevisionsLeft() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        for (uint256 r; r < ROUNDS; ++r) {
            _submit(a, 0);
            _requestRevision(a, 0);
            (,, uint8 used) = escrow.getMilestone(id, 0);
            assertEq(used, r + 1, "rounds used");
        }
        _submit(a, 0);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NoRevisionsLeft.selector, 0, ROUNDS));
        _requestRevision(a, 0);
        // The count is per milestone.
        _submit(a, 1);
        _requestRevision(a, 1);
        _assertMilestone(id, 1, MilestoneStatus.RevisionRequested);
        // Silence still pays the creator.
        (, uint40 since,) = escrow.getMilestone(id, 0);
        vm.warp(uint256(since) + REVIEW + 1);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Claimed);
    }

    function test_RevertWhen_RequestRevision_ZeroRoundsAllowed() public {
        Agreement memory a = _usd(1);
        a.revisionRounds = 0;
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NoRevisionsLeft.selector, 0, 0));
        _requestRevision(a, 0);
        _approve(a, 0);
        _assertStatus(id, Status.Completed);
    }

    function test_RevertWhen_RequestRevision_ByCreator() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        _expectUnauthorized(creator);
        vm.prank(creator);
        escrow.requestRevision(a, 0, REASON);
    }

    function test_RevertWhen_RequestRevision_NotFunded() public {
        Agreement memory a = _usd(2);
        _createFundedN(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        _requestRevision(a, 1);
    }

    /*//////////////////////////////////////////////////////////////
                              RESUBMISSION
    //////////////////////////////////////////////////////////////*/

    function test_Resubmit_AfterRevision() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _requestRevision(a, 0);
        vm.warp(block.timestamp + 1 hours);
        _submit(a, 0);
        assertEq(_since(id, 0), block.timestamp, "fresh review window starts");
        _assertMilestone(id, 0, MilestoneStatus.Submitted);
        // The new review window runs from the resubmission.
        vm.warp(block.timestamp + REVIEW);
        _requestRevision(a, 0);
    }

    function test_Resubmit_AfterDeadlineWithinFreshWindow() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        uint256 deadline = _deadline(a, 0);
        // Submitted one hour before the deadline, sent back at the end of the review window.
        vm.warp(deadline - 1 hours);
        _submit(a, 0);
        vm.warp(deadline - 1 hours + REVIEW);
        _requestRevision(a, 0);
        uint256 fresh = block.timestamp + REVIEW;
        assertGt(fresh, deadline);
        // Past the deadline, the creator still has a fresh review window to resubmit in.
        vm.warp(fresh);
        _submit(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Submitted);
    }

    function test_RevertWhen_Resubmit_AfterFreshWindow() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        uint256 deadline = _deadline(a, 0);
        vm.warp(deadline - 1 hours);
        _submit(a, 0);
        vm.warp(deadline);
        _requestRevision(a, 0);
        uint256 fresh = block.timestamp + REVIEW;
        vm.warp(fresh + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, fresh));
        _submit(a, 0);
    }

    function test_RevertWhen_Resubmit_AfterDeadlineLaterThanFreshWindow() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        uint256 deadline = _deadline(a, 0);
        // Early revision: the deadline is the later cutoff.
        _submit(a, 0);
        _requestRevision(a, 0);
        assertLt(block.timestamp + REVIEW, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, deadline));
        _submit(a, 0);
    }

    /*//////////////////////////////////////////////////////////////
                           CLAIM AFTER SILENCE
    //////////////////////////////////////////////////////////////*/

    function test_ClaimAfterSilence() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(block.timestamp + REVIEW + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneClaimed(id, 0, AMOUNT);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator), AMOUNT);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        _assertMilestone(id, 0, MilestoneStatus.Claimed);
    }

    function test_RevertWhen_ClaimAfterSilence_WindowOpen() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        uint256 until = block.timestamp + REVIEW;
        vm.warp(until);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ReviewWindowOpen.selector, until));
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
    }

    function test_RevertWhen_ClaimAfterSilence_NotSubmitted() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        vm.warp(block.timestamp + 30 days);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Open);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
    }

    function test_RevertWhen_ClaimAfterSilence_RevisionRequested() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        _requestRevision(a, 0);
        vm.warp(block.timestamp + 30 days);
        _expectWrongMilestoneStatus(0, MilestoneStatus.RevisionRequested);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
    }

    function test_RevertWhen_ClaimAfterSilence_ByBrand() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        vm.warp(block.timestamp + REVIEW + 1);
        _expectUnauthorized(brand);
        vm.prank(brand);
        escrow.claimAfterSilence(a, 0);
    }

    function test_RevertWhen_ClaimAfterSilence_InvalidMilestone() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestone.selector, 1, 1));
        vm.prank(creator);
        escrow.claimAfterSilence(a, 1);
    }

    /*//////////////////////////////////////////////////////////////
                          RECLAIM AFTER DEADLINE
    //////////////////////////////////////////////////////////////*/

    function test_ReclaimAfterDeadline() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.warp(_deadline(a, 0) + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneReclaimed(id, 0, AMOUNT);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        _assertMilestone(id, 0, MilestoneStatus.Reclaimed);
    }

    function test_RevertWhen_ReclaimAfterDeadline_NotPassed() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        vm.warp(_deadline(a, 0));
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlineNotPassed.selector, _deadline(a, 0))
        );
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
    }

    function test_ReclaimAfterDeadline_AfterRevisionUsesLaterCutoff() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        uint256 deadline = _deadline(a, 0);
        vm.warp(deadline - 1 hours);
        _submit(a, 0);
        vm.warp(deadline - 1);
        _requestRevision(a, 0);
        uint256 cutoff = block.timestamp + REVIEW;
        assertGt(cutoff, deadline);
        // Past the deadline but inside the fresh window: too early.
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlineNotPassed.selector, cutoff));
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        vm.warp(cutoff);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlineNotPassed.selector, cutoff));
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        vm.warp(cutoff + 1);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Reclaimed);
        _assertStatus(id, Status.Completed);
    }

    function test_ReclaimAfterDeadline_AfterEarlyRevisionUsesDeadline() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        uint256 deadline = _deadline(a, 0);
        _submit(a, 0);
        _requestRevision(a, 0);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlineNotPassed.selector, deadline));
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        vm.warp(deadline + 1);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Reclaimed);
    }

    function test_RevertWhen_ReclaimAfterDeadline_Submitted() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        _submit(a, 0);
        vm.warp(_deadline(a, 0) + 30 days);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Submitted);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
    }

    function test_RevertWhen_ReclaimAfterDeadline_ByCreator() public {
        Agreement memory a = _usd(1);
        _createFunded(a);
        vm.warp(_deadline(a, 0) + 1);
        _expectUnauthorized(creator);
        vm.prank(creator);
        escrow.reclaimAfterDeadline(a, 0);
    }

    function test_RevertWhen_ReclaimAfterDeadline_NotFunded() public {
        Agreement memory a = _usd(2);
        _createFundedN(a, 1);
        vm.warp(_deadline(a, 1) + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 1);
    }

    /*//////////////////////////////////////////////////////////////
                               COMPLETION
    //////////////////////////////////////////////////////////////*/

    function test_Complete_ByApprove() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _approve(a, 0);
        _assertStatus(id, Status.Active);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneApproved(id, 1, AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        _approve(a, 1);
        _assertStatus(id, Status.Completed);
        assertEq(usd.balanceOf(creator), 2 * AMOUNT);
        assertEq(usd.balanceOf(address(escrow)), 0);
    }

    function test_Complete_ByClaim() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _approve(a, 0);
        _submit(a, 1);
        vm.warp(block.timestamp + REVIEW + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 1);
        _assertStatus(id, Status.Completed);
    }

    function test_Complete_ByReclaim() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        _approve(a, 1);
        vm.warp(_deadline(a, 0) + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _assertStatus(id, Status.Completed);
        assertEq(usd.balanceOf(address(escrow)), 0);
    }

    function test_NotComplete_WhileUnfundedMilestoneRemains() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFundedN(a, 1);
        _approve(a, 0);
        _assertStatus(id, Status.Active);
    }

    function test_Complete_MaxMilestones() public {
        Agreement memory a = _usd(32);
        for (uint256 i; i < 32; ++i) {
            a.milestones[i].amount = i + 1;
        }
        bytes32 id = _createFunded(a);
        for (uint256 i; i < 31; ++i) {
            _approve(a, i);
        }
        _assertStatus(id, Status.Active);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        _approve(a, 31);
        _assertStatus(id, Status.Completed);
        _assertMilestone(id, 31, MilestoneStatus.Approved);
        assertEq(usd.balanceOf(creator), 32 * 33 / 2);
    }

    function test_RevertGiven_Completed_EverythingReverts() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _approve(a, 0);
        _assertStatus(id, Status.Completed);
        _assertFrozen(a, id, Status.Completed);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        escrow.create(a, bs, cs);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(brand);
        escrow.revoke(a);
    }
}
