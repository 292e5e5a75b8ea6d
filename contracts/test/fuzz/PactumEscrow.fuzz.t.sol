// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {IPullPayments} from "../../src/interfaces/IPullPayments.sol";
import {SplitMath} from "../../src/libraries/SplitMath.sol";
import {Agreement, AgreementState, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {RevertingReceiver} from "../mocks/Mocks.sol";
import {Base} from "../utils/Base.t.sol";

/// @notice Property tests of the escrow over random amounts, milestone counts, splits and times.
contract PactumEscrowFuzzTest is Base {
    uint256 internal constant MAX_AMOUNT = 1e30;

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev A log-uniform amount in [1, 1e30] derived from `seed` and `i`.
    function _amountAt(uint256 seed, uint256 i) internal pure returns (uint256) {
        uint256 magnitude = uint256(keccak256(abi.encode(seed, i, "magnitude"))) % 31;
        return 1 + uint256(keccak256(abi.encode(seed, i))) % (10 ** magnitude);
    }

    function _token(bool useToken) internal view returns (address) {
        return useToken ? address(usd) : address(0);
    }

    /// @dev `n` milestones with random amounts; fee and salt as given.
    function _random(address token, uint256 n, uint256 seed, uint16 feeBps)
        internal
        view
        returns (Agreement memory a)
    {
        a = _agreement(token, n);
        a.arbiterFeeBps = feeBps;
        a.salt = seed;
        for (uint256 i; i < n; ++i) {
            a.milestones[i].amount = _amountAt(seed, i);
        }
    }

    /// @dev One milestone of `amount`.
    function _single(address token, uint256 amount, uint16 feeBps)
        internal
        view
        returns (Agreement memory a)
    {
        a = _agreement(token, 1);
        a.arbiterFeeBps = feeBps;
        a.milestones[0].amount = amount;
    }

    function _sumFirst(Agreement memory a, uint256 k) internal pure returns (uint256 sum) {
        for (uint256 i; i < k; ++i) {
            sum += a.milestones[i].amount;
        }
    }

    /// @dev Gives `who` `amount` more of `token` to fund with (the ERC-20 allowance is set up for the brand).
    function _give(address token, address who, uint256 amount) internal {
        if (token == address(0)) {
            vm.deal(who, who.balance + amount);
        } else {
            usd.mint(who, amount);
            vm.prank(who);
            usd.approve(address(escrow), type(uint256).max);
        }
    }

    /// @dev Creates `a` and funds its first `k` milestones from the brand.
    function _createFundedK(Agreement memory a, uint256 k) internal returns (bytes32 id) {
        (bytes memory bs, bytes memory cs) = _signatures(a);
        uint256 amount = _sumFirst(a, k);
        _give(a.token, brand, amount);
        vm.prank(brand);
        id = escrow.createAndFund{value: a.token == address(0) ? amount : 0}(a, bs, cs, k);
    }

    function _escrowBalance(address token) internal view returns (uint256) {
        return _balance(token, address(escrow));
    }

    /// @dev Balances of creator, brand and arbiter.
    function _parties(address token) internal view returns (uint256[3] memory b) {
        b[0] = _balance(token, creator);
        b[1] = _balance(token, brand);
        b[2] = _balance(token, arbiter);
    }

    function _assertPaid(
        address token,
        uint256[3] memory before,
        uint256 toCreator,
        uint256 toBrand,
        uint256 fee
    ) internal view {
        uint256[3] memory afterB = _parties(token);
        assertEq(afterB[0] - before[0], toCreator, "creator paid");
        assertEq(afterB[1] - before[1], toBrand, "brand paid");
        assertEq(afterB[2] - before[2], fee, "arbiter paid");
    }

    /// @dev Brings milestone `i` to Submitted (0), RevisionRequested (1) or Disputed (2).
    function _bringTo(Agreement memory a, uint256 i, uint256 phase) internal {
        _submit(a, i);
        if (phase >= 1) {
            vm.prank(brand);
            escrow.requestRevision(a, i, keccak256("fix it"));
        }
        if (phase >= 2) {
            vm.prank(phase % 2 == 0 ? creator : brand);
            escrow.dispute(a, i, keccak256("unfair"));
        }
    }

    /// @dev An agreement of `n` milestones, `k` funded, up to four of the funded ones in the low bits of
    /// `mask` approved (when all are funded, the last stays open so the agreement stays active), and
    /// up to three others in its high bits delivered (submitted, in revision or disputed): earned work
    /// in flight. Returns the stake a termination decides on (the funded milestones never submitted)
    /// and the amount in flight; the escrow holds both.
    function _terminationSetup(
        bool useToken,
        uint256 n,
        uint256 k,
        uint256 mask,
        uint256 seed,
        uint16 feeBps,
        uint32 contestWindow
    ) internal returns (Agreement memory a, bytes32 id, uint256 stake, uint256 inFlight) {
        n = bound(n, 1, 32);
        k = bound(k, 1, n);
        a = _random(_token(useToken), n, seed, feeBps);
        a.contestWindow = contestWindow;
        id = _createFundedK(a, k);
        uint256 deliver = mask >> 128;
        mask &= (1 << (k < n ? k : k - 1)) - 1;
        uint256 approvals;
        uint256 deliveries;
        for (uint256 i; i < k; ++i) {
            if (mask & (1 << i) != 0 && approvals < 4) {
                ++approvals;
                vm.prank(brand);
                escrow.approve(a, i);
            } else if (deliver & (1 << i) != 0 && deliveries < 3) {
                ++deliveries;
                _bringTo(a, i, i % 3);
                inFlight += a.milestones[i].amount;
            } else {
                stake += a.milestones[i].amount;
            }
        }
        assertEq(uint8(_status(id)), uint8(Status.Active));
        assertEq(_escrowBalance(a.token), stake + inFlight, "escrow holds the stake and the work in flight");
    }

    /// @dev After a termination ended: the work in flight is still held and runs to its end (here the
    /// brand approves it), and the last milestone to finish ends the agreement as Terminated.
    function _assertClosingThenFinish(Agreement memory a, bytes32 id, uint256 inFlight) internal {
        assertEq(_escrowBalance(a.token), inFlight, "work in flight still held");
        assertEq(uint8(_status(id)), uint8(inFlight == 0 ? Status.Terminated : Status.Closing));
        uint256 creatorBefore = _balance(a.token, creator);
        for (uint256 i; i < a.milestones.length; ++i) {
            MilestoneStatus st = _milestoneStatus(id, i);
            assertTrue(st != MilestoneStatus.Open, "a milestone never delivered survived the termination");
            if (
                st == MilestoneStatus.Submitted || st == MilestoneStatus.RevisionRequested
                    || st == MilestoneStatus.Disputed
            ) {
                vm.prank(brand);
                escrow.approve(a, i);
            }
        }
        assertEq(_balance(a.token, creator) - creatorBefore, inFlight, "delivered work paid in full");
        assertEq(_escrowBalance(a.token), 0, "escrow emptied");
        assertEq(uint8(_status(id)), uint8(Status.Terminated));
    }

    function _signMutual(bytes32 id, uint256 creatorAmount, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        bytes32 digest = escrow.hashMutualTermination(id, creatorAmount, _nonce(id), deadline);
        bs = _sign(brandKey, digest);
        cs = _sign(creatorKey, digest);
    }

    function _signSettlement(bytes32 id, uint256 i, uint256 creatorAmount, uint40 deadline)
        internal
        view
        returns (bytes memory bs, bytes memory cs)
    {
        bytes32 digest = escrow.hashSettlement(id, i, creatorAmount, _nonce(id), deadline);
        bs = _sign(brandKey, digest);
        cs = _sign(creatorKey, digest);
    }

    function _nonce(bytes32 id) internal view returns (uint32) {
        return escrow.getState(id).nonce;
    }

    /// @dev A window in [MIN_WINDOW, MAX_WINDOW].
    function _window(uint256 w) internal pure returns (uint32) {
        return uint32(bound(w, 1 hours, 90 days));
    }

    /// @dev A private key other than `notThis`.
    function _otherKey(uint256 key, uint256 notThis) internal pure returns (uint256) {
        key = bound(key, 1, SECP256K1_N - 1);
        if (key == notThis) key = key == 1 ? 2 : key - 1;
        return key;
    }

    /*//////////////////////////////////////////////////////////////
                         CREATION AND FUNDING
    //////////////////////////////////////////////////////////////*/

    function testFuzz_CreateAndFund_HoldsExactSum(uint256 n, uint256 seed, bool useToken) public {
        n = bound(n, 1, 32);
        Agreement memory a = _random(_token(useToken), n, seed, FEE_BPS);
        uint256 total = _total(a);
        uint256 brandBefore = _balance(a.token, brand) + total;

        bytes32 id = _createFundedK(a, n);

        assertEq(_escrowBalance(a.token), total, "escrow holds the sum");
        assertEq(_balance(a.token, brand), brandBefore - total, "brand paid the sum");
        AgreementState memory s = escrow.getState(id);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertEq(s.fundedCount, n);
        assertEq(s.milestones, 0, "all milestones open");
    }

    function testFuzz_PartialFunding_SumsRight(uint256 n, uint256 k, uint256 k2, uint256 seed, bool useToken)
        public
    {
        n = bound(n, 1, 32);
        k = bound(k, 1, n);
        Agreement memory a = _random(_token(useToken), n, seed, FEE_BPS);
        bytes32 id = _createFundedK(a, k);
        assertEq(_escrowBalance(a.token), _sumFirst(a, k), "first tranche");
        assertEq(escrow.getState(id).fundedCount, k);

        // A third party funds the rest in up to two tranches.
        while (k < n) {
            uint256 count = bound(k2, 1, n - k);
            uint256 due = _sumFirst(a, k + count) - _sumFirst(a, k);
            _give(a.token, stranger, due);
            if (a.token == address(0)) {
                vm.prank(stranger);
                vm.expectRevert(
                    abi.encodeWithSelector(IPactumEscrow.Escrow_WrongValue.selector, due, due - 1)
                );
                escrow.fund{value: due - 1}(a, k, count);
            }
            vm.prank(stranger);
            escrow.fund{value: a.token == address(0) ? due : 0}(a, k, count);
            k += count;
            k2 = uint256(keccak256(abi.encode(k2)));
            assertEq(_escrowBalance(a.token), _sumFirst(a, k), "after tranche");
            assertEq(escrow.getState(id).fundedCount, k);
        }
        assertEq(_escrowBalance(a.token), _total(a), "fully funded");

        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFundCount.selector, 1, 0));
        escrow.fund(a, n, 1);
    }

    function testFuzz_Fund_RejectsBadCount(uint256 n, uint256 k, uint256 count, uint256 seed) public {
        n = bound(n, 2, 32);
        k = bound(k, 1, n - 1);
        Agreement memory a = _random(address(usd), n, seed, FEE_BPS);
        _createFundedK(a, k);
        uint256 remaining = n - k;
        count = bound(count, remaining + 1, type(uint256).max - 32);
        vm.prank(brand);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFundCount.selector, count, remaining)
        );
        escrow.fund(a, k, count);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFundCount.selector, 0, remaining));
        escrow.fund(a, k, 0);
    }

    /// @dev Any `first` other than the funded count is refused, before the count is looked at.
    function testFuzz_Fund_RejectsWrongFirst(uint256 n, uint256 k, uint256 first, uint256 count, uint256 seed)
        public
    {
        n = bound(n, 2, 32);
        k = bound(k, 1, n - 1);
        Agreement memory a = _random(address(usd), n, seed, FEE_BPS);
        bytes32 id = _createFundedK(a, k);
        vm.assume(first != k);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_WrongFirstMilestone.selector, first, k));
        escrow.fund(a, first, count);
        assertEq(escrow.getState(id).fundedCount, k);
        assertEq(_escrowBalance(a.token), _sumFirst(a, k));
    }

    function testFuzz_Create_RejectsBadMilestoneCountAndFee(uint256 n, uint16 feeBps) public {
        // Both are refused before any signature is looked at.
        n = bound(n, 33, 64);
        Agreement memory a = _agreement(address(usd), n);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestoneCount.selector, n, 32));
        escrow.create(a, "", "");

        feeBps = uint16(bound(feeBps, 2001, type(uint16).max));
        a = _agreement(address(usd), 1);
        a.arbiterFeeBps = feeBps;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFee.selector, feeBps));
        escrow.create(a, "", "");
    }

    /// @dev Windows outside [MIN_WINDOW, MAX_WINDOW] are refused, whichever window it is.
    function testFuzz_Create_RejectsWindowOutOfBounds(uint256 window, uint256 which) public {
        window = bound(window, 0, type(uint32).max - 90 days - 1 + 1 hours);
        // Fold [0, 2^32) minus the valid band onto the invalid values.
        if (window >= 1 hours) window += 90 days + 1 - 1 hours;
        Agreement memory a = _agreement(address(usd), 2);
        which = bound(which, 0, 2);
        if (which == 0) a.milestones[1].reviewWindow = uint32(window);
        else if (which == 1) a.contestWindow = uint32(window);
        else a.arbitrationWindow = uint32(window);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidWindow.selector, window));
        escrow.create(a, "", "");
    }

    /// @dev Milestone deadlines must lie in (now, now + MAX_TERM].
    function testFuzz_Create_RejectsDeadlineOutOfBounds(uint40 deadline, uint256 i) public {
        uint256 latest = block.timestamp + 5 * 365 days;
        vm.assume(deadline <= block.timestamp || deadline > latest);
        Agreement memory a = _agreement(address(usd), 3);
        i = bound(i, 0, 2);
        a.milestones[i].deadline = deadline;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidDeadline.selector, i, deadline));
        escrow.create(a, "", "");
    }

    /*//////////////////////////////////////////////////////////////
                         DISPUTES AND SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    function testFuzz_ResolveDispute_PaysExactlyTheMilestone(
        uint256 amount,
        uint16 feeBps,
        uint16 creatorBps,
        uint256 phase,
        bool useToken
    ) public {
        amount = bound(amount, 1, MAX_AMOUNT);
        feeBps = uint16(bound(feeBps, 0, 2000));
        creatorBps = uint16(bound(creatorBps, 0, 10_000));
        Agreement memory a = _single(_token(useToken), amount, feeBps);
        bytes32 id = _createFundedK(a, 1);
        _bringTo(a, 0, bound(phase, 0, 1));
        vm.prank(brand);
        escrow.dispute(a, 0, keccak256("unfair"));

        uint256[3] memory before = _parties(a.token);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, creatorBps);

        uint256 fee = amount * feeBps / 10_000;
        uint256 toCreator = (amount - fee) * creatorBps / 10_000;
        _assertPaid(a.token, before, toCreator, amount - fee - toCreator, fee);
        assertEq(_escrowBalance(a.token), 0, "escrow emptied");
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Resolved));
        assertEq(uint8(_status(id)), uint8(Status.Completed));
    }

    function testFuzz_ResolveDispute_RejectsBpsAbove100Percent(uint16 creatorBps) public {
        creatorBps = uint16(bound(creatorBps, 10_001, type(uint16).max));
        Agreement memory a = _agreement(address(usd), 1);
        _createFundedK(a, 1);
        _bringTo(a, 0, 2);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidBps.selector, creatorBps));
        escrow.resolveDispute(a, 0, creatorBps);
    }

    function testFuzz_DisputeTimeout_SplitsEvenlyAtWindowEdge(
        uint256 amount,
        uint32 arbitrationWindow,
        uint256 wait,
        bool byCreator,
        bool useToken
    ) public {
        amount = bound(amount, 1, MAX_AMOUNT);
        Agreement memory a = _single(_token(useToken), amount, FEE_BPS);
        a.arbitrationWindow = _window(arbitrationWindow);
        bytes32 id = _createFundedK(a, 1);
        vm.warp(block.timestamp + bound(wait, 0, 1 weeks)); // still before the deadline
        _bringTo(a, 0, 2);
        uint256 until = block.timestamp + a.arbitrationWindow;
        address party = byCreator ? creator : brand;

        vm.warp(until);
        vm.prank(party);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowOpen.selector, until));
        escrow.resolveDisputeAfterTimeout(a, 0);

        vm.warp(until + 1);
        uint256[3] memory before = _parties(a.token);
        vm.prank(party);
        escrow.resolveDisputeAfterTimeout(a, 0);
        _assertPaid(a.token, before, amount / 2, amount - amount / 2, 0);
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.TimedOut));
        assertEq(_escrowBalance(a.token), 0);
    }

    function testFuzz_Settle_PaysTheSignedSplit(
        uint256 amount,
        uint256 creatorAmount,
        uint256 phase,
        bool useToken
    ) public {
        amount = bound(amount, 1, MAX_AMOUNT);
        creatorAmount = bound(creatorAmount, 0, amount);
        Agreement memory a = _single(_token(useToken), amount, FEE_BPS);
        bytes32 id = _createFundedK(a, 1);
        phase = bound(phase, 0, 3); // Open, Submitted, RevisionRequested, Disputed
        if (phase > 0) _bringTo(a, 0, phase - 1);

        uint40 deadline = uint40(block.timestamp + 1 hours);

        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _signSettlement(id, 0, creatorAmount, deadline);
        uint256[3] memory before = _parties(a.token);
        vm.prank(stranger);
        escrow.settle(a, 0, creatorAmount, nonce, deadline, bs, cs);
        _assertPaid(a.token, before, creatorAmount, amount - creatorAmount, 0);
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Settled));
        assertEq(_escrowBalance(a.token), 0);
    }

    function testFuzz_Settle_RejectsSplitAboveAmount(uint256 amount, uint256 creatorAmount) public {
        amount = bound(amount, 1, MAX_AMOUNT);
        creatorAmount = bound(creatorAmount, amount + 1, type(uint256).max);
        Agreement memory a = _single(address(usd), amount, FEE_BPS);
        bytes32 id = _createFundedK(a, 1);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _signSettlement(id, 0, creatorAmount, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, creatorAmount, amount)
        );
        escrow.settle(a, 0, creatorAmount, nonce, deadline, bs, cs);
    }

    /*//////////////////////////////////////////////////////////////
                              TERMINATIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev Uncontested, the unearned escrow (never submitted) goes back to the brand; delivered work
    /// stays held and runs to its own end.
    function testFuzz_TerminationUncontested_RefundsTheUnearned(
        uint256 n,
        uint256 k,
        uint256 mask,
        uint256 seed,
        uint32 contestWindow,
        bool byCreator,
        bool useToken
    ) public {
        contestWindow = _window(contestWindow);
        (Agreement memory a, bytes32 id, uint256 stake, uint256 inFlight) =
            _terminationSetup(useToken, n, k, mask, seed, FEE_BPS, contestWindow);

        vm.prank(byCreator ? creator : brand);
        escrow.terminate(a, keccak256("cause"));
        uint256 closesAt = block.timestamp + contestWindow;

        vm.warp(closesAt);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ContestWindowOpen.selector, closesAt));
        escrow.finalizeTermination(a);

        vm.warp(closesAt + 1);
        uint256[3] memory before = _parties(a.token);
        vm.prank(stranger);
        escrow.finalizeTermination(a);
        _assertPaid(a.token, before, 0, stake, 0);
        _assertClosingThenFinish(a, id, inFlight);
    }

    function testFuzz_TerminationArbiterRuling_PaysExactlyTheStake(
        uint256 n,
        uint256 k,
        uint256 mask,
        uint256 seed,
        uint16 feeBps,
        uint16 creatorBps,
        bool byCreator,
        bool useToken
    ) public {
        feeBps = uint16(bound(feeBps, 0, 2000));
        creatorBps = uint16(bound(creatorBps, 0, 10_000));
        (Agreement memory a, bytes32 id, uint256 stake, uint256 inFlight) =
            _terminationSetup(useToken, n, k, mask, seed, feeBps, CONTEST);

        vm.prank(byCreator ? creator : brand);
        escrow.terminate(a, keccak256("cause"));
        vm.warp(block.timestamp + CONTEST); // the last contestable second
        vm.prank(byCreator ? brand : creator);
        escrow.contestTermination(a);

        uint256[3] memory before = _parties(a.token);
        vm.prank(arbiter);
        escrow.resolveTermination(a, creatorBps);
        uint256 fee = stake * feeBps / 10_000;
        uint256 toCreator = (stake - fee) * creatorBps / 10_000;
        // The fee is charged on the unearned stake only, never on delivered work.
        _assertPaid(a.token, before, toCreator, stake - fee - toCreator, fee);
        _assertClosingThenFinish(a, id, inFlight);
    }

    function testFuzz_TerminationTimeout_SplitsEvenlyAtWindowEdge(
        uint256 n,
        uint256 k,
        uint256 mask,
        uint256 seed,
        bool byCreator,
        bool useToken
    ) public {
        (Agreement memory a, bytes32 id, uint256 stake, uint256 inFlight) =
            _terminationSetup(useToken, n, k, mask, seed, FEE_BPS, CONTEST);
        vm.prank(byCreator ? creator : brand);
        escrow.terminate(a, keccak256("cause"));
        vm.warp(block.timestamp + 1);
        vm.prank(byCreator ? brand : creator);
        escrow.contestTermination(a);
        uint256 until = block.timestamp + ARBITRATION;

        vm.warp(until);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ArbitrationWindowOpen.selector, until));
        escrow.resolveTerminationAfterTimeout(a);

        vm.warp(until + 1);
        uint256[3] memory before = _parties(a.token);
        vm.prank(byCreator ? creator : brand);
        escrow.resolveTerminationAfterTimeout(a);
        _assertPaid(a.token, before, stake / 2, stake - stake / 2, 0);
        _assertClosingThenFinish(a, id, inFlight);
    }

    function testFuzz_TerminationContest_WindowEdge(uint32 contestWindow, bool byCreator) public {
        contestWindow = _window(contestWindow);
        Agreement memory a = _agreement(address(usd), 2);
        a.contestWindow = contestWindow;
        _createFundedK(a, 2);
        vm.prank(byCreator ? creator : brand);
        escrow.terminate(a, keccak256("cause"));
        uint256 closesAt = block.timestamp + contestWindow;

        uint256 snap = vm.snapshotState();
        vm.warp(closesAt + 1);
        vm.prank(byCreator ? brand : creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ContestWindowClosed.selector, closesAt));
        escrow.contestTermination(a);
        vm.revertToState(snap);

        // The terminating party can never contest its own termination.
        vm.prank(byCreator ? creator : brand);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_Unauthorized.selector, byCreator ? creator : brand)
        );
        escrow.contestTermination(a);

        vm.warp(closesAt);
        vm.prank(byCreator ? brand : creator);
        escrow.contestTermination(a);
        assertTrue(escrow.getState(escrow.hashAgreement(a)).contested);
    }

    function testFuzz_TerminationMutual_PaysTheSignedSplit(
        uint256 n,
        uint256 k,
        uint256 mask,
        uint256 seed,
        uint256 creatorAmount,
        bool fromTerminating,
        bool useToken
    ) public {
        (Agreement memory a, bytes32 id, uint256 stake, uint256 inFlight) =
            _terminationSetup(useToken, n, k, mask, seed, FEE_BPS, CONTEST);
        if (fromTerminating) {
            vm.prank(brand);
            escrow.terminate(a, keccak256("cause"));
        }
        creatorAmount = bound(creatorAmount, 0, stake);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _signMutual(id, creatorAmount, deadline);

        uint256[3] memory before = _parties(a.token);
        vm.prank(stranger);
        escrow.terminateMutually(a, creatorAmount, nonce, deadline, bs, cs);
        _assertPaid(a.token, before, creatorAmount, stake - creatorAmount, 0);
        _assertClosingThenFinish(a, id, inFlight);
    }

    /// @dev The split can never reach delivered work: the stake excludes it.
    function testFuzz_TerminationMutual_RejectsSplitAboveStake(
        uint256 n,
        uint256 k,
        uint256 mask,
        uint256 seed,
        uint256 creatorAmount
    ) public {
        (Agreement memory a, bytes32 id, uint256 stake,) =
            _terminationSetup(true, n, k, mask, seed, FEE_BPS, CONTEST);
        creatorAmount = bound(creatorAmount, stake + 1, type(uint256).max);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _signMutual(id, creatorAmount, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_SplitTooLarge.selector, creatorAmount, stake)
        );
        escrow.terminateMutually(a, creatorAmount, nonce, deadline, bs, cs);
    }

    /*//////////////////////////////////////////////////////////////
                           TIME WINDOW EDGES
    //////////////////////////////////////////////////////////////*/

    function testFuzz_ClaimAfterSilence_ReviewWindowEdge(uint32 review, uint256 wait, bool useToken) public {
        Agreement memory a = _agreement(_token(useToken), 1);
        review = _window(review);
        a.milestones[0].reviewWindow = review;
        bytes32 id = _createFundedK(a, 1);
        vm.warp(block.timestamp + bound(wait, 0, 1 weeks)); // still before the deadline
        _submit(a, 0);
        uint256 reviewEnd = block.timestamp + review;

        vm.warp(reviewEnd);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ReviewWindowOpen.selector, reviewEnd));
        escrow.claimAfterSilence(a, 0);

        vm.warp(reviewEnd + 1);
        uint256[3] memory before = _parties(a.token);
        vm.prank(creator);
        escrow.claimAfterSilence(a, 0);
        _assertPaid(a.token, before, AMOUNT, 0, 0);
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Claimed));
    }

    function testFuzz_RequestRevision_ReviewWindowEdge(uint32 review, uint256 wait) public {
        Agreement memory a = _agreement(address(usd), 1);
        review = _window(review);
        a.milestones[0].reviewWindow = review;
        bytes32 id = _createFundedK(a, 1);
        vm.warp(block.timestamp + bound(wait, 0, 1 weeks));
        _submit(a, 0);
        uint256 reviewEnd = block.timestamp + review;

        uint256 snap = vm.snapshotState();
        vm.warp(reviewEnd + 1);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ReviewWindowClosed.selector, reviewEnd));
        escrow.requestRevision(a, 0, keccak256("fix"));
        vm.revertToState(snap);

        vm.warp(reviewEnd);
        vm.prank(brand);
        escrow.requestRevision(a, 0, keccak256("fix"));
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.RevisionRequested));
    }

    /// @dev The brand may dispute a submission only within its review window; the creator any time.
    function testFuzz_Dispute_BrandReviewWindowEdge(uint32 review, uint256 wait) public {
        Agreement memory a = _agreement(address(usd), 1);
        review = _window(review);
        a.milestones[0].reviewWindow = review;
        bytes32 id = _createFundedK(a, 1);
        vm.warp(block.timestamp + bound(wait, 0, 1 weeks));
        _submit(a, 0);
        uint256 reviewEnd = block.timestamp + review;

        uint256 snap = vm.snapshotState();
        vm.warp(reviewEnd);
        vm.prank(brand);
        escrow.dispute(a, 0, keccak256("unfair"));
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Disputed));
        vm.revertToState(snap);

        vm.warp(reviewEnd + 1);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ReviewWindowClosed.selector, reviewEnd));
        escrow.dispute(a, 0, keccak256("unfair"));
        vm.prank(creator);
        escrow.dispute(a, 0, keccak256("unpaid"));
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Disputed));
    }

    function testFuzz_SubmitAndReclaim_DeadlineEdge(uint256 deadline, bool useToken) public {
        Agreement memory a = _agreement(_token(useToken), 1);
        deadline = bound(deadline, block.timestamp + 1, block.timestamp + 5 * 365 days);
        a.milestones[0].deadline = uint40(deadline);
        bytes32 id = _createFundedK(a, 1);

        // At the deadline: submitting is allowed, reclaiming is not.
        vm.warp(deadline);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlineNotPassed.selector, deadline));
        escrow.reclaimAfterDeadline(a, 0);
        uint256 snap = vm.snapshotState();
        _submit(a, 0);
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Submitted));
        vm.revertToState(snap);

        // One second later: submitting is refused, reclaiming is allowed.
        vm.warp(deadline + 1);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, deadline));
        escrow.submit(a, 0, keccak256("late"), "ipfs://late");
        uint256[3] memory before = _parties(a.token);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _assertPaid(a.token, before, 0, AMOUNT, 0);
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Reclaimed));
    }

    /// @dev After a revision request the cutoff is max(deadline, request + review window).
    function testFuzz_SubmitAndReclaim_RevisionCutoffEdge(uint256 deadline, uint32 review, uint256 submitAt)
        public
    {
        Agreement memory a = _agreement(address(usd), 1);
        deadline = bound(deadline, block.timestamp + 1, block.timestamp + 365 days);
        a.milestones[0].deadline = uint40(deadline);
        a.milestones[0].reviewWindow = _window(review);
        bytes32 id = _createFundedK(a, 1);
        vm.warp(bound(submitAt, block.timestamp, deadline));
        _submit(a, 0);
        vm.warp(block.timestamp + a.milestones[0].reviewWindow); // the last second to ask for a revision
        vm.prank(brand);
        escrow.requestRevision(a, 0, keccak256("fix"));
        uint256 fresh = block.timestamp + a.milestones[0].reviewWindow;
        uint256 cutoff = fresh > deadline ? fresh : deadline;

        vm.warp(cutoff);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlineNotPassed.selector, cutoff));
        escrow.reclaimAfterDeadline(a, 0);
        uint256 snap = vm.snapshotState();
        _submit(a, 0);
        vm.revertToState(snap);

        vm.warp(cutoff + 1);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_DeadlinePassed.selector, cutoff));
        escrow.submit(a, 0, keccak256("late"), "ipfs://late");
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        assertEq(uint8(_milestoneStatus(id, 0)), uint8(MilestoneStatus.Reclaimed));
    }

    function testFuzz_SignatureExpiry_Edge(uint256 wait) public {
        Agreement memory a = _agreement(address(usd), 1);
        a.deadline = uint40(block.timestamp + bound(wait, 0, 365 days));
        // The milestone must still lie ahead when the signatures are used.
        a.milestones[0].deadline = a.deadline + 1 weeks;
        (bytes memory bs, bytes memory cs) = _signatures(a);
        uint256 snap = vm.snapshotState();
        vm.warp(uint256(a.deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_SignatureExpired.selector, a.deadline, uint256(a.deadline) + 1
            )
        );
        escrow.create(a, bs, cs);
        vm.revertToState(snap);
        vm.warp(a.deadline);
        bytes32 id = escrow.create(a, bs, cs);
        assertEq(uint8(_status(id)), uint8(Status.Active));
    }

    /*//////////////////////////////////////////////////////////////
                               SIGNATURES
    //////////////////////////////////////////////////////////////*/

    function testFuzz_Create_RefusesWrongKey(uint256 wrongKey, bool wrongBrand) public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = escrow.hashAgreement(a);
        uint256 key = _otherKey(wrongKey, wrongBrand ? brandKey : creatorKey);
        bytes memory bs = _sign(wrongBrand ? key : brandKey, id);
        bytes memory cs = _sign(wrongBrand ? creatorKey : key, id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_InvalidSignature.selector, wrongBrand ? brand : creator
            )
        );
        escrow.create(a, bs, cs);
        // The right keys still work afterwards.
        (bs, cs) = _signatures(a);
        escrow.create(a, bs, cs);
    }

    function testFuzz_Create_RefusesGarbageSignature(bytes32 r, bytes32 s, uint8 v) public {
        Agreement memory a = _agreement(address(usd), 1);
        (, bytes memory cs) = _signatures(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.create(a, abi.encodePacked(r, s, v), cs);
    }

    function testFuzz_Settle_RefusesWrongKey(uint256 wrongKey, bool wrongBrand, uint256 creatorAmount)
        public
    {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFundedK(a, 1);
        creatorAmount = bound(creatorAmount, 0, AMOUNT);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        uint32 nonce = _nonce(id);
        bytes32 digest = escrow.hashSettlement(id, 0, creatorAmount, nonce, deadline);
        uint256 key = _otherKey(wrongKey, wrongBrand ? brandKey : creatorKey);
        bytes memory bs = _sign(wrongBrand ? key : brandKey, digest);
        bytes memory cs = _sign(wrongBrand ? creatorKey : key, digest);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_InvalidSignature.selector, wrongBrand ? brand : creator
            )
        );
        escrow.settle(a, 0, creatorAmount, nonce, deadline, bs, cs);
    }

    function testFuzz_TerminateMutually_RefusesWrongKey(
        uint256 wrongKey,
        bool wrongBrand,
        uint256 creatorAmount
    ) public {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFundedK(a, 2);
        creatorAmount = bound(creatorAmount, 0, 2 * AMOUNT);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        uint32 nonce = _nonce(id);
        bytes32 digest = escrow.hashMutualTermination(id, creatorAmount, nonce, deadline);
        uint256 key = _otherKey(wrongKey, wrongBrand ? brandKey : creatorKey);
        bytes memory bs = _sign(wrongBrand ? key : brandKey, digest);
        bytes memory cs = _sign(wrongBrand ? creatorKey : key, digest);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_InvalidSignature.selector, wrongBrand ? brand : creator
            )
        );
        escrow.terminateMutually(a, creatorAmount, nonce, deadline, bs, cs);
    }

    /// @dev A signature of one split never authorizes another.
    function testFuzz_Settle_RefusesSignatureOfOtherAmount(uint256 signedAmount, uint256 claimedAmount)
        public
    {
        Agreement memory a = _agreement(address(usd), 1);
        bytes32 id = _createFundedK(a, 1);
        signedAmount = bound(signedAmount, 0, AMOUNT);
        claimedAmount = bound(claimedAmount, 0, AMOUNT);
        vm.assume(signedAmount != claimedAmount);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        uint32 nonce = _nonce(id);
        (bytes memory bs, bytes memory cs) = _signSettlement(id, 0, signedAmount, deadline);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.settle(a, 0, claimedAmount, nonce, deadline, bs, cs);
    }

    /// @dev A signed split names one state nonce; any other is refused before the signatures are
    /// looked at, and the signatures of one nonce never pass for another.
    function testFuzz_Settle_RejectsOtherNonce(uint32 signedNonce, uint256 changes, uint256 creatorAmount)
        public
    {
        Agreement memory a = _agreement(address(usd), 2);
        bytes32 id = _createFundedK(a, 2);
        creatorAmount = bound(creatorAmount, 0, AMOUNT);
        // A few state changes (submission, revision request, cancellations) move the nonce.
        changes = bound(changes, 0, 4);
        if (changes > 0) _submit(a, 1);
        if (changes > 1) {
            vm.prank(brand);
            escrow.requestRevision(a, 1, keccak256("fix"));
        }
        for (uint256 c = 2; c < changes; ++c) {
            vm.prank(c % 2 == 0 ? brand : creator);
            escrow.cancelSignatures(a);
        }
        uint32 current = _nonce(id);
        assertEq(current, 1 + changes, "every change moved the nonce");
        vm.assume(signedNonce != current);
        uint40 deadline = uint40(block.timestamp + 1 hours);
        (bytes memory bs, bytes memory cs) =
            _signBothDigest(escrow.hashSettlement(id, 0, creatorAmount, signedNonce, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, signedNonce, current)
        );
        escrow.settle(a, 0, creatorAmount, signedNonce, deadline, bs, cs);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, brand));
        escrow.settle(a, 0, creatorAmount, current, deadline, bs, cs);
        // Mutual terminations as well.
        (bs, cs) = _signBothDigest(escrow.hashMutualTermination(id, 0, signedNonce, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_StaleNonce.selector, signedNonce, current)
        );
        escrow.terminateMutually(a, 0, signedNonce, deadline, bs, cs);
    }

    /// @dev The brand gets exactly `revisionRounds` revision requests per milestone.
    function testFuzz_RequestRevision_RoundsBounded(uint8 rounds) public {
        rounds = uint8(bound(rounds, 0, 10));
        Agreement memory a = _agreement(address(usd), 1);
        a.revisionRounds = rounds;
        bytes32 id = _createFundedK(a, 1);
        for (uint256 r; r < rounds; ++r) {
            _submit(a, 0);
            vm.prank(brand);
            escrow.requestRevision(a, 0, keccak256("fix"));
        }
        _submit(a, 0);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_NoRevisionsLeft.selector, 0, rounds));
        escrow.requestRevision(a, 0, keccak256("fix"));
        (MilestoneStatus st,, uint8 used) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.Submitted));
        assertEq(used, rounds);
    }

    function _signBothDigest(bytes32 digest) internal view returns (bytes memory bs, bytes memory cs) {
        bs = _sign(brandKey, digest);
        cs = _sign(creatorKey, digest);
    }

    /*//////////////////////////////////////////////////////////////
                           DEFERRED PAYMENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev A creator that refuses ETH is paid by deferral, and withdraws exactly that later.
    function testFuzz_DeferredPayment_WithdrawsExactly(uint256 n, uint256 seed, uint256 toSeed) public {
        n = bound(n, 1, 8);
        Agreement memory a = _random(address(0), n, seed, FEE_BPS);
        _createFundedK(a, n);
        vm.etch(creator, address(new RevertingReceiver()).code); // signed as an EOA, now refuses ETH
        for (uint256 i; i < n; ++i) {
            vm.prank(brand);
            escrow.approve(a, i);
        }
        uint256 total = _total(a);
        assertEq(escrow.claimable(address(0), creator), total, "everything deferred");
        assertEq(address(escrow).balance, total, "escrow still holds it");

        address to = makeAddr(string(abi.encode(toSeed)));
        uint256 toBefore = to.balance;
        vm.prank(creator);
        escrow.withdraw(address(0), to);
        assertEq(to.balance - toBefore, total, "withdrawn exactly");
        assertEq(escrow.claimable(address(0), creator), 0);
        assertEq(address(escrow).balance, 0);
        vm.prank(creator);
        vm.expectRevert(
            abi.encodeWithSelector(IPullPayments.Escrow_NothingToWithdraw.selector, address(0), creator)
        );
        escrow.withdraw(address(0), to);
    }
}
