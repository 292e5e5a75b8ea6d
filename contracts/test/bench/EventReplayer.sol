// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title EventReplayer
/// @notice Benchmark helper, never deployed outside a throwaway anvil: emits whatever logs its
/// calldata describes, so the indexer benchmark can put hundreds of thousands of byte-identical
/// escrow events on chain in a few hundred transactions (the events are ABI-encoded off chain from
/// the escrow's own event types; this contract's address stands in for the escrow's).
/// @dev Calldata is a sequence of records: 1 byte topic count (1-4), 2 bytes data length (big
/// endian), the topics (32 bytes each), then the data.
contract EventReplayer {
    fallback() external {
        assembly {
            let p := 0
            let end := calldatasize()
            for {} lt(p, end) {} {
                let head := shr(232, calldataload(p))
                let n := shr(16, head)
                let len := and(head, 0xffff)
                let t := add(p, 3)
                let d := add(t, mul(n, 32))
                calldatacopy(0, d, len)
                switch n
                case 1 { log1(0, len, calldataload(t)) }
                case 2 { log2(0, len, calldataload(t), calldataload(add(t, 32))) }
                case 3 { log3(0, len, calldataload(t), calldataload(add(t, 32)), calldataload(add(t, 64))) }
                default {
                    log4(
                        0,
                        len,
                        calldataload(t),
                        calldataload(add(t, 32)),
                        calldataload(add(t, 64)),
                        calldataload(add(t, 96))
                    )
                }
                p := add(d, len)
            }
        }
    }
}
