// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IPullPayments
/// @notice Payments that are pushed to their recipient and, when the push fails, kept for the
/// recipient to withdraw. Shared by every Pactum singleton that pays people (see `PullPayments`).
interface IPullPayments {
    /// @notice A payment of agreement `id` could not be pushed (the recipient reverted or needed
    /// more gas than a push gets, or the token refused it); it is held for `account` to withdraw.
    event PaymentDeferred(bytes32 indexed id, address indexed token, address indexed account, uint256 amount);

    /// @notice `account` withdrew deferred payments to `to`.
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);

    /// @notice The account has nothing to withdraw.
    error Escrow_NothingToWithdraw(address token, address account);
    /// @notice A withdrawal's recipient is the zero address.
    error Escrow_ZeroRecipient();
    /// @notice A withdrawal's recipient is the escrow itself, which would destroy the credit.
    error Escrow_RecipientIsEscrow();

    /// @notice Gas forwarded with a native-ETH payment; a recipient that needs more is paid by
    /// deferral instead (see `withdraw`).
    function ETH_PUSH_GAS() external view returns (uint256);

    /// @notice Gas forwarded with an ERC-20 transfer; a token (or a recipient hook it calls) that
    /// needs more is paid by deferral instead, so no recipient can make a ruling or a payout costly.
    function TOKEN_PUSH_GAS() external view returns (uint256);

    /// @notice What `account` can withdraw in `token` (zero address: ETH).
    /// @param token The token, or zero for ETH.
    /// @param account The account.
    /// @return amount The amount held for it.
    function claimable(address token, address account) external view returns (uint256 amount);

    /// @notice Withdraws the caller's deferred payments in `token` to `to`.
    /// @param token The token, or zero for ETH.
    /// @param to The recipient (may differ from the caller, e.g. when the caller is blacklisted);
    /// neither zero nor the escrow.
    function withdraw(address token, address to) external;
}
