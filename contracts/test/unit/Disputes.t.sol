// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {UnitBase} from "./UnitBase.sol";

contract DisputesTest is UnitBase {
    /// @dev A funded 2-milestone agreement with milestone 0 submitted.
    function _submitted() internal returns (Agreement memory a, bytes32 id) {
        a = _usd(2);
        id = _createFunded(a);
        _submit(a, 0);
    }

    /// @dev As `_submitted`, with milestone 0 disputed by the brand.
    function _disputed() internal returns (Agreement memory a, bytes32 id) {
        (a, id) = _submitted();
        _dispute(a, 0, brand);
    }

    /// @dev Both parties' signatures of a settlement at the agreement's current state nonce.
    function _settlementSigs(bytes32 id, uint256 i, uint256 creatorAmount, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        return _signBoth(escrow.hashSettlement(id, i, creatorAmount, _nonce(id), deadline));
    }

    /*//////////////////////////////////////////////////////////////
                                DISPUTE
    //////////////////////////////////////////////////////////////*/

    function test_Dispute_ByBrandFromSubmitted() public {
        (Agreement memory a, bytes32 id) = _submitted();
        vm.warp(block.timestamp + 1 hours);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeOpened(id, 0, brand, REASON);
        _dispute(a, 0, brand);
        (MilestoneStatus st, uint40 since,) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.Disputed));
        assertEq(since, block.timestamp);
    }

    function test_Dispute_ByBrandAtReviewWindowEnd() public {
        (Agreement memory a, bytes32 id) = _submitted();
        vm.warp(block.timestamp + REVIEW);
        _dispute(a, 0, brand);
        _assertMilestone(id, 0, MilestoneStatus.Disputed);
    }

    function test_RevertWhen_Dispute_ByBrandAfterReviewWindow() public {
        (Agreement memory a, bytes32 id) = _submitted();
        (, uint40 since,) = escrow.getMilestone(id, 0);
        vm.warp(uint256(since) + REVIEW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_ReviewWindowClosed.selector, uint256(since) + REVIEW)
        );
        _dispute(a, 0, brand);
        // The creator's claim after silence stands.
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Claimed);
    }

    function test_Dispute_ByCreatorAfterReviewWindow() public {
        (Agreement memory a, bytes32 id) = _submitted();
        vm.warp(block.timestamp + REVIEW + 1);
        _dispute(a, 0, creator);
        _assertMilestone(id, 0, MilestoneStatus.Disputed);
    }

    function test_Dispute_ByCreatorFromRevisionRequested() public {
        (Agreement memory a, bytes32 id) = _submitted();
        _requestRevision(a, 0);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeOpened(id, 0, creator, REASON);
        _dispute(a, 0, creator);
        _assertMilestone(id, 0, MilestoneStatus.Disputed);
    }

    function test_RevertWhen_Dispute_NoArbiter() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        _createFunded(a);
        _submit(a, 0);
        vm.expectRevert(IPactumEscrow.Escrow_NoArbiter.selector);
        _dispute(a, 0, brand);
    }

    function test_RevertWhen_Dispute_ByStranger() public {
        (Agreement memory a,) = _submitted();
        _expectUnauthorized(stranger);
        _dispute(a, 0, stranger);
    }

    function test_RevertWhen_Dispute_ByArbiter() public {
        (Agreement memory a,) = _submitted();
        _expectUnauthorized(arbiter);
        _dispute(a, 0, arbiter);
    }

    function test_RevertWhen_Dispute_Open() public {
        (Agreement memory a,) = _submitted();
        _expectWrongMilestoneStatus(1, MilestoneStatus.Open);
        _dispute(a, 1, creator);
    }

    function test_RevertWhen_Dispute_AlreadyDisputed() public {
        (Agreement memory a,) = _disputed();
        _expectWrongMilestoneStatus(0, MilestoneStatus.Disputed);
        _dispute(a, 0, creator);
    }

    function test_RevertWhen_Dispute_Approved() public {
        (Agreement memory a,) = _submitted();
        _approve(a, 0);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Approved);
        _dispute(a, 0, creator);
    }

    function test_RevertWhen_Dispute_NotFunded() public {
        Agreement memory a = _usd(2);
        _createFundedN(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        _dispute(a, 1, brand);
    }

    function test_RevertWhen_Dispute_InvalidMilestone() public {
        (Agreement memory a,) = _submitted();
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestone.selector, 7, 2));
        _dispute(a, 7, brand);
    }

    /// @dev A milestone delivered before a termination keeps its own exits, a dispute among them.
    function test_Dispute_WhileTerminating() public {
        (Agreement memory a, bytes32 id) = _submitted();
        _terminate(a, creator);
        _dispute(a, 0, brand);
        _assertMilestone(id, 0, MilestoneStatus.Disputed);
        _assertStatus(id, Status.Terminating);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 10_000);
        _assertMilestone(id, 0, MilestoneStatus.Resolved);
    }

    /// @dev The creator may dispute a revision request only until its resubmission cutoff; after it,
    /// the brand's reclaim stands.
    function test_RevertWhen_Dispute_ByCreatorAfterResubmissionCutoff() public {
        (Agreement memory a, bytes32 id) = _submitted();
        _requestRevision(a, 0);
        uint256 cutoff = a.milestones[0].deadline; // later than the fresh review window here
        assertGt(cutoff, block.timestamp + REVIEW);
        uint256 snap = vm.snapshotState();
        vm.warp(cutoff);
        _dispute(a, 0, creator);
        _assertMilestone(id, 0, MilestoneStatus.Disputed);
        vm.revertToState(snap);

        vm.warp(cutoff + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, cutoff));
        _dispute(a, 0, creator);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.Reclaimed);
    }

    /// @dev The brand's own revision request: the brand may still dispute it, past the cutoff too.
    function test_Dispute_ByBrandFromRevisionRequestedAfterCutoff() public {
        (Agreement memory a, bytes32 id) = _submitted();
        _requestRevision(a, 0);
        vm.warp(uint256(a.milestones[0].deadline) + 1);
        _dispute(a, 0, brand);
        _assertMilestone(id, 0, MilestoneStatus.Disputed);
    }

    function test_Dispute_BumpsNonceAndKeepsRevisionCount() public {
        (Agreement memory a, bytes32 id) = _submitted();
        _requestRevision(a, 0);
        uint32 nonce = _nonce(id);
        vm.warp(block.timestamp + 1 hours);
        _dispute(a, 0, creator);
        assertEq(_nonce(id), nonce + 1);
        (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.Disputed));
        assertEq(since, block.timestamp);
        assertEq(revisions, 1);
    }

    /*//////////////////////////////////////////////////////////////
                             RESOLVE DISPUTE
    //////////////////////////////////////////////////////////////*/

    function test_ResolveDispute_ExactSplit() public {
        (Agreement memory a, bytes32 id) = _disputed();
        uint256 brandBefore = usd.balanceOf(brand);
        // 1,000e6: fee 2.5% = 25e6; rest 975e6; creator 60% = 585e6; brand 390e6.
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeResolved(id, 0, 585e6, 390e6, 25e6, 6000);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 6000);
        assertEq(usd.balanceOf(creator), 585e6);
        assertEq(usd.balanceOf(brand), brandBefore + 390e6);
        assertEq(usd.balanceOf(arbiter), 25e6);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        _assertMilestone(id, 0, MilestoneStatus.Resolved);
        _assertStatus(id, Status.Active);
    }

    function test_ResolveDispute_RoundingFavoursBrand() public {
        Agreement memory a = _usd(1);
        a.milestones[0].amount = 999_999;
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, creator);
        uint256 brandBefore = usd.balanceOf(brand);
        // fee = 999,999 * 250 / 10,000 = 24,999 (rounded down); rest = 975,000;
        // creator = 975,000 * 3,333 / 10,000 = 324,967 (rounded down); brand = 650,033.
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeResolved(id, 0, 324_967, 650_033, 24_999, 3333);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 3333);
        assertEq(usd.balanceOf(creator), 324_967);
        assertEq(usd.balanceOf(brand) - brandBefore, 650_033);
        assertEq(usd.balanceOf(arbiter), 24_999);
        assertEq(usd.balanceOf(address(escrow)), 0);
        _assertStatus(id, Status.Completed);
    }

    function test_ResolveDispute_AllToCreator() public {
        (Agreement memory a, bytes32 id) = _disputed();
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeResolved(id, 0, 975e6, 0, 25e6, 10_000);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 10_000);
        assertEq(usd.balanceOf(creator), 975e6);
        assertEq(usd.balanceOf(brand), brandBefore);
    }

    function test_ResolveDispute_AllToBrand_NoFee() public {
        Agreement memory a = _usd(1);
        a.arbiterFeeBps = 0;
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, brand);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeResolved(id, 0, 0, AMOUNT, 0, 0);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 0);
        assertEq(usd.balanceOf(creator), 0);
        assertEq(usd.balanceOf(arbiter), 0);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
    }

    function test_ResolveDispute_ETH() public {
        Agreement memory a = _eth(1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, brand);
        uint256 brandBefore = brand.balance;
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
        assertEq(arbiter.balance, 25e6);
        assertEq(creator.balance, 4875e5);
        assertEq(brand.balance, brandBefore + 4875e5);
        assertEq(address(escrow).balance, 0);
        _assertStatus(id, Status.Completed);
    }

    function test_ResolveDispute_AtArbitrationWindowEnd() public {
        (Agreement memory a, bytes32 id) = _disputed();
        vm.warp(block.timestamp + ARBITRATION);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
        _assertMilestone(id, 0, MilestoneStatus.Resolved);
    }

    /// @dev Past its window the arbiter can no longer rule (it would race the timeout exit); the
    /// parties' even split is open instead.
    function test_RevertWhen_ResolveDispute_AfterArbitrationWindow() public {
        (Agreement memory a, bytes32 id) = _disputed();
        uint256 closedAt = block.timestamp + ARBITRATION;
        vm.warp(closedAt + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowClosed.selector, closedAt)
        );
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
        vm.prank(creator);
        escrow.resolveDisputeAfterTimeout(a, 0);
        _assertMilestone(id, 0, MilestoneStatus.TimedOut);
    }

    function test_RevertWhen_ResolveDispute_ByBrand() public {
        (Agreement memory a,) = _disputed();
        _expectUnauthorized(brand);
        vm.prank(brand);
        escrow.resolveDispute(a, 0, 5000);
    }

    function test_RevertWhen_ResolveDispute_ByCreator() public {
        (Agreement memory a,) = _disputed();
        _expectUnauthorized(creator);
        vm.prank(creator);
        escrow.resolveDispute(a, 0, 5000);
    }

    function test_RevertWhen_ResolveDispute_BpsTooHigh() public {
        (Agreement memory a,) = _disputed();
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidBps.selector, 10_001));
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 10_001);
    }

    function test_RevertWhen_ResolveDispute_NotDisputed() public {
        (Agreement memory a,) = _submitted();
        _expectWrongMilestoneStatus(0, MilestoneStatus.Submitted);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
    }

    function test_RevertWhen_ResolveDispute_Twice() public {
        (Agreement memory a,) = _disputed();
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Resolved);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
    }

    function test_RevertWhen_ResolveDispute_NotFunded() public {
        Agreement memory a = _usd(2);
        _createFundedN(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        vm.prank(arbiter);
        escrow.resolveDispute(a, 1, 5000);
    }

    function test_RevertWhen_ResolveDispute_InvalidMilestone() public {
        (Agreement memory a,) = _disputed();
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestone.selector, 2, 2));
        vm.prank(arbiter);
        escrow.resolveDispute(a, 2, 5000);
    }

    /*//////////////////////////////////////////////////////////////
                            DISPUTE TIMEOUT
    //////////////////////////////////////////////////////////////*/

    function test_ResolveDisputeAfterTimeout_EvenSplit() public {
        (Agreement memory a, bytes32 id) = _disputed();
        uint256 brandBefore = usd.balanceOf(brand);
        vm.warp(block.timestamp + ARBITRATION + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeTimedOut(id, 0, AMOUNT / 2, AMOUNT / 2);
        vm.prank(creator);
        escrow.resolveDisputeAfterTimeout(a, 0);
        assertEq(usd.balanceOf(creator), AMOUNT / 2);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT / 2);
        assertEq(usd.balanceOf(arbiter), 0, "no fee on timeout");
        _assertMilestone(id, 0, MilestoneStatus.TimedOut);
    }

    function test_ResolveDisputeAfterTimeout_OddUnitToBrand() public {
        Agreement memory a = _usd(1);
        a.milestones[0].amount = 1001;
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, creator);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.warp(block.timestamp + ARBITRATION + 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.DisputeTimedOut(id, 0, 500, 501);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.prank(brand);
        escrow.resolveDisputeAfterTimeout(a, 0);
        assertEq(usd.balanceOf(creator), 500);
        assertEq(usd.balanceOf(brand) - brandBefore, 501);
        _assertStatus(id, Status.Completed);
    }

    function test_RevertWhen_ResolveDisputeAfterTimeout_WindowOpen() public {
        (Agreement memory a,) = _disputed();
        uint256 until = block.timestamp + ARBITRATION;
        vm.warp(until);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowOpen.selector, until));
        vm.prank(creator);
        escrow.resolveDisputeAfterTimeout(a, 0);
    }

    function test_RevertWhen_ResolveDisputeAfterTimeout_ByStranger() public {
        (Agreement memory a,) = _disputed();
        vm.warp(block.timestamp + ARBITRATION + 1);
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        escrow.resolveDisputeAfterTimeout(a, 0);
    }

    function test_RevertWhen_ResolveDisputeAfterTimeout_ByArbiter() public {
        (Agreement memory a,) = _disputed();
        vm.warp(block.timestamp + ARBITRATION + 1);
        _expectUnauthorized(arbiter);
        vm.prank(arbiter);
        escrow.resolveDisputeAfterTimeout(a, 0);
    }

    function test_RevertWhen_ResolveDisputeAfterTimeout_NotDisputed() public {
        (Agreement memory a,) = _submitted();
        vm.warp(block.timestamp + ARBITRATION + 1);
        _expectWrongMilestoneStatus(0, MilestoneStatus.Submitted);
        vm.prank(brand);
        escrow.resolveDisputeAfterTimeout(a, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                SETTLE
    //////////////////////////////////////////////////////////////*/

    function test_Settle() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneSettled(id, 0, 400e6, 600e6);
        vm.prank(stranger); // anyone may submit the signed settlement
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
        assertEq(usd.balanceOf(creator), 400e6);
        assertEq(usd.balanceOf(brand), brandBefore + 600e6);
        assertEq(usd.balanceOf(arbiter), 0);
        _assertMilestone(id, 0, MilestoneStatus.Settled);
        _assertStatus(id, Status.Active);
    }

    function test_Settle_Disputed() public {
        (Agreement memory a, bytes32 id) = _disputed();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, AMOUNT, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        escrow.settle(a, 0, AMOUNT, nonce, deadline, bs, cs);
        assertEq(usd.balanceOf(creator), AMOUNT);
        assertEq(usd.balanceOf(brand), brandBefore);
        _assertMilestone(id, 0, MilestoneStatus.Settled);
    }

    function test_Settle_OpenMilestoneWithoutArbiter() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        bytes32 id = _createFunded(a);
        uint40 deadline = uint40(block.timestamp);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 0, deadline);
        uint256 brandBefore = usd.balanceOf(brand);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneSettled(id, 0, 0, AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        escrow.settle(a, 0, 0, nonce, deadline, bs, cs);
        assertEq(usd.balanceOf(brand), brandBefore + AMOUNT);
        _assertStatus(id, Status.Completed);
    }

    function test_RevertWhen_Settle_BrandSignedByWrongKey() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        bytes32 digest = escrow.hashSettlement(id, 0, 400e6, nonce, deadline);
        bytes memory bs = _sign(arbiterKey, digest);
        bytes memory cs = _sign(creatorKey, digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_CreatorSignedByWrongKey() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        bytes32 digest = escrow.hashSettlement(id, 0, 400e6, nonce, deadline);
        bytes memory bs = _sign(brandKey, digest);
        bytes memory cs = _sign(brandKey, digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, creator));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_AmountDiffersFromSigned() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.settle(a, 0, 900e6, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_SignedForOtherMilestone() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 1, 400e6, deadline);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_HighS() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, creator));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, _highS(cs));
    }

    function test_RevertWhen_Settle_Expired() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_SignatureExpired.selector, deadline, uint256(deadline) + 1
            )
        );
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_SplitTooLarge() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, AMOUNT + 1, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, AMOUNT + 1, AMOUNT)
        );
        escrow.settle(a, 0, AMOUNT + 1, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_Replay() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
        // The settlement moved the state: the same signatures name a stale nonce...
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce + 1));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
        // ...and at the current nonce the milestone is final anyway.
        _expectWrongMilestoneStatus(0, MilestoneStatus.Settled);
        escrow.settle(a, 0, 400e6, nonce + 1, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_NotFunded() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFundedN(a, 1);
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 1, 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NotFunded.selector, 1, 1));
        escrow.settle(a, 1, 1, nonce, deadline, bs, cs);
    }

    function test_RevertWhen_Settle_InvalidMilestone() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint32 nonce = _nonce(id);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestone.selector, 3, 2));
        escrow.settle(a, 3, 1, nonce, uint40(block.timestamp), "", "");
    }

    /// @dev A settlement signed before a termination began names the old state: refused. Signed again
    /// for the terminating state, it settles the milestone, which keeps its own exits.
    function test_Settle_WhileTerminating_NeedsFreshSignatures() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        _terminate(a, brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce + 1));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);

        (bs, cs) = _settlementSigs(id, 0, 400e6, deadline);
        escrow.settle(a, 0, 400e6, nonce + 1, deadline, bs, cs);
        _assertMilestone(id, 0, MilestoneStatus.Settled);
        _assertStatus(id, Status.Terminating);
        assertEq(usd.balanceOf(creator), 400e6);
    }

    /// @dev Any state change after signing voids the signed split: here the other milestone's approval.
    function test_RevertWhen_Settle_StaleNonce() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 400e6, deadline);
        _approve(a, 1);
        uint32 current = _nonce(id);
        assertGt(current, nonce);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, current));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
        // Claiming the current nonce with signatures of the old one: the signatures do not match.
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.settle(a, 0, 400e6, current, deadline, bs, cs);
    }

    /// @dev A nonce ahead of the state (signed for a state that may come) is refused too.
    function test_RevertWhen_Settle_FutureNonce() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id) + 1;
        bytes32 digest = escrow.hashSettlement(id, 0, 400e6, nonce, deadline);
        (bytes memory bs, bytes memory cs) = _signBoth(digest);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce - 1));
        escrow.settle(a, 0, 400e6, nonce, deadline, bs, cs);
    }

    /// @dev Checks run in order: deadline, then nonce, then amounts, then signatures.
    function test_RevertWhen_Settle_ExpiredAndStale_DeadlineFirst() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_SignatureExpired.selector, deadline, uint256(deadline) + 1
            )
        );
        escrow.settle(a, 0, AMOUNT + 1, nonce + 7, deadline, "", "");
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce + 7, nonce));
        escrow.settle(a, 0, AMOUNT + 1, nonce + 7, type(uint40).max, "", "");
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, AMOUNT + 1, AMOUNT)
        );
        escrow.settle(a, 0, AMOUNT + 1, nonce, type(uint40).max, "", "");
    }

    /*//////////////////////////////////////////////////////////////
                           CANCEL SIGNATURES
    //////////////////////////////////////////////////////////////*/

    function test_CancelSignatures_ByBrand_VoidsSignedSettlement() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint40 deadline = uint40(block.timestamp + 1 days);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _settlementSigs(id, 0, 900e6, deadline);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.SignaturesCancelled(id, brand, nonce + 1);
        vm.prank(brand);
        escrow.cancelSignatures(a);
        assertEq(_nonce(id), nonce + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce + 1));
        escrow.settle(a, 0, 900e6, nonce, deadline, bs, cs);
        // Nothing else changed.
        _assertMilestone(id, 0, MilestoneStatus.Submitted);
        _assertStatus(id, Status.Active);
    }

    function test_CancelSignatures_ByCreator() public {
        (Agreement memory a, bytes32 id) = _submitted();
        uint32 nonce = _nonce(id);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.SignaturesCancelled(id, creator, nonce + 1);
        vm.prank(creator);
        escrow.cancelSignatures(a);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.SignaturesCancelled(id, creator, nonce + 2);
        vm.prank(creator);
        escrow.cancelSignatures(a);
        assertEq(_nonce(id), nonce + 2);
    }

    function test_CancelSignatures_WhileTerminating() public {
        (Agreement memory a, bytes32 id) = _submitted();
        _terminate(a, brand);
        uint32 nonce = _nonce(id);
        vm.prank(creator);
        escrow.cancelSignatures(a);
        assertEq(_nonce(id), nonce + 1);
        _assertStatus(id, Status.Terminating);
    }

    function test_RevertWhen_CancelSignatures_ByStranger() public {
        (Agreement memory a,) = _submitted();
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        escrow.cancelSignatures(a);
    }

    function test_RevertWhen_CancelSignatures_ByArbiter() public {
        (Agreement memory a,) = _submitted();
        _expectUnauthorized(arbiter);
        vm.prank(arbiter);
        escrow.cancelSignatures(a);
    }

    function test_RevertGiven_CancelSignatures_NotCreated() public {
        Agreement memory a = _usd(1);
        _expectWrongStatus(escrow.hashAgreement(a), Status.None);
        vm.prank(brand);
        escrow.cancelSignatures(a);
    }
}
