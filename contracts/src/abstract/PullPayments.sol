// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

import {IPullPayments} from "../interfaces/IPullPayments.sol";

/// @title PullPayments
/// @notice Pays by push and falls back to pull: a recipient that reverts, needs too much gas, or is
/// refused by its token (a blacklist) cannot block the payer's action; its money waits for it in
/// `claimable`. An abstract contract rather than a library because it owns storage (the credits)
/// and an external function (`withdraw`) that every singleton using it exposes the same way.
/// @dev Written by hand rather than OpenZeppelin's removed `PullPayment` (an escrow per payee, ETH
/// only): this one pushes first, covers ERC-20, bounds the gas of both kinds of push and never copies
/// a recipient's return data beyond one word.
abstract contract PullPayments is IPullPayments {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPullPayments
    uint256 public constant ETH_PUSH_GAS = 50_000;

    /// @inheritdoc IPullPayments
    uint256 public constant TOKEN_PUSH_GAS = 100_000;

    mapping(address token => mapping(address account => uint256)) private _claimable;

    /// @inheritdoc IPullPayments
    function claimable(address token, address account) external view returns (uint256) {
        return _claimable[token][account];
    }

    /// @dev Checks, effects, interactions; the inheriting contract adds its reentrancy guard.
    function _withdraw(address token, address to) internal {
        // Checks
        if (to == address(0)) revert Escrow_ZeroRecipient();
        if (to == address(this)) revert Escrow_RecipientIsEscrow();
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert Escrow_NothingToWithdraw(token, msg.sender);

        // Effects
        delete _claimable[token][msg.sender];
        emit Withdrawn(token, msg.sender, to, amount);

        // Interactions
        if (token == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Sends `amount` of agreement `id` to `to`; if that fails, keeps it for `to` to withdraw.
    /// ERC-20 success follows SafeERC20: the call succeeded and returned nothing (from a contract) or
    /// `true`.
    function _push(bytes32 id, address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            // No return data is copied: a recipient cannot make us pay for a large revert payload.
            assembly ("memory-safe") {
                ok := call(ETH_PUSH_GAS, to, amount, 0, 0, 0, 0)
            }
        } else {
            assembly ("memory-safe") {
                // transfer(to, amount) built in free memory (not allocated: scratch use only).
                let m := mload(0x40)
                mstore(m, shl(224, 0xa9059cbb))
                mstore(add(m, 0x04), to)
                mstore(add(m, 0x24), amount)
                // At most one word of return data is copied, to scratch space.
                ok := call(TOKEN_PUSH_GAS, token, 0, m, 0x44, 0, 0x20)
                if ok {
                    switch returndatasize()
                    case 0 { ok := gt(extcodesize(token), 0) }
                    default { ok := and(gt(returndatasize(), 0x1f), eq(mload(0), 1)) }
                }
            }
        }
        if (!ok) {
            _claimable[token][to] += amount;
            emit PaymentDeferred(id, token, to, amount);
        }
    }
}
