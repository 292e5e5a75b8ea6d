// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement, Milestone} from "../types/DataTypes.sol";

/// @title AgreementHashing
/// @notice EIP-712 struct hashes of the typed data parties sign. The type strings here are the
/// contract's half of the wire format: the Rust core crate builds the same ones, and a test checks
/// both produce the same digest.
library AgreementHashing {
    /// @notice keccak256 of the Milestone type string.
    bytes32 internal constant MILESTONE_TYPEHASH =
        keccak256("Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)");

    /// @notice keccak256 of the Agreement type string (referenced types appended, as EIP-712 says).
    bytes32 internal constant AGREEMENT_TYPEHASH = keccak256(
        "Agreement(address brand,address creator,address arbiter,address token,bytes32 termsHash,"
        "uint16 arbiterFeeBps,uint32 contestWindow,uint32 arbitrationWindow,uint40 deadline,uint256 salt,"
        "Milestone[] milestones)Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)"
    );

    /// @notice keccak256 of the Settlement type string.
    bytes32 internal constant SETTLEMENT_TYPEHASH =
        keccak256("Settlement(bytes32 agreementId,uint256 milestone,uint256 creatorAmount,uint40 deadline)");

    /// @notice keccak256 of the MutualTermination type string.
    bytes32 internal constant MUTUAL_TERMINATION_TYPEHASH =
        keccak256("MutualTermination(bytes32 agreementId,uint256 creatorAmount,uint40 deadline)");

    /// @notice The EIP-712 struct hash of an agreement.
    function hash(Agreement calldata a) internal pure returns (bytes32) {
        Milestone[] calldata ms = a.milestones;
        bytes32[] memory items = new bytes32[](ms.length);
        for (uint256 i; i < ms.length; ++i) {
            items[i] =
                keccak256(abi.encode(MILESTONE_TYPEHASH, ms[i].amount, ms[i].deadline, ms[i].reviewWindow));
        }
        bytes32 milestonesHash = keccak256(abi.encodePacked(items));
        // Split in two encodes only to stay within the legacy code generator's stack limit.
        bytes memory head =
            abi.encode(AGREEMENT_TYPEHASH, a.brand, a.creator, a.arbiter, a.token, a.termsHash);
        bytes memory tail = abi.encode(
            a.arbiterFeeBps, a.contestWindow, a.arbitrationWindow, a.deadline, a.salt, milestonesHash
        );
        return keccak256(bytes.concat(head, tail));
    }

    /// @notice The EIP-712 struct hash of a settlement of one milestone.
    function hashSettlement(bytes32 id, uint256 milestone, uint256 creatorAmount, uint40 deadline)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(SETTLEMENT_TYPEHASH, id, milestone, creatorAmount, deadline));
    }

    /// @notice The EIP-712 struct hash of a mutual termination.
    function hashMutualTermination(bytes32 id, uint256 creatorAmount, uint40 deadline)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(MUTUAL_TERMINATION_TYPEHASH, id, creatorAmount, deadline));
    }
}
