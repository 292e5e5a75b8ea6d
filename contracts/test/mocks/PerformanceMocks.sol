// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that, like ERC-677/ERC-777 tokens, calls `onTokenTransfer(from, value)` on a
/// recipient that has code and reverts the transfer if that call fails: a recipient contract that
/// refuses (a `RevertingReceiver` has no such function) makes every transfer to it fail, so a push
/// to it is deferred. Not called when the recipient itself moves the tokens (a `transferFrom` into
/// the payer's own contract).
contract HookToken is ERC20 {
    constructor() ERC20("Hook USD", "hUSD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to != msg.sender && to.code.length != 0) {
            (bool ok,) = to.call(abi.encodeWithSignature("onTokenTransfer(address,uint256)", from, value));
            require(ok, "recipient refused");
        }
    }
}
