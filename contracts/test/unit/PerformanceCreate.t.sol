// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPactumPerformance} from "../../src/interfaces/IPactumPerformance.sol";
import {
    Metric,
    PerformanceAgreement,
    PerformanceState,
    PerformanceStatus,
    Tier
} from "../../src/types/PerformanceTypes.sol";
import {FeeOnTransferToken, MockERC1271Wallet} from "../mocks/Mocks.sol";
import {PerformanceBase} from "./PerformanceBase.sol";

/// @notice Creation (signatures, bounds, duplicates, revocation) and funding (top-ups and their limits).
contract PerformanceCreateTest is PerformanceBase {
    function _expectInvalidParties() internal {
        vm.expectRevert(IPactumPerformance.Performance_InvalidParties.selector);
    }

    function _expectInvalidTiers() internal {
        vm.expectRevert(IPactumPerformance.Performance_InvalidTiers.selector);
    }

    function _expectInvalidWindow(uint256 w) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_InvalidWindow.selector, w));
    }

    function _expectInvalidTerm() internal {
        vm.expectRevert(IPactumPerformance.Performance_InvalidTerm.selector);
    }

    function _expectInvalidSignature(address signer) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_InvalidSignature.selector, signer)
        );
    }

    /// @dev Signs `a` as both parties and tries to create it (the caller set up expectRevert).
    function _tryCreate(PerformanceAgreement memory a) internal {
        (bytes memory bs, bytes memory ps) = _signatures(a);
        perf.create(a, bs, ps);
    }

    /*//////////////////////////////////////////////////////////////
                                CREATION
    //////////////////////////////////////////////////////////////*/

    function test_Create() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 expectedId = _refId(a);
        (bytes memory bs, bytes memory ps) = _signatures(a);

        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementCreated(expectedId, brand, partner, a);
        vm.prank(stranger);
        bytes32 id = perf.create(a, bs, ps);

        assertEq(id, expectedId, "id is the EIP-712 digest");
        PerformanceState memory s = perf.getState(id);
        assertEq(uint8(s.status), uint8(PerformanceStatus.Active));
        assertEq(s.budget, 0);
        assertEq(s.reported, 0);
        assertEq(s.open, 0);
        assertEq(s.terminatedBy, 0);
        assertEq(s.terminatedAt, 0);
        assertEq(perf.reserved(id), 0);
        assertEq(usd.balanceOf(address(perf)), 0, "create moves no money");
    }

    function test_Create_WithoutArbiter_AttesterIsBrand() public {
        PerformanceAgreement memory a = _agreement();
        a.arbiter = address(0);
        a.attester = brand;
        bytes32 id = _create(a);
        _assertStatus(id, PerformanceStatus.Active);
    }

    function test_Create_Eip1271Partner() public {
        PerformanceAgreement memory a = _agreement();
        MockERC1271Wallet wallet = new MockERC1271Wallet(partner);
        a.partner = address(wallet);
        bytes32 id = perf.hashAgreement(a);
        // The wallet's owner signs; nothing recovers to the wallet itself, it vouches through EIP-1271.
        bytes memory ps = _sign(partnerKey, id);
        bytes memory bs = _sign(brandKey, id);
        perf.create(a, bs, ps);
        _assertStatus(id, PerformanceStatus.Active);
    }

    function test_Create_RevertsWhen_Eip1271WalletRefuses() public {
        PerformanceAgreement memory a = _agreement();
        MockERC1271Wallet wallet = new MockERC1271Wallet(partner);
        wallet.setRefuse(true);
        a.partner = address(wallet);
        bytes32 id = perf.hashAgreement(a);
        bytes memory ps = _sign(partnerKey, id);
        bytes memory bs = _sign(brandKey, id);
        _expectInvalidSignature(address(wallet));
        perf.create(a, bs, ps);
    }

    function test_Create_RevertsWhen_BrandSignatureIsSomeoneElses() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        _expectInvalidSignature(brand);
        perf.create(a, _sign(attesterKey, id), _sign(partnerKey, id));
    }

    function test_Create_RevertsWhen_PartnerSignatureIsTheBrands() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        _expectInvalidSignature(partner);
        perf.create(a, _sign(brandKey, id), _sign(brandKey, id));
    }

    function test_Create_RevertsWhen_SignatureOverAnotherAgreement() public {
        PerformanceAgreement memory a = _agreement();
        (bytes memory bs, bytes memory ps) = _signatures(a);
        a.tiers[1].rate = RATE1 + 1; // the partner signed the lower rate
        _expectInvalidSignature(brand);
        perf.create(a, bs, ps);
    }

    function test_Create_AtDeadline_RevertsAfter() public {
        PerformanceAgreement memory a = _agreement();
        (bytes memory bs, bytes memory ps) = _signatures(a);
        uint256 snap = vm.snapshotState();
        vm.warp(a.deadline);
        perf.create(a, bs, ps);
        vm.revertToState(snap);
        vm.warp(uint256(a.deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_SignatureExpired.selector, a.deadline)
        );
        perf.create(a, bs, ps);
    }

    function test_Create_RevertsWhen_PartiesInvalid() public {
        address[8] memory b;
        address[8] memory p;
        address[8] memory t;
        address[8] memory r;
        // zero brand, zero partner, zero attester, brand == partner, attester == partner,
        // arbiter == brand, arbiter == partner, arbiter == attester
        (b[0], p[0], t[0], r[0]) = (address(0), partner, attester, arbiter);
        (b[1], p[1], t[1], r[1]) = (brand, address(0), attester, arbiter);
        (b[2], p[2], t[2], r[2]) = (brand, partner, address(0), arbiter);
        (b[3], p[3], t[3], r[3]) = (brand, brand, attester, arbiter);
        (b[4], p[4], t[4], r[4]) = (brand, partner, partner, arbiter);
        (b[5], p[5], t[5], r[5]) = (brand, partner, attester, brand);
        (b[6], p[6], t[6], r[6]) = (brand, partner, attester, partner);
        (b[7], p[7], t[7], r[7]) = (brand, partner, attester, attester);
        for (uint256 i; i < 8; ++i) {
            PerformanceAgreement memory a = _agreement();
            (a.brand, a.partner, a.attester, a.arbiter) = (b[i], p[i], t[i], r[i]);
            _expectInvalidParties();
            perf.create(a, "", "");
        }
    }

    function test_Create_RevertsWhen_ArbiterIsAttesterBrand() public {
        // The brand attests (allowed) and also arbitrates: refused.
        PerformanceAgreement memory a = _agreement();
        a.attester = brand;
        a.arbiter = brand;
        _expectInvalidParties();
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_TokenInvalid() public {
        PerformanceAgreement memory a = _agreement();
        a.token = address(0);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_InvalidToken.selector, address(0))
        );
        _tryCreate(a);
        a.token = makeAddr("no code");
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_InvalidToken.selector, a.token));
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_FeeAboveMax() public {
        PerformanceAgreement memory a = _agreement();
        a.arbiterFeeBps = SafeCast.toUint16(perf.MAX_FEE_BPS() + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_InvalidFee.selector, a.arbiterFeeBps)
        );
        _tryCreate(a);
        a.arbiterFeeBps = SafeCast.toUint16(perf.MAX_FEE_BPS());
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_TiersEmpty() public {
        PerformanceAgreement memory a = _agreement();
        a.tiers = new Tier[](0);
        _expectInvalidTiers();
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_TiersNotFromZero() public {
        PerformanceAgreement memory a = _agreement();
        a.tiers[0].fromUnits = 1;
        _expectInvalidTiers();
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_TiersNotAscending() public {
        PerformanceAgreement memory a = _agreement();
        a.tiers[1].fromUnits = 0; // equal to the first
        _expectInvalidTiers();
        _tryCreate(a);

        a = _agreement();
        a.tiers = new Tier[](3);
        a.tiers[0] = Tier(0, 1);
        a.tiers[1] = Tier(50, 2);
        a.tiers[2] = Tier(40, 3); // below the second
        _expectInvalidTiers();
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_TooManyTiers() public {
        PerformanceAgreement memory a = _agreement();
        uint256 max = perf.MAX_TIERS();
        a.tiers = new Tier[](max + 1);
        for (uint256 i; i <= max; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            a.tiers[i] = Tier(uint128(i * 10), 1);
        }
        _expectInvalidTiers();
        _tryCreate(a);

        // Exactly MAX_TIERS is accepted.
        Tier[] memory eight = new Tier[](max);
        for (uint256 i; i < max; ++i) {
            eight[i] = a.tiers[i];
        }
        a.tiers = eight;
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_RevenueRateAbove100Percent() public {
        PerformanceAgreement memory a = _agreement();
        a.metric = Metric.Revenue;
        a.tiers[0].rate = 1000;
        a.tiers[1].rate = 10_001;
        _expectInvalidTiers();
        _tryCreate(a);
        // 100% is allowed; above 10,000 is allowed for per-unit metrics (an amount, not a share).
        a.tiers[1].rate = 10_000;
        _tryCreate(a);
        a.metric = Metric.QualifiedLeads;
        a.tiers[1].rate = 10_001;
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_WindowsOutOfBounds() public {
        uint256 min = perf.MIN_WINDOW();
        uint256 max = perf.MAX_WINDOW();
        PerformanceAgreement memory a = _agreement();

        a.period = SafeCast.toUint32(min - 1);
        _expectInvalidWindow(min - 1);
        _tryCreate(a);
        a = _agreement();
        a.period = SafeCast.toUint32(perf.MAX_PERIOD() + 1);
        a.periods = 1;
        _expectInvalidWindow(perf.MAX_PERIOD() + 1);
        _tryCreate(a);

        for (uint256 k; k < 3; ++k) {
            for (uint256 j; j < 2; ++j) {
                uint256 w = j == 0 ? min - 1 : max + 1;
                a = _agreement();
                if (k == 0) a.reportWindow = SafeCast.toUint32(w);
                else if (k == 1) a.lockWindow = SafeCast.toUint32(w);
                else a.arbitrationWindow = SafeCast.toUint32(w);
                _expectInvalidWindow(w);
                _tryCreate(a);
            }
        }

        // The bounds themselves are accepted.
        a = _agreement();
        a.period = SafeCast.toUint32(perf.MAX_PERIOD());
        a.periods = 1;
        a.reportWindow = SafeCast.toUint32(min);
        a.lockWindow = SafeCast.toUint32(max);
        a.arbitrationWindow = SafeCast.toUint32(min);
        _tryCreate(a);
    }

    function test_Create_RevertsWhen_TermInvalid() public {
        PerformanceAgreement memory a = _agreement();
        a.periods = 0;
        _expectInvalidTerm();
        _tryCreate(a);

        a = _agreement();
        a.period = SafeCast.toUint32(perf.MIN_WINDOW());
        a.periods = SafeCast.toUint32(perf.MAX_PERIODS() + 1);
        _expectInvalidTerm();
        _tryCreate(a);

        // End in the past, and end exactly now.
        a = _agreement();
        a.start = SafeCast.toUint40(block.timestamp - uint256(PERIOD) * PERIODS - 1);
        _expectInvalidTerm();
        _tryCreate(a);
        a.start = SafeCast.toUint40(block.timestamp - uint256(PERIOD) * PERIODS);
        _expectInvalidTerm();
        _tryCreate(a);

        // End beyond MAX_TERM from now; exactly MAX_TERM is accepted.
        a = _agreement();
        a.start = SafeCast.toUint40(block.timestamp + perf.MAX_TERM() - uint256(PERIOD) * PERIODS + 1);
        _expectInvalidTerm();
        _tryCreate(a);
        a.start = SafeCast.toUint40(block.timestamp + perf.MAX_TERM() - uint256(PERIOD) * PERIODS);
        _tryCreate(a);
    }

    function test_Create_StartInThePast_PeriodReportableAtOnce() public {
        PerformanceAgreement memory a = _agreement();
        a.start = SafeCast.toUint40(block.timestamp - PERIOD - 1 hours);
        bytes32 id = _createFunded(a, BUDGET);
        _submitUnits(a, id, 0, 1, 5, 0);
        assertEq(_period(id, 0).pay, 5 * RATE0);
    }

    function test_Create_RevertsWhen_Duplicate() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _create(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        _tryCreate(a);
        // Another salt is another agreement.
        a.salt = 2;
        _tryCreate(a);
    }

    /*//////////////////////////////////////////////////////////////
                                 REVOKE
    //////////////////////////////////////////////////////////////*/

    function test_Revoke_ThenCreateRefused() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementRevoked(id, partner);
        vm.prank(partner);
        perf.revoke(a);
        _assertStatus(id, PerformanceStatus.Revoked);

        (bytes memory bs, bytes memory ps) = _signatures(a);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        perf.create(a, bs, ps);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        perf.createAndFund(a, bs, ps, BUDGET);
        // Revoking twice is refused too.
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        perf.revoke(a);
    }

    function test_Revoke_ByBrand() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementRevoked(id, brand);
        vm.prank(brand);
        perf.revoke(a);
        _assertStatus(id, PerformanceStatus.Revoked);
    }

    function test_Revoke_RevertsWhen_NotAParty() public {
        PerformanceAgreement memory a = _agreement();
        address[2] memory others = [attester, arbiter];
        for (uint256 i; i < 2; ++i) {
            vm.prank(others[i]);
            _expectUnauthorized(others[i]);
            perf.revoke(a);
        }
        _assertStatus(perf.hashAgreement(a), PerformanceStatus.None);
    }

    function test_Revoke_RevertsWhen_Created() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _create(a);
        vm.prank(partner);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        perf.revoke(a);
        _assertStatus(id, PerformanceStatus.Active);
    }

    /*//////////////////////////////////////////////////////////////
                            CREATE AND FUND
    //////////////////////////////////////////////////////////////*/

    function test_CreateAndFund() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = perf.hashAgreement(a);
        (bytes memory bs, bytes memory ps) = _signatures(a);
        uint256 before = usd.balanceOf(brand);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.PerformanceAgreementCreated(id, brand, partner, a);
        vm.expectEmit(address(perf));
        emit IPactumPerformance.BudgetFunded(id, brand, BUDGET, BUDGET);
        vm.prank(brand);
        assertEq(perf.createAndFund(a, bs, ps, BUDGET), id);
        assertEq(_state(id).budget, BUDGET);
        assertEq(usd.balanceOf(address(perf)), BUDGET);
        assertEq(before - usd.balanceOf(brand), BUDGET);
    }

    function test_CreateAndFund_AdoptsFrontRunCreate() public {
        PerformanceAgreement memory a = _agreement();
        (bytes memory bs, bytes memory ps) = _signatures(a);
        // Someone saw the brand's transaction and created the agreement first.
        vm.prank(stranger);
        bytes32 id = perf.create(a, bs, ps);

        vm.recordLogs();
        vm.prank(brand);
        assertEq(perf.createAndFund(a, bs, ps, BUDGET), id);
        // Only the funding is logged: no second creation.
        assertEq(vm.getRecordedLogs().length, 2, "BudgetFunded + the token's Transfer only");
        assertEq(_state(id).budget, BUDGET);
        assertEq(uint8(_state(id).status), uint8(PerformanceStatus.Active));
    }

    function test_CreateAndFund_RevertsWhen_AlreadyFunded() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        (bytes memory bs, bytes memory ps) = _signatures(a);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_AlreadyExists.selector, id));
        perf.createAndFund(a, bs, ps, BUDGET);
        assertEq(_state(id).budget, BUDGET);
    }

    function test_CreateAndFund_RevertsWhen_ZeroAmount() public {
        PerformanceAgreement memory a = _agreement();
        (bytes memory bs, bytes memory ps) = _signatures(a);
        vm.prank(brand);
        vm.expectRevert(IPactumPerformance.Performance_ZeroAmount.selector);
        perf.createAndFund(a, bs, ps, 0);
        _assertStatus(perf.hashAgreement(a), PerformanceStatus.None);
    }

    /*//////////////////////////////////////////////////////////////
                                FUNDING
    //////////////////////////////////////////////////////////////*/

    function test_Fund_TopUp_ByAnyone() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        usd.mint(stranger, 500e6);
        vm.prank(stranger);
        usd.approve(address(perf), 500e6);

        vm.expectEmit(address(perf));
        emit IPactumPerformance.BudgetFunded(id, stranger, 500e6, BUDGET + 500e6);
        vm.prank(stranger);
        perf.fund(a, 500e6);
        assertEq(_state(id).budget, BUDGET + 500e6);
        assertEq(usd.balanceOf(address(perf)), BUDGET + 500e6);
        assertEq(usd.balanceOf(stranger), 0);
    }

    function test_Fund_TopUpAfterReport_ExtendsBudget() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, 100e6);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 50, 0); // 500e6 due, 100e6 there: capped
        assertEq(_period(id, 0).pay, 100e6);
        assertEq(_state(id).budget, 0);
        vm.prank(brand);
        perf.fund(a, 1000e6);
        _warpToEnd(a, 1);
        _submitUnits(a, id, 1, 1, 50, 0);
        assertEq(_period(id, 1).pay, 500e6, "the top-up pays later periods in full");
        assertEq(_state(id).budget, 500e6);
    }

    function test_Fund_RevertsWhen_Unknown() public {
        PerformanceAgreement memory a = _agreement();
        _expectWrongStatus(perf.hashAgreement(a), PerformanceStatus.None);
        vm.prank(brand);
        perf.fund(a, 1);
    }

    function test_Fund_RevertsWhen_FeeOnTransfer() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        fot.mint(brand, 10_000e6);
        vm.prank(brand);
        fot.approve(address(perf), type(uint256).max);
        PerformanceAgreement memory a = _agreement();
        a.token = address(fot);
        (bytes memory bs, bytes memory ps) = _signatures(a);
        vm.prank(brand);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_FundingShortfall.selector, 1000e6, 990e6)
        );
        perf.createAndFund(a, bs, ps, 1000e6);

        bytes32 id = _create(a);
        vm.prank(brand);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumPerformance.Performance_FundingShortfall.selector, 1000e6, 990e6)
        );
        perf.fund(a, 1000e6);
        assertEq(_state(id).budget, 0, "no budget recorded for a shortfall");
        assertEq(fot.balanceOf(address(perf)), 0);
    }

    function test_Fund_RevertsWhen_Terminated() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _terminate(a, partner);
        vm.prank(brand);
        vm.expectRevert(IPactumPerformance.Performance_AlreadyTerminated.selector);
        perf.fund(a, 1);
        assertEq(_state(id).budget, BUDGET);
    }

    function test_Fund_UntilEnd_RevertsAtEnd() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        uint256 end = _endOf(a, PERIODS - 1);
        vm.warp(end - 1);
        vm.prank(brand);
        perf.fund(a, 1);
        vm.warp(end);
        vm.prank(brand);
        vm.expectRevert(abi.encodeWithSelector(IPactumPerformance.Performance_Over.selector, end));
        perf.fund(a, 1);
        assertEq(_state(id).budget, BUDGET + 1);
    }

    function test_Fund_RevertsWhen_Closed() public {
        PerformanceAgreement memory a = _agreement();
        bytes32 id = _createFunded(a, BUDGET);
        _terminate(a, brand); // terminated at start: nothing reportable, close at once
        _close(a);
        _expectWrongStatus(id, PerformanceStatus.Ended);
        vm.prank(brand);
        perf.fund(a, 1);
    }

    function test_Fund_RevertsWhen_BudgetOverflows() public {
        PerformanceAgreement memory a = _agreement();
        usd.mint(brand, type(uint256).max - usd.totalSupply());
        bytes32 id = _createFunded(a, type(uint128).max);
        vm.prank(brand);
        vm.expectRevert(IPactumPerformance.Performance_BudgetTooLarge.selector);
        perf.fund(a, 1);
        assertEq(_state(id).budget, type(uint128).max);
    }

    /// @notice A top-up that refills the unreserved budget to the 128-bit maximum while pay is reserved
    /// would make a later return to the budget (a lowering correction, a ruling's remainder) exceed
    /// 128 bits, truncating the stored budget: money stuck in the contract. Budget plus reserved is
    /// bounded instead.
    function test_Fund_RevertsWhen_BudgetPlusReservedOverflows() public {
        PerformanceAgreement memory a = _agreement();
        usd.mint(brand, type(uint256).max - usd.totalSupply());
        bytes32 id = _createFunded(a, type(uint128).max);
        _warpToEnd(a, 0);
        _submitUnits(a, id, 0, 1, 1, 0); // reserves RATE0
        assertEq(perf.reserved(id), RATE0);
        vm.prank(brand);
        vm.expectRevert(IPactumPerformance.Performance_BudgetTooLarge.selector);
        perf.fund(a, RATE0);

        vm.prank(brand);
        vm.expectRevert(IPactumPerformance.Performance_BudgetTooLarge.selector);
        perf.fund(a, 1);

        // The correction returns the reservation to an exact budget: every unit is accounted for.
        _submitUnits(a, id, 0, 2, 0, 0);
        assertEq(_state(id).budget, type(uint128).max, "budget exact");
        assertEq(perf.reserved(id), 0);
        assertEq(usd.balanceOf(address(perf)), type(uint128).max, "every unit in the contract is budget");
    }
}
