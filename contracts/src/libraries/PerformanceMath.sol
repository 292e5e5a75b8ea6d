// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {Metric, Tier} from "../types/PerformanceTypes.sol";

/// @title PerformanceMath
/// @notice What a period's report pays, in one place so the rule is written, fuzzed and proved once
/// (Halmos: `test/symbolic/PerformanceMath.symbolic.t.sol`).
/// @dev Tiers are marginal and counted within the period: units from `tiers[i].fromUnits` up to
/// `tiers[i + 1].fromUnits` are paid at `tiers[i].rate`. Counting within the period (as affiliate
/// programs' monthly tiers do) means a correction of one period never reprices another, so a
/// period's pay is final when its own report is. Everything rounds down, in the payer's favour.
library PerformanceMath {
    /// @notice 100% in basis points.
    uint256 internal constant BPS = 10_000;

    /// @notice The sum over tiers of (units in the tier) * rate. Tiers must start at 0 and ascend
    /// (the contract validates them at creation). Cannot overflow: units and rates are below 2^128,
    /// so each product is below 2^256 and the sum is at most units * (highest rate).
    function weightedUnits(Tier[] memory tiers, uint256 units) internal pure returns (uint256 weighted) {
        uint256 n = tiers.length;
        for (uint256 i; i < n; ++i) {
            uint256 from = tiers[i].fromUnits;
            if (units <= from) break;
            uint256 to = i + 1 < n ? tiers[i + 1].fromUnits : type(uint256).max;
            uint256 upper = units < to ? units : to;
            weighted += (upper - from) * tiers[i].rate;
        }
    }

    /// @notice The pay a report of `units` and `revenue` earns, before the budget cap.
    /// Per unit (conversions, leads): the weighted units. Revenue share: the period's revenue spread
    /// evenly over its units, each unit at its tier's basis points, i.e.
    /// revenue * weighted / (units * BPS), rounded down; zero units earn nothing.
    function pay(Metric metric, Tier[] memory tiers, uint256 units, uint256 revenue)
        internal
        pure
        returns (uint256)
    {
        uint256 weighted = weightedUnits(tiers, units);
        if (metric != Metric.Revenue) return weighted;
        if (units == 0) return 0;
        return Math.mulDiv(revenue, weighted, units * BPS);
    }
}
