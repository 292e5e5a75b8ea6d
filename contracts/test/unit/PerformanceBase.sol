// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {PactumPerformance} from "../../src/PactumPerformance.sol";
import {IPactumPerformance} from "../../src/interfaces/IPactumPerformance.sol";
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
import {MockStablecoin} from "../mocks/Mocks.sol";

/// @notice Shared set-up for the performance tests: the singleton, a stablecoin, four keyed parties
/// (brand, partner, a third-party attester, arbiter), builders for agreements and signed reports, an
/// independent EIP-712 reference, and assertions.
abstract contract PerformanceBase is Test {
    PactumPerformance internal perf;
    MockStablecoin internal usd;

    address internal brand;
    uint256 internal brandKey;
    address internal partner;
    uint256 internal partnerKey;
    address internal attester;
    uint256 internal attesterKey;
    address internal arbiter;
    uint256 internal arbiterKey;
    address internal stranger = makeAddr("stranger");
    address internal payee = makeAddr("payee");

    uint40 internal constant T0 = 1_750_000_000;
    uint32 internal constant PERIOD = 7 days;
    uint32 internal constant PERIODS = 4;
    uint32 internal constant REPORT_WINDOW = 3 days;
    uint32 internal constant LOCK = 14 days;
    uint32 internal constant ARBITRATION = 5 days;
    uint16 internal constant FEE_BPS = 500;
    uint256 internal constant BUDGET = 10_000e6;
    /// @dev Default tiers: 10 USD per unit up to 100 units, 12 USD per unit above.
    uint128 internal constant RATE0 = 10e6;
    uint128 internal constant RATE1 = 12e6;
    uint128 internal constant STEP = 100;
    bytes32 internal constant REASON = keccak256("reason");

    /// @dev Written here from the EIP-712 spec, not imported from the contract's library.
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant REF_TIER_TYPEHASH = keccak256("Tier(uint128 fromUnits,uint128 rate)");
    bytes32 internal constant REF_AGREEMENT_TYPEHASH = keccak256(
        "PerformanceAgreement(address brand,address partner,address attester,address arbiter,address token,"
        "bytes32 termsHash,uint8 metric,uint16 arbiterFeeBps,uint40 start,uint32 period,uint32 periods,"
        "uint32 reportWindow,uint32 lockWindow,uint32 arbitrationWindow,uint40 deadline,uint256 salt,"
        "Tier[] tiers)Tier(uint128 fromUnits,uint128 rate)"
    );
    bytes32 internal constant REF_REPORT_TYPEHASH = keccak256(
        "Report(bytes32 agreementId,uint32 period,uint32 version,uint128 units,uint128 revenue,bytes32 detailRoot)"
    );

    function setUp() public virtual {
        vm.warp(T0);
        perf = new PactumPerformance();
        usd = new MockStablecoin();
        (brand, brandKey) = makeAddrAndKey("brand");
        (partner, partnerKey) = makeAddrAndKey("partner");
        (attester, attesterKey) = makeAddrAndKey("attester");
        (arbiter, arbiterKey) = makeAddrAndKey("arbiter");
        usd.mint(brand, 1_000_000_000e6);
        vm.prank(brand);
        usd.approve(address(perf), type(uint256).max);
    }

    /*//////////////////////////////////////////////////////////////
                               BUILDERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Conversions at the default tiers, four weekly periods from T0, a third-party attester. Fixed
    /// times, so the same agreement can be rebuilt after a warp.
    function _agreement() internal view returns (PerformanceAgreement memory a) {
        a.brand = brand;
        a.partner = partner;
        a.attester = attester;
        a.arbiter = arbiter;
        a.token = address(usd);
        a.termsHash = keccak256("terms");
        a.metric = Metric.Conversions;
        a.arbiterFeeBps = FEE_BPS;
        a.start = T0;
        a.period = PERIOD;
        a.periods = PERIODS;
        a.reportWindow = REPORT_WINDOW;
        a.lockWindow = LOCK;
        a.arbitrationWindow = ARBITRATION;
        a.deadline = T0 + 1 days;
        a.salt = 1;
        a.tiers = new Tier[](2);
        a.tiers[0] = Tier({fromUnits: 0, rate: RATE0});
        a.tiers[1] = Tier({fromUnits: STEP, rate: RATE1});
    }

    /// @dev Pay of the default tiers, written out.
    function _defaultPay(uint256 units) internal pure returns (uint256) {
        if (units <= STEP) return units * RATE0;
        return STEP * RATE0 + (units - STEP) * RATE1;
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signs the reference id (no call to the contract, so it can follow a vm.expectRevert).
    function _signatures(PerformanceAgreement memory a)
        internal
        view
        returns (bytes memory bs, bytes memory ps)
    {
        bytes32 id = _refId(a);
        bs = _sign(brandKey, id);
        ps = _sign(partnerKey, id);
    }

    function _create(PerformanceAgreement memory a) internal returns (bytes32 id) {
        (bytes memory bs, bytes memory ps) = _signatures(a);
        id = perf.create(a, bs, ps);
    }

    /// @dev Creates `a` and funds `amount` from the brand.
    function _createFunded(PerformanceAgreement memory a, uint256 amount) internal returns (bytes32 id) {
        (bytes memory bs, bytes memory ps) = _signatures(a);
        vm.prank(a.brand);
        id = perf.createAndFund(a, bs, ps, amount);
    }

    function _report(bytes32 id, uint256 period, uint32 version, uint128 units, uint128 revenue)
        internal
        pure
        returns (Report memory r)
    {
        r.agreementId = id;
        // forge-lint: disable-next-line(unsafe-typecast)
        r.period = uint32(period);
        r.version = version;
        r.units = units;
        r.revenue = revenue;
        r.detailRoot = keccak256(abi.encode("records", period, version));
    }

    function _signReport(uint256 key, Report memory r) internal view returns (bytes memory) {
        return _sign(key, _refReportDigest(r));
    }

    /// @dev Submits `r` signed by the attester (anyone may send it: a stranger does).
    function _submit(PerformanceAgreement memory a, Report memory r) internal {
        bytes memory sig = _signReport(attesterKey, r);
        vm.prank(stranger);
        perf.submitReport(a, r, sig);
    }

    /// @dev Submits version `version` of `period` with `units` and revenue `revenue`.
    function _submitUnits(
        PerformanceAgreement memory a,
        bytes32 id,
        uint256 period,
        uint32 version,
        uint128 units,
        uint128 revenue
    ) internal {
        _submit(a, _report(id, period, version, units, revenue));
    }

    /// @dev When `period` ends (its report window opens).
    function _endOf(PerformanceAgreement memory a, uint256 period) internal pure returns (uint256) {
        return uint256(a.start) + uint256(a.period) * (period + 1);
    }

    function _warpToEnd(PerformanceAgreement memory a, uint256 period) internal {
        vm.warp(_endOf(a, period));
    }

    function _dispute(PerformanceAgreement memory a, uint256 period) internal {
        vm.prank(a.brand);
        perf.dispute(a, period, REASON);
    }

    function _release(PerformanceAgreement memory a, uint256 period) internal {
        vm.prank(stranger);
        perf.release(a, period);
    }

    function _terminate(PerformanceAgreement memory a, address by) internal {
        vm.prank(by);
        perf.terminate(a, REASON);
    }

    function _close(PerformanceAgreement memory a) internal {
        vm.prank(stranger);
        perf.close(a);
    }

    /*//////////////////////////////////////////////////////////////
                          EIP-712 REFERENCE
    //////////////////////////////////////////////////////////////*/

    function _refDomain() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("Pactum Performance"), keccak256("1"), block.chainid, address(perf)
            )
        );
    }

    function _refTiersHash(Tier[] memory tiers) internal pure returns (bytes32) {
        bytes memory packed;
        for (uint256 i; i < tiers.length; ++i) {
            packed = bytes.concat(
                packed, keccak256(abi.encode(REF_TIER_TYPEHASH, tiers[i].fromUnits, tiers[i].rate))
            );
        }
        return keccak256(packed);
    }

    /// @dev The agreement's struct hash, field by field (two encodings: every field is one word, so
    /// their concatenation is the single encoding; two keep the stack shallow without via-IR).
    function _refStructHash(PerformanceAgreement memory a) internal pure returns (bytes32) {
        bytes memory head = abi.encode(
            REF_AGREEMENT_TYPEHASH,
            a.brand,
            a.partner,
            a.attester,
            a.arbiter,
            a.token,
            a.termsHash,
            uint256(uint8(a.metric)),
            uint256(a.arbiterFeeBps)
        );
        bytes memory tail = abi.encode(
            uint256(a.start),
            uint256(a.period),
            uint256(a.periods),
            uint256(a.reportWindow),
            uint256(a.lockWindow),
            uint256(a.arbitrationWindow),
            uint256(a.deadline),
            a.salt,
            _refTiersHash(a.tiers)
        );
        return keccak256(bytes.concat(head, tail));
    }

    function _refId(PerformanceAgreement memory a) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", _refDomain(), _refStructHash(a)));
    }

    function _refReportDigest(Report memory r) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                REF_REPORT_TYPEHASH,
                r.agreementId,
                uint256(r.period),
                uint256(r.version),
                uint256(r.units),
                uint256(r.revenue),
                r.detailRoot
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", _refDomain(), structHash));
    }

    /*//////////////////////////////////////////////////////////////
                              ASSERTIONS
    //////////////////////////////////////////////////////////////*/

    function _state(bytes32 id) internal view returns (PerformanceState memory) {
        return perf.getState(id);
    }

    function _period(bytes32 id, uint256 period) internal view returns (PeriodState memory) {
        return perf.getPeriod(id, period);
    }

    function _assertStatus(bytes32 id, PerformanceStatus expected) internal view {
        assertEq(uint8(perf.getState(id).status), uint8(expected), "agreement status");
    }

    function _assertPeriod(bytes32 id, uint256 period, PeriodStatus expected) internal view {
        assertEq(uint8(perf.getPeriod(id, period).status), uint8(expected), "period status");
    }

    function _expectWrongStatus(bytes32 id, PerformanceStatus status) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_WrongStatus.selector, id, uint8(status))
        );
    }

    function _expectWrongPeriodStatus(uint256 period, PeriodStatus status) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumPerformance.Performance_WrongPeriodStatus.selector, period, uint8(status)
            )
        );
    }

    function _expectUnauthorized(address caller) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_Unauthorized.selector, caller));
    }

    /// @dev A hash of everything the contract stores for `id` (state, reserved, periods 0..n-1).
    function _fingerprint(bytes32 id, uint256 n) internal view returns (bytes32 h) {
        h = keccak256(abi.encode(perf.getState(id), perf.reserved(id)));
        for (uint256 i; i < n; ++i) {
            h = keccak256(abi.encode(h, perf.getPeriod(id, i)));
        }
    }

    /// @dev Every action on `a` reverts, as any caller, and nothing it stores or holds changes.
    function _assertFrozen(PerformanceAgreement memory a, bytes32 id) internal {
        bytes32 before = _fingerprint(id, a.periods);
        uint256 balance = usd.balanceOf(address(perf));
        PerformanceStatus status = perf.getState(id).status;
        (bytes memory bs, bytes memory ps) = _signatures(a);

        vm.startPrank(a.brand);
        // Refused as existing, or earlier as expired: either way, refused.
        vm.expectRevert();
        perf.create(a, bs, ps);
        vm.expectRevert();
        perf.createAndFund(a, bs, ps, 1);
        _expectWrongStatus(id, status);
        perf.fund(a, 1);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        perf.revoke(a);
        _expectWrongStatus(id, status);
        perf.terminate(a, REASON);
        _expectWrongStatus(id, status);
        perf.close(a);
        vm.stopPrank();

        for (uint256 i; i < a.periods; ++i) {
            PeriodState memory p = perf.getPeriod(id, i);
            // A report of any period (first or correction) is refused.
            Report memory r = _report(id, i, p.version + 1, 0, 0);
            bytes memory sig = _signReport(attesterKey, r);
            if (p.status == PeriodStatus.Unreported) _expectWrongStatus(id, status);
            else _expectWrongPeriodStatus(i, p.status);
            perf.submitReport(a, r, sig);

            vm.prank(a.brand);
            _expectWrongPeriodStatus(i, p.status);
            perf.dispute(a, i, REASON);
            vm.prank(a.arbiter);
            _expectWrongPeriodStatus(i, p.status);
            perf.resolve(a, i, 5000);
            _expectWrongPeriodStatus(i, p.status);
            perf.resolveAfterTimeout(a, i);
            _expectWrongPeriodStatus(i, p.status);
            perf.release(a, i);
        }
        assertEq(_fingerprint(id, a.periods), before, "frozen agreement changed");
        assertEq(usd.balanceOf(address(perf)), balance, "frozen agreement moved money");
    }
}
