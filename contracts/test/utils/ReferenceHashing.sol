// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgreementHashing} from "../../src/libraries/AgreementHashing.sol";
import {Agreement, Milestone} from "../../src/types/DataTypes.sol";

/// @notice The plain Solidity EIP-712 struct hash of an agreement: the reference the assembly
/// `AgreementHashing.hash` is checked against (it was the production implementation before).
library ReferenceHashing {
    function hash(Agreement calldata a) internal pure returns (bytes32) {
        Milestone[] calldata ms = a.milestones;
        bytes32[] memory items = new bytes32[](ms.length);
        for (uint256 i; i < ms.length; ++i) {
            items[i] = keccak256(
                abi.encode(
                    AgreementHashing.MILESTONE_TYPEHASH, ms[i].amount, ms[i].deadline, ms[i].reviewWindow
                )
            );
        }
        bytes32 milestonesHash = keccak256(abi.encodePacked(items));
        // Split in two encodes only to stay within the legacy code generator's stack limit.
        bytes memory head = abi.encode(
            AgreementHashing.AGREEMENT_TYPEHASH, a.brand, a.creator, a.arbiter, a.token, a.termsHash
        );
        bytes memory tail = abi.encode(
            a.arbiterFeeBps, a.contestWindow, a.arbitrationWindow, a.deadline, a.salt, milestonesHash
        );
        return keccak256(bytes.concat(head, tail));
    }
}

/// @notice Exposes both implementations to tests through external calls (calldata arguments).
contract HashingHarness {
    function assemblyHash(Agreement calldata a) external pure returns (bytes32) {
        return AgreementHashing.hash(a);
    }

    function referenceHash(Agreement calldata a) external pure returns (bytes32) {
        return ReferenceHashing.hash(a);
    }
}
