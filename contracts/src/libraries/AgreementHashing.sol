// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement} from "../types/DataTypes.sol";

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
        "uint16 arbiterFeeBps,uint32 contestWindow,uint32 arbitrationWindow,uint8 revisionRounds,uint40 deadline,"
        "uint256 salt," "Milestone[] milestones)Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)"
    );

    /// @notice keccak256 of the Settlement type string.
    bytes32 internal constant SETTLEMENT_TYPEHASH = keccak256(
        "Settlement(bytes32 agreementId,uint256 milestone,uint256 creatorAmount,uint32 nonce,uint40 deadline)"
    );

    /// @notice keccak256 of the MutualTermination type string.
    bytes32 internal constant MUTUAL_TERMINATION_TYPEHASH = keccak256(
        "MutualTermination(bytes32 agreementId,uint256 creatorAmount,uint32 nonce,uint40 deadline)"
    );

    /// @notice The EIP-712 struct hash of an agreement, computed straight from calldata.
    /// @dev Equal to `keccak256(abi.encode(AGREEMENT_TYPEHASH, brand, ..., salt,
    /// keccak256(abi.encodePacked(milestoneHashes))))` with each milestone hash
    /// `keccak256(abi.encode(MILESTONE_TYPEHASH, amount, deadline, reviewWindow))`; a differential fuzz
    /// test checks it against that Solidity reference. Reverts (empty data, like the ABI decoder) when a
    /// field has dirty upper bits or the milestones array lies outside calldata, so the hash is always
    /// that of the ABI-decoded values.
    function hash(Agreement calldata a) internal pure returns (bytes32 result) {
        bytes32 milestoneTypehash = MILESTONE_TYPEHASH;
        bytes32 agreementTypehash = AGREEMENT_TYPEHASH;
        assembly ("memory-safe") {
            // `a` is the calldata offset of the agreement's head: eleven value words (brand .. salt)
            // then, at word 11, the offset of the milestones array relative to `a`. The ABI decoder
            // of the external function has already checked that these 12 words lie in calldata.
            // Scratch area: free memory from the free memory pointer on, never allocated (the
            // pointer is not advanced), so it is free for temporary use.
            let p := mload(0x40)

            // Locate the milestones array with exactly the checks Solidity makes on `a.milestones`: the
            // (signed) offset must leave room for the length word, the length must fit 64 bits, and
            // all `length` elements (3 words each) must lie within calldata.
            let rel := calldataload(add(a, 0x160))
            if iszero(slt(rel, sub(sub(calldatasize(), a), 0x1f))) { revert(0, 0) }
            let lenPtr := add(a, rel)
            let n := calldataload(lenPtr)
            if gt(n, 0xffffffffffffffff) { revert(0, 0) }
            let ms := add(lenPtr, 0x20)
            if sgt(ms, sub(calldatasize(), mul(n, 0x60))) { revert(0, 0) }

            // Milestone hashes. Memory layout: [p, p+0x80) holds the milestone encoding
            // (MILESTONE_TYPEHASH, amount, deadline, reviewWindow); the hashes go, one word each, to
            // [p+0x80, p+0x80+32n). `dirty` collects every value bit above a field's type width.
            mstore(p, milestoneTypehash)
            let hashes := add(p, 0x80)
            let dirty := 0
            // Element i sits at ms + 0x60 i: amount, deadline (uint40), reviewWindow (uint32). `src`
            // walks the elements and `dst` the hash slots.
            let dst := hashes
            let hashesEnd := add(hashes, shl(5, n))
            for { let src := ms } lt(dst, hashesEnd) {
                src := add(src, 0x60)
                dst := add(dst, 0x20)
            } {
                // The three words after the typehash.
                calldatacopy(add(p, 0x20), src, 0x60)
                dirty := or(dirty, or(shr(40, mload(add(p, 0x40))), shr(32, mload(add(p, 0x60)))))
                // Its struct hash, stored at hashes[i].
                mstore(dst, keccak256(p, 0x80))
            }
            // keccak256 of the concatenated milestone hashes (EIP-712 encoding of Milestone[]).
            let milestonesHash := keccak256(hashes, sub(hashesEnd, hashes))

            // Agreement encoding at [p, p+0x1a0): AGREEMENT_TYPEHASH, the eleven head words copied as
            // they are (brand, creator, arbiter, token, termsHash, arbiterFeeBps, contestWindow,
            // arbitrationWindow, revisionRounds, deadline, salt), then milestonesHash. Overwrites the
            // milestone area, which is no longer needed.
            mstore(p, agreementTypehash)
            calldatacopy(add(p, 0x20), a, 0x160)
            mstore(add(p, 0x180), milestonesHash)

            // Dirty bits of the head: the four addresses (160 bits), arbiterFeeBps (16),
            // contestWindow and arbitrationWindow (32), revisionRounds (8), deadline (40). termsHash and
            // salt are full words.
            // Fields of one width are OR-ed first, so one shift tests them all.
            dirty := or(
                dirty,
                shr(
                    160, // brand | creator | arbiter | token
                    or(
                        or(mload(add(p, 0x20)), mload(add(p, 0x40))),
                        or(mload(add(p, 0x60)), mload(add(p, 0x80)))
                    )
                )
            )
            dirty := or(dirty, shr(16, mload(add(p, 0xc0)))) // arbiterFeeBps
            dirty := or(dirty, shr(32, or(mload(add(p, 0xe0)), mload(add(p, 0x100))))) // both windows
            dirty := or(dirty, shr(8, mload(add(p, 0x120)))) // revisionRounds
            dirty := or(dirty, shr(40, mload(add(p, 0x140)))) // deadline
            // Any dirty bit: the ABI-decoded agreement is not what was encoded; refuse it.
            if dirty { revert(0, 0) }

            // The agreement's struct hash.
            result := keccak256(p, 0x1a0)
        }
    }

    /// @notice The EIP-712 struct hash of a settlement of one milestone.
    function hashSettlement(
        bytes32 id,
        uint256 milestone,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(SETTLEMENT_TYPEHASH, id, milestone, creatorAmount, nonce, deadline));
    }

    /// @notice The EIP-712 struct hash of a mutual termination.
    function hashMutualTermination(bytes32 id, uint256 creatorAmount, uint32 nonce, uint40 deadline)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(MUTUAL_TERMINATION_TYPEHASH, id, creatorAmount, nonce, deadline));
    }
}
