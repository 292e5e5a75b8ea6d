// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement, AgreementState, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {RevertingReceiver} from "../mocks/Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice The views, checked against digests computed independently from the EIP-712 type strings.
contract ViewsTest is UnitBase {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant MILESTONE_TYPEHASH =
        keccak256("Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)");
    bytes32 internal constant AGREEMENT_TYPEHASH = keccak256(
        "Agreement(address brand,address creator,address arbiter,address token,bytes32 termsHash,"
        "uint16 arbiterFeeBps,uint32 contestWindow,uint32 arbitrationWindow,uint8 revisionRounds,uint40 deadline,"
        "uint256 salt," "Milestone[] milestones)Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)"
    );
    bytes32 internal constant SETTLEMENT_TYPEHASH = keccak256(
        "Settlement(bytes32 agreementId,uint256 milestone,uint256 creatorAmount,uint32 nonce,uint40 deadline)"
    );
    bytes32 internal constant MUTUAL_TERMINATION_TYPEHASH = keccak256(
        "MutualTermination(bytes32 agreementId,uint256 creatorAmount,uint32 nonce,uint40 deadline)"
    );

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Pactum"), keccak256("1"), block.chainid, address(escrow))
        );
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    function _agreementStructHash(Agreement memory a) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](a.milestones.length);
        for (uint256 i; i < items.length; ++i) {
            items[i] = keccak256(
                abi.encode(
                    MILESTONE_TYPEHASH,
                    a.milestones[i].amount,
                    a.milestones[i].deadline,
                    a.milestones[i].reviewWindow
                )
            );
        }
        bytes memory head =
            abi.encode(AGREEMENT_TYPEHASH, a.brand, a.creator, a.arbiter, a.token, a.termsHash);
        bytes memory tail = abi.encode(
            a.arbiterFeeBps,
            a.contestWindow,
            a.arbitrationWindow,
            a.revisionRounds,
            a.deadline,
            a.salt,
            keccak256(abi.encodePacked(items))
        );
        return keccak256(bytes.concat(head, tail));
    }

    /*//////////////////////////////////////////////////////////////
                                HASHES
    //////////////////////////////////////////////////////////////*/

    function test_Eip712Domain() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = escrow.eip712Domain();
        assertEq(fields, hex"0f");
        assertEq(name, "Pactum");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(escrow));
        assertEq(salt, bytes32(0));
        assertEq(extensions.length, 0);
    }

    function test_HashAgreement() public view {
        Agreement memory a = _usd(3);
        a.milestones[1].amount = 123_456;
        a.milestones[2].reviewWindow = 1;
        a.salt = type(uint256).max;
        a.termsHash = keccak256("other terms");
        assertEq(escrow.hashAgreement(a), _digest(_agreementStructHash(a)));
    }

    function test_HashAgreement_ETHWithoutArbiter() public view {
        Agreement memory a = _withoutArbiter(_eth(1));
        assertEq(escrow.hashAgreement(a), _digest(_agreementStructHash(a)));
    }

    function test_HashAgreement_KnownVector() public view {
        // One fixed agreement, all fields set by hand, hashed by hand.
        Agreement memory a = _usd(1);
        a.brand = address(0x1111);
        a.creator = address(0x2222);
        a.arbiter = address(0x3333);
        a.token = address(0x4444);
        a.termsHash = bytes32(uint256(0x55));
        a.arbiterFeeBps = 66;
        a.contestWindow = 77;
        a.arbitrationWindow = 88;
        a.revisionRounds = 9;
        a.deadline = 99;
        a.salt = 1010;
        a.milestones[0].amount = 1111;
        a.milestones[0].deadline = 1212;
        a.milestones[0].reviewWindow = 1313;
        bytes32 milestoneHash = keccak256(abi.encode(MILESTONE_TYPEHASH, 1111, 1212, 1313));
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(
                    AGREEMENT_TYPEHASH,
                    address(0x1111),
                    address(0x2222),
                    address(0x3333),
                    address(0x4444),
                    bytes32(uint256(0x55))
                ),
                abi.encode(66, 77, 88, 9, 99, 1010, keccak256(abi.encodePacked(milestoneHash)))
            )
        );
        assertEq(escrow.hashAgreement(a), _digest(structHash));
    }

    function test_HashAgreement_EveryFieldMatters() public view {
        Agreement memory a = _usd(2);
        bytes32 base = escrow.hashAgreement(a);
        a.milestones[1].deadline += 1;
        assertTrue(escrow.hashAgreement(a) != base);
        a = _usd(2);
        a.arbiterFeeBps += 1;
        assertTrue(escrow.hashAgreement(a) != base);
        a = _usd(2);
        a.contestWindow += 1;
        assertTrue(escrow.hashAgreement(a) != base);
        a = _usd(2);
        a.token = address(0);
        assertTrue(escrow.hashAgreement(a) != base);
        a = _usd(2);
        a.revisionRounds += 1;
        assertTrue(escrow.hashAgreement(a) != base);
    }

    function test_HashAgreement_FollowsChainId() public {
        Agreement memory a = _usd(1);
        bytes32 before = escrow.hashAgreement(a);
        vm.chainId(31_337 + 1);
        bytes32 afterFork = escrow.hashAgreement(a);
        assertTrue(afterFork != before);
        assertEq(afterFork, _digest(_agreementStructHash(a)));
    }

    function test_HashSettlement() public view {
        bytes32 id = keccak256("id");
        bytes32 expected = _digest(
            keccak256(abi.encode(SETTLEMENT_TYPEHASH, id, uint256(3), uint256(42), uint32(5), uint40(777)))
        );
        assertEq(escrow.hashSettlement(id, 3, 42, 5, 777), expected);
        // The nonce is part of what is signed.
        assertTrue(escrow.hashSettlement(id, 3, 42, 6, 777) != expected);
    }

    function test_HashMutualTermination() public view {
        bytes32 id = keccak256("id");
        bytes32 expected = _digest(
            keccak256(abi.encode(MUTUAL_TERMINATION_TYPEHASH, id, uint256(42), uint32(5), uint40(777)))
        );
        assertEq(escrow.hashMutualTermination(id, 42, 5, 777), expected);
        assertTrue(escrow.hashMutualTermination(id, 42, 4, 777) != expected);
        assertTrue(escrow.hashMutualTermination(id, 42, 5, 777) != escrow.hashSettlement(id, 0, 42, 5, 777));
    }

    /*//////////////////////////////////////////////////////////////
                                 STATE
    //////////////////////////////////////////////////////////////*/

    function test_Constants() public view {
        assertEq(escrow.MAX_MILESTONES(), 32);
        assertEq(escrow.ETH_PUSH_GAS(), 50_000);
        assertEq(escrow.TOKEN_PUSH_GAS(), 100_000);
        assertEq(escrow.MAX_FEE_BPS(), 2000);
        assertEq(escrow.MIN_WINDOW(), 1 hours);
        assertEq(escrow.MAX_WINDOW(), 90 days);
        assertEq(escrow.MAX_REVISION_ROUNDS(), 10);
        assertEq(escrow.MAX_TERM(), 5 * 365 days);
    }

    function test_GetState_Unknown() public view {
        AgreementState memory s = escrow.getState(keccak256("nothing"));
        assertEq(uint8(s.status), uint8(Status.None));
        assertEq(s.nonce, 0);
        assertEq(s.fundedCount, 0);
        assertEq(s.milestones, 0);
    }

    function test_GetState_PackedMilestones() public {
        Agreement memory a = _usd(4);
        bytes32 id = _createFundedN(a, 4);
        _approve(a, 0); // 4 = Approved
        _submit(a, 1); // 1 = Submitted
        _submit(a, 2);
        _dispute(a, 2, creator); // 3 = Disputed
        AgreementState memory s = escrow.getState(id);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertEq(s.nonce, 5, "funding, approval, two submissions, dispute");
        assertEq(s.fundedCount, 4);
        assertEq(s.milestones, uint128(0x0314));
    }

    function test_GetState_LastOfMaxMilestones() public {
        Agreement memory a = _usd(32);
        bytes32 id = _createFundedN(a, 32);
        vm.warp(uint256(a.milestones[31].deadline) + 1);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 31); // 6 = Reclaimed, in the top nibble
        assertEq(escrow.getState(id).milestones, uint128(6) << 124);
        _assertMilestone(id, 31, MilestoneStatus.Reclaimed);
        _assertMilestone(id, 30, MilestoneStatus.Open);
    }

    function test_GetMilestone() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createFunded(a);
        (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.Open));
        assertEq(since, 0);
        assertEq(revisions, 0);
        vm.warp(block.timestamp + 5);
        _submit(a, 0);
        (st, since, revisions) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.Submitted));
        assertEq(since, block.timestamp);
        assertEq(revisions, 0);
        vm.warp(block.timestamp + 7);
        _requestRevision(a, 0);
        (st, since, revisions) = escrow.getMilestone(id, 0);
        assertEq(uint8(st), uint8(MilestoneStatus.RevisionRequested));
        assertEq(since, block.timestamp);
        assertEq(revisions, 1);
    }

    /// @dev Clocks pack five milestones per word: neighbours across a word boundary and the last
    /// milestone keep their own time and revision count.
    function test_GetMilestone_ClocksIndependent() public {
        Agreement memory a = _usd(32);
        a.revisionRounds = 10;
        bytes32 id = _createFunded(a);
        uint256[4] memory ms = [uint256(4), 5, 30, 31];
        for (uint256 k; k < ms.length; ++k) {
            vm.warp(block.timestamp + 1);
            _submit(a, ms[k]);
            for (uint256 r; r < k + 1; ++r) {
                _requestRevision(a, ms[k]);
                _submit(a, ms[k]);
            }
        }
        uint256 start = block.timestamp - ms.length + 1;
        for (uint256 k; k < ms.length; ++k) {
            (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, ms[k]);
            assertEq(uint8(st), uint8(MilestoneStatus.Submitted));
            assertEq(since, start + k, "since");
            assertEq(revisions, k + 1, "revisions");
        }
        (, uint40 s3, uint8 r3) = escrow.getMilestone(id, 3);
        (, uint40 s6, uint8 r6) = escrow.getMilestone(id, 6);
        assertEq(s3, 0);
        assertEq(r3, 0);
        assertEq(s6, 0);
        assertEq(r6, 0);
    }

    /// @dev Milestone indices from MAX_MILESTONES (32) up read as an empty milestone: no status, time
    /// or revisions, whatever the agreement's state.
    function test_GetMilestone_OutOfRange() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createFunded(a);
        _approve(a, 0);
        (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, 5);
        assertEq(uint8(st), uint8(MilestoneStatus.Open));
        assertEq(since, 0);
        assertEq(revisions, 0);
        (st, since, revisions) = escrow.getMilestone(id, 32);
        assertEq(uint8(st), uint8(MilestoneStatus.Open));
        assertEq(since, 0);
        assertEq(revisions, 0);
        (st, since, revisions) = escrow.getMilestone(id, type(uint256).max);
        assertEq(uint8(st), uint8(MilestoneStatus.Open));
        assertEq(since, 0);
        assertEq(revisions, 0);
    }

    function test_Claimable() public {
        assertEq(escrow.claimable(address(0), creator), 0);
        Agreement memory a = _eth(1);
        _createFunded(a);
        vm.etch(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);
        assertEq(escrow.claimable(address(usd), creator), 0);
        assertEq(escrow.claimable(address(0), brand), 0);
    }
}
