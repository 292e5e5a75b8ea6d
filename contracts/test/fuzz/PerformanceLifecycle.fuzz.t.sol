// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerformanceMath} from "../../src/libraries/PerformanceMath.sol";
import {SplitMath} from "../../src/libraries/SplitMath.sol";
import {Metric, PerformanceAgreement, PerformanceStatus, Tier} from "../../src/types/PerformanceTypes.sol";
import {PerformanceBase} from "../unit/PerformanceBase.sol";

/// @notice Whole agreements with random tiers, budgets, reports and corrections: each period pays the
/// partner exactly min(formula(final report), budget left at its first report), a correction at most
/// the pay it corrects, and everything else returns to the brand.
contract PerformanceLifecycleFuzzTest is PerformanceBase {
    struct Input {
        uint256 tierSeed;
        uint8 metric;
        uint256 budget;
        uint128 units0;
        uint128 revenue0;
        uint128 units0b;
        uint128 revenue0b;
        bool correct0;
        uint128 units1;
        uint128 revenue1;
        /// 0: released; 1: disputed and ruled; 2: disputed and timed out.
        uint8 ending1;
        uint16 partnerBps;
    }

    function _fuzzAgreement(Input memory x) internal view returns (PerformanceAgreement memory a) {
        a = _agreement();
        a.metric = Metric(bound(x.metric, 0, 2));
        uint256 maxRate = a.metric == Metric.Revenue ? 10_000 : 1e9;
        uint256 n = bound(x.tierSeed, 1, 3);
        a.tiers = new Tier[](n);
        uint256 from;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(x.tierSeed, i)));
            if (i > 0) from += 1 + r % 500;
            // forge-lint: disable-next-line(unsafe-typecast)
            a.tiers[i] = Tier(uint128(from), uint128((r >> 128) % (maxRate + 1)));
        }
    }

    function _min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    function testFuzz_Lifecycle_PartnerGetsCappedFormulaOfFinalReport(Input memory x) public {
        PerformanceAgreement memory a = _fuzzAgreement(x);
        x.budget = bound(x.budget, 1, 1e15);
        x.units0 = uint128(bound(x.units0, 0, 2000));
        x.revenue0 = uint128(bound(x.revenue0, 0, 1e18));
        x.units0b = uint128(bound(x.units0b, 0, x.units0));
        x.revenue0b = uint128(bound(x.revenue0b, 0, x.revenue0));
        x.units1 = uint128(bound(x.units1, 0, 2000));
        x.revenue1 = uint128(bound(x.revenue1, 0, 1e18));
        x.partnerBps = uint16(bound(x.partnerBps, 0, 10_000));
        x.ending1 = uint8(bound(x.ending1, 0, 2));
        uint256 brandStart = usd.balanceOf(brand);
        bytes32 id = _createFunded(a, x.budget);

        // Period 0, then perhaps a correction within its lock.
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, x.units0, x.revenue0);
        uint256 pay0 = _min(PerformanceMath.pay(a.metric, a.tiers, x.units0, x.revenue0), x.budget);
        assertEq(_period(id, 0).pay, pay0, "first report: min(formula, budget)");
        if (x.correct0) {
            _submitUnits(a, id, 0, 2, x.units0b, x.revenue0b);
            pay0 = _min(PerformanceMath.pay(a.metric, a.tiers, x.units0b, x.revenue0b), pay0);
            assertEq(_period(id, 0).pay, pay0, "correction: min(formula(new), old pay)");
        }
        assertEq(_state(id).budget, x.budget - pay0);

        // Period 1 gets at most what is left.
        _warpToEnd(a, 1);
        _submitUnits(a, id, 1, 1, x.units1, x.revenue1);
        uint256 pay1 = _min(PerformanceMath.pay(a.metric, a.tiers, x.units1, x.revenue1), x.budget - pay0);
        assertEq(_period(id, 1).pay, pay1, "second period: min(formula, the rest)");
        assertEq(perf.reserved(id), pay0 + pay1);

        uint256 toPartner1 = pay1;
        uint256 fee;
        if (x.ending1 != 0) _dispute(a, 1);
        if (x.ending1 == 1) {
            vm.prank(arbiter);
            perf.resolve(a, 1, x.partnerBps);
            (toPartner1,, fee) = SplitMath.split(pay1, a.arbiterFeeBps, x.partnerBps);
        } else if (x.ending1 == 2) {
            vm.warp(block.timestamp + ARBITRATION);
            perf.resolveAfterTimeout(a, 1);
            toPartner1 = pay1 / 2;
        }

        vm.warp(_endOf(a, PERIODS - 1) + REPORT_WINDOW);
        _release(a, 0);
        if (x.ending1 == 0) _release(a, 1);
        _close(a);

        _assertStatus(id, PerformanceStatus.Ended);
        assertEq(usd.balanceOf(partner), pay0 + toPartner1, "partner: exactly the capped formula");
        assertEq(usd.balanceOf(arbiter), fee);
        assertEq(brandStart - usd.balanceOf(brand), pay0 + toPartner1 + fee, "brand: everything else back");
        assertEq(usd.balanceOf(address(perf)), 0, "nothing left behind");
        assertEq(perf.reserved(id), 0);
    }
}
