// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement, Status} from "../../src/types/DataTypes.sol";
import {SymbolicBase} from "./SymbolicBase.sol";

/// @notice Per-action accounting on the real escrow, shared by the two proofs below.
/// Bounds: two funded milestones with symbolic amounts in (0, 2^96), symbolic fee (up to the escrow's
/// cap, MAX_FEE_BPS); the acted-on milestone's prior state (Open, Submitted, RevisionRequested or
/// Disputed), the action, its arguments and the time (any uint40 from the last preparation on) are
/// all symbolic.
abstract contract EscrowActionsBase is SymbolicBase {
    /// @dev One paying action (0 approve, 1 claimAfterSilence, 2 reclaimAfterDeadline, 3 settle at the
    /// current state nonce, 4 resolveDispute, 5 resolveDisputeAfterTimeout), each called by the party
    /// it belongs to, on milestone `m` after preparing it to `prep` and the agreement to `phase`
    /// (0 Active; 1 Terminating: the brand terminated; 2 Closing: the other milestone was submitted,
    /// then the brand terminated and the termination was finalized uncontested). If the action
    /// succeeds the escrow pays out exactly the milestone's amount, split among creator, brand and
    /// arbiter with the escrow's balance falling by exactly what they received; if it reverts
    /// nothing moves. Either way the other milestone's money stays in the escrow.
    function _checkSingleAction(
        uint256[] memory amounts,
        uint16 feeBps,
        uint256 m,
        uint8 prep,
        uint8 action,
        uint8 phase,
        uint256 creatorAmount,
        uint16 creatorBps,
        uint40 when
    ) internal {
        vm.assume(prep < 4 && action < 6);
        Agreement memory a = _agreement(amounts, feeBps);
        _createFunded(a, 2);
        if (prep >= 1) _submit(a, m);
        if (prep == 2) {
            vm.prank(brand);
            escrow.requestRevision(a, m, bytes32(0));
        }
        if (prep == 3) _dispute(a, m, creator);
        if (phase == 2) _submit(a, 1 - m); // keeps the other milestone in the escrow past the end
        if (phase >= 1) {
            vm.prank(brand);
            escrow.terminate(a, bytes32(0));
        }
        if (phase == 2) {
            vm.warp(block.timestamp + CONTEST + 1);
            escrow.finalizeTermination(a);
            assert(escrow.getState(escrow.hashAgreement(a)).status == Status.Closing);
        }
        vm.assume(when >= block.timestamp);
        vm.warp(when);

        address caller;
        bytes memory data;
        if (action == 0) {
            (caller, data) = (brand, abi.encodeCall(IPactumEscrow.approve, (a, m)));
        } else if (action == 1) {
            (caller, data) = (creator, abi.encodeCall(IPactumEscrow.claimAfterSilence, (a, m)));
        } else if (action == 2) {
            (caller, data) = (brand, abi.encodeCall(IPactumEscrow.reclaimAfterDeadline, (a, m)));
        } else if (action == 3) {
            data = abi.encodeCall(
                IPactumEscrow.settle, (a, m, creatorAmount, _nonce(a), type(uint40).max, "", "")
            );
            caller = STRANGER;
        } else if (action == 4) {
            (caller, data) = (ARBITER, abi.encodeCall(IPactumEscrow.resolveDispute, (a, m, creatorBps)));
        } else {
            (caller, data) = (creator, abi.encodeCall(IPactumEscrow.resolveDisputeAfterTimeout, (a, m)));
        }

        uint256[4] memory before = _balances();
        vm.prank(caller);
        (bool ok,) = address(escrow).call(data);
        uint256 out = _paidOut(before, _balances());

        assert((ok ? out == amounts[m] : out == 0) && _balances()[3] >= amounts[1 - m]);
    }
}

/// @notice Halmos proof of per-action accounting on an active agreement (either milestone).
contract EscrowActionsSymbolic is EscrowActionsBase {
    /// @notice See `_checkSingleAction`, phase 0 (Active), on either milestone: a paying action
    /// moves exactly its milestone's amount or nothing, and never the other milestone's money.
    function check_singleAction_movesExactlyTheMilestone(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        bool second,
        uint8 prep,
        uint8 action,
        uint256 creatorAmount,
        uint16 creatorBps,
        uint40 when
    ) public {
        _checkSingleAction(
            _amounts(a0, a1), feeBps, second ? 1 : 0, prep, action, 0, creatorAmount, creatorBps, when
        );
    }
}

/// @notice Halmos proof of per-action accounting while a termination is pending (Terminating).
/// Separate from the other phases so each contract stays well inside the script's per-contract time
/// budget.
contract EscrowActionsTerminatingSymbolic is EscrowActionsBase {
    /// @notice See `_checkSingleAction`, phase 1 (Terminating), on the first milestone (the code
    /// paths do not depend on the index): the same accounting holds while the termination is pending.
    function check_singleAction_whileTerminating(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 prep,
        uint8 action,
        uint256 creatorAmount,
        uint16 creatorBps,
        uint40 when
    ) public {
        _checkSingleAction(_amounts(a0, a1), feeBps, 0, prep, action, 1, creatorAmount, creatorBps, when);
    }
}

/// @notice Halmos proof of per-action accounting once a termination ended with a delivered milestone
/// still running (Closing).
contract EscrowActionsClosingSymbolic is EscrowActionsBase {
    /// @notice See `_checkSingleAction`, phase 2 (Closing), on the first milestone: the same
    /// accounting holds, and a milestone the termination cancelled (Open before it) refuses every
    /// action.
    function check_singleAction_whileClosing(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 prep,
        uint8 action,
        uint256 creatorAmount,
        uint16 creatorBps,
        uint40 when
    ) public {
        _checkSingleAction(_amounts(a0, a1), feeBps, 0, prep, action, 2, creatorAmount, creatorBps, when);
    }
}
