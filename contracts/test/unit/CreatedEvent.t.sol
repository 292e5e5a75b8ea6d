// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement} from "../../src/types/DataTypes.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice `AgreementCreated` is emitted by copying canonical calldata; its log must be exactly the
/// one `emit AgreementCreated(id, brand, creator, agreement)` writes, whatever the calldata layout.
contract CreatedEventTest is UnitBase {
    /// @dev Sends `data` to the escrow and returns the single AgreementCreated log it wrote.
    function _createdLog(bytes memory data) internal returns (Vm.Log memory log) {
        vm.recordLogs();
        (bool ok,) = address(escrow).call(data);
        assertTrue(ok, "create");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IPactumEscrow.AgreementCreated.selector) {
                log = logs[i];
                ++found;
            }
        }
        assertEq(found, 1, "one AgreementCreated");
    }

    /// @dev The log equals the compiler's own encoding of the event, and decodes to the agreement.
    function _assertCreatedLog(Vm.Log memory log, Agreement memory a) internal view {
        bytes32 id = escrow.hashAgreement(a);
        assertEq(log.emitter, address(escrow));
        assertEq(log.topics.length, 4);
        assertEq(log.topics[1], id);
        assertEq(log.topics[2], bytes32(uint256(uint160(a.brand))));
        assertEq(log.topics[3], bytes32(uint256(uint160(a.creator))));
        assertEq(log.data, abi.encode(a), "data is abi.encode(agreement)");
        Agreement memory decoded = abi.decode(log.data, (Agreement));
        assertEq(keccak256(abi.encode(decoded)), keccak256(abi.encode(a)), "decodes to the agreement");
    }

    function testFuzz_AgreementCreatedLog_Canonical(uint256 n, uint256 salt) public {
        Agreement memory a = _usd(bound(n, 1, 32));
        a.salt = salt;
        (bytes memory bs, bytes memory cs) = _signatures(a);
        Vm.Log memory log = _createdLog(abi.encodeCall(escrow.create, (a, bs, cs)));
        _assertCreatedLog(log, a);
    }

    /// @dev Hand-crafted calldata with a gap word between the agreement's head and its milestones
    /// (a valid, non-canonical ABI encoding): the fallback emits the same log.
    function test_AgreementCreatedLog_NonCanonicalCalldata() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        bytes memory canonical = abi.encodeCall(escrow.create, (a, bs, cs));
        // Layout: selector | offsets of (agreement, brandSig, creatorSig) | agreement tuple at 0x60 ...
        uint256 tuple = 4 + 0x60;
        uint256 gapAt = tuple + 0x180; // where the milestones array starts, after the 12-word head
        bytes memory data = bytes.concat(
            _slice(canonical, 0, gapAt), bytes32(uint256(0xdead)), _slice(canonical, gapAt, canonical.length)
        );
        _bump(data, 4 + 0x20); // brandSignature's offset
        _bump(data, 4 + 0x40); // creatorSignature's offset
        _bump(data, tuple + 0x160); // milestones' offset (head word 11), relative to the tuple
        Vm.Log memory log = _createdLog(data);
        _assertCreatedLog(log, a);
    }

    function _slice(bytes memory b, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i; i < out.length; ++i) {
            out[i] = b[from + i];
        }
    }

    /// @dev Adds 0x20 to the word at byte `at` of `b`.
    function _bump(bytes memory b, uint256 at) internal pure {
        assembly {
            let p := add(add(b, 0x20), at)
            mstore(p, add(mload(p), 0x20))
        }
    }
}
