// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {SplitMath} from "../../src/libraries/SplitMath.sol";

/// @notice SplitMath on its own: the parts always add up to the whole, exactly, and none exceeds it.
contract SplitMathFuzzTest is Test {
    /// @dev Largest amount for which amount * BPS cannot overflow (the library's documented domain).
    uint256 internal constant MAX_AMOUNT = type(uint256).max / SplitMath.BPS;

    function testFuzz_Split_PartsSumToAmount(uint256 amount, uint256 feeBps, uint256 creatorBps) public pure {
        amount = bound(amount, 0, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, SplitMath.BPS);
        creatorBps = bound(creatorBps, 0, SplitMath.BPS);

        (uint256 toCreator, uint256 toBrand, uint256 fee) = SplitMath.split(amount, feeBps, creatorBps);

        assertEq(toCreator + toBrand + fee, amount, "parts != amount");
        assertLe(toCreator, amount, "creator > amount");
        assertLe(toBrand, amount, "brand > amount");
        assertLe(fee, amount, "fee > amount");
        // Each part is the documented rounded-down share; the brand takes the remainder.
        assertEq(fee, amount * feeBps / SplitMath.BPS, "fee formula");
        assertEq(toCreator, (amount - fee) * creatorBps / SplitMath.BPS, "creator formula");
        // Rounding favours the payer: the creator never gets more than its exact share.
        assertLe(toCreator * SplitMath.BPS, (amount - fee) * creatorBps, "creator rounded up");
        assertLe(fee * SplitMath.BPS, amount * feeBps, "fee rounded up");
    }

    function testFuzz_Split_Extremes(uint256 amount) public pure {
        amount = bound(amount, 0, MAX_AMOUNT);
        (uint256 c, uint256 b, uint256 f) = SplitMath.split(amount, SplitMath.BPS, SplitMath.BPS);
        assertEq(f, amount, "full fee takes all");
        assertEq(c + b, 0);
        (c, b, f) = SplitMath.split(amount, 0, SplitMath.BPS);
        assertEq(c, amount, "creator takes all");
        assertEq(b + f, 0);
        (c, b, f) = SplitMath.split(amount, 0, 0);
        assertEq(b, amount, "brand takes all");
        assertEq(c + f, 0);
    }

    function testFuzz_Half_PartsSumToAmount(uint256 amount) public pure {
        (uint256 toCreator, uint256 toBrand) = SplitMath.half(amount);
        assertEq(toCreator + toBrand, amount, "halves != amount");
        assertLe(toCreator, toBrand, "odd unit must go to the brand");
        assertLe(toBrand - toCreator, 1, "uneven halves");
    }
}
