// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    Metric,
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    PeriodState,
    PeriodStatus,
    Report,
    Tier
} from "../../src/types/PerformanceTypes.sol";
import {PerformanceBase} from "./PerformanceBase.sol";

/// @notice The views: ids and report digests against a reference EIP-712 encoding, payFor, state.
contract PerformanceViewsTest is PerformanceBase {
    function test_Eip712Domain() public view {
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            perf.eip712Domain();
        assertEq(name, "Pactum Performance");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(perf));
    }

    function test_HashAgreement_MatchesReference() public view {
        PerformanceAgreement memory a = _agreement();
        assertEq(perf.hashAgreement(a), _refId(a));
        a.metric = Metric.Revenue;
        a.arbiter = address(0);
        a.tiers = new Tier[](1);
        a.tiers[0] = Tier(0, 2500);
        assertEq(perf.hashAgreement(a), _refId(a));
    }

    /// @dev Changing any one field changes the id (so every field is signed).
    function test_HashAgreement_EveryFieldMatters() public view {
        bytes32 base = perf.hashAgreement(_agreement());
        for (uint256 f; f < 18; ++f) {
            PerformanceAgreement memory a = _agreement();
            if (f == 0) a.brand = stranger;
            else if (f == 1) a.partner = stranger;
            else if (f == 2) a.attester = stranger;
            else if (f == 3) a.arbiter = stranger;
            else if (f == 4) a.token = stranger;
            else if (f == 5) a.termsHash = bytes32(uint256(1));
            else if (f == 6) a.metric = Metric.QualifiedLeads;
            else if (f == 7) a.arbiterFeeBps += 1;
            else if (f == 8) a.start += 1;
            else if (f == 9) a.period += 1;
            else if (f == 10) a.periods += 1;
            else if (f == 11) a.reportWindow += 1;
            else if (f == 12) a.lockWindow += 1;
            else if (f == 13) a.arbitrationWindow += 1;
            else if (f == 14) a.deadline += 1;
            else if (f == 15) a.salt += 1;
            else if (f == 16) a.tiers[1].rate += 1;
            else a.tiers[1].fromUnits += 1;
            bytes32 h = perf.hashAgreement(a);
            assertTrue(h != base, "a field is not hashed");
            assertEq(h, _refId(a));
        }
    }

    function test_HashAgreement_FollowsChainId() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 before = perf.hashAgreement(a);
        vm.chainId(31_338);
        assertTrue(perf.hashAgreement(a) != before);
        assertEq(perf.hashAgreement(a), _refId(a));
    }

    function test_HashReport_MatchesReference() public view {
        Report memory r = _report(keccak256("id"), 3, 2, 1234, 5678);
        assertEq(perf.hashReport(r), _refReportDigest(r));
        r.units = type(uint128).max;
        r.revenue = type(uint128).max;
        r.version = type(uint32).max;
        assertEq(perf.hashReport(r), _refReportDigest(r));
    }

    function test_PayFor() public view {
        PerformanceAgreement memory a = _agreement();
        assertEq(perf.payFor(a, 0, 0), 0);
        assertEq(perf.payFor(a, 100, 0), 1000e6, "up to the step at the first rate");
        assertEq(perf.payFor(a, 101, 0), 1012e6, "the 101st unit at the second rate");
        assertEq(perf.payFor(a, 150, 999), 1600e6, "revenue ignored per unit");
        a.metric = Metric.Revenue;
        a.tiers[0].rate = 1000;
        a.tiers[1].rate = 2000;
        assertEq(perf.payFor(a, 0, 1e6), 0, "no units, no share");
        assertEq(perf.payFor(a, 100, 10_000), 1000, "10% of 10,000");
        // 200 units of 50 each: 100 * 10% + 100 * 20% of 50 = 1,500; rounds down.
        assertEq(perf.payFor(a, 200, 10_000), 1500);
        assertEq(perf.payFor(a, 3, 10), 1, "10% of 10 = 1");
        assertEq(perf.payFor(a, 3, 19), 1, "1.9 rounds down");
    }

    function test_Constants() public view {
        assertEq(perf.MAX_TIERS(), 8);
        assertEq(perf.MAX_PERIODS(), 520);
        assertEq(perf.MAX_FEE_BPS(), 2000);
        assertEq(perf.MIN_WINDOW(), 1 hours);
        assertEq(perf.MAX_WINDOW(), 90 days);
        assertEq(perf.MAX_PERIOD(), 366 days);
        assertEq(perf.MAX_TERM(), 10 * 365 days);
    }

    function test_Views_Unknown() public view {
        bytes32 id = keccak256("nothing");
        PerformanceState memory s = perf.getState(id);
        assertEq(uint8(s.status), uint8(PerformanceStatus.None));
        assertEq(s.budget, 0);
        PeriodState memory p = perf.getPeriod(id, 0);
        assertEq(uint8(p.status), uint8(PeriodStatus.Unreported));
        assertEq(perf.reserved(id), 0);
    }

    function test_Views_AfterReportsAndDispute() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 10, 11);
        _warpToEnd(a, 1);
        _submitUnits(a, id, 1, 1, 20, 22);
        _dispute(a, 1);
        PerformanceState memory s = perf.getState(id);
        assertEq(s.reported, 2);
        assertEq(s.open, 2);
        assertEq(s.budget, BUDGET - 300e6);
        assertEq(perf.reserved(id), 300e6);
        PeriodState memory p = perf.getPeriod(id, 1);
        assertEq(uint8(p.status), uint8(PeriodStatus.Disputed));
        assertEq(p.units, 20);
        assertEq(p.revenue, 22);
        assertEq(p.pay, 200e6);
        assertEq(p.version, 1);
        assertEq(p.lockedUntil, block.timestamp + LOCK);
        assertEq(p.disputedAt, block.timestamp);
        assertEq(uint8(perf.getPeriod(id, 2).status), uint8(PeriodStatus.Unreported));
    }
}
