// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SplitMath
/// @notice How the escrow divides an amount between creator, brand and arbiter. One place, so the
/// rule "the parts add up to the whole, exactly" is written and proved once.
library SplitMath {
    /// @notice 100% in basis points.
    uint256 internal constant BPS = 10_000;

    /// @notice Splits `amount`: the arbiter's fee first (`feeBps` of it, rounded down), then
    /// `creatorBps` of the rest to the creator (rounded down), and the remainder to the brand, so
    /// rounding always favours the payer and nothing is lost: creator + brand + fee == amount.
    /// @dev Requires feeBps <= BPS and creatorBps <= BPS (the escrow checks both). `mulDiv`-free: the
    /// products fit because amount * BPS overflows only for amounts above 2^242, far beyond any
    /// token supply; checked arithmetic reverts rather than wraps if one ever did.
    function split(uint256 amount, uint256 feeBps, uint256 creatorBps)
        internal
        pure
        returns (uint256 creatorAmount, uint256 brandAmount, uint256 fee)
    {
        fee = amount * feeBps / BPS;
        uint256 rest = amount - fee;
        creatorAmount = rest * creatorBps / BPS;
        brandAmount = rest - creatorAmount;
    }

    /// @notice The even split used when an arbiter fails to rule in time: no fee, the odd unit to
    /// the brand.
    function half(uint256 amount) internal pure returns (uint256 creatorAmount, uint256 brandAmount) {
        creatorAmount = amount / 2;
        brandAmount = amount - creatorAmount;
    }
}
