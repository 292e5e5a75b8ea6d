// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerformanceMath} from "../../src/libraries/PerformanceMath.sol";
import {Metric, PerformanceAgreement, Tier} from "../../src/types/PerformanceTypes.sol";
import {PerformanceBase} from "../unit/PerformanceBase.sol";

/// @notice PerformanceMath.pay against independent references (unit by unit, and closed forms),
/// its monotonicity and the revenue-share ceiling; the agreement id against a reference encoding.
contract PerformanceMathFuzzTest is PerformanceBase {
    uint256 internal constant BPS = 10_000;

    /// @dev 1..n tiers from 0, each starting 1..maxGap units above the last, rates below maxRate.
    function _tiers(uint256 seed, uint256 n, uint256 maxGap, uint256 maxRate)
        internal
        pure
        returns (Tier[] memory tiers)
    {
        n = bound(seed, 1, n);
        tiers = new Tier[](n);
        uint256 from;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            if (i > 0) from += 1 + (r % maxGap);
            // forge-lint: disable-next-line(unsafe-typecast)
            tiers[i] = Tier({fromUnits: uint128(from), rate: uint128((r >> 128) % (maxRate + 1))});
        }
    }

    /// @dev The sum of each unit's rate, unit by unit: unit u (0-based) is paid at the rate of the
    /// last tier starting at or below u.
    function _unitByUnit(Tier[] memory tiers, uint256 units) internal pure returns (uint256 sum) {
        for (uint256 u; u < units; ++u) {
            uint256 rate;
            for (uint256 i; i < tiers.length; ++i) {
                if (tiers[i].fromUnits <= u) rate = tiers[i].rate;
            }
            sum += rate;
        }
    }

    function testFuzz_Pay_PerUnit_MatchesUnitByUnit(uint256 seed, uint256 units, bool leads) public pure {
        Tier[] memory tiers = _tiers(seed, 8, 40, type(uint128).max);
        units = bound(units, 0, 400);
        Metric m = leads ? Metric.QualifiedLeads : Metric.Conversions;
        assertEq(PerformanceMath.pay(m, tiers, units, 12_345), _unitByUnit(tiers, units));
    }

    function testFuzz_Pay_Revenue_MatchesUnitByUnit(uint256 seed, uint256 units, uint256 revenue)
        public
        pure
    {
        Tier[] memory tiers = _tiers(seed, 8, 40, BPS);
        units = bound(units, 0, 400);
        revenue = bound(revenue, 0, type(uint128).max);
        uint256 expected = units == 0 ? 0 : revenue * _unitByUnit(tiers, units) / (units * BPS);
        assertEq(PerformanceMath.pay(Metric.Revenue, tiers, units, revenue), expected);
    }

    /// @notice Closed form for up to three tiers at full 128-bit units and rates.
    function testFuzz_Pay_ClosedForm(
        uint128 f1,
        uint128 f2,
        uint128 r0,
        uint128 r1,
        uint128 r2,
        uint128 units
    ) public pure {
        f1 = uint128(bound(f1, 1, type(uint128).max - 1));
        f2 = uint128(bound(f2, f1 + 1, type(uint128).max));
        Tier[] memory tiers = new Tier[](3);
        tiers[0] = Tier(0, r0);
        tiers[1] = Tier(f1, r1);
        tiers[2] = Tier(f2, r2);
        uint256 u = units;
        uint256 expected;
        if (u <= f1) {
            expected = u * r0;
        } else if (u <= f2) {
            expected = uint256(f1) * r0 + (u - f1) * r1;
        } else {
            expected = uint256(f1) * r0 + uint256(f2 - f1) * r1 + (u - f2) * r2;
        }
        // The sum can only overflow if the rates are large; the library's bound: units * max rate.
        uint256 maxRate = r0 > r1 ? r0 : r1;
        if (r2 > maxRate) maxRate = r2;
        assertLe(expected / (u == 0 ? 1 : u), maxRate);
        assertEq(PerformanceMath.pay(Metric.Conversions, tiers, u, 0), expected);

        // One tier: units * rate.
        Tier[] memory one = new Tier[](1);
        one[0] = Tier(0, r0);
        assertEq(PerformanceMath.pay(Metric.Conversions, one, u, 0), u * r0);
    }

    function testFuzz_Pay_MonotoneInUnits(uint256 seed, uint256 u1, uint256 u2) public pure {
        Tier[] memory tiers = _tiers(seed, 8, 1000, type(uint96).max);
        u1 = bound(u1, 0, type(uint128).max);
        u2 = bound(u2, u1, type(uint128).max);
        assertLe(
            PerformanceMath.pay(Metric.Conversions, tiers, u1, 0),
            PerformanceMath.pay(Metric.Conversions, tiers, u2, 0),
            "more units never pay less"
        );
    }

    function testFuzz_Pay_RevenueShareAtMostMaxRate(uint256 seed, uint256 units, uint256 revenue)
        public
        pure
    {
        Tier[] memory tiers = _tiers(seed, 8, 1000, BPS);
        units = bound(units, 0, type(uint128).max);
        revenue = bound(revenue, 0, type(uint128).max);
        uint256 maxRate;
        uint256 minRate = type(uint256).max;
        for (uint256 i; i < tiers.length; ++i) {
            if (tiers[i].rate > maxRate) maxRate = tiers[i].rate;
            if (tiers[i].rate < minRate) minRate = tiers[i].rate;
        }
        uint256 pay = PerformanceMath.pay(Metric.Revenue, tiers, units, revenue);
        assertLe(pay, revenue * maxRate / BPS, "above the highest share");
        assertLe(pay, revenue, "above the revenue");
        if (units > 0) assertGe(pay, revenue * minRate / BPS, "below the lowest share");
    }

    /// @notice The id of an agreement with random fields and tiers equals the reference encoding.
    function testFuzz_HashAgreement_MatchesReference(
        uint256 seed,
        address who,
        uint8 metric,
        uint40 start,
        uint32 period,
        uint256 salt,
        bytes32 terms
    ) public view {
        PerformanceAgreement memory a = _agreement();
        a.tiers = _tiers(seed, 8, type(uint64).max, type(uint128).max);
        a.attester = who;
        a.metric = Metric(bound(metric, 0, 2));
        a.start = start;
        a.period = period;
        // forge-lint: disable-next-line(unsafe-typecast)
        a.periods = uint32(seed);
        // forge-lint: disable-next-line(unsafe-typecast)
        a.arbiterFeeBps = uint16(seed >> 32);
        a.salt = salt;
        a.termsHash = terms;
        assertEq(perf.hashAgreement(a), _refId(a));
    }
}
