// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";

contract SmokeTest is Base {
    function test_Lifecycle_ERC20() public {
        Agreement memory a = _agreement(address(usd), 3);
        bytes32 id = _createFunded(a);
        assertEq(usd.balanceOf(address(escrow)), 3 * AMOUNT);
        for (uint256 i; i < 3; ++i) {
            _submit(a, i);
            vm.prank(brand);
            escrow.approve(a, i);
            assertEq(uint8(_milestoneStatus(id, i)), uint8(MilestoneStatus.Approved));
        }
        assertEq(usd.balanceOf(creator), 3 * AMOUNT);
        assertEq(uint8(_status(id)), uint8(Status.Completed));
    }
}
