// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {IPullPayments} from "../../src/interfaces/IPullPayments.sol";
import {Agreement, Milestone, MilestoneStatus, Permit, Status} from "../../src/types/DataTypes.sol";
import {BlacklistToken} from "../mocks/Mocks.sol";
import {Base} from "../utils/Base.t.sol";

/// @notice A token whose transfers to one account run a costly hook (as an ERC-777 recipient hook
/// could), to show how much gas a payout hands to a token.
contract HookGasToken is ERC20 {
    address public heavy;
    uint256 public burnedSlots;
    mapping(uint256 => uint256) private _junk;

    constructor() ERC20("Hook", "HOOK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setHeavy(address account) external {
        heavy = account;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (to == heavy && heavy != address(0)) {
            // ~2M gas of fresh storage writes, as a hostile recipient hook could spend.
            for (uint256 i; i < 90; ++i) {
                _junk[burnedSlots++] = i + 1;
            }
        }
    }
}

/// @title EarnedStaysEarned
/// @notice The hostile moves an adversarial review of the escrow found, one test each, written as the
/// attack: each asserts the victim's outcome, which the contract before issue 11 broke (noted per
/// test), and which must hold now. The rule: what a party has earned under the agreement's rules
/// cannot be taken away by the other party's later action, and every wait has an end.
contract EarnedStaysEarnedTest is Base {
    bytes32 internal constant REASON = keccak256("cause");

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _noArbiter(Agreement memory a) internal pure returns (Agreement memory) {
        a.arbiter = address(0);
        a.arbiterFeeBps = 0;
        return a;
    }

    function _usdBalances() internal view returns (uint256 b, uint256 c, uint256 r) {
        return (usd.balanceOf(brand), usd.balanceOf(creator), usd.balanceOf(arbiter));
    }

    function _reviewEnd(bytes32 id, uint256 i) internal view returns (uint256) {
        (, uint40 since,) = escrow.getMilestone(id, i);
        return uint256(since) + REVIEW;
    }

    function _signSettlement(bytes32 id, uint256 m, uint256 creatorAmount, uint32 nonce, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        bytes32 digest = escrow.hashSettlement(id, m, creatorAmount, nonce, deadline);
        return (_sign(brandKey, digest), _sign(creatorKey, digest));
    }

    function _signMutual(bytes32 id, uint256 creatorAmount, uint32 nonce, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        bytes32 digest = escrow.hashMutualTermination(id, creatorAmount, nonce, deadline);
        return (_sign(brandKey, digest), _sign(creatorKey, digest));
    }

    function _ms(bytes32 id, uint256 i) internal view returns (MilestoneStatus) {
        return _milestoneStatus(id, i);
    }

    /*//////////////////////////////////////////////////////////////
          1. TERMINATION CANNOT OVERRIDE A MATURED RIGHT (NO ARBITER)
    //////////////////////////////////////////////////////////////*/

    /// Old contract: `terminate` moved the agreement out of Active, so the creator's claim after
    /// silence reverted, and `finalizeTermination` returned all 2,000 to the brand.
    function test_Attack_BrandTerminatesInFrontOfMaturedClaim_NoArbiter() public {
        Agreement memory a = _noArbiter(_agreement(address(usd), 2));
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(_reviewEnd(id, 0) + 1); // the brand stayed silent: the claim is due
        (uint256 brand0, uint256 creator0,) = _usdBalances();

        // The brand front-runs the claim with a termination for "cause".
        vm.prank(brand);
        escrow.terminate(a, REASON);

        // The claim still goes through, in full.
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT, "creator paid the matured claim in full");

        // The termination decides only the milestone never submitted.
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        assertEq(usd.balanceOf(brand) - brand0, AMOUNT, "brand gets back only unearned escrow");
        _assertEnded(id, Status.Terminated);
        assertEq(usd.balanceOf(address(escrow)), 0);
    }

    /// The same front-run, but the brand also finalizes before the creator notices: the matured
    /// milestone survives the termination (Closing) and the creator claims it afterwards.
    function test_Attack_BrandFinalizesTerminationBeforeCreatorClaims() public {
        Agreement memory a = _noArbiter(_agreement(address(usd), 2));
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(_reviewEnd(id, 0) + 1);
        (uint256 brand0, uint256 creator0,) = _usdBalances();

        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        assertEq(usd.balanceOf(brand) - brand0, AMOUNT, "only the unsubmitted milestone went back");
        assertEq(uint8(_status(id)), uint8(Status.Closing), "delivered work still running");
        assertEq(uint8(_ms(id, 0)), uint8(MilestoneStatus.Submitted));
        assertEq(uint8(_ms(id, 1)), uint8(MilestoneStatus.Cancelled));

        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT, "creator claims after the termination");
        _assertEnded(id, Status.Terminated);
    }

    /// Old contract: without an arbiter the brand could answer every submission with a revision
    /// request in the last second of the window, forever, then terminate and take everything.
    function test_Attack_EndlessRevisionRequestsThenTerminate() public {
        Agreement memory a = _noArbiter(_agreement(address(usd), 1));
        bytes32 id = _createFunded(a);
        (, uint256 creator0,) = _usdBalances();

        _submit(a, 0);
        for (uint256 round; round < ROUNDS; ++round) {
            vm.warp(_reviewEnd(id, 0)); // the last second of the review window
            vm.prank(brand);
            escrow.requestRevision(a, 0, REASON);
            _submit(a, 0);
        }
        // The rounds both signed are used up: no more revisions, however late the brand answers.
        vm.warp(_reviewEnd(id, 0));
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NoRevisionsLeft.selector, 0, ROUNDS));
        vm.prank(brand);
        escrow.requestRevision(a, 0, REASON);
        (,, uint8 used) = escrow.getMilestone(id, 0);
        assertEq(used, ROUNDS);

        // Terminating does not take the delivered work either.
        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT, "silence pays the creator");
        _assertEnded(id, Status.Terminated);
    }

    /*//////////////////////////////////////////////////////////////
        2. WITH AN ARBITER, TERMINATE IS NOT THE FRONT-RUN DISPUTE() FORBIDS
    //////////////////////////////////////////////////////////////*/

    /// Old contract: the creator had to contest; on arbiter silence the timeout gave it 50% of an
    /// uncontestable claim.
    function test_Attack_TerminateFrontRunsClaim_ArbiterSilent() public {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(_reviewEnd(id, 0) + 1);
        (, uint256 creator0,) = _usdBalances();

        vm.prank(brand);
        escrow.terminate(a, REASON);
        // No contest needed: the claim stands during the termination.
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT, "full claim, no 50% haircut");
        _assertEnded(id, Status.Terminated);
    }

    /// Old contract: a ruling fully for the creator on a contested termination charged the arbiter's
    /// fee on the whole stake, earned milestones included.
    function test_Attack_RulingChargesFeeOnlyOnUnearnedStake() public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.warp(_reviewEnd(id, 0) + 1);
        (uint256 brand0, uint256 creator0, uint256 arbiter0) = _usdBalances();

        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.prank(creator);
        escrow.contestTermination(a);
        vm.prank(arbiter);
        escrow.resolveTermination(a, 10_000);

        uint256 fee = AMOUNT * FEE_BPS / 10_000;
        assertEq(usd.balanceOf(arbiter) - arbiter0, fee, "fee only on the milestone never submitted");
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT - fee, "ruling pays the unearned stake less fee");
        assertEq(uint8(_status(id)), uint8(Status.Closing));

        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, 2 * AMOUNT - fee, "the earned milestone in full");
        assertEq(usd.balanceOf(brand), brand0, "brand received nothing");
        _assertEnded(id, Status.Terminated);
    }

    /// Old contract: a termination wiped out a dispute whose 50/50 timeout exit had already opened.
    function test_Attack_TerminationCannotWipeAnOpenTimeoutExit() public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.prank(brand);
        escrow.dispute(a, 0, REASON);
        vm.warp(block.timestamp + ARBITRATION + 1); // the arbiter stayed silent: the timeout exit is open
        (uint256 brand0, uint256 creator0,) = _usdBalances();

        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        assertEq(usd.balanceOf(brand) - brand0, AMOUNT, "termination takes only milestone 1");
        assertEq(uint8(_ms(id, 0)), uint8(MilestoneStatus.Disputed), "the dispute survives");

        vm.prank(creator);
        escrow.resolveDisputeAfterTimeout(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT / 2, "the timeout split stands");
        _assertEnded(id, Status.Terminated);
    }

    /// Old contract: a termination also wiped out a pending ruling; now the arbiter still rules on
    /// the disputed milestone while the termination runs.
    function test_Attack_TerminationCannotPreemptPendingRuling() public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.prank(creator);
        escrow.dispute(a, 0, REASON);
        (, uint256 creator0,) = _usdBalances();

        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 10_000);
        uint256 fee = AMOUNT * FEE_BPS / 10_000;
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT - fee, "ruling on the dispute applies");
        assertEq(uint8(_status(id)), uint8(Status.Terminating));
    }

    /*//////////////////////////////////////////////////////////////
          3. SIGNED SPLITS COMMIT TO THE STATE THEY PRICED
    //////////////////////////////////////////////////////////////*/

    /// Old contract: "creator 500, brand 1,500" signed while 2,000 was held; the creator claimed the
    /// milestone under review (+1,000), then executed the split and took 500 of the remaining 1,000.
    function test_Attack_MutualTerminationSignedBeforeClaimIsStale() public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        uint32 nonce = escrow.getState(id).nonce;
        uint40 deadline = uint40(block.timestamp + 30 days);
        (bytes memory bs, bytes memory cs) = _signMutual(id, AMOUNT / 2, nonce, deadline);

        vm.warp(_reviewEnd(id, 0) + 1);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        uint32 current = escrow.getState(id).nonce;
        assertTrue(current != nonce, "the claim moved the state nonce");

        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, current));
        vm.prank(creator);
        escrow.terminateMutually(a, AMOUNT / 2, nonce, deadline, bs, cs);
    }

    /// The same for a settlement of one milestone signed before another changed state.
    function test_Attack_SettlementSignedBeforeStateChangeIsStale() public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFunded(a);
        _submit(a, 1);
        uint32 nonce = escrow.getState(id).nonce;
        uint40 deadline = uint40(block.timestamp + 30 days);
        (bytes memory bs, bytes memory cs) = _signSettlement(id, 1, AMOUNT / 4, nonce, deadline);

        vm.prank(brand);
        escrow.requestRevision(a, 1, REASON); // the state the split priced is gone
        uint32 current = escrow.getState(id).nonce;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, current));
        vm.prank(brand);
        escrow.settle(a, 1, AMOUNT / 4, nonce, deadline, bs, cs);
    }

    /// Old contract: the last signer held an option until the signatures' deadline. Now either
    /// signer voids them first.
    function test_Attack_SignerCancelsBeforeTheOtherUsesIt() public {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFunded(a);
        uint32 nonce = escrow.getState(id).nonce;
        uint40 deadline = uint40(block.timestamp + 30 days);
        (bytes memory bs, bytes memory cs) = _signSettlement(id, 0, AMOUNT / 10, nonce, deadline);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.SignaturesCancelled(id, creator, nonce + 1);
        vm.prank(creator);
        escrow.cancelSignatures(a);

        vm.warp(block.timestamp + 10 days); // the brand waited for a better moment
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, nonce, nonce + 1));
        vm.prank(brand);
        escrow.settle(a, 0, AMOUNT / 10, nonce, deadline, bs, cs);
        assertEq(uint8(_ms(id, 0)), uint8(MilestoneStatus.Open));
    }

    /// A split both parties signed for one agreement cannot be replayed on another agreement of the
    /// same parties at the same state nonce: the digest names the agreement.
    function test_Attack_SettlementReplayedOnAnotherAgreement() public {
        Agreement memory a = _agreement(address(usd), 1);
        Agreement memory b = _agreement(address(usd), 1);
        b.salt = 2;
        bytes32 idA = _createFunded(a);
        bytes32 idB = _createFunded(b);
        uint32 nonce = escrow.getState(idA).nonce;
        assertEq(escrow.getState(idB).nonce, nonce, "both agreements sit at the same nonce");
        uint40 deadline = uint40(block.timestamp + 1 hours);
        (bytes memory bs, bytes memory cs) = _signSettlement(idA, 0, 0, nonce, deadline);

        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        vm.prank(brand);
        escrow.settle(b, 0, 0, nonce, deadline, bs, cs);
        assertEq(uint8(_ms(idB, 0)), uint8(MilestoneStatus.Open));
    }

    /*//////////////////////////////////////////////////////////////
      4. A DISPUTE ON A REVISION IS BOUNDED BY THE RESUBMISSION CUTOFF
    //////////////////////////////////////////////////////////////*/

    /// Old contract: the creator let its resubmission cutoff pass, then disputed the revision request,
    /// blocking the brand's reclaim, and took 50% on arbiter silence.
    function test_Attack_CreatorDisputesRevisionAfterCutoff() public {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.prank(brand);
        escrow.requestRevision(a, 0, REASON);
        uint256 cutoff = a.milestones[0].deadline;
        uint256 fresh = block.timestamp + REVIEW;
        if (fresh > cutoff) cutoff = fresh;
        vm.warp(cutoff + 1);
        (uint256 brand0,,) = _usdBalances();

        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, cutoff));
        vm.prank(creator);
        escrow.dispute(a, 0, REASON);

        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        assertEq(usd.balanceOf(brand) - brand0, AMOUNT, "the brand's reclaim stands");
        _assertEnded(id, Status.Completed);
    }

    /*//////////////////////////////////////////////////////////////
                      5. THE LOWER-SEVERITY FINDINGS
    //////////////////////////////////////////////////////////////*/

    /// Old contract: an arbiter with contestWindow 0, review windows of 0 or a century, a 100% fee and
    /// deadlines already past all created fine.
    function test_Attack_UnusableWindowsFeesAndDeadlinesRefused() public {
        Agreement memory a = _agreement(address(usd), 1);
        a.contestWindow = 0;
        _expectCreateRevert(a, abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidWindow.selector, 0));

        a = _agreement(address(usd), 1);
        a.milestones[0].reviewWindow = 0;
        _expectCreateRevert(a, abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidWindow.selector, 0));

        a = _agreement(address(usd), 1);
        a.arbitrationWindow = 100 * 365 days;
        _expectCreateRevert(
            a, abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidWindow.selector, 100 * 365 days)
        );

        a = _agreement(address(usd), 1);
        a.arbiterFeeBps = 10_000;
        _expectCreateRevert(a, abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFee.selector, 10_000));

        a = _agreement(address(usd), 1);
        a.milestones[0].deadline = uint40(block.timestamp - 1);
        _expectCreateRevert(
            a, abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidDeadline.selector, 0, block.timestamp - 1)
        );

        a = _agreement(address(usd), 1);
        a.revisionRounds = 255;
        _expectCreateRevert(
            a, abi.encodeWithSelector(IPactumEscrow.Escrow_TooManyRevisionRounds.selector, 255)
        );
    }

    /// Old contract: anyone could copy the signatures from the mempool and `create` first, making the
    /// brand's `createAndFund` revert with AlreadyExists.
    function test_Attack_FrontRunCreateDoesNotBlockCreateAndFund() public {
        Agreement memory a = _agreement(address(usd), 2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.prank(stranger);
        bytes32 id = escrow.create(a, bs, cs);

        vm.prank(brand);
        assertEq(escrow.createAndFund(a, bs, cs, 2), id);
        assertEq(escrow.getState(id).fundedCount, 2);
        assertEq(usd.balanceOf(address(escrow)), 2 * AMOUNT);
    }

    /// The same through the permit path.
    function test_Attack_FrontRunCreateDoesNotBlockCreateAndFundWithPermit() public {
        Agreement memory a = _agreement(address(usd), 1);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.prank(stranger);
        bytes32 id = escrow.create(a, bs, cs);
        vm.prank(brand);
        usd.approve(address(escrow), 0);

        Permit memory p = _permit(AMOUNT);
        vm.prank(brand);
        escrow.createAndFundWithPermit(a, bs, cs, 1, p);
        assertEq(escrow.getState(id).fundedCount, 1);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
    }

    /// Old contract: `fund(count)` funded "the next n", so funding milestone 1 in front of the
    /// brand's transaction shifted the brand's money onto the larger milestone 2.
    function test_Attack_FrontRunFundCannotShiftTheBrandsFunding() public {
        Agreement memory a = _agreement(address(usd), 3);
        a.milestones[1].amount = 10e6;
        a.milestones[2].amount = 50_000e6;
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.prank(brand);
        bytes32 id = escrow.createAndFund(a, bs, cs, 1);

        // Someone funds milestone 1 first (10 units: cheap).
        usd.mint(stranger, 10e6);
        vm.startPrank(stranger);
        usd.approve(address(escrow), 10e6);
        escrow.fund(a, 1, 1);
        vm.stopPrank();

        uint256 brand0 = usd.balanceOf(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_WrongFirstMilestone.selector, 1, 2));
        vm.prank(brand);
        escrow.fund(a, 1, 1);
        assertEq(usd.balanceOf(brand), brand0, "the brand paid nothing it did not price");
        assertEq(escrow.getState(id).fundedCount, 2);
    }

    /// Found while fixing the suites for this redesign: a termination stops new submissions, so the
    /// brand could terminate a day before a deadline, let the creator's contest run, and reclaim the
    /// milestone after the deadline the creator could no longer meet, ending the agreement before
    /// the arbiter ruled. A milestone never submitted is the termination's to decide.
    function test_Attack_BrandReclaimsAroundAContestedTermination() public {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFunded(a);
        vm.warp(a.milestones[0].deadline - 1 days);
        (uint256 brand0, uint256 creator0,) = _usdBalances();
        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.prank(creator);
        escrow.contestTermination(a);

        vm.warp(uint256(a.milestones[0].deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_WrongStatus.selector, id, Status.Terminating)
        );
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);

        vm.prank(arbiter);
        escrow.resolveTermination(a, 10_000);
        uint256 fee = AMOUNT * FEE_BPS / 10_000;
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT - fee, "the arbiter's ruling decides");
        assertEq(usd.balanceOf(brand), brand0);
        _assertEnded(id, Status.Terminated);
    }

    /// Old contract: a creator invoking the morality clause forfeited its delivered work under review.
    function test_Attack_CreatorTerminatingForCauseKeepsDeliveredWork() public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        (uint256 brand0, uint256 creator0,) = _usdBalances();

        vm.prank(creator);
        escrow.terminate(a, REASON); // the brand misbehaved
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        assertEq(usd.balanceOf(brand) - brand0, AMOUNT, "only the undelivered milestone");

        vm.warp(_reviewEnd(id, 0) + 1);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        assertEq(usd.balanceOf(creator) - creator0, AMOUNT, "delivered work paid");
        _assertEnded(id, Status.Terminated);
    }

    /// Old contract: the arbiter could rule after its window, pre-empting the no-fee timeout exit to
    /// collect its fee.
    function test_Attack_ArbiterCannotRuleLateToCollectItsFee() public {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        vm.prank(creator);
        escrow.dispute(a, 0, REASON);
        (, uint40 since,) = escrow.getMilestone(id, 0);
        vm.warp(uint256(since) + ARBITRATION + 1);

        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_ArbitrationWindowClosed.selector, uint256(since) + ARBITRATION
            )
        );
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 0);

        (,, uint256 arbiter0) = _usdBalances();
        vm.prank(creator);
        escrow.resolveDisputeAfterTimeout(a, 0);
        assertEq(usd.balanceOf(arbiter), arbiter0, "no fee on a timeout");
    }

    /// The same for a contested termination.
    function test_Attack_ArbiterCannotRuleLateOnTermination() public {
        Agreement memory a = _agreement(address(usd), 1);
        _createFunded(a);
        vm.prank(brand);
        escrow.terminate(a, REASON);
        vm.prank(creator);
        escrow.contestTermination(a);
        uint256 until = block.timestamp + ARBITRATION;
        vm.warp(until + 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowClosed.selector, until));
        vm.prank(arbiter);
        escrow.resolveTermination(a, 0);
    }

    /// Old contract: ERC-20 payouts forwarded all gas to the token, so a hook token's recipient could
    /// make a ruling need ~2M gas. Now a token gets at most TOKEN_PUSH_GAS and the payout is deferred.
    function test_Attack_HookTokenCannotMakeAPayoutExpensive() public {
        HookGasToken hook = new HookGasToken();
        hook.mint(brand, 10 * AMOUNT);
        vm.prank(brand);
        hook.approve(address(escrow), type(uint256).max);
        Agreement memory a = _agreement(address(hook), 1);
        bytes32 id = _createFunded(a);
        hook.setHeavy(creator);

        uint256 gasBefore = gasleft();
        vm.prank(brand);
        escrow.approve(a, 0);
        uint256 used = gasBefore - gasleft();
        assertLt(used, 200_000, "a payout's cost is bounded whatever the token's hook does");
        assertEq(escrow.claimable(address(hook), creator), AMOUNT, "the creator's money waits for it");
        _assertEnded(id, Status.Completed);
    }

    /// Old contract: `withdraw(token, escrow)` destroyed the credit (the escrow paid itself, and the
    /// tokens were stranded in it for good).
    function test_Attack_WithdrawToTheEscrowRefused() public {
        BlacklistToken busd = new BlacklistToken();
        busd.mint(brand, 10 * AMOUNT);
        vm.prank(brand);
        busd.approve(address(escrow), type(uint256).max);
        Agreement memory a = _agreement(address(busd), 1);
        _createFunded(a);
        busd.setBlocked(creator, true);
        vm.prank(brand);
        escrow.approve(a, 0); // the push fails: the creator's money is credited instead
        assertEq(escrow.claimable(address(busd), creator), AMOUNT);

        vm.expectRevert(IPullPayments.Escrow_RecipientIsEscrow.selector);
        vm.prank(creator);
        escrow.withdraw(address(busd), address(escrow));
        assertEq(escrow.claimable(address(busd), creator), AMOUNT, "the credit is intact");

        address fresh = makeAddr("fresh wallet");
        vm.prank(creator);
        escrow.withdraw(address(busd), fresh);
        assertEq(busd.balanceOf(fresh), AMOUNT);
    }

    /*//////////////////////////////////////////////////////////////
                               UTILITIES
    //////////////////////////////////////////////////////////////*/

    function _assertEnded(bytes32 id, Status expected) internal view {
        assertEq(uint8(_status(id)), uint8(expected), "agreement status");
    }

    function _expectCreateRevert(Agreement memory a, bytes memory err) internal {
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.expectRevert(err);
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 1);
    }

    function _permit(uint256 amount) internal view returns (Permit memory p) {
        p.deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                ),
                brand,
                address(escrow),
                amount,
                usd.nonces(brand),
                p.deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", usd.DOMAIN_SEPARATOR(), structHash));
        (p.v, p.r, p.s) = vm.sign(brandKey, digest);
    }
}
