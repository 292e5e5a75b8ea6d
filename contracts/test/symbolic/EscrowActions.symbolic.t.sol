// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement} from "../../src/types/DataTypes.sol";
import {SymbolicBase} from "./SymbolicBase.sol";

/// @notice Halmos proof of per-action accounting on the real escrow.
/// Bounds: two funded milestones with symbolic amounts in (0, 2^96), symbolic fee (uint16); the acted-on
/// milestone (either), its prior state (Open, Submitted, RevisionRequested or Disputed), the
/// action, its arguments and the time (any uint40 from the start on) are all symbolic.
contract EscrowActionsSymbolic is SymbolicBase {
    /// @notice One paying action (0 approve, 1 claimAfterSilence, 2 reclaimAfterDeadline, 3 settle,
    /// 4 resolveDispute, 5 resolveDisputeAfterTimeout), each called by the party it belongs to:
    /// if it succeeds the escrow pays out exactly the milestone's amount, split among creator, brand
    /// and arbiter with the escrow's balance falling by exactly what they received; if it reverts
    /// nothing moves. Either way the other milestone's money stays in the escrow, so no action
    /// moves more than the agreement holds.
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
        uint256[] memory amounts = _amounts(a0, a1);
        vm.assume(prep < 4 && action < 6 && when >= T0);
        Agreement memory a = _agreement(amounts, feeBps);
        _createFunded(a, 2);
        uint256 m = second ? 1 : 0;
        if (prep >= 1) _submit(a, m);
        if (prep == 2) {
            vm.prank(brand);
            escrow.requestRevision(a, m, bytes32(0));
        }
        if (prep == 3) _dispute(a, m, creator);
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
            data = abi.encodeCall(IPactumEscrow.settle, (a, m, creatorAmount, type(uint40).max, "", ""));
            caller = STRANGER;
        } else if (action == 4) {
            (caller, data) = (ARBITER, abi.encodeCall(IPactumEscrow.resolveDispute, (a, m, creatorBps)));
        } else {
            (caller, data) = (creator, abi.encodeCall(IPactumEscrow.resolveDisputeAfterTimeout, (a, m)));
        }

        uint256[4] memory before = _balances();
        vm.prank(caller);
        (bool ok,) = address(escrow).call(data);
        uint256[4] memory afterwards = _balances();
        uint256 out = _paidOut(before, afterwards);

        assert((ok ? out == amounts[m] : out == 0) && afterwards[3] >= amounts[1 - m]);
    }
}
