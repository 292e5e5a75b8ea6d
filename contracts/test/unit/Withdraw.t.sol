// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IPactumEscrow} from "../../src/interfaces/IPactumEscrow.sol";
import {IPullPayments} from "../../src/interfaces/IPullPayments.sol";
import {Agreement, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {BlacklistToken, GasGuzzler, MockERC1271Wallet, RevertingReceiver} from "../mocks/Mocks.sol";
import {
    FalseReturnToken,
    GasHungryToken,
    NoReturnToken,
    ReentrantReceiver,
    ReentrantToken
} from "../mocks/UnitMocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice No recipient can freeze an agreement: failed pushes are deferred and withdrawn later.
contract WithdrawTest is UnitBase {
    event Reentered(bool ok, bytes returnData);

    bytes internal REENTRANT =
        abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);

    /// @dev Turns an (already signed-in) EOA party into a contract, as an EIP-7702 delegation would.
    function _becomeContract(address account, bytes memory runtimeCode) internal {
        vm.etch(account, runtimeCode);
    }

    function _expectNothing(address token, address account) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IPullPayments.Escrow_NothingToWithdraw.selector, token, account)
        );
    }

    /*//////////////////////////////////////////////////////////////
                          ETH: REVERTING RECEIVER
    //////////////////////////////////////////////////////////////*/

    function test_Approve_RevertingCreatorDeferred() public {
        Agreement memory a = _eth(1);
        bytes32 id = _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneApproved(id, 0, AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactumEscrow.AgreementCompleted(id);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), creator, AMOUNT);
        _approve(a, 0);

        _assertStatus(id, Status.Completed);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);
        assertEq(creator.balance, 0);
        assertEq(address(escrow).balance, AMOUNT);

        vm.expectEmit(address(escrow));
        emit IPullPayments.Withdrawn(address(0), creator, payee, AMOUNT);
        vm.prank(creator);
        escrow.withdraw(address(0), payee);
        assertEq(payee.balance, AMOUNT);
        assertEq(escrow.claimable(address(0), creator), 0);
        assertEq(address(escrow).balance, 0);
    }

    function test_Withdraw_ToSelfOnceAccepting() public {
        Agreement memory a = _eth(1);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);

        // Still refusing: the withdrawal reverts with the receiver's error and nothing is lost.
        vm.expectRevert(bytes("no thanks"));
        vm.prank(creator);
        escrow.withdraw(address(0), creator);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);

        RevertingReceiver(payable(creator)).setAccept(true);
        vm.prank(creator);
        escrow.withdraw(address(0), creator);
        assertEq(creator.balance, AMOUNT);
        assertEq(escrow.claimable(address(0), creator), 0);
    }

    function test_Withdraw_AccumulatesDeferredPayments() public {
        Agreement memory a = _eth(2);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        _approve(a, 1);
        assertEq(escrow.claimable(address(0), creator), 2 * AMOUNT);
        vm.prank(creator);
        escrow.withdraw(address(0), payee);
        assertEq(payee.balance, 2 * AMOUNT);
    }

    function test_Approve_GasGuzzlerCreatorDeferred() public {
        Agreement memory a = _eth(1);
        bytes32 id = _createFunded(a);
        _becomeContract(creator, type(GasGuzzler).runtimeCode);

        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), creator, AMOUNT);
        uint256 gasBefore = gasleft();
        _approve(a, 0);
        // The recipient got ETH_PUSH_GAS and no more: it could not burn the caller's gas.
        assertLt(gasBefore - gasleft(), 150_000, "bounded gas");
        _assertStatus(id, Status.Completed);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);

        vm.prank(creator);
        escrow.withdraw(address(0), payee);
        assertEq(payee.balance, AMOUNT);
    }

    function test_Push_ContractWalletReceivesDirectly() public {
        MockERC1271Wallet wallet = new MockERC1271Wallet(creator);
        Agreement memory a = _eth(1);
        a.creator = address(wallet);
        bytes32 id = escrow.hashAgreement(a);
        (bytes memory bs, bytes memory cs) = _signBoth(id);
        vm.prank(brand);
        escrow.createAndFund{value: AMOUNT}(a, bs, cs, 1);
        _approve(a, 0);
        assertEq(address(wallet).balance, AMOUNT);
        assertEq(escrow.claimable(address(0), address(wallet)), 0);
    }

    function test_Reclaim_RevertingBrandDeferred() public {
        Agreement memory a = _eth(1);
        bytes32 id = _createFunded(a);
        _becomeContract(brand, type(RevertingReceiver).runtimeCode);
        vm.warp(uint256(a.milestones[0].deadline) + 1);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), brand, AMOUNT);
        vm.prank(brand);
        escrow.reclaimAfterDeadline(a, 0);
        _assertStatus(id, Status.Completed);
        assertEq(escrow.claimable(address(0), brand), AMOUNT);
    }

    function test_ResolveDispute_EveryRecipientRevertingDeferred() public {
        Agreement memory a = _eth(1);
        bytes32 id = _createFunded(a);
        _submit(a, 0);
        _dispute(a, 0, brand);
        _becomeContract(brand, type(RevertingReceiver).runtimeCode);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _becomeContract(arbiter, type(GasGuzzler).runtimeCode);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), creator, 4875e5);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), brand, 4875e5);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), arbiter, 25e6);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
        _assertMilestone(id, 0, MilestoneStatus.Resolved);
        _assertStatus(id, Status.Completed);
        assertEq(escrow.claimable(address(0), arbiter), 25e6);
        vm.prank(arbiter);
        escrow.withdraw(address(0), payee);
        assertEq(payee.balance, 25e6);
    }

    function test_FinalizeTermination_RevertingBrandDeferred() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        _terminate(a, creator);
        _becomeContract(brand, type(RevertingReceiver).runtimeCode);
        vm.warp(block.timestamp + CONTEST + 1);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), brand, 2 * AMOUNT);
        escrow.finalizeTermination(a);
        _assertStatus(id, Status.Terminated);
        assertEq(escrow.claimable(address(0), brand), 2 * AMOUNT);
    }

    /*//////////////////////////////////////////////////////////////
                          ERC-20: BLACKLISTED
    //////////////////////////////////////////////////////////////*/

    function _blacklistAgreement(uint256 n)
        internal
        returns (BlacklistToken blt, Agreement memory a, bytes32 id)
    {
        blt = new BlacklistToken();
        blt.mint(brand, 100 * AMOUNT);
        vm.prank(brand);
        blt.approve(address(escrow), type(uint256).max);
        a = _agreement(address(blt), n);
        id = _createFunded(a);
    }

    function test_Approve_BlacklistedCreatorDeferred() public {
        (BlacklistToken blt, Agreement memory a, bytes32 id) = _blacklistAgreement(1);
        blt.setBlocked(creator, true);

        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(blt), creator, AMOUNT);
        _approve(a, 0);
        _assertStatus(id, Status.Completed);
        assertEq(escrow.claimable(address(blt), creator), AMOUNT);

        // The blocked account cannot receive, but can send its claim elsewhere.
        vm.expectRevert(abi.encodeWithSelector(BlacklistToken.Blocked.selector, creator));
        vm.prank(creator);
        escrow.withdraw(address(blt), creator);

        vm.expectEmit(address(escrow));
        emit IPullPayments.Withdrawn(address(blt), creator, payee, AMOUNT);
        vm.prank(creator);
        escrow.withdraw(address(blt), payee);
        assertEq(blt.balanceOf(payee), AMOUNT);
        assertEq(blt.balanceOf(address(escrow)), 0);
        assertEq(escrow.claimable(address(blt), creator), 0);
    }

    function test_ResolveDispute_BlacklistedBrandDeferred() public {
        (BlacklistToken blt, Agreement memory a, bytes32 id) = _blacklistAgreement(1);
        _submit(a, 0);
        _dispute(a, 0, creator);
        blt.setBlocked(brand, true);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(blt), brand, 4875e5);
        vm.prank(arbiter);
        escrow.resolveDispute(a, 0, 5000);
        assertEq(blt.balanceOf(creator), 4875e5);
        assertEq(blt.balanceOf(arbiter), 25e6);
        assertEq(escrow.claimable(address(blt), brand), 4875e5);
    }

    /*//////////////////////////////////////////////////////////////
                            WITHDRAW ERRORS
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_Withdraw_NothingETH() public {
        _expectNothing(address(0), creator);
        vm.prank(creator);
        escrow.withdraw(address(0), creator);
    }

    function test_RevertWhen_Withdraw_NothingToken() public {
        _expectNothing(address(usd), brand);
        vm.prank(brand);
        escrow.withdraw(address(usd), payee);
    }

    function test_RevertWhen_Withdraw_ZeroRecipient() public {
        vm.expectRevert(IPullPayments.Escrow_ZeroRecipient.selector);
        vm.prank(creator);
        escrow.withdraw(address(0), address(0));
    }

    function test_RevertWhen_Withdraw_ZeroRecipientWithClaim() public {
        Agreement memory a = _eth(1);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        vm.expectRevert(IPullPayments.Escrow_ZeroRecipient.selector);
        vm.prank(creator);
        escrow.withdraw(address(0), address(0));
        assertEq(escrow.claimable(address(0), creator), AMOUNT);
    }

    /// @dev Withdrawing to the escrow itself would destroy the credit (the escrow cannot withdraw it).
    function test_RevertWhen_Withdraw_ToEscrow() public {
        Agreement memory a = _eth(1);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        vm.expectRevert(IPullPayments.Escrow_RecipientIsEscrow.selector);
        vm.prank(creator);
        escrow.withdraw(address(0), address(escrow));
        assertEq(escrow.claimable(address(0), creator), AMOUNT);
        assertEq(address(escrow).balance, AMOUNT);
    }

    function test_RevertWhen_Withdraw_Twice() public {
        Agreement memory a = _eth(1);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        vm.prank(creator);
        escrow.withdraw(address(0), payee);
        _expectNothing(address(0), creator);
        vm.prank(creator);
        escrow.withdraw(address(0), payee);
    }

    function test_RevertWhen_Withdraw_SomeoneElsesClaim() public {
        Agreement memory a = _eth(1);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        _expectNothing(address(0), stranger);
        vm.prank(stranger);
        escrow.withdraw(address(0), stranger);
        // Claims are per token, too.
        _expectNothing(address(usd), creator);
        vm.prank(creator);
        escrow.withdraw(address(usd), payee);
    }

    /*//////////////////////////////////////////////////////////////
                      ERC-20: TOO MUCH GAS FOR A PUSH
    //////////////////////////////////////////////////////////////*/

    function _hungryAgreement(uint256 n)
        internal
        returns (GasHungryToken ht, Agreement memory a, bytes32 id)
    {
        ht = new GasHungryToken();
        ht.mint(brand, 100 * AMOUNT);
        vm.prank(brand);
        ht.approve(address(escrow), type(uint256).max);
        a = _agreement(address(ht), n);
        id = _createFunded(a);
    }

    /// @dev A token transfer that needs more than TOKEN_PUSH_GAS is deferred, not paid with the
    /// caller's gas; the recipient withdraws it with a call that pays for the gas itself.
    function test_Approve_TokenNeedingTooMuchGasDeferred() public {
        (GasHungryToken ht, Agreement memory a, bytes32 id) = _hungryAgreement(1);
        ht.setHunger(escrow.TOKEN_PUSH_GAS() + 10_000);

        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(ht), creator, AMOUNT);
        uint256 gasBefore = gasleft();
        _approve(a, 0);
        assertLt(gasBefore - gasleft(), 250_000, "bounded gas");
        _assertStatus(id, Status.Completed);
        assertEq(ht.balanceOf(creator), 0);
        assertEq(escrow.claimable(address(ht), creator), AMOUNT);

        vm.expectEmit(address(escrow));
        emit IPullPayments.Withdrawn(address(ht), creator, payee, AMOUNT);
        vm.prank(creator);
        escrow.withdraw(address(ht), payee);
        assertEq(ht.balanceOf(payee), AMOUNT);
        assertEq(ht.balanceOf(address(escrow)), 0);
    }

    /// @dev A token whose transfer fits the budget is pushed directly.
    function test_Approve_TokenWithinGasBudgetPushed() public {
        (GasHungryToken ht, Agreement memory a, bytes32 id) = _hungryAgreement(1);
        ht.setHunger(escrow.TOKEN_PUSH_GAS() / 2);
        _approve(a, 0);
        _assertStatus(id, Status.Completed);
        assertEq(ht.balanceOf(creator), AMOUNT);
        assertEq(escrow.claimable(address(ht), creator), 0);
    }

    /*//////////////////////////////////////////////////////////////
                     ERC-20: RETURN VALUES OF A PUSH
    //////////////////////////////////////////////////////////////*/

    /// @dev A token that returns nothing from `transfer` succeeded if the call did.
    function test_Approve_TokenReturningNothingPushed() public {
        NoReturnToken nt = new NoReturnToken();
        nt.mint(brand, 10 * AMOUNT);
        vm.prank(brand);
        nt.approve(address(escrow), type(uint256).max);
        Agreement memory a = _agreement(address(nt), 2);
        bytes32 id = _createFunded(a);
        assertEq(nt.balanceOf(address(escrow)), 2 * AMOUNT);
        _approve(a, 0);
        assertEq(nt.balanceOf(creator), AMOUNT);
        assertEq(escrow.claimable(address(nt), creator), 0);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
    }

    /// @dev A token that returns false from `transfer` did not pay: the payment is deferred.
    function test_Approve_TokenReturningFalseDeferred() public {
        FalseReturnToken ft = new FalseReturnToken();
        ft.mint(brand, 10 * AMOUNT);
        vm.prank(brand);
        ft.approve(address(escrow), type(uint256).max);
        Agreement memory a = _agreement(address(ft), 1);
        bytes32 id = _createFunded(a);
        ft.setRefuse(true);
        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(ft), creator, AMOUNT);
        _approve(a, 0);
        assertEq(ft.balanceOf(creator), 0);
        assertEq(escrow.claimable(address(ft), creator), AMOUNT);
        _assertStatus(id, Status.Completed);

        ft.setRefuse(false);
        vm.prank(creator);
        escrow.withdraw(address(ft), creator);
        assertEq(ft.balanceOf(creator), AMOUNT);
        assertEq(ft.balanceOf(address(escrow)), 0);
    }

    /*//////////////////////////////////////////////////////////////
                              REENTRANCY
    //////////////////////////////////////////////////////////////*/

    function test_Reentrancy_ETHReceiverCallsApprove_Swallowed() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        _becomeContract(creator, type(ReentrantReceiver).runtimeCode);
        ReentrantReceiver(payable(creator)).arm(abi.encodeCall(IPactumEscrow.approve, (a, 1)), false);

        vm.expectEmit(address(escrow));
        emit IPactumEscrow.MilestoneApproved(id, 0, AMOUNT);
        vm.expectEmit(creator);
        emit Reentered(false, REENTRANT);
        _approve(a, 0);

        assertEq(creator.balance, AMOUNT, "paid directly");
        assertEq(escrow.claimable(address(0), creator), 0);
        _assertMilestone(id, 1, MilestoneStatus.Open);
        assertEq(address(escrow).balance, AMOUNT);
    }

    function test_Reentrancy_ETHReceiverCallsClaim_PropagatedDeferred() public {
        Agreement memory a = _eth(2);
        bytes32 id = _createFunded(a);
        _becomeContract(creator, type(ReentrantReceiver).runtimeCode);
        ReentrantReceiver(payable(creator)).arm(abi.encodeCall(IPactumEscrow.claimAfterSilence, (a, 1)), true);

        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(0), creator, AMOUNT);
        _approve(a, 0);
        assertEq(creator.balance, 0);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);
        _assertMilestone(id, 0, MilestoneStatus.Approved);
        _assertMilestone(id, 1, MilestoneStatus.Open);
    }

    function test_Reentrancy_ETHWithdrawReentersWithdraw() public {
        Agreement memory a = _eth(1);
        _createFunded(a);
        _becomeContract(creator, type(RevertingReceiver).runtimeCode);
        _approve(a, 0);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);

        _becomeContract(creator, type(ReentrantReceiver).runtimeCode);
        ReentrantReceiver(payable(creator))
            .arm(abi.encodeCall(IPullPayments.withdraw, (address(0), creator)), true);
        // Propagated: the whole withdrawal reverts and the claim stays.
        vm.expectRevert(REENTRANT);
        vm.prank(creator);
        escrow.withdraw(address(0), creator);
        assertEq(escrow.claimable(address(0), creator), AMOUNT);

        // Swallowed: the outer withdrawal pays once, the inner one fails.
        ReentrantReceiver(payable(creator))
            .arm(abi.encodeCall(IPullPayments.withdraw, (address(0), creator)), false);
        vm.expectEmit(creator);
        emit Reentered(false, REENTRANT);
        vm.prank(creator);
        escrow.withdraw(address(0), creator);
        assertEq(creator.balance, AMOUNT);
        assertEq(address(escrow).balance, 0);
        assertEq(escrow.claimable(address(0), creator), 0);
    }

    function _reentrantTokenAgreement(uint256 n) internal returns (ReentrantToken rt, Agreement memory a) {
        rt = new ReentrantToken();
        rt.mint(brand, 100 * AMOUNT);
        vm.prank(brand);
        rt.approve(address(escrow), type(uint256).max);
        a = _agreement(address(rt), n);
    }

    function test_Reentrancy_TokenPushReentersApprove_PropagatedDeferred() public {
        (ReentrantToken rt, Agreement memory a) = _reentrantTokenAgreement(2);
        bytes32 id = _createFunded(a);
        rt.arm(address(escrow), abi.encodeCall(IPactumEscrow.approve, (a, 1)), true);

        vm.expectEmit(address(escrow));
        emit IPullPayments.PaymentDeferred(id, address(rt), creator, AMOUNT);
        _approve(a, 0);
        assertEq(rt.balanceOf(creator), 0);
        assertEq(escrow.claimable(address(rt), creator), AMOUNT);
        _assertMilestone(id, 1, MilestoneStatus.Open);
    }

    function test_Reentrancy_TokenPushReentersWithdraw_Swallowed() public {
        (ReentrantToken rt, Agreement memory a) = _reentrantTokenAgreement(1);
        bytes32 id = _createFunded(a);
        rt.arm(address(escrow), abi.encodeCall(IPullPayments.withdraw, (address(rt), stranger)), false);

        vm.expectEmit(address(rt));
        emit Reentered(false, REENTRANT);
        _approve(a, 0);
        assertEq(rt.balanceOf(creator), AMOUNT);
        assertEq(escrow.claimable(address(rt), creator), 0);
        _assertStatus(id, Status.Completed);
    }

    function test_Reentrancy_TokenPullReentersFund_Propagated() public {
        (ReentrantToken rt, Agreement memory a) = _reentrantTokenAgreement(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        rt.arm(address(escrow), abi.encodeCall(IPactumEscrow.fund, (a, 0, 1)), true);
        vm.expectRevert(REENTRANT);
        vm.prank(brand);
        escrow.createAndFund(a, bs, cs, 1);
    }

    function test_Reentrancy_TokenPullReentersFund_Swallowed() public {
        (ReentrantToken rt, Agreement memory a) = _reentrantTokenAgreement(2);
        (bytes memory bs, bytes memory cs) = _signatures(a);
        rt.arm(address(escrow), abi.encodeCall(IPactumEscrow.fund, (a, 0, 1)), false);
        vm.expectEmit(address(rt));
        emit Reentered(false, REENTRANT);
        vm.prank(brand);
        bytes32 id = escrow.createAndFund(a, bs, cs, 1);
        assertEq(escrow.getState(id).fundedCount, 1, "inner fund did not run");
        assertEq(rt.balanceOf(address(escrow)), AMOUNT);
    }
}
