// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script, console} from "forge-std/Script.sol";

import {PactumEscrow} from "../src/PactumEscrow.sol";
import {PactumPerformance} from "../src/PactumPerformance.sol";
import {MockStablecoin} from "../test/mocks/Mocks.sol";

/// @notice Deploys PactumEscrow, a MockStablecoin funded for the dev accounts on local chains, and
/// PactumPerformance (last, so the first two keep their addresses); then writes the addresses, the chain id and the deployment block as JSON.
/// @dev Run from contracts/ with --broadcast and the deployer's key, e.g.
///   forge script script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast --private-key <key>
/// Environment (all optional):
///   DEPLOY_MOCK_TOKEN   deploy MockStablecoin and mint (default: true on chain 31337, else false)
///   STABLECOIN          an existing stablecoin to record when no mock is deployed (default: none)
///   MNEMONIC            the dev accounts' mnemonic (default: anvil's "test test ... junk")
///   DEV_ACCOUNTS        how many dev accounts receive test stablecoin (default: 10)
///   MINT_AMOUNT         base units (6 decimals) minted to each (default: 1,000,000 pUSD)
///   DEPLOYMENTS_PATH    where the JSON goes, relative to contracts/ (default: ../anvil/deployments.json)
/// On a fresh anvil with the default mnemonic, deploying from dev account 0 gives deterministic
/// addresses: escrow at nonce 0, stablecoin at nonce 1.
contract Deploy is Script {
    string internal constant ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
    uint256 internal constant LOCAL_CHAIN_ID = 31_337;

    /// @notice Dev-account roles on local chains (indexes into the mnemonic's accounts).
    uint32 internal constant DEPLOYER = 0;
    uint32 internal constant BRAND = 1;
    uint32 internal constant CREATOR = 2;
    uint32 internal constant ARBITER = 3;

    function run() external returns (PactumEscrow escrow, address stablecoin, PactumPerformance performance) {
        bool local = block.chainid == LOCAL_CHAIN_ID;
        bool deployMock = vm.envOr("DEPLOY_MOCK_TOKEN", local);
        string memory mnemonic = vm.envOr("MNEMONIC", ANVIL_MNEMONIC);
        uint256 devAccounts = vm.envOr("DEV_ACCOUNTS", uint256(10));
        uint256 mintAmount = vm.envOr("MINT_AMOUNT", uint256(1_000_000e6));
        string memory path = vm.envOr("DEPLOYMENTS_PATH", string("../anvil/deployments.json"));

        // The block the first deployment is mined in when the chain mines one block per transaction
        // (anvil's default automine); on other chains, a lower bound for indexers.
        uint256 deploymentBlock = block.number + 1;

        vm.startBroadcast();
        address deployer = msg.sender;
        escrow = new PactumEscrow();
        if (deployMock) {
            MockStablecoin usd = new MockStablecoin();
            stablecoin = address(usd);
            for (uint32 i; i < devAccounts; ++i) {
                usd.mint(vm.addr(vm.deriveKey(mnemonic, i)), mintAmount);
            }
        } else {
            stablecoin = vm.envOr("STABLECOIN", address(0));
        }
        performance = new PactumPerformance();
        vm.stopBroadcast();

        string memory obj = "deployments";
        vm.serializeUint(obj, "chainId", block.chainid);
        vm.serializeUint(obj, "deploymentBlock", deploymentBlock);
        vm.serializeAddress(obj, "deployer", deployer);
        vm.serializeAddress(obj, "stablecoin", stablecoin);
        vm.serializeBool(obj, "mockStablecoin", deployMock);
        vm.serializeUint(obj, "stablecoinDecimals", 6);
        if (local) {
            string memory roles = "roles";
            vm.serializeAddress(roles, "brand", vm.addr(vm.deriveKey(mnemonic, BRAND)));
            vm.serializeAddress(roles, "creator", vm.addr(vm.deriveKey(mnemonic, CREATOR)));
            string memory rolesJson =
                vm.serializeAddress(roles, "arbiter", vm.addr(vm.deriveKey(mnemonic, ARBITER)));
            vm.serializeString(obj, "roles", rolesJson);
        }
        vm.serializeAddress(obj, "performance", address(performance));
        string memory json = vm.serializeAddress(obj, "escrow", address(escrow));
        vm.writeJson(json, path);

        console.log("PactumEscrow   ", address(escrow));
        console.log("Stablecoin     ", stablecoin);
        console.log("Performance    ", address(performance));
        console.log("Deployment JSON", path);
    }
}
