// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement} from "../../src/types/DataTypes.sol";
import {SymbolicBase} from "./SymbolicBase.sol";

/// @notice Halmos proofs that the escrow's rulings and terminations pay out exactly what they rule on.
/// Bounds: two milestones; amounts symbolic in (0, 2^96); fee and
/// creator bps symbolic over all of uint16; times symbolic over uint40 where a window must pass.
contract EscrowSettlementSymbolic is SymbolicBase {
    /// @notice resolveDispute: for every amount pair, fee and creatorBps, the creator, brand and
    /// arbiter together receive exactly the disputed milestone's amount, and the escrow's balance
    /// falls by exactly that; the other milestone's money stays.
    function check_resolveDispute_paysExactlyTheMilestone(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint16 creatorBps,
        bool brandDisputes
    ) public {
        Agreement memory a = _agreement(_amounts(a0, a1), feeBps);
        _createFunded(a, 2);
        _submit(a, 0);
        _dispute(a, 0, brandDisputes ? brand : creator);

        uint256[4] memory before = _balances();
        vm.prank(ARBITER);
        escrow.resolveDispute(a, 0, creatorBps);
        uint256 out = _paidOut(before, _balances());

        assert(out == a0 && _balances()[3] == a1);
    }

    /// @notice Termination settlement: for two milestones with symbolic amounts, a symbolic number
    /// funded (1 or 2), a symbolic subset of the funded ones already approved (paid), and each of the
    /// four ways a termination ends (0 uncontested finalize, 1 arbiter ruling with symbolic
    /// creatorBps, 2 arbiter timeout, 3 mutual termination with a symbolic creator amount):
    /// creator + brand + arbiter receive exactly what the agreement held (funded
    /// minus finished milestones), and the escrow's balance falls by exactly that, to zero.
    function check_termination_paysExactlyWhatIsHeld(
        uint256 a0,
        uint256 a1,
        uint16 feeBps,
        uint8 fundCount,
        uint8 approvedMask,
        uint8 route,
        uint16 creatorBps,
        uint256 creatorAmount,
        uint40 when
    ) public {
        uint256[] memory amounts = _amounts(a0, a1);
        // The mask only names funded milestones, so no two inputs take the same path.
        vm.assume(fundCount >= 1 && fundCount <= 2 && approvedMask >> fundCount == 0 && route < 4);
        Agreement memory a = _agreement(amounts, feeBps);
        _createFunded(a, fundCount);

        uint256 held;
        for (uint256 i; i < 2; ++i) {
            if (i >= fundCount) break;
            if ((approvedMask >> i) & 1 == 1) {
                vm.prank(brand);
                escrow.approve(a, i);
            } else {
                held += amounts[i];
            }
        }

        // The brand terminates and the creator contests: who starts it changes no amount (the
        // mirror case runs the same payout code), so it is fixed to halve the paths.
        address other = creator;
        if (route != 3) {
            vm.prank(brand);
            escrow.terminate(a, bytes32(0));
        }
        if (route == 1 || route == 2) {
            vm.prank(other);
            escrow.contestTermination(a);
        }
        // Any moment at which the ending is allowed (reverting moments are discarded paths).
        vm.warp(when);

        uint256[4] memory before = _balances();
        assert(before[3] == held);
        if (route == 0) {
            vm.prank(STRANGER);
            escrow.finalizeTermination(a);
        } else if (route == 1) {
            vm.prank(ARBITER);
            escrow.resolveTermination(a, creatorBps);
        } else if (route == 2) {
            vm.prank(other);
            escrow.resolveTerminationAfterTimeout(a);
        } else {
            vm.prank(STRANGER);
            escrow.terminateMutually(a, creatorAmount, _nonce(a), type(uint40).max, "", "");
        }
        uint256 out = _paidOut(before, _balances());

        assert(out == held && _balances()[3] == 0);
    }
}
