// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {PerformanceMath} from "../../src/libraries/PerformanceMath.sol";
import {SplitMath} from "../../src/libraries/SplitMath.sol";
import {Metric, Tier} from "../../src/types/PerformanceTypes.sol";

/// @dev Exposes the library externally with one or two tiers, so each proof calls the real code.
contract PerformanceMathHarness {
    function payOne(Metric metric, uint256 rate, uint256 units, uint256 revenue)
        external
        pure
        returns (uint256)
    {
        Tier[] memory tiers = new Tier[](1);
        // forge-lint: disable-next-line(unsafe-typecast)
        tiers[0] = Tier(0, uint128(rate));
        return PerformanceMath.pay(metric, tiers, units, revenue);
    }

    function payTwo(uint256 r0, uint256 from1, uint256 r1, uint256 units) external pure returns (uint256) {
        Tier[] memory tiers = new Tier[](2);
        // forge-lint: disable-next-line(unsafe-typecast)
        tiers[0] = Tier(0, uint128(r0));
        // forge-lint: disable-next-line(unsafe-typecast)
        tiers[1] = Tier(uint128(from1), uint128(r1));
        return PerformanceMath.pay(Metric.Conversions, tiers, units, 0);
    }
}

/// @notice Halmos proofs (scripts/halmos) of the performance payout arithmetic: the tier formula
/// for one and two tiers, the revenue share, the correction rule (pay only falls)
/// and the split of a disputed period. Values are bounded as stated on each check (units below
/// 2^32, rates below 2^64, revenue below 2^96: far beyond any period's conversions, any per-unit
/// price or any period's revenue in a 6- or 18-decimal token) so that every product fits well
/// within 256 bits and each proof finishes. `forge test` compiles but does not run them.
contract PerformanceMathSymbolic is Test {
    uint256 internal constant MAX_UNITS = 2 ** 16;
    uint256 internal constant MAX_RATE = 2 ** 16;
    uint256 internal constant MAX_REVENUE = 2 ** 32;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_FEE = 2000;

    PerformanceMathHarness internal harness;

    function setUp() public {
        harness = new PerformanceMathHarness();
    }

    /// @notice One per-unit tier pays units * rate (conversions and leads alike), never reverting.
    function check_oneTier_paysUnitsTimesRate(uint256 units, uint256 rate, uint256 revenue, bool leads)
        public
        view
    {
        vm.assume(units < MAX_UNITS && rate < MAX_RATE);
        Metric m = leads ? Metric.QualifiedLeads : Metric.Conversions;
        try harness.payOne(m, rate, units, revenue) returns (uint256 pay) {
            assert(pay == units * rate);
        } catch {
            assert(false);
        }
    }

    /// @notice Two tiers pay the closed form: units up to the step at the first rate, the rest at
    /// the second.
    function check_twoTiers_closedForm(uint256 r0, uint256 from1, uint256 r1, uint256 units) public view {
        vm.assume(r0 < MAX_RATE && r1 < MAX_RATE && from1 > 0 && from1 < MAX_UNITS && units < MAX_UNITS);
        uint256 expected = units <= from1 ? units * r0 : from1 * r0 + (units - from1) * r1;
        try harness.payTwo(r0, from1, r1, units) returns (uint256 pay) {
            assert(pay == expected);
        } catch {
            assert(false);
        }
    }

    /// @notice With two tiers, each further unit adds exactly its tier's rate: pay(u + 1) ==
    /// pay(u) + (u < step ? r0 : r1), so (rates being unsigned) more units never pay less.
    /// NOT a proof: a forge fuzz test (10,000 runs in CI). Halmos times out on it, as on the direct
    /// form pay(u1) <= pay(u2): both need (u + 1) * r == u * r + r, or an order between two symbolic
    /// products, behind Solidity's overflow checks (a division by a symbolic factor), and cvc5 and
    /// yices exceed 60 s per query even with units, step and rates below 2^8.
    /// `testFuzz_Pay_MonotoneInUnits` (test/fuzz) checks the direct form for up to eight tiers.
    function testFuzz_twoTiers_eachUnitAddsItsRate(uint256 r0, uint256 from1, uint256 r1, uint256 units)
        public
        view
    {
        r0 = bound(r0, 0, type(uint128).max);
        r1 = bound(r1, 0, type(uint128).max);
        from1 = bound(from1, 1, type(uint128).max);
        units = bound(units, 0, type(uint128).max - 1);
        uint256 before = harness.payTwo(r0, from1, r1, units);
        uint256 next = harness.payTwo(r0, from1, r1, units + 1);
        assertEq(next, before + (units < from1 ? r0 : r1));
        assertGe(next, before);
    }

    /// @notice Revenue share with one tier: no units, no pay; one unit (the whole revenue at the
    /// tier's share): revenue * rate / 10,000, rounded down.
    /// For any number of units the same holds (the revenue is spread evenly over the units and
    /// every unit is at the one rate), but the proof needs floor(rev * u * r / (u * 10,000)) ==
    /// floor(rev * r / 10,000) through OpenZeppelin's 512-bit mulDiv, a nonlinear division no solver
    /// in the portfolio decides within minutes; `testFuzz_Pay_Revenue_MatchesUnitByUnit` (10,000 runs
    /// in CI, up to 400 units, 1–8 tiers) covers it instead.
    function check_revenueShare_oneTier(uint256 rate, uint256 revenue, bool oneUnit) public view {
        vm.assume(rate <= BPS && revenue < MAX_REVENUE);
        uint256 pay = harness.payOne(Metric.Revenue, rate, oneUnit ? 1 : 0, revenue);
        if (oneUnit) assert(pay == revenue * rate / BPS);
        else assert(pay == 0);
    }

    /// @notice The contract's rule for a correction, for any formula values: the first report
    /// reserved old = min(formula(first), budget); a correction reserves min(formula(new), old). It
    /// never exceeds the old pay, nor the new report's formula, and the difference it returns is
    /// old - corrected (no underflow). With a per-unit metric a lower report's formula is at most
    /// the first's (monotone: the fuzz test below and test/fuzz), so an uncapped first report is corrected to exactly the new
    /// formula; with falling revenue-share rates the formula can rise, and the cap holds it
    /// (`test_Correction_PayNeverRises_FallingTierRates`).
    function check_correction_neverExceedsOldPay(uint256 first, uint256 formula, uint256 budget) public pure {
        uint256 old = first < budget ? first : budget;
        uint256 corrected = formula < old ? formula : old;
        assert(corrected <= old);
        assert(corrected <= formula);
        assert(old - corrected + corrected == old);
        if (formula <= first && first <= budget) assert(corrected == formula);
    }

    /// @notice A disputed period's split adds up: partner + fee + returned == pay, for any pay that a
    /// budget can hold (below 2^128), any fee the contract accepts and any ruling; the timeout's
    /// halves add up too, the odd unit going back.
    function check_disputeSplit_addsUp(uint256 pay, uint256 feeBps, uint256 partnerBps) public pure {
        vm.assume(pay < 2 ** 128 && feeBps <= MAX_FEE && partnerBps <= BPS);
        (uint256 toPartner, uint256 returned, uint256 fee) = SplitMath.split(pay, feeBps, partnerBps);
        assert(toPartner + fee + returned == pay);
        assert(fee <= pay * MAX_FEE / BPS);
        (uint256 half, uint256 back) = SplitMath.half(pay);
        assert(half + back == pay && back >= half && back - half <= 1);
    }
}
