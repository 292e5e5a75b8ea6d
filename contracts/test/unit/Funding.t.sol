// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {Agreement, Permit, Status} from "../../src/types/DataTypes.sol";
import {BlacklistToken, FeeOnTransferToken} from "../mocks/Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

contract FundingTest is UnitBase {
    address internal funder;
    uint256 internal funderKey;

    function setUp() public override {
        super.setUp();
        (funder, funderKey) = makeAddrAndKey("funder");
        usd.mint(funder, 100_000e6);
        // The brand funds through permits in these tests: no standing allowance.
        vm.prank(brand);
        usd.approve(address(escrow), 0);
    }

    function _approveBrand() internal {
        vm.prank(brand);
        usd.approve(address(escrow), type(uint256).max);
    }

    function _expectInvalidFundCount(uint256 count, uint256 remaining) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFundCount.selector, count, remaining)
        );
    }

    function _expectWrongValue(uint256 expected, uint256 received) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_WrongValue.selector, expected, received));
    }

    /*//////////////////////////////////////////////////////////////
                             CREATE AND FUND
    //////////////////////////////////////////////////////////////*/

    function test_CreateAndFund_ERC20_All() public {
        _approveBrand();
        Agreement memory a = _usd(3);
        bytes32 id = escrow.hashAgreement(a);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        uint256 brandBefore = usd.balanceOf(brand);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCreated(id, brand, creator, a);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, brand, 0, 3, 3 * AMOUNT);
        vm.prank(brand);
        assertEq(escrow.createAndFund(a, bs, cs, 3), id);

        assertEq(usd.balanceOf(address(escrow)), 3 * AMOUNT);
        assertEq(usd.balanceOf(brand), brandBefore - 3 * AMOUNT);
        assertEq(escrow.getState(id).fundedCount, 3);
        _assertStatus(id, Status.Active);
    }

    function test_CreateAndFund_ETH() public {
        Agreement memory a = _eth(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        bytes32 id = escrow.hashAgreement(a);
        uint256 brandBefore = brand.balance;

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, brand, 0, 2, 2 * AMOUNT);
        vm.prank(brand);
        escrow.createAndFund{value: 2 * AMOUNT}(a, bs, cs, 2);

        assertEq(address(escrow).balance, 2 * AMOUNT);
        assertEq(brand.balance, brandBefore - 2 * AMOUNT);
        assertEq(escrow.getState(id).fundedCount, 2);
    }

    function test_CreateAndFund_Partial() public {
        _approveBrand();
        Agreement memory a = _usd(3);
        a.milestones[0].amount = 7e6;
        bytes32 id = _createFundedN(a, 1);
        assertEq(escrow.getState(id).fundedCount, 1);
        assertEq(usd.balanceOf(address(escrow)), 7e6);
    }

    function test_RevertWhen_CreateAndFund_ETHValueTooLow() public {
        Agreement memory a = _eth(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectWrongValue(2 * AMOUNT, 2 * AMOUNT - 1);
        vm.prank(brand);
        escrow.createAndFund{value: 2 * AMOUNT - 1}(a, bs, cs, 2);
    }

    function test_RevertWhen_CreateAndFund_ETHValueTooHigh() public {
        Agreement memory a = _eth(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectWrongValue(AMOUNT, 2 * AMOUNT);
        vm.prank(brand);
        escrow.createAndFund{value: 2 * AMOUNT}(a, bs, cs, 1);
    }

    function test_RevertWhen_CreateAndFund_ERC20WithValue() public {
        _approveBrand();
        Agreement memory a = _usd(1);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectWrongValue(0, 1);
        vm.prank(brand);
        escrow.createAndFund{value: 1}(a, bs, cs, 1);
    }

    function test_RevertWhen_CreateAndFund_ZeroCount() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectInvalidFundCount(0, 3);
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 0);
    }

    function test_RevertWhen_CreateAndFund_CountAboveMilestones() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        _expectInvalidFundCount(4, 3);
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 4);
    }

    function test_RevertWhen_CreateAndFund_InvalidAgreement() public {
        Agreement memory a = _usd(1);
        a.arbiterFeeBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(IPactumEscrow.Escrow_InvalidFee.selector, 10_001));
        escrow.createAndFund(a, "", "", 1);
    }

    function test_RevertWhen_CreateAndFund_NoAllowance() public {
        Agreement memory a = _usd(1);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, AMOUNT
            )
        );
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 1);
    }

    function test_RevertWhen_CreateAndFund_FeeOnTransferToken() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        fot.mint(brand, 10 * AMOUNT);
        vm.prank(brand);
        fot.approve(address(escrow), type(uint256).max);
        Agreement memory a = _agreement(address(fot), 2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactumEscrow.Escrow_FundingShortfall.selector, 2 * AMOUNT, 2 * AMOUNT * 99 / 100
            )
        );
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 2);
    }

    /*//////////////////////////////////////////////////////////////
                                 FUND
    //////////////////////////////////////////////////////////////*/

    function test_Fund_MilestoneByMilestone() public {
        _approveBrand();
        Agreement memory a = _usd(3);
        bytes32 id = _createOnly(a);
        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(address(escrow));
            emit IPactumEscrow.MilestonesFunded(id, brand, i, 1, AMOUNT);
            vm.prank(brand);
            escrow.fund(a, i, 1);
            assertEq(escrow.getState(id).fundedCount, i + 1);
            assertEq(usd.balanceOf(address(escrow)), (i + 1) * AMOUNT);
        }
        _expectInvalidFundCount(1, 0);
        vm.prank(brand);
        escrow.fund(a, 3, 1);
    }

    function test_Fund_SeveralAtOnce() public {
        _approveBrand();
        Agreement memory a = _usd(4);
        a.milestones[1].amount = 11;
        a.milestones[2].amount = 22;
        bytes32 id = _createFundedN(a, 1);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, brand, 1, 2, 33);
        vm.prank(brand);
        escrow.fund(a, 1, 2);
        assertEq(escrow.getState(id).fundedCount, 3);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT + 33);
    }

    function test_Fund_ETH() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createOnly(a);
        vm.prank(brand);
        escrow.fund{value: AMOUNT}(a, 0, 1);
        vm.prank(brand);
        escrow.fund{value: AMOUNT}(a, 1, 1);
        assertEq(escrow.getState(id).fundedCount, 2);
        assertEq(address(escrow).balance, 2 * AMOUNT);
    }

    function test_Fund_ByThirdParty() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        vm.prank(funder);
        usd.approve(address(escrow), AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, funder, 0, 1, AMOUNT);
        vm.prank(funder);
        escrow.fund(a, 0, 1);
        assertEq(usd.balanceOf(funder), 100_000e6 - AMOUNT);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
    }

    function test_RevertWhen_Fund_ETHWrongValue() public {
        Agreement memory a = _eth(2);
        _createOnly(a);
        _expectWrongValue(AMOUNT, AMOUNT + 1);
        vm.prank(brand);
        escrow.fund{value: AMOUNT + 1}(a, 0, 1);
        _expectWrongValue(AMOUNT, 0);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
    }

    function test_RevertWhen_Fund_ERC20WithValue() public {
        _approveBrand();
        Agreement memory a = _usd(2);
        _createOnly(a);
        _expectWrongValue(0, 5);
        vm.prank(brand);
        escrow.fund{value: 5}(a, 0, 1);
    }

    function test_RevertWhen_Fund_ZeroCount() public {
        Agreement memory a = _usd(2);
        _createOnly(a);
        _expectInvalidFundCount(0, 2);
        vm.prank(brand);
        escrow.fund(a, 0, 0);
    }

    function test_RevertWhen_Fund_MoreThanRemaining() public {
        _approveBrand();
        Agreement memory a = _usd(3);
        _createFundedN(a, 1);
        _expectInvalidFundCount(3, 2);
        vm.prank(brand);
        escrow.fund(a, 1, 3);
    }

    function test_RevertWhen_Fund_AllFunded() public {
        _approveBrand();
        Agreement memory a = _usd(2);
        _createFundedN(a, 2);
        _expectInvalidFundCount(1, 0);
        vm.prank(brand);
        escrow.fund(a, 2, 1);
    }

    function test_RevertWhen_Fund_FeeOnTransferToken() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        fot.mint(brand, 10 * AMOUNT);
        vm.prank(brand);
        fot.approve(address(escrow), type(uint256).max);
        Agreement memory a = _agreement(address(fot), 2);
        _createOnly(a);
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_FundingShortfall.selector, AMOUNT, AMOUNT * 99 / 100)
        );
        vm.prank(brand);
        escrow.fund(a, 0, 1);
    }

    function test_RevertGiven_Fund_NotCreated() public {
        Agreement memory a = _usd(1);
        _expectWrongStatus(escrow.hashAgreement(a), Status.None);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
    }

    function test_RevertGiven_Fund_Revoked() public {
        Agreement memory a = _usd(1);
        vm.prank(brand);
        escrow.revoke(a);
        _expectWrongStatus(escrow.hashAgreement(a), Status.Revoked);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
    }

    function test_RevertGiven_Fund_Terminating() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        _terminate(a, brand);
        _expectWrongStatus(id, Status.Terminating);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
    }

    function test_RevertGiven_Fund_Completed() public {
        _approveBrand();
        Agreement memory a = _usd(2);
        bytes32 id = _createFundedN(a, 1);
        // Completing needs every milestone final: fund the rest, then approve both.
        vm.prank(brand);
        escrow.fund(a, 1, 1);
        _approve(a, 0);
        _approve(a, 1);
        _expectWrongStatus(id, Status.Completed);
        vm.prank(brand);
        escrow.fund(a, 2, 1);
    }

    function test_RevertGiven_Fund_Terminated() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        _terminate(a, creator);
        vm.warp(block.timestamp + CONTEST + 1);
        escrow.finalizeTermination(a);
        _expectWrongStatus(id, Status.Terminated);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
    }

    function _expectWrongFirst(uint256 first, uint256 next) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_WrongFirstMilestone.selector, first, next)
        );
    }

    /// @dev A funding transaction names the milestone it starts at: one built before another funding
    /// landed (so priced for milestones already funded) is refused instead of funding the next ones.
    function test_RevertWhen_Fund_WrongFirstMilestone() public {
        _approveBrand();
        Agreement memory a = _usd(4);
        a.milestones[2].amount = 5 * AMOUNT;
        bytes32 id = _createFundedN(a, 1);
        // Behind: milestone 0 is funded already.
        _expectWrongFirst(0, 1);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
        // Ahead: milestone 1 is next.
        _expectWrongFirst(2, 1);
        vm.prank(brand);
        escrow.fund(a, 2, 1);
        // Checked before the count.
        _expectWrongFirst(3, 1);
        vm.prank(brand);
        escrow.fund(a, 3, 0);
        assertEq(escrow.getState(id).fundedCount, 1);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
    }

    function test_RevertWhen_Fund_StaleFirstAfterFrontRun() public {
        Agreement memory a = _usd(3);
        bytes32 id = _createOnly(a);
        vm.prank(funder);
        usd.approve(address(escrow), type(uint256).max);
        // Two funders both price milestone 0; the second transaction no longer funds milestone 1.
        vm.prank(funder);
        escrow.fund(a, 0, 1);
        _approveBrand();
        _expectWrongFirst(0, 1);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
        assertEq(escrow.getState(id).fundedCount, 1);
    }

    function test_RevertWhen_FundWithPermit_WrongFirstMilestone() public {
        Agreement memory a = _usd(2);
        _createOnly(a);
        Permit memory p = _permit(brandKey, AMOUNT, block.timestamp + 1 hours);
        _expectWrongFirst(1, 0);
        vm.prank(brand);
        escrow.fundWithPermit(a, 1, 1, p);
    }

    /// @dev The status is checked before `first`.
    function test_RevertGiven_Fund_TerminatingWithWrongFirst() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        _terminate(a, brand);
        _expectWrongStatus(id, Status.Terminating);
        vm.prank(brand);
        escrow.fund(a, 5, 1);
    }

    function test_Fund_BumpsNonce() public {
        _approveBrand();
        Agreement memory a = _usd(3);
        bytes32 id = _createOnly(a);
        assertEq(_nonce(id), 0);
        vm.prank(brand);
        escrow.fund(a, 0, 1);
        assertEq(_nonce(id), 1);
        vm.prank(brand);
        escrow.fund(a, 1, 2);
        assertEq(_nonce(id), 2);
    }

    /*//////////////////////////////////////////////////////////////
                                PERMIT
    //////////////////////////////////////////////////////////////*/

    function test_CreateAndFundWithPermit() public {
        Agreement memory a = _usd(3);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        bytes32 id = escrow.hashAgreement(a);
        Permit memory p = _permit(brandKey, 2 * AMOUNT, block.timestamp + 1 hours);
        uint256 brandBefore = usd.balanceOf(brand);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, brand, 0, 2, 2 * AMOUNT);
        vm.prank(brand);
        assertEq(escrow.createAndFundWithPermit(a, bs, cs, 2, p), id);

        assertEq(usd.balanceOf(address(escrow)), 2 * AMOUNT);
        assertEq(usd.balanceOf(brand), brandBefore - 2 * AMOUNT);
        assertEq(usd.nonces(brand), 1, "permit used");
        assertEq(usd.allowance(brand, address(escrow)), 0, "exact allowance consumed");
        assertEq(escrow.getState(id).fundedCount, 2);
    }

    function test_FundWithPermit() public {
        Agreement memory a = _usd(3);
        bytes32 id = _createOnly(a);
        Permit memory p = _permit(funderKey, AMOUNT, block.timestamp + 1 hours);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestonesFunded(id, funder, 0, 1, AMOUNT);
        vm.prank(funder);
        escrow.fundWithPermit(a, 0, 1, p);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
        assertEq(usd.nonces(funder), 1);
        assertEq(escrow.getState(id).fundedCount, 1);
    }

    function test_FundWithPermit_FrontRunPermit() public {
        Agreement memory a = _usd(2);
        bytes32 id = _createOnly(a);
        Permit memory p = _permit(brandKey, 2 * AMOUNT, block.timestamp + 1 hours);
        // Someone copies the permit from the mempool and submits it first.
        vm.prank(stranger);
        usd.permit(brand, address(escrow), 2 * AMOUNT, p.deadline, p.v, p.r, p.s);
        assertEq(usd.allowance(brand, address(escrow)), 2 * AMOUNT);
        // The escrow's own permit call now fails (nonce used); it is ignored and the allowance used.
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 2, p);
        assertEq(usd.balanceOf(address(escrow)), 2 * AMOUNT);
        assertEq(escrow.getState(id).fundedCount, 2);
        assertEq(usd.allowance(brand, address(escrow)), 0);
    }

    function test_CreateAndFundWithPermit_FrontRunPermit() public {
        Agreement memory a = _usd(1);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        Permit memory p = _permit(brandKey, AMOUNT, block.timestamp + 1 hours);
        usd.permit(brand, address(escrow), AMOUNT, p.deadline, p.v, p.r, p.s);
        vm.prank(brand);
        bytes32 id = escrow.createAndFundWithPermit(a, bs, cs, 1, p);
        assertEq(escrow.getState(id).fundedCount, 1);
        assertEq(usd.balanceOf(address(escrow)), AMOUNT);
    }

    function test_FundWithPermit_TokenWithoutPermitUsesAllowance() public {
        BlacklistToken plain = new BlacklistToken();
        plain.mint(brand, AMOUNT);
        vm.prank(brand);
        plain.approve(address(escrow), AMOUNT);
        Agreement memory a = _agreement(address(plain), 1);
        bytes32 id = _createOnly(a);
        Permit memory p;
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 1, p);
        assertEq(plain.balanceOf(address(escrow)), AMOUNT);
        assertEq(escrow.getState(id).fundedCount, 1);
    }

    function test_RevertWhen_FundWithPermit_PermitInvalidAndNoAllowance() public {
        Agreement memory a = _usd(1);
        _createOnly(a);
        // Signed by another key: the permit fails, silently; the transfer then fails with the token's error.
        Permit memory p = _permit(funderKey, AMOUNT, block.timestamp + 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, AMOUNT
            )
        );
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 1, p);
    }

    function test_RevertWhen_FundWithPermit_PermitForOtherAmount() public {
        Agreement memory a = _usd(2);
        _createOnly(a);
        Permit memory p = _permit(brandKey, AMOUNT, block.timestamp + 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, 2 * AMOUNT
            )
        );
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 2, p);
    }

    function test_RevertWhen_FundWithPermit_PermitExpired() public {
        Agreement memory a = _usd(1);
        _createOnly(a);
        Permit memory p = _permit(brandKey, AMOUNT, block.timestamp - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, AMOUNT
            )
        );
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 1, p);
    }

    function test_RevertWhen_FundWithPermit_ETH() public {
        Agreement memory a = _eth(2);
        _createOnly(a);
        Permit memory p;
        _expectWrongValue(AMOUNT, 0);
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 1, p);
    }

    function test_RevertWhen_CreateAndFundWithPermit_ETH() public {
        Agreement memory a = _eth(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        Permit memory p;
        _expectWrongValue(2 * AMOUNT, 0);
        vm.prank(brand);
        escrow.createAndFundWithPermit(a, bs, cs, 2, p);
    }

    function test_RevertWhen_FundWithPermit_ZeroCount() public {
        Agreement memory a = _usd(2);
        _createOnly(a);
        Permit memory p;
        _expectInvalidFundCount(0, 2);
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 0, p);
    }

    function test_RevertWhen_CreateAndFundWithPermit_CountTooHigh() public {
        Agreement memory a = _usd(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        Permit memory p;
        _expectInvalidFundCount(3, 2);
        vm.prank(brand);
        escrow.createAndFundWithPermit(a, bs, cs, 3, p);
    }

    function test_RevertGiven_FundWithPermit_NotCreated() public {
        Agreement memory a = _usd(1);
        Permit memory p = _permit(brandKey, AMOUNT, block.timestamp + 1 hours);
        _expectWrongStatus(escrow.hashAgreement(a), Status.None);
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 1, p);
    }

    function test_RevertWhen_FundWithPermit_FeeOnTransferToken() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        fot.mint(brand, AMOUNT);
        vm.prank(brand);
        fot.approve(address(escrow), AMOUNT);
        Agreement memory a = _agreement(address(fot), 1);
        _createOnly(a);
        Permit memory p;
        vm.expectRevert(
            abi.encodeWithSelector(IPactumEscrow.Escrow_FundingShortfall.selector, AMOUNT, AMOUNT * 99 / 100)
        );
        vm.prank(brand);
        escrow.fundWithPermit(a, 0, 1, p);
    }
}
