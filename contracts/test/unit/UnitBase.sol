// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement, MilestoneStatus, Permit, Status} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";

/// @notice Helpers shared by the unit tests, on top of the common fixture.
abstract contract UnitBase is Base {
    address internal payee = makeAddr("payee");
    bytes32 internal constant REASON = keccak256("reason");

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /*//////////////////////////////////////////////////////////////
                               BUILDERS
    //////////////////////////////////////////////////////////////*/

    function _eth(uint256 n) internal view returns (Agreement memory) {
        return _agreement(address(0), n);
    }

    function _usd(uint256 n) internal view returns (Agreement memory) {
        return _agreement(address(usd), n);
    }

    /// @dev No arbiter: no fee either (a fee without an arbiter is refused).
    function _withoutArbiter(Agreement memory a) internal pure returns (Agreement memory) {
        a.arbiter = address(0);
        a.arbiterFeeBps = 0;
        a.arbitrationWindow = 0;
        return a;
    }

    function _nonce(bytes32 id) internal view returns (uint32) {
        return escrow.getState(id).nonce;
    }

    /// @dev Creates `a` without funding it.
    function _createOnly(Agreement memory a) internal returns (bytes32 id) {
        (bytes memory bs, bytes memory cs) = _signatures(a);
        id = escrow.create(a, bs, cs);
    }

    /// @dev Creates `a` and funds its first `count` milestones from the brand.
    function _createFundedN(Agreement memory a, uint256 count) internal returns (bytes32 id) {
        (bytes memory bs, bytes memory cs) = _signatures(a);
        uint256 value;
        if (a.token == address(0)) {
            for (uint256 i; i < count; ++i) {
                value += a.milestones[i].amount;
            }
        }
        vm.prank(brand);
        id = escrow.createAndFund{value: value}(a, bs, cs, count);
    }

    function _signBoth(bytes32 digest) internal view returns (bytes memory bs, bytes memory cs) {
        bs = _sign(brandKey, digest);
        cs = _sign(creatorKey, digest);
    }

    function _permit(uint256 key, uint256 value, uint256 deadline) internal view returns (Permit memory p) {
        address owner = vm.addr(key);
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, owner, address(escrow), value, usd.nonces(owner), deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", usd.DOMAIN_SEPARATOR(), structHash));
        (p.v, p.r, p.s) = vm.sign(key, digest);
        p.deadline = deadline;
    }

    /*//////////////////////////////////////////////////////////////
                               ACTIONS
    //////////////////////////////////////////////////////////////*/

    function _approve(Agreement memory a, uint256 i) internal {
        vm.prank(a.brand);
        escrow.approve(a, i);
    }

    function _requestRevision(Agreement memory a, uint256 i) internal {
        vm.prank(a.brand);
        escrow.requestRevision(a, i, REASON);
    }

    function _dispute(Agreement memory a, uint256 i, address by) internal {
        vm.prank(by);
        escrow.dispute(a, i, REASON);
    }

    function _terminate(Agreement memory a, address by) internal {
        vm.prank(by);
        escrow.terminate(a, REASON);
    }

    function _contest(Agreement memory a, address by) internal {
        vm.prank(by);
        escrow.contestTermination(a);
    }

    /*//////////////////////////////////////////////////////////////
                              ASSERTIONS
    //////////////////////////////////////////////////////////////*/

    function _assertStatus(bytes32 id, Status expected) internal view {
        assertEq(uint8(_status(id)), uint8(expected), "agreement status");
    }

    function _assertMilestone(bytes32 id, uint256 i, MilestoneStatus expected) internal view {
        assertEq(uint8(_milestoneStatus(id, i)), uint8(expected), "milestone status");
    }

    function _expectWrongStatus(bytes32 id, Status status) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_WrongStatus.selector, id, uint8(status)));
    }

    function _expectWrongMilestoneStatus(uint256 i, MilestoneStatus status) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_WrongMilestoneStatus.selector, i, status));
    }

    function _expectUnauthorized(address caller) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_Unauthorized.selector, caller));
    }

    /// @dev Every state-changing entry point after `create` reverts with Escrow_WrongStatus(id, status):
    /// used for agreements that do not exist or have ended.
    function _assertFrozen(Agreement memory a, bytes32 id, Status status) internal {
        Permit memory p;
        vm.startPrank(a.brand);
        _expectWrongStatus(id, status);
        escrow.fund(a, 0, 1);
        _expectWrongStatus(id, status);
        escrow.fundWithPermit(a, 0, 1, p);
        _expectWrongStatus(id, status);
        escrow.approve(a, 0);
        _expectWrongStatus(id, status);
        escrow.requestRevision(a, 0, REASON);
        _expectWrongStatus(id, status);
        escrow.reclaimAfterDeadline(a, 0);
        _expectWrongStatus(id, status);
        escrow.dispute(a, 0, REASON);
        _expectWrongStatus(id, status);
        escrow.resolveDisputeAfterTimeout(a, 0);
        _expectWrongStatus(id, status);
        escrow.settle(a, 0, 0, 0, type(uint40).max, "", "");
        _expectWrongStatus(id, status);
        escrow.terminate(a, REASON);
        _expectWrongStatus(id, status);
        escrow.finalizeTermination(a);
        _expectWrongStatus(id, status);
        escrow.resolveTerminationAfterTimeout(a);
        _expectWrongStatus(id, status);
        escrow.terminateMutually(a, 0, 0, type(uint40).max, "", "");
        vm.stopPrank();

        vm.startPrank(a.creator);
        _expectWrongStatus(id, status);
        escrow.submit(a, 0, bytes32(0), "");
        _expectWrongStatus(id, status);
        escrow.claimAfterSilence(a, 0);
        _expectWrongStatus(id, status);
        escrow.contestTermination(a);
        vm.stopPrank();

        vm.startPrank(arbiter);
        _expectWrongStatus(id, status);
        escrow.resolveDispute(a, 0, 5000);
        _expectWrongStatus(id, status);
        escrow.resolveTermination(a, 5000);
        vm.stopPrank();

        _expectWrongStatus(id, status);
        vm.prank(a.brand);
        escrow.cancelSignatures(a);
    }
}
