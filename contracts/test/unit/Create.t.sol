// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PactumEscrow} from "../../src/PactumEscrow.sol";
import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Vm} from "forge-std/Vm.sol";

import {Agreement, AgreementState, Milestone, Permit, Status} from "../../src/types/DataTypes.sol";
import {MockERC1271Wallet, RevertingReceiver} from "../mocks/Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

contract CreateTest is UnitBase {
    function _expectInvalidParties(Agreement memory x) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_InvalidParties.selector, x.brand, x.creator, x.arbiter
            )
        );
    }

    function _expectInvalidSignature(address signer) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, signer));
    }

    /*//////////////////////////////////////////////////////////////
                                SUCCESS
    //////////////////////////////////////////////////////////////*/

    function test_Create() public {
        Agreement memory a = _usd(3);
        bytes32 expectedId = escrow.hashAgreement(a);
        (bytes memory bs, bytes memory cs) = _signatures(a);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCreated(expectedId, brand, creator, a);
        vm.prank(brand);
        bytes32 id = escrow.create(a, bs, cs);

        assertEq(id, expectedId, "id");
        AgreementState memory s = escrow.getState(id);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertEq(s.nonce, 0, "creation starts the state nonce at zero");
        assertEq(s.fundedCount, 0);
        assertEq(s.terminatedBy, 0);
        assertFalse(s.contested);
        assertEq(s.since, 0);
        assertEq(s.milestones, 0);
        assertEq(usd.balanceOf(address(escrow)), 0, "create moves no money");
    }

    function test_Create_ByAnyone() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.prank(stranger);
        bytes32 id = escrow.create(a, bs, cs);
        _assertStatus(id, Status.Active);
    }

    function test_Create_WithoutArbiter() public {
        Agreement memory a = _usd(3);
        _withoutArbiter(a);
        bytes32 id = _createOnly(a);
        _assertStatus(id, Status.Active);
    }

    function test_Create_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createOnly(a);
        _assertStatus(id, Status.Active);
    }

    function test_Create_MaxMilestones() public {
        Agreement memory a = _usd(32);
        bytes32 id = _createOnly(a);
        _assertStatus(id, Status.Active);
    }

    function test_Create_FeeAtMax() public {
        Agreement memory a = _usd(3);
        a.arbiterFeeBps = uint16(escrow.MAX_FEE_BPS());
        bytes32 id = _createOnly(a);
        _assertStatus(id, Status.Active);
    }

    function test_Create_WindowsAtBounds() public {
        Agreement memory a = _usd(2);
        a.contestWindow = uint32(escrow.MIN_WINDOW());
        a.arbitrationWindow = uint32(escrow.MAX_WINDOW());
        a.milestones[0].reviewWindow = uint32(escrow.MIN_WINDOW());
        a.milestones[1].reviewWindow = uint32(escrow.MAX_WINDOW());
        _assertStatus(_createOnly(a), Status.Active);
        a.salt = 2;
        a.contestWindow = uint32(escrow.MAX_WINDOW());
        a.arbitrationWindow = uint32(escrow.MIN_WINDOW());
        _assertStatus(_createOnly(a), Status.Active);
    }

    /// @dev Without an arbiter nobody can contest a termination: a contest window of zero is allowed,
    /// and the (unused) arbitration window is not checked.
    function test_Create_WithoutArbiter_ZeroContestWindow() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        a.contestWindow = 0;
        a.arbitrationWindow = type(uint32).max;
        _assertStatus(_createOnly(a), Status.Active);
    }

    function test_Create_WithoutArbiter_ContestWindowAtMax() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        a.contestWindow = uint32(escrow.MAX_WINDOW());
        _assertStatus(_createOnly(a), Status.Active);
    }

    function test_Create_DeadlineAtMaxTerm() public {
        Agreement memory a = _usd(2);
        a.milestones[0].deadline = uint40(block.timestamp + 1);
        a.milestones[1].deadline = uint40(block.timestamp + escrow.MAX_TERM());
        _assertStatus(_createOnly(a), Status.Active);
    }

    function test_Create_MaxRevisionRounds() public {
        Agreement memory a = _usd(1);
        a.revisionRounds = uint8(escrow.MAX_REVISION_ROUNDS());
        _assertStatus(_createOnly(a), Status.Active);
        a.salt = 2;
        a.revisionRounds = 0;
        _assertStatus(_createOnly(a), Status.Active);
    }

    function test_Create_AtSignatureDeadline() public {
        Agreement memory a = _usd(3);
        vm.warp(a.deadline);
        _createOnly(a);
    }

    function test_Create_DifferentSaltDifferentId() public {
        Agreement memory a = _usd(3);
        bytes32 id1 = _createOnly(a);
        a.salt = 2;
        bytes32 id2 = _createOnly(a);
        assertTrue(id1 != id2);
        _assertStatus(id2, Status.Active);
    }

    function test_Create_ERC1271Brand() public {
        Agreement memory a = _usd(3);
        MockERC1271Wallet wallet = new MockERC1271Wallet(brand);
        a.brand = address(wallet);
        // The wallet's owner signs the agreement id; the wallet vouches for it through EIP-1271.
        bytes32 id = escrow.hashAgreement(a);
        bytes memory bs = _sign(brandKey, id);
        bytes memory cs = _sign(creatorKey, id);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCreated(id, address(wallet), creator, a);
        escrow.create(a, bs, cs);
        _assertStatus(id, Status.Active);
    }

    function test_Create_ERC1271Creator() public {
        Agreement memory a = _usd(3);
        MockERC1271Wallet wallet = new MockERC1271Wallet(creator);
        a.creator = address(wallet);
        bytes32 id = escrow.hashAgreement(a);
        escrow.create(a, _sign(brandKey, id), _sign(creatorKey, id));
        _assertStatus(id, Status.Active);
    }

    /*//////////////////////////////////////////////////////////////
                              PARTIES
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_BrandIsZero() public {
        Agreement memory a = _usd(3);
        a.brand = address(0);
        _expectInvalidParties(a);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_CreatorIsZero() public {
        Agreement memory a = _usd(3);
        a.creator = address(0);
        _expectInvalidParties(a);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_BrandIsCreator() public {
        Agreement memory a = _usd(3);
        a.creator = brand;
        _expectInvalidParties(a);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ArbiterIsBrand() public {
        Agreement memory a = _usd(3);
        a.arbiter = brand;
        _expectInvalidParties(a);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ArbiterIsCreator() public {
        Agreement memory a = _usd(3);
        a.arbiter = creator;
        _expectInvalidParties(a);
        escrow.create(a, "", "");
    }

    /*//////////////////////////////////////////////////////////////
                              TERMS
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_NoMilestones() public {
        Agreement memory a = _usd(3);
        a.milestones = new Milestone[](0);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestoneCount.selector, 0, 32));
        escrow.create(a, "", "");
    }

    function test_RevertWhen_MoreThanMaxMilestones() public {
        Agreement memory a = _usd(33);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidMilestoneCount.selector, 33, 32));
        escrow.create(a, "", "");
    }

    function test_RevertWhen_MilestoneAmountIsZero() public {
        Agreement memory a = _usd(3);
        a.milestones[1].amount = 0;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_ZeroAmount.selector, 1));
        escrow.create(a, "", "");
    }

    function _expectInvalidWindow(uint256 window) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidWindow.selector, window));
    }

    function _expectInvalidDeadline(uint256 i, uint256 deadline) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidDeadline.selector, i, deadline));
    }

    function test_RevertWhen_FeeAboveMax() public {
        Agreement memory a = _usd(3);
        a.arbiterFeeBps = 2001;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFee.selector, 2001));
        escrow.create(a, "", "");
        // The old ceiling, a fee of the whole amount, is far above it.
        a.arbiterFeeBps = 10_000;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFee.selector, 10_000));
        escrow.create(a, "", "");
    }

    function test_RevertWhen_FeeWithoutArbiter() public {
        Agreement memory a = _withoutArbiter(_usd(3));
        a.arbiterFeeBps = 1;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFee.selector, 1));
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ArbiterWithZeroArbitrationWindow() public {
        Agreement memory a = _usd(3);
        a.arbitrationWindow = 0;
        _expectInvalidWindow(0);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ArbitrationWindowBelowMin() public {
        Agreement memory a = _usd(1);
        a.arbitrationWindow = 1 hours - 1;
        _expectInvalidWindow(1 hours - 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ArbitrationWindowAboveMax() public {
        Agreement memory a = _usd(1);
        a.arbitrationWindow = 90 days + 1;
        _expectInvalidWindow(90 days + 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ArbiterWithZeroContestWindow() public {
        Agreement memory a = _usd(1);
        a.contestWindow = 0;
        _expectInvalidWindow(0);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ContestWindowBelowMin() public {
        Agreement memory a = _usd(1);
        a.contestWindow = 1 hours - 1;
        _expectInvalidWindow(1 hours - 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ContestWindowAboveMax() public {
        Agreement memory a = _usd(1);
        a.contestWindow = 90 days + 1;
        _expectInvalidWindow(90 days + 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_WithoutArbiter_ContestWindowAboveMax() public {
        Agreement memory a = _withoutArbiter(_usd(1));
        a.contestWindow = 90 days + 1;
        _expectInvalidWindow(90 days + 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ReviewWindowZero() public {
        Agreement memory a = _usd(3);
        a.milestones[2].reviewWindow = 0;
        _expectInvalidWindow(0);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ReviewWindowBelowMin() public {
        Agreement memory a = _usd(3);
        a.milestones[1].reviewWindow = 1 hours - 1;
        _expectInvalidWindow(1 hours - 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_ReviewWindowAboveMax() public {
        Agreement memory a = _usd(3);
        a.milestones[0].reviewWindow = 90 days + 1;
        _expectInvalidWindow(90 days + 1);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_MilestoneDeadlineNow() public {
        Agreement memory a = _usd(3);
        a.milestones[1].deadline = uint40(block.timestamp);
        _expectInvalidDeadline(1, block.timestamp);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_MilestoneDeadlinePast() public {
        Agreement memory a = _usd(3);
        a.milestones[0].deadline = uint40(block.timestamp - 1 days);
        _expectInvalidDeadline(0, block.timestamp - 1 days);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_MilestoneDeadlineBeyondMaxTerm() public {
        Agreement memory a = _usd(3);
        uint256 tooLate = block.timestamp + 5 * 365 days + 1;
        a.milestones[2].deadline = uint40(tooLate);
        _expectInvalidDeadline(2, tooLate);
        escrow.create(a, "", "");
    }

    function test_RevertWhen_TooManyRevisionRounds() public {
        Agreement memory a = _usd(1);
        a.revisionRounds = 11;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_TooManyRevisionRounds.selector, 11));
        escrow.create(a, "", "");
        a.revisionRounds = type(uint8).max;
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_TooManyRevisionRounds.selector, type(uint8).max)
        );
        escrow.create(a, "", "");
    }

    function test_RevertWhen_TokenHasNoCode() public {
        Agreement memory a = _usd(3);
        address notAToken = makeAddr("notAToken");
        a.token = notAToken;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_TokenHasNoCode.selector, notAToken));
        escrow.create(a, "", "");
    }

    function test_RevertWhen_SignatureDeadlinePassed() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.warp(uint256(a.deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_SignatureExpired.selector, a.deadline, uint256(a.deadline) + 1
            )
        );
        escrow.create(a, bs, cs);
    }

    /*//////////////////////////////////////////////////////////////
                              SIGNATURES
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_BrandSignedByWrongKey() public {
        Agreement memory a = _usd(3);
        bytes32 id = escrow.hashAgreement(a);
        bytes memory bs = _sign(arbiterKey, id);
        bytes memory cs = _sign(creatorKey, id);
        _expectInvalidSignature(brand);
        escrow.create(a, bs, cs);
    }

    function test_RevertWhen_CreatorSignedByWrongKey() public {
        Agreement memory a = _usd(3);
        bytes32 id = escrow.hashAgreement(a);
        bytes memory bs = _sign(brandKey, id);
        bytes memory cs = _sign(arbiterKey, id);
        _expectInvalidSignature(creator);
        escrow.create(a, bs, cs);
    }

    function test_RevertWhen_SignaturesSwapped() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectInvalidSignature(brand);
        escrow.create(a, cs, bs);
    }

    function test_RevertWhen_SignatureOfOtherTerms() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        a.milestones[0].amount += 1;
        _expectInvalidSignature(brand);
        escrow.create(a, bs, cs);
    }

    function test_RevertWhen_SignatureEmpty() public {
        Agreement memory a = _usd(3);
        (, bytes memory cs) = _signatures(a);
        _expectInvalidSignature(brand);
        escrow.create(a, "", cs);
    }

    function test_RevertWhen_SignatureMalformedLength() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectInvalidSignature(creator);
        escrow.create(a, bs, bytes.concat(cs, hex"00"));
    }

    function test_RevertWhen_BrandSignatureHighS() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        // The malleable twin still recovers the brand through the bare precompile...
        bytes memory hs = _highS(bs);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(hs, 32))
            s := mload(add(hs, 64))
            v := byte(0, mload(add(hs, 96)))
        }
        assertEq(ecrecover(escrow.hashAgreement(a), v, r, s), brand, "high-s recovers");
        // ...but the escrow refuses it.
        _expectInvalidSignature(brand);
        escrow.create(a, hs, cs);
    }

    function test_RevertWhen_CreatorSignatureHighS() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectInvalidSignature(creator);
        escrow.create(a, bs, _highS(cs));
    }

    function test_RevertWhen_SignedOnAnotherChain() public {
        Agreement memory a = _usd(3);
        // Signed on this chain, submitted after a fork to another chain id.
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.chainId(block.chainid + 1);
        _expectInvalidSignature(brand);
        escrow.create(a, bs, cs);
    }

    function test_RevertWhen_SignedForAnotherChainId() public {
        Agreement memory a = _usd(3);
        // A digest built by hand for chain id 10 at this escrow's address.
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("Pactum"),
                keccak256("1"),
                uint256(10),
                address(escrow)
            )
        );
        uint256 chain = block.chainid;
        vm.chainId(10);
        bytes32 foreignId = escrow.hashAgreement(a);
        vm.chainId(chain);
        // Sanity: the hand-built domain is the one the escrow uses on chain 10.
        bytes32 thisId = escrow.hashAgreement(a);
        assertTrue(foreignId != thisId);
        bytes32 structHash = _structHashFromDigest(thisId, a);
        assertEq(keccak256(abi.encodePacked("\x19\x01", domain, structHash)), foreignId);

        bytes memory bs = _sign(brandKey, foreignId);
        bytes memory cs = _sign(creatorKey, foreignId);
        _expectInvalidSignature(brand);
        escrow.create(a, bs, cs);
    }

    /// @dev Rebuilds the agreement's struct hash (independently of the escrow) and checks it
    /// against `digest` under this chain's domain.
    function _structHashFromDigest(bytes32 digest, Agreement memory x)
        internal
        view
        returns (bytes32 structHash)
    {
        bytes32[] memory items = new bytes32[](x.milestones.length);
        for (uint256 i; i < items.length; ++i) {
            items[i] = keccak256(
                abi.encode(
                    keccak256("Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)"),
                    x.milestones[i].amount,
                    x.milestones[i].deadline,
                    x.milestones[i].reviewWindow
                )
            );
        }
        structHash = keccak256(
            bytes.concat(
                abi.encode(
                    keccak256(
                        "Agreement(address brand,address creator,address arbiter,address token,bytes32 termsHash,"
                        "uint16 arbiterFeeBps,uint32 contestWindow,uint32 arbitrationWindow,uint8 revisionRounds,"
                        "uint40 deadline,"
                        "uint256 salt,Milestone[] milestones)Milestone(uint256 amount,uint40 deadline,uint32 reviewWindow)"
                    ),
                    x.brand,
                    x.creator,
                    x.arbiter,
                    x.token,
                    x.termsHash
                ),
                abi.encode(
                    x.arbiterFeeBps,
                    x.contestWindow,
                    x.arbitrationWindow,
                    x.revisionRounds,
                    x.deadline,
                    x.salt,
                    keccak256(abi.encodePacked(items))
                )
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("Pactum"),
                keccak256("1"),
                block.chainid,
                address(escrow)
            )
        );
        assertEq(keccak256(abi.encodePacked("\x19\x01", domain, structHash)), digest, "digest on this chain");
    }

    function test_RevertWhen_SignedForAnotherEscrow() public {
        Agreement memory a = _usd(3);
        PactumEscrow other = new PactumEscrow();
        bytes32 otherId = other.hashAgreement(a);
        assertTrue(otherId != escrow.hashAgreement(a));
        bytes memory bs = _sign(brandKey, otherId);
        bytes memory cs = _sign(creatorKey, otherId);
        // Valid at the other deployment...
        other.create(a, bs, cs);
        // ...and refused here.
        _expectInvalidSignature(brand);
        escrow.create(a, bs, cs);
    }

    function test_RevertWhen_ERC1271BrandRefuses() public {
        Agreement memory a = _usd(3);
        MockERC1271Wallet wallet = new MockERC1271Wallet(brand);
        wallet.setRefuse(true);
        a.brand = address(wallet);
        bytes32 id = escrow.hashAgreement(a);
        bytes memory bs = _sign(brandKey, id);
        bytes memory cs = _sign(creatorKey, id);
        _expectInvalidSignature(address(wallet));
        escrow.create(a, bs, cs);
    }

    function test_RevertWhen_ERC1271BrandSignedByNonOwner() public {
        Agreement memory a = _usd(3);
        MockERC1271Wallet wallet = new MockERC1271Wallet(brand);
        a.brand = address(wallet);
        bytes32 id = escrow.hashAgreement(a);
        bytes memory bs = _sign(arbiterKey, id);
        bytes memory cs = _sign(creatorKey, id);
        _expectInvalidSignature(address(wallet));
        escrow.create(a, bs, cs);
    }

    /*//////////////////////////////////////////////////////////////
                          REPLAY AND REVOCATION
    //////////////////////////////////////////////////////////////*/

    function test_RevertGiven_AlreadyCreated() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        bytes32 id = escrow.create(a, bs, cs);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        escrow.create(a, bs, cs);
    }

    /// @dev Someone front-ran the brand's createAndFund with a bare create: the brand's call just funds.
    function test_CreateAndFund_AdoptsFrontRunCreate() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.prank(stranger);
        bytes32 id = escrow.create(a, bs, cs);
        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, brand, 0, 2, 2 * AMOUNT);
        vm.prank(brand);
        assertEq(escrow.createAndFund(a, bs, cs, 2), id);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(
                logs[i].topics[0] != IPactumEscrow.AgreementCreated.selector, "no second AgreementCreated"
            );
        }
        AgreementState memory s = escrow.getState(id);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertEq(s.fundedCount, 2);
        assertEq(s.nonce, 1, "funding moved the nonce");
        assertEq(usd.balanceOf(address(escrow)), 2 * AMOUNT);
    }

    /// @dev Adopting does not look at the signatures again: they were checked by the create.
    function test_CreateAndFund_AdoptDoesNotRecheckSignatures() public {
        Agreement memory a = _usd(1);
        bytes32 id = _createOnly(a);
        vm.prank(brand);
        escrow.createAndFund(a, "", "", 1);
        assertEq(escrow.getState(id).fundedCount, 1);
    }

    function test_CreateAndFundWithPermit_AdoptsFrontRunCreate() public {
        vm.prank(brand);
        usd.approve(address(escrow), 0);
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        Permit memory p = _permit(brandKey, AMOUNT, block.timestamp + 1 hours);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, brand, 0, 1, AMOUNT);
        vm.prank(brand);
        assertEq(escrow.createAndFundWithPermit(a, bs, cs, 1, p), id);
        assertEq(escrow.getState(id).fundedCount, 1);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
    }

    /// @dev Only an unfunded, active agreement is adopted: once funded, a second createAndFund is refused
    /// (it would otherwise fund milestones its sender did not price).
    function test_RevertGiven_AlreadyFunded_CreateAndFund() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        bytes32 id = _createFundedN(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 1);
        Permit memory p;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(brand);
        escrow.createAndFundWithPermit(a, bs, cs, 1, p);
        assertEq(escrow.getState(id).fundedCount, 1);
    }

    /// @dev Not active (terminating, unfunded): refused too.
    function test_RevertGiven_Terminating_CreateAndFund() public {
        Agreement memory a = _usd(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        bytes32 id = _createOnly(a);
        _terminate(a, brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 1);
    }

    function test_Revoke_ByBrand() public {
        Agreement memory a = _usd(3);
        bytes32 id = escrow.hashAgreement(a);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementRevoked(id, brand);
        vm.prank(brand);
        escrow.revoke(a);
        _assertStatus(id, Status.Revoked);
    }

    function test_Revoke_ByCreator() public {
        Agreement memory a = _usd(3);
        bytes32 id = escrow.hashAgreement(a);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementRevoked(id, creator);
        vm.prank(creator);
        escrow.revoke(a);
        _assertStatus(id, Status.Revoked);
    }

    function test_Revoke_ByERC1271Wallet() public {
        Agreement memory a = _usd(3);
        MockERC1271Wallet wallet = new MockERC1271Wallet(brand);
        a.brand = address(wallet);
        bytes32 id = escrow.hashAgreement(a);
        vm.prank(brand);
        wallet.execute(address(escrow), 0, abi.encodeCall(IPactumEscrow.revoke, (a)));
        _assertStatus(id, Status.Revoked);
    }

    function test_RevertGiven_Revoked() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.prank(creator);
        escrow.revoke(a);
        bytes32 id = escrow.hashAgreement(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        escrow.create(a, bs, cs);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 3);
    }

    function test_RevertGiven_Revoked_EverythingElse() public {
        Agreement memory a = _usd(3);
        vm.prank(brand);
        escrow.revoke(a);
        _assertFrozen(a, escrow.hashAgreement(a), Status.Revoked);
    }

    function test_RevertGiven_NotCreated_EverythingElse() public {
        Agreement memory a = _usd(3);
        _assertFrozen(a, escrow.hashAgreement(a), Status.None);
    }

    function test_RevertWhen_RevokeByStranger() public {
        Agreement memory a = _usd(3);
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        escrow.revoke(a);
    }

    function test_RevertWhen_RevokeByArbiter() public {
        Agreement memory a = _usd(3);
        _expectUnauthorized(arbiter);
        vm.prank(arbiter);
        escrow.revoke(a);
    }

    function test_RevertGiven_RevokeAfterCreate() public {
        Agreement memory a = _usd(3);
        bytes32 id = _createOnly(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(brand);
        escrow.revoke(a);
        _assertStatus(id, Status.Active);
    }

    function test_RevertGiven_RevokeTwice() public {
        Agreement memory a = _usd(3);
        bytes32 id = escrow.hashAgreement(a);
        vm.prank(brand);
        escrow.revoke(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_AlreadyExists.selector, id));
        vm.prank(creator);
        escrow.revoke(a);
    }
}

/// @notice EIP-7702: an EOA that delegated to code still signs with its own key, whatever its
/// delegate implements; a signature its key did not make counts only if the delegate vouches for it.
contract CreateDelegatedEOATest is UnitBase {
    function test_Create_DelegatedEOAWithERC1271Delegate() public {
        Agreement memory a = _usd(1);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        MockERC1271Wallet impl = new MockERC1271Wallet(creator);
        vm.etch(creator, abi.encodePacked(hex"ef0100", address(impl)));
        bytes32 id = escrow.create(a, bs, cs);
        _assertStatus(id, Status.Active);
    }

    function test_Create_DelegatedEOAWithoutERC1271_SignsWithItsKey() public {
        Agreement memory a = _usd(1);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        RevertingReceiver impl = new RevertingReceiver();
        vm.etch(creator, abi.encodePacked(hex"ef0100", address(impl)));
        bytes32 id = escrow.create(a, bs, cs);
        _assertStatus(id, Status.Active);
    }

    function test_RevertWhen_DelegatedEOAWithoutERC1271_OtherKey() public {
        Agreement memory a = _usd(1);
        bytes32 id = escrow.hashAgreement(a);
        (, uint256 otherKey) = makeAddrAndKey("other");
        RevertingReceiver impl = new RevertingReceiver();
        vm.etch(creator, abi.encodePacked(hex"ef0100", address(impl)));
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidSignature.selector, creator));
        escrow.create(a, _sign(brandKey, id), _sign(otherKey, id));
    }
}
