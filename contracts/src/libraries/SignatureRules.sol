// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title SignatureRules
/// @notice Which signatures count for an account, in one place for every Pactum singleton.
library SignatureRules {
    /// @notice Whether `signature` is `signer`'s over `digest`. A low-s ECDSA signature by the
    /// signer's own key counts for any account; otherwise a contract wallet may vouch for it through
    /// EIP-1271. Trying the key first keeps EIP-7702 accounts (code delegated to a contract that may
    /// not implement EIP-1271) able to sign with their key. A contract created by CREATE or CREATE2
    /// has no key, so nothing recovers to it.
    function isValidNow(address signer, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        (address recovered, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && errArg == 0 && recovered == signer) return true;
        return
            signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }
}
