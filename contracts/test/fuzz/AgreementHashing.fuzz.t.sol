// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {PactumEscrow} from "../../src/PactumEscrow.sol";
import {AgreementHashing} from "../../src/libraries/AgreementHashing.sol";
import {Agreement, Milestone} from "../../src/types/DataTypes.sol";

/// @notice The plain Solidity EIP-712 struct hash of an agreement (revision rounds included): the
/// reference the assembly `AgreementHashing.hash` is checked against (plain Solidity was the
/// production implementation before the assembly one).
library ReferenceAgreementHash {
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
            a.arbiterFeeBps,
            a.contestWindow,
            a.arbitrationWindow,
            a.revisionRounds,
            a.deadline,
            a.salt,
            milestonesHash
        );
        return keccak256(bytes.concat(head, tail));
    }
}

/// @notice Exposes both implementations to tests through external calls (calldata arguments).
contract AgreementHashingHarness {
    function assemblyHash(Agreement calldata a) external pure returns (bytes32) {
        return AgreementHashing.hash(a);
    }

    function referenceHash(Agreement calldata a) external pure returns (bytes32) {
        return ReferenceAgreementHash.hash(a);
    }
}

/// @notice The assembly `AgreementHashing.hash` against the plain Solidity reference: equal hashes
/// for every well-formed agreement, and the same accept/revert decision on malformed calldata.
contract AgreementHashingFuzzTest is Test {
    AgreementHashingHarness internal harness;
    PactumEscrow internal escrow;

    // Word offsets inside calldata of `f(Agreement)`: 4-byte selector, then the tuple's offset word,
    // then the tuple's head (12 words: 11 values and the milestones' offset), then the milestones
    // array (length word, 3 words per element).
    uint256 internal constant HEAD = 4 + 0x20;
    uint256 internal constant MILESTONES = HEAD + 0x180;

    /// @dev The agreement's scalar fields, as one fuzz input (twelve separate parameters are too
    /// deep a stack for the unoptimized build `forge coverage` makes).
    struct Head {
        address brand;
        address creator;
        address arbiter;
        address token;
        bytes32 termsHash;
        uint16 fee;
        uint32 contest;
        uint32 arbitration;
        uint8 rounds;
        uint40 deadline;
        uint256 salt;
    }

    function setUp() public {
        harness = new AgreementHashingHarness();
        escrow = new PactumEscrow();
    }

    function _random(Head memory h, uint256 n, uint256 seed) internal pure returns (Agreement memory a) {
        a.brand = h.brand;
        a.creator = h.creator;
        a.arbiter = h.arbiter;
        a.token = h.token;
        a.termsHash = h.termsHash;
        a.arbiterFeeBps = h.fee;
        a.contestWindow = h.contest;
        a.arbitrationWindow = h.arbitration;
        a.revisionRounds = h.rounds;
        a.deadline = h.deadline;
        a.salt = h.salt;
        n = bound(n, 1, 32);
        a.milestones = new Milestone[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            a.milestones[i] = Milestone({
                amount: uint256(keccak256(abi.encode(r))), deadline: uint40(r), reviewWindow: uint32(r >> 64)
            });
        }
    }

    function _sample(uint256 seed) internal pure returns (Agreement memory) {
        return _random(
            Head({
                brand: address(0xB),
                creator: address(0xC),
                arbiter: address(0xA),
                token: address(0x70),
                termsHash: keccak256("terms"),
                fee: 250,
                contest: 2 days,
                arbitration: 7 days,
                rounds: 2,
                deadline: 1_750_000_000,
                salt: seed
            }),
            1 + seed % 32,
            seed
        );
    }

    /// @dev Calls the harness with raw calldata; returns whether it succeeded and the hash.
    function _call(bytes memory data) internal view returns (bool ok, bytes32 h) {
        bytes memory ret;
        (ok, ret) = address(harness).staticcall(data);
        if (ok) h = abi.decode(ret, (bytes32));
    }

    function _setWord(bytes memory data, uint256 at, uint256 value) internal pure {
        assembly {
            mstore(add(add(data, 0x20), at), value)
        }
    }

    function _word(bytes memory data, uint256 at) internal pure returns (uint256 value) {
        assembly {
            value := mload(add(add(data, 0x20), at))
        }
    }

    function testFuzz_AssemblyHashEqualsReference(Head memory h, uint256 n, uint256 seed) public view {
        Agreement memory a = _random(h, n, seed);
        assertEq(harness.assemblyHash(a), harness.referenceHash(a));
    }

    /// @dev Any single calldata word overwritten with any value (dirty bits, bad offsets, bad
    /// lengths): the assembly accepts exactly when the reference does, and then hashes the same.
    function testFuzz_MalformedCalldataMatchesReference(uint256 seed, uint256 wordIndex, uint256 value)
        public
        view
    {
        Agreement memory a = _sample(seed);
        bytes memory asmData = abi.encodeCall(AgreementHashingHarness.assemblyHash, (a));
        bytes memory refData = abi.encodeCall(AgreementHashingHarness.referenceHash, (a));
        uint256 at = 4 + 0x20 * bound(wordIndex, 1, (asmData.length - 4) / 0x20 - 1);
        _setWord(asmData, at, value);
        _setWord(refData, at, value);
        (bool asmOk, bytes32 asmHash) = _call(asmData);
        (bool refOk, bytes32 refHash) = _call(refData);
        assertEq(asmOk, refOk, "same accept/revert decision");
        assertEq(asmHash, refHash);
    }

    /// @dev A dirty bit just above a field's width: `widths[k]` is the bit width of head word k, zero
    /// for full words.
    function testFuzz_DirtyUpperBitsRevert(uint256 seed, uint256 field, uint256 bit) public view {
        uint8[11] memory widths = [160, 160, 160, 160, 0, 16, 32, 32, 8, 40, 0];
        Agreement memory a = _sample(seed);
        uint256 n = a.milestones.length;
        // Fields: 0..10 the head; then per milestone deadline (uint40) and reviewWindow (uint32).
        field = bound(field, 0, 10 + 2 * n);
        uint256 at;
        uint256 width;
        if (field < 11) {
            if (widths[field] == 0) field = 0; // full-word fields cannot be dirty: use brand instead
            at = HEAD + 0x20 * field;
            width = widths[field];
        } else {
            uint256 i = (field - 11) / 2;
            bool isDeadline = (field - 11) % 2 == 0;
            at = MILESTONES + 0x20 + i * 0x60 + (isDeadline ? 0x20 : 0x40);
            width = isDeadline ? 40 : 32;
        }
        bit = bound(bit, width, 255);
        _dirtyReverts(a, at, 1 << bit);
    }

    function _dirtyReverts(Agreement memory a, uint256 at, uint256 dirt) internal view {
        bytes memory asmData = abi.encodeCall(AgreementHashingHarness.assemblyHash, (a));
        _setWord(asmData, at, _word(asmData, at) | dirt);
        (bool ok,) = _call(asmData);
        assertFalse(ok, "assembly hash accepted dirty bits");
        // The reference (the ABI decoder) refuses it as well.
        bytes memory refData = abi.encodeCall(AgreementHashingHarness.referenceHash, (a));
        _setWord(refData, at, _word(refData, at) | dirt);
        (ok,) = _call(refData);
        assertFalse(ok, "reference accepted dirty bits");
        // And so does the escrow's own view, which uses the assembly hash.
        bytes memory escrowData = abi.encodeCall(PactumEscrow.hashAgreement, (a));
        _setWord(escrowData, at, _word(escrowData, at) | dirt);
        (ok,) = address(escrow).staticcall(escrowData);
        assertFalse(ok, "escrow accepted dirty bits");
    }

    /// @dev Hand-crafted calldata with one dirty bit in each narrow field: every one reverts.
    function test_DirtyUpperBitsRevert_EachField() public view {
        Agreement memory a = _sample(3); // 4 milestones
        _dirtyReverts(a, HEAD + 0x00, 1 << 160); // brand
        _dirtyReverts(a, HEAD + 0x20, 1 << 160); // creator
        _dirtyReverts(a, HEAD + 0x40, 1 << 255); // arbiter
        _dirtyReverts(a, HEAD + 0x60, 1 << 200); // token
        _dirtyReverts(a, HEAD + 0xa0, 1 << 16); // arbiterFeeBps
        _dirtyReverts(a, HEAD + 0xc0, 1 << 32); // contestWindow
        _dirtyReverts(a, HEAD + 0xe0, 1 << 32); // arbitrationWindow
        _dirtyReverts(a, HEAD + 0x100, 1 << 8); // revisionRounds
        _dirtyReverts(a, HEAD + 0x100, 1 << 255); // revisionRounds
        _dirtyReverts(a, HEAD + 0x120, 1 << 40); // deadline
        _dirtyReverts(a, MILESTONES + 0x20 + 0x20, 1 << 40); // milestone 0 deadline
        _dirtyReverts(a, MILESTONES + 0x20 + 0x40, 1 << 32); // milestone 0 reviewWindow
        _dirtyReverts(a, MILESTONES + 0x20 + 3 * 0x60 + 0x20, 1 << 255); // milestone 3 deadline
        _dirtyReverts(a, MILESTONES + 0x20 + 3 * 0x60 + 0x40, 1 << 100); // milestone 3 reviewWindow
    }

    /// @dev Clean calldata: the hand-crafted encoding hashes to the reference, and full-word fields
    /// (termsHash, salt, amounts) take any value.
    function test_CleanCalldataHashesLikeReference() public view {
        Agreement memory a = _sample(7);
        a.termsHash = bytes32(type(uint256).max);
        a.salt = type(uint256).max;
        a.milestones[0].amount = type(uint256).max;
        a.brand = address(type(uint160).max);
        a.arbiterFeeBps = type(uint16).max;
        a.contestWindow = type(uint32).max;
        a.arbitrationWindow = type(uint32).max;
        a.revisionRounds = type(uint8).max;
        a.deadline = type(uint40).max;
        a.milestones[0].deadline = type(uint40).max;
        a.milestones[0].reviewWindow = type(uint32).max;
        (bool ok, bytes32 h) = _call(abi.encodeCall(AgreementHashingHarness.assemblyHash, (a)));
        assertTrue(ok);
        assertEq(h, harness.referenceHash(a));
    }

    /// @dev A milestones array reaching past the end of calldata reverts, like the ABI decoder.
    function test_TruncatedMilestonesRevert() public view {
        Agreement memory a = _sample(2);
        bytes memory data = abi.encodeCall(AgreementHashingHarness.assemblyHash, (a));
        _setWord(data, MILESTONES, a.milestones.length + 1); // one element more than is there
        (bool ok,) = _call(data);
        assertFalse(ok);
        _setWord(data, MILESTONES, 1 << 64); // a length above 64 bits
        (ok,) = _call(data);
        assertFalse(ok);
        _setWord(data, MILESTONES, a.milestones.length);
        _setWord(data, HEAD + 0x160, data.length); // the offset past the end
        (ok,) = _call(data);
        assertFalse(ok);
    }
}
