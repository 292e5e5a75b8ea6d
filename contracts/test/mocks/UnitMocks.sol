// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Holds arbitrary bytes as contract code (SSTORE2 style: a leading STOP byte, then the
/// data), so a recipient with a tight gas budget can read a long calldata cheaply.
contract Payload {
    constructor(bytes memory data) {
        bytes memory code = abi.encodePacked(hex"00", data);
        assembly {
            return(add(code, 32), mload(code))
        }
    }
}

/// @notice A recipient that, on receiving ETH, calls back into its payer (the escrow) with a
/// prepared calldata, reports the outcome in `Reentered`, and optionally reverts with the
/// callback's error. Meant to be etched onto a party's address (as an EIP-7702 delegation would).
contract ReentrantReceiver {
    event Reentered(bool ok, bytes returnData);

    address public payload;
    bool public propagate;

    function arm(bytes calldata data, bool propagate_) external {
        payload = address(new Payload(data));
        propagate = propagate_;
    }

    receive() external payable {
        address p = payload;
        if (p == address(0)) return;
        bytes memory data;
        assembly {
            let size := sub(extcodesize(p), 1)
            data := mload(0x40)
            mstore(data, size)
            extcodecopy(p, add(data, 32), 1, size)
            mstore(0x40, add(add(data, 32), size))
        }
        (bool ok, bytes memory ret) = msg.sender.call(data);
        emit Reentered(ok, ret);
        if (!ok && propagate) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @notice An ERC-20 whose every transfer calls a target with a prepared calldata (a malicious
/// token re-entering the escrow), reports the outcome in `Reentered`, and optionally reverts
/// with the callback's error.
contract ReentrantToken is ERC20 {
    event Reentered(bool ok, bytes returnData);

    address public target;
    bytes public data;
    bool public propagate;
    bool private _inHook;

    constructor() ERC20("Reentrant Token", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata data_, bool propagate_) external {
        target = target_;
        data = data_;
        propagate = propagate_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target == address(0) || from == address(0) || _inHook) return;
        _inHook = true;
        (bool ok, bytes memory ret) = target.call(data);
        _inHook = false;
        emit Reentered(ok, ret);
        if (!ok && propagate) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @notice An ERC-20 whose `transfer` burns a set amount of gas first (a costly hook, as an
/// ERC-777-style token may run): a push that forwards less than that fails and is deferred.
/// `transferFrom` (the escrow's pull) is not affected.
contract GasHungryToken is ERC20 {
    uint256 public hunger;

    constructor() ERC20("Gas Hungry Token", "HUNGRY") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setHunger(uint256 gas_) external {
        hunger = gas_;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        uint256 h = hunger;
        uint256 start = gasleft();
        while (start - gasleft() < h) {}
        return super.transfer(to, value);
    }
}

/// @notice A token whose `transfer` and `transferFrom` return nothing (as USDT's do on mainnet):
/// success is the call not reverting.
contract NoReturnToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
    }

    function transfer(address to, uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}

/// @notice An ERC-20 whose `transfer` returns false, moving nothing, while `refuse` is set.
contract FalseReturnToken is ERC20 {
    bool public refuse;

    constructor() ERC20("False Return Token", "FALSE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setRefuse(bool value) external {
        refuse = value;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (refuse) return false;
        return super.transfer(to, value);
    }
}
