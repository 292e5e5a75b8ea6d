// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {SymbolicBase} from "./SymbolicBase.sol";

/// @notice That a termination decides only on unearned escrow, shared by the two proofs below.
/// Bounds: two funded milestones with symbolic amounts in (0, 2^96), symbolic fee (up to the
/// escrow's cap) and creator bps (uint16), a symbolic creator amount (uint256) for the mutual
/// ending; the first milestone in any of Open, Submitted, RevisionRequested, Disputed or Approved,
/// the second Open, Submitted or Approved; the ending at any allowed moment (uint40).
abstract contract EscrowTerminationBase is SymbolicBase {
    /// @dev The agreement under test (kept in storage: the check has too many locals for the stack).
    bytes32 internal _id;

    /// @notice The stake a termination decides on is exactly the funded milestones never submitted:
    /// milestones under review, in revision, in dispute or final are outside it. Whichever way the
    /// termination ends, creator + brand + arbiter receive exactly that stake (the arbiter's fee,
    /// only on a ruling, is charged on that stake alone), the escrow keeps exactly the delivered
    /// milestones still running, each of those keeps its status, each Open one is Cancelled, and
    /// the agreement is `Closing` while any delivered milestone runs, else `Terminated`.
    function _checkTermination(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 state0,
        uint8 state1,
        uint8 route,
        uint16 creatorBps,
        uint256 creatorAmount,
        uint40 when
    ) internal {
        uint256[] memory amounts = _amounts(a0, a1);
        vm.assume(state0 < 5 && (state1 == 0 || state1 == 1 || state1 == 4) && route < 4);
        Agreement memory a = _agreement(amounts, feeBps);
        _id = _createFunded(a, 2);
        _prepare(a, 0, state0);
        _prepare(a, 1, state1);
        uint256 stake = (state0 == 0 ? a0 : 0) + (state1 == 0 ? a1 : 0);
        uint256 running = (state0 >= 1 && state0 <= 3 ? a0 : 0) + (state1 == 1 ? a1 : 0);

        // The brand terminates and the creator contests (the mirror case runs the same code).
        if (route != 3) {
            vm.prank(brand);
            escrow.terminate(a, bytes32(0));
        }
        if (route == 1 || route == 2) {
            vm.prank(creator);
            escrow.contestTermination(a);
        }
        uint32 nonce = _nonce(a);
        vm.assume(when >= block.timestamp);
        vm.warp(when);

        uint256[4] memory before = _balances();
        assert(before[3] == stake + running);
        _end(a, route, creatorBps, creatorAmount, nonce);
        uint256[4] memory afterwards = _balances();

        assert(
            _paidOut(before, afterwards) == stake && afterwards[3] == running
                && afterwards[2] - before[2] == (route == 1 ? stake * feeBps / BPS : 0)
        );
        assert(
            _kept(0, state0) && _kept(1, state1)
                && escrow.getState(_id).status == (running > 0 ? Status.Closing : Status.Terminated)
        );
    }

    /// @dev Ends the pending termination by `route`: 0 uncontested finalize, 1 arbiter ruling,
    /// 2 arbiter timeout, 3 mutual termination (signed at `nonce`).
    function _end(Agreement memory a, uint8 route, uint16 creatorBps, uint256 creatorAmount, uint32 nonce)
        internal
    {
        if (route == 0) {
            vm.prank(STRANGER);
            escrow.finalizeTermination(a);
        } else if (route == 1) {
            vm.prank(ARBITER);
            escrow.resolveTermination(a, creatorBps);
        } else if (route == 2) {
            vm.prank(creator);
            escrow.resolveTerminationAfterTimeout(a);
        } else {
            vm.prank(STRANGER);
            escrow.terminateMutually(a, creatorAmount, nonce, type(uint40).max, "", "");
        }
    }

    /// @dev Brings milestone `m` to 0 Open, 1 Submitted, 2 RevisionRequested, 3 Disputed (by the
    /// creator, from a revision request) or 4 Approved.
    function _prepare(Agreement memory a, uint256 m, uint8 state) internal {
        if (state == 0) return;
        if (state == 4) {
            vm.prank(brand);
            escrow.approve(a, m);
            return;
        }
        _submit(a, m);
        if (state >= 2) {
            vm.prank(brand);
            escrow.requestRevision(a, m, bytes32(0));
        }
        if (state == 3) _dispute(a, m, creator);
    }

    /// @dev Whether milestone `m`, prepared to `state`, is as a termination must leave it: Cancelled
    /// if it was Open, otherwise unchanged.
    function _kept(uint256 m, uint8 state) internal view returns (bool) {
        (MilestoneStatus status,,) = escrow.getMilestone(_id, m);
        MilestoneStatus expected = state == 0
            ? MilestoneStatus.Cancelled
            : state == 4 ? MilestoneStatus.Approved : MilestoneStatus(state);
        return status == expected;
    }
}

/// @notice Halmos proof that a termination ended without a ruling (uncontested, by the arbiter's
/// timeout, or mutually) decides only on the unearned stake and pays exactly it.
contract EscrowTerminationSymbolic is EscrowTerminationBase {
    /// @notice See `_checkTermination`: routes 0 (uncontested finalize), 2 (arbiter timeout) and
    /// 3 (mutual, any creator amount).
    function check_termination_decidesOnlyUnearnedStake(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 state0,
        uint8 state1,
        uint8 route,
        uint256 creatorAmount,
        uint40 when
    ) public {
        vm.assume(route != 1);
        _checkTermination(a0, a1, feeBps, state0, state1, route, 0, creatorAmount, when);
    }
}

/// @notice Halmos proofs that the arbiter's ruling on a termination decides only on the unearned
/// stake and charges its fee on that stake alone. The fee arithmetic makes the ruling the slowest
/// route, so it is split over two contracts (each runs under its own time budget): the first
/// milestone unearned or final here, in flight in the next one.
contract EscrowTerminationRulingSymbolic is EscrowTerminationBase {
    /// @notice See `_checkTermination`: route 1 (the arbiter's ruling, any creator bps), ruled at
    /// the moment of the contest (within the arbitration window; the amounts do not depend on
    /// time); the first milestone Open or Approved, the second Open, Submitted or Approved.
    function check_terminationRuling_decidesOnlyUnearnedStake(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 state0,
        uint8 state1,
        uint16 creatorBps
    ) public {
        vm.assume(state0 == 0 || state0 == 4);
        _checkTermination(a0, a1, feeBps, state0, state1, 1, creatorBps, 0, uint40(block.timestamp));
    }
}

/// @notice Halmos proof that the arbiter's ruling on a termination leaves a delivered milestone out
/// of the stake (see `EscrowTerminationRulingSymbolic`).
contract EscrowTerminationRulingInFlightSymbolic is EscrowTerminationBase {
    /// @notice See `_checkTermination`: route 1 as above, with the first milestone Submitted,
    /// RevisionRequested or Disputed, and the second Open or Approved. (Both delivered, a zero
    /// stake, is left out of the ruling proofs to keep them within the time budget; the other
    /// routes cover it.)
    function check_terminationRuling_leavesDeliveredOut(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 state0,
        uint8 state1,
        uint16 creatorBps
    ) public {
        vm.assume(state0 >= 1 && state0 <= 3 && state1 != 1);
        _checkTermination(a0, a1, feeBps, state0, state1, 1, creatorBps, 0, uint40(block.timestamp));
    }
}
