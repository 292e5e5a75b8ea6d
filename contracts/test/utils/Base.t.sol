// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {PactumEscrow} from "../../src/PactumEscrow.sol";
import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {
    Agreement,
    AgreementState,
    Milestone,
    MilestoneStatus,
    Permit,
    Status
} from "../../src/types/DataTypes.sol";
import {MockStablecoin} from "../mocks/Mocks.sol";

/// @notice Shared set-up for escrow tests: an escrow, a stablecoin, three keyed parties, and helpers
/// that build, sign and create agreements.
abstract contract Base is Test {
    PactumEscrow internal escrow;
    MockStablecoin internal usd;

    address internal brand;
    uint256 internal brandKey;
    address internal creator;
    uint256 internal creatorKey;
    address internal arbiter;
    uint256 internal arbiterKey;
    address internal stranger = makeAddr("stranger");

    uint256 internal constant AMOUNT = 1000e6;
    uint32 internal constant REVIEW = 3 days;
    uint32 internal constant CONTEST = 2 days;
    uint32 internal constant ARBITRATION = 7 days;
    uint16 internal constant FEE_BPS = 250;
    uint8 internal constant ROUNDS = 2;

    // secp256k1 group order, for building high-s (malleable) signatures.
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        escrow = new PactumEscrow();
        usd = new MockStablecoin();
        (brand, brandKey) = makeAddrAndKey("brand");
        (creator, creatorKey) = makeAddrAndKey("creator");
        (arbiter, arbiterKey) = makeAddrAndKey("arbiter");
        usd.mint(brand, 1_000_000_000e6);
        vm.deal(brand, 1_000_000 ether);
        vm.prank(brand);
        usd.approve(address(escrow), type(uint256).max);
    }

    /// @dev An agreement of `n` milestones of AMOUNT each (milestone i due i+1 weeks from now).
    function _agreement(address token, uint256 n) internal view returns (Agreement memory a) {
        a.brand = brand;
        a.creator = creator;
        a.arbiter = arbiter;
        a.token = token;
        a.termsHash = keccak256("terms");
        a.arbiterFeeBps = FEE_BPS;
        a.contestWindow = CONTEST;
        a.arbitrationWindow = ARBITRATION;
        a.revisionRounds = ROUNDS;
        a.deadline = uint40(block.timestamp + 1 days);
        a.salt = 1;
        a.milestones = new Milestone[](n);
        for (uint256 i; i < n; ++i) {
            a.milestones[i] = Milestone({
                amount: AMOUNT, deadline: uint40(block.timestamp + (i + 1) * 1 weeks), reviewWindow: REVIEW
            });
        }
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The same signature with s' = n - s and the flipped v: valid for ecrecover, refused as malleable.
    function _highS(bytes memory sig) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _signatures(Agreement memory a)
        internal
        view
        returns (bytes memory brandSig, bytes memory creatorSig)
    {
        bytes32 id = escrow.hashAgreement(a);
        brandSig = _sign(brandKey, id);
        creatorSig = _sign(creatorKey, id);
    }

    function _total(Agreement memory a) internal pure returns (uint256 sum) {
        for (uint256 i; i < a.milestones.length; ++i) {
            sum += a.milestones[i].amount;
        }
    }

    /// @dev Creates `a` and funds all of it from the brand.
    function _createFunded(Agreement memory a) internal returns (bytes32 id) {
        (bytes memory bs, bytes memory cs) = _signatures(a);
        uint256 value = a.token == address(0) ? _total(a) : 0;
        vm.prank(brand);
        id = escrow.createAndFund{value: value}(a, bs, cs, a.milestones.length);
    }

    function _submit(Agreement memory a, uint256 i) internal {
        vm.prank(a.creator);
        escrow.submit(a, i, keccak256(abi.encode("content", i)), "ipfs://deliverable");
    }

    function _status(bytes32 id) internal view returns (Status) {
        return escrow.getState(id).status;
    }

    function _milestoneStatus(bytes32 id, uint256 i) internal view returns (MilestoneStatus status) {
        (status,,) = escrow.getMilestone(id, i);
    }

    function _balance(address token, address account) internal view returns (uint256) {
        return token == address(0) ? account.balance : usd.balanceOf(account);
    }
}
