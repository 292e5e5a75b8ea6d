// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement, Permit, Status} from "../../src/types/DataTypes.sol";
import {SymbolicBase} from "./SymbolicBase.sol";

/// @notice That an ended agreement is final, shared by the two proofs at the end of this file.
/// Bounds: two milestones with symbolic amounts in (0, 2^96); five concrete ways to end (see
/// `_end`; each contract below takes some of them, so each stays well inside the script's time
/// budget); then any of the 22 external functions that take the agreement, called by a symbolic
/// address at a symbolic time (uint40, not before the end) with symbolic arguments (including a
/// symbolic state nonce for the signed splits). Signatures are
/// irrelevant here: brand and creator are accept-all wallets, so even "valid" signatures are given.
/// `withdraw` is left out on purpose: it does not take an agreement, and paying out deferred
/// payments after the end is its job.
abstract contract EscrowStateMachineBase is SymbolicBase {
    uint256 internal constant FUNCTIONS = 22;

    /// @notice From Completed (0: every milestone approved) or Terminated (1: mutually, 2: uncontested
    /// after the contest window, 3: by the arbiter's ruling, 4: uncontested while the second
    /// milestone was under review, so through `Closing` until that milestone was approved), every
    /// function reverts.
    function check_endedAgreement_rejectsEveryAction(
        uint256 a0,
        uint256 a1,
        uint8 ending,
        uint8 fn,
        address caller,
        uint256 m,
        uint256 x,
        uint16 bps,
        uint72 split,
        bytes32 h,
        uint40 when
    ) public {
        // `split`: a signed split's nonce (low 32 bits) and deadline (next 40) in one argument. Every
        // pair of values is still reachable, and twelve arguments would not fit the stack of the ABI
        // decoder without the optimizer (coverage builds compile this file too).
        vm.assume(ending < 5 && _covers(ending) && fn < FUNCTIONS);
        Agreement memory a = _agreement(_amounts(a0, a1), 250);
        bytes32 id = _createFunded(a, 2);
        _end(a, ending);
        assert(escrow.getState(id).status == (ending == 0 ? Status.Completed : Status.Terminated));
        vm.assume(when >= block.timestamp);
        vm.warp(when);

        vm.prank(caller);
        (bool ok,) = address(escrow).call(_calldata(a, fn, m, x, bps, split, h));
        assert(!ok);
    }

    /// @dev Which endings the concrete contract proves.
    function _covers(uint8 ending) internal pure virtual returns (bool);

    function _end(Agreement memory a, uint8 ending) internal {
        if (ending == 0) {
            vm.startPrank(brand);
            escrow.approve(a, 0);
            escrow.approve(a, 1);
            vm.stopPrank();
        } else if (ending == 1) {
            escrow.terminateMutually(a, a.milestones[0].amount, _nonce(a), type(uint40).max, "", "");
        } else if (ending == 4) {
            _submit(a, 1);
            vm.prank(brand);
            escrow.terminate(a, bytes32(0));
            vm.warp(block.timestamp + CONTEST + 1);
            escrow.finalizeTermination(a);
            assert(escrow.getState(escrow.hashAgreement(a)).status == Status.Closing);
            vm.prank(brand);
            escrow.approve(a, 1);
        } else {
            vm.prank(brand);
            escrow.terminate(a, bytes32(0));
            if (ending == 2) {
                vm.warp(block.timestamp + CONTEST + 1);
                escrow.finalizeTermination(a);
            } else {
                vm.prank(creator);
                escrow.contestTermination(a);
                vm.prank(ARBITER);
                escrow.resolveTermination(a, 5000);
            }
        }
    }

    function _calldata(
        Agreement memory a,
        uint8 fn,
        uint256 m,
        uint256 x,
        uint16 bps,
        uint72 split,
        bytes32 h
    ) internal pure returns (bytes memory) {
        if (fn == 14 || fn == 20) return _splitCalldata(a, fn, m, x, split);
        if (fn == 0) return abi.encodeCall(IPactumEscrow.create, (a, "", ""));
        if (fn == 1) return abi.encodeCall(IPactumEscrow.createAndFund, (a, "", "", x));
        if (fn == 2) {
            return abi.encodeCall(
                IPactumEscrow.createAndFundWithPermit,
                (a, "", "", x, Permit({deadline: x, v: 27, r: h, s: h}))
            );
        }
        if (fn == 3) return abi.encodeCall(IPactumEscrow.fund, (a, m, x));
        if (fn == 4) {
            return
                abi.encodeCall(
                    IPactumEscrow.fundWithPermit, (a, m, x, Permit({deadline: x, v: 27, r: h, s: h}))
                );
        }
        if (fn == 5) return abi.encodeCall(IPactumEscrow.revoke, (a));
        if (fn == 6) return abi.encodeCall(IPactumEscrow.submit, (a, m, h, "ipfs://x"));
        if (fn == 7) return abi.encodeCall(IPactumEscrow.approve, (a, m));
        if (fn == 8) return abi.encodeCall(IPactumEscrow.requestRevision, (a, m, h));
        if (fn == 9) return abi.encodeCall(IPactumEscrow.claimAfterSilence, (a, m));
        if (fn == 10) return abi.encodeCall(IPactumEscrow.reclaimAfterDeadline, (a, m));
        if (fn == 11) return abi.encodeCall(IPactumEscrow.dispute, (a, m, h));
        if (fn == 12) return abi.encodeCall(IPactumEscrow.resolveDispute, (a, m, bps));
        if (fn == 13) return abi.encodeCall(IPactumEscrow.resolveDisputeAfterTimeout, (a, m));
        if (fn == 15) return abi.encodeCall(IPactumEscrow.terminate, (a, h));
        if (fn == 16) return abi.encodeCall(IPactumEscrow.contestTermination, (a));
        if (fn == 17) return abi.encodeCall(IPactumEscrow.finalizeTermination, (a));
        if (fn == 18) return abi.encodeCall(IPactumEscrow.resolveTermination, (a, bps));
        if (fn == 19) return abi.encodeCall(IPactumEscrow.resolveTerminationAfterTimeout, (a));
        return abi.encodeCall(IPactumEscrow.cancelSignatures, (a));
    }

    /// @dev The two signed splits (settle: 14, terminateMutually: 20); apart from `_calldata` only to
    /// stay within the stack without the optimizer (coverage builds).
    function _splitCalldata(Agreement memory a, uint8 fn, uint256 m, uint256 x, uint72 split)
        internal
        pure
        returns (bytes memory)
    {
        uint32 nonce = uint32(split);
        uint40 deadline = uint40(split >> 32);
        if (fn == 14) return abi.encodeCall(IPactumEscrow.settle, (a, m, x, nonce, deadline, "", ""));
        return abi.encodeCall(IPactumEscrow.terminateMutually, (a, x, nonce, deadline, "", ""));
    }
}

/// @notice Halmos proof that an agreement ended as Completed (every milestone approved), mutually
/// terminated, or terminated uncontested is final: every function reverts.
contract EscrowStateMachineSymbolic is EscrowStateMachineBase {
    function _covers(uint8 ending) internal pure override returns (bool) {
        return ending <= 2;
    }
}

/// @notice Halmos proof that an agreement terminated by the arbiter's ruling, or terminated while a
/// milestone was under review (through `Closing`, until that milestone was approved), is final:
/// every function reverts.
contract EscrowStateMachineClosingSymbolic is EscrowStateMachineBase {
    function _covers(uint8 ending) internal pure override returns (bool) {
        return ending >= 3;
    }
}
