// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Test} from "forge-std/Test.sol";

import {PactumEscrow} from "../../src/PactumEscrow.sol";
import {Agreement, Milestone} from "../../src/types/DataTypes.sol";
import {MockStablecoin} from "../mocks/Mocks.sol";

/// @notice A contract wallet that accepts every signature (EIP-1271). Symbolic execution cannot
/// produce ECDSA signatures over symbolic digests, so the brand and the creator are such wallets:
/// every signature check passes and amounts, basis points and times can stay symbolic.
contract AcceptAllWallet is IERC1271 {
    function isValidSignature(bytes32, bytes memory) external pure returns (bytes4) {
        return IERC1271.isValidSignature.selector;
    }

    receive() external payable {}
}

/// @notice Shared set-up for the Halmos proofs on the real escrow: one escrow, one ERC-20 (the
/// project's MockStablecoin), brand and creator as accept-all wallets and an EOA arbiter.
/// Everything in setUp is concrete; each check builds its agreement from symbolic inputs.
abstract contract SymbolicBase is Test {
    PactumEscrow internal escrow;
    MockStablecoin internal usd;
    address internal brand;
    address internal creator;
    address internal constant ARBITER = address(0xA4B17E4);
    address internal constant STRANGER = address(0x5742A6E4);

    uint256 internal constant T0 = 1_750_000_000;
    uint32 internal constant REVIEW = 3 days;
    uint32 internal constant CONTEST = 2 days;
    uint32 internal constant ARBITRATION = 7 days;
    /// @dev Revision rounds each agreement allows (the escrow caps them at MAX_REVISION_ROUNDS).
    uint8 internal constant ROUNDS = 2;
    /// @dev The escrow's cap on the arbiter's fee: larger fees are refused at creation.
    uint16 internal constant MAX_FEE = 2000;
    uint256 internal constant BPS = 10_000;
    /// @dev Milestone amounts are bounded below 2^96 (79 billion tokens at 18 decimals): sums of a
    /// few stay far from overflow, and the brand's balance (2^128 - 1) covers any agreement.
    uint256 internal constant MAX_AMOUNT = 2 ** 96;

    function setUp() public virtual {
        vm.warp(T0);
        escrow = new PactumEscrow();
        usd = new MockStablecoin();
        brand = address(new AcceptAllWallet());
        creator = address(new AcceptAllWallet());
        usd.mint(brand, type(uint128).max);
        vm.prank(brand);
        usd.approve(address(escrow), type(uint256).max);
    }

    /// @dev An ERC-20 agreement with the given amounts; milestone i is due i+1 weeks after T0. Every
    /// window and deadline lies within the escrow's creation bounds; the fee must too (assumed).
    function _agreement(uint256[] memory amounts, uint16 feeBps) internal view returns (Agreement memory a) {
        vm.assume(feeBps <= MAX_FEE);
        a.brand = brand;
        a.creator = creator;
        a.arbiter = ARBITER;
        a.token = address(usd);
        a.termsHash = keccak256("terms");
        a.arbiterFeeBps = feeBps;
        a.contestWindow = CONTEST;
        a.arbitrationWindow = ARBITRATION;
        a.revisionRounds = ROUNDS;
        // Safe: T0 + 1 day is far below 2^40.
        // forge-lint: disable-next-line(unsafe-typecast)
        a.deadline = uint40(T0 + 1 days);
        a.salt = 1;
        a.milestones = new Milestone[](amounts.length);
        for (uint256 i; i < amounts.length; ++i) {
            // Safe: a few weeks after T0 is far below 2^40.
            // forge-lint: disable-next-line(unsafe-typecast)
            uint40 due = uint40(T0 + (i + 1) * 1 weeks);
            a.milestones[i] = Milestone({amount: amounts[i], deadline: due, reviewWindow: REVIEW});
        }
    }

    function _amounts(uint256 a0, uint256 a1) internal pure returns (uint256[] memory amounts) {
        vm.assume(0 < a0 && a0 < MAX_AMOUNT && 0 < a1 && a1 < MAX_AMOUNT);
        amounts = new uint256[](2);
        amounts[0] = a0;
        amounts[1] = a1;
    }

    function _amounts(uint256 a0, uint256 a1, uint256 a2) internal pure returns (uint256[] memory amounts) {
        vm.assume(0 < a0 && a0 < MAX_AMOUNT && 0 < a1 && a1 < MAX_AMOUNT && 0 < a2 && a2 < MAX_AMOUNT);
        amounts = new uint256[](3);
        amounts[0] = a0;
        amounts[1] = a1;
        amounts[2] = a2;
    }

    /// @dev Creates `a` (both signatures accepted by the wallets) and funds its first `count`
    /// milestones from the brand.
    function _createFunded(Agreement memory a, uint256 count) internal returns (bytes32 id) {
        vm.prank(brand);
        id = escrow.createAndFund(a, "", "", count);
    }

    function _submit(Agreement memory a, uint256 m) internal {
        vm.prank(creator);
        escrow.submit(a, m, bytes32(uint256(1)), "ipfs://x");
    }

    /// @dev The agreement's current state nonce (what a settlement or mutual termination must name).
    function _nonce(Agreement memory a) internal view returns (uint32) {
        return escrow.getState(escrow.hashAgreement(a)).nonce;
    }

    function _dispute(Agreement memory a, uint256 m, address by) internal {
        vm.prank(by);
        escrow.dispute(a, m, bytes32(0));
    }

    /// @dev Balances of creator, brand, arbiter and escrow.
    function _balances() internal view returns (uint256[4] memory b) {
        b[0] = usd.balanceOf(creator);
        b[1] = usd.balanceOf(brand);
        b[2] = usd.balanceOf(ARBITER);
        b[3] = usd.balanceOf(address(escrow));
    }

    /// @dev What the escrow paid out between two snapshots: asserts nobody's balance fell, that the
    /// escrow's fell by exactly what the parties received, and returns that amount. (One assert:
    /// each assert is a separate solver query in Halmos.)
    function _paidOut(uint256[4] memory before, uint256[4] memory afterwards)
        internal
        pure
        returns (uint256 out)
    {
        bool noneFell = afterwards[0] >= before[0] && afterwards[1] >= before[1] && afterwards[2] >= before[2]
            && afterwards[3] <= before[3];
        assert(noneFell);
        out = before[3] - afterwards[3];
        uint256 received =
            (afterwards[0] - before[0]) + (afterwards[1] - before[1]) + (afterwards[2] - before[2]);
        assert(received == out);
    }
}
