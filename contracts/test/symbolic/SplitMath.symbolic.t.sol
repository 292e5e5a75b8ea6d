// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {SplitMath} from "../../src/libraries/SplitMath.sol";

/// @dev Exposes the library externally, so a revert is observable with try/catch (in Halmos a
/// revert inside a check function only discards the path; it is not a failure).
contract SplitMathHarness {
    function split(uint256 amount, uint256 feeBps, uint256 creatorBps)
        external
        pure
        returns (uint256, uint256, uint256)
    {
        return SplitMath.split(amount, feeBps, creatorBps);
    }

    function half(uint256 amount) external pure returns (uint256, uint256) {
        return SplitMath.half(amount);
    }
}

/// @notice Halmos proofs (scripts/halmos) of SplitMath over all 256-bit inputs. No loops, no bounds:
/// every check_ property holds for every uint256 value of every argument unless it says otherwise.
/// `forge test` compiles but does not run them (check_ is Halmos's prefix, not forge's); it runs
/// the one fuzz test here.
contract SplitMathSymbolic is Test {
    /// @dev The largest amount for which amount * BPS fits in 256 bits: the exact no-overflow bound.
    uint256 internal constant MAX_AMOUNT = type(uint256).max / SplitMath.BPS;

    SplitMathHarness internal harness;

    function setUp() public {
        harness = new SplitMathHarness();
    }

    /// @notice For all amount, feeBps, creatorBps (no assumption at all): whenever split returns,
    /// creator + brand + fee == amount exactly, with no wrap-around, and each part <= amount.
    function check_split_partsAddUpWheneverItReturns(uint256 amount, uint256 feeBps, uint256 creatorBps)
        public
        view
    {
        try harness.split(amount, feeBps, creatorBps) returns (uint256 c, uint256 b, uint256 f) {
            assert(f <= amount);
            assert(c <= amount - f);
            assert(b == amount - f - c);
        } catch {}
    }

    /// @notice For feeBps <= 10000, creatorBps <= 10000 and amount <= MAX_AMOUNT = (2^256-1)/10000
    /// (about 2^242.7), split never reverts and returns the documented parts.
    /// NOT a proof: a forge fuzz test (10,000 runs in CI). Halmos cannot prove it in reasonable time:
    /// it needs `amount * bps` not to wrap for a symbolic 256-bit amount, which Solidity checks by
    /// dividing the product by `amount` again; yices (even with amount < 2^32), z3, bitwuzla and
    /// cvc5 all time out on that nonlinear 256-bit query. The proofs that matter for money,
    /// exactness whenever split returns (above) and the escrow checks, do not depend on it.
    function testFuzz_split_neverRevertsWithinBound(uint256 amount, uint256 feeBps, uint256 creatorBps)
        public
        view
    {
        amount = bound(amount, 0, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, SplitMath.BPS);
        creatorBps = bound(creatorBps, 0, SplitMath.BPS);
        (uint256 c, uint256 b, uint256 f) = harness.split(amount, feeBps, creatorBps);
        assertEq(f, amount * feeBps / SplitMath.BPS);
        assertEq(c, (amount - f) * creatorBps / SplitMath.BPS);
        assertEq(b, amount - f - c);
    }

    /// @notice The bound is exact: above MAX_AMOUNT some valid fee (100%) overflows and split reverts.
    function check_split_boundIsExact(uint256 amount, uint256 creatorBps) public view {
        vm.assume(amount > MAX_AMOUNT && creatorBps <= SplitMath.BPS);
        try harness.split(amount, SplitMath.BPS, creatorBps) returns (uint256, uint256, uint256) {
            assert(false);
        } catch {}
    }

    /// @notice For every amount: half never reverts, creator + brand == amount, and the brand gets
    /// the odd unit (brand - creator is 0 or 1).
    function check_half(uint256 amount) public view {
        try harness.half(amount) returns (uint256 c, uint256 b) {
            assert(c <= amount);
            assert(b == amount - c);
            assert(b >= c && b - c <= 1);
        } catch {
            assert(false);
        }
    }
}
