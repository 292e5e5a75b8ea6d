// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerformanceAgreement, Report, Tier} from "../types/PerformanceTypes.sol";

/// @title PerformanceHashing
/// @notice EIP-712 struct hashes of the performance agreement and of the attester's report. The Rust
/// core crate builds the same type strings; a test checks both give the same digest.
library PerformanceHashing {
    /// @notice keccak256 of the Tier type string.
    bytes32 internal constant TIER_TYPEHASH = keccak256("Tier(uint128 fromUnits,uint128 rate)");

    /// @notice keccak256 of the PerformanceAgreement type string (referenced type appended).
    bytes32 internal constant AGREEMENT_TYPEHASH = keccak256(
        "PerformanceAgreement(address brand,address partner,address attester,address arbiter,address token,"
        "bytes32 termsHash,uint8 metric,uint16 arbiterFeeBps,uint40 start,uint32 period,uint32 periods,"
        "uint32 reportWindow,uint32 lockWindow,uint32 arbitrationWindow,uint40 deadline,uint256 salt,"
        "Tier[] tiers)Tier(uint128 fromUnits,uint128 rate)"
    );

    /// @notice keccak256 of the Report type string.
    bytes32 internal constant REPORT_TYPEHASH = keccak256(
        "Report(bytes32 agreementId,uint32 period,uint32 version,uint128 units,uint128 revenue,bytes32 detailRoot)"
    );

    /// @notice The EIP-712 struct hash of a performance agreement.
    function hash(PerformanceAgreement calldata a) internal pure returns (bytes32) {
        uint256 n = a.tiers.length;
        bytes32[] memory tierHashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            tierHashes[i] = keccak256(abi.encode(TIER_TYPEHASH, a.tiers[i].fromUnits, a.tiers[i].rate));
        }
        // Two encodings, hashed together, keep the stack within limits without via-IR.
        bytes memory head = abi.encode(
            AGREEMENT_TYPEHASH, a.brand, a.partner, a.attester, a.arbiter, a.token, a.termsHash, a.metric
        );
        bytes memory tail = abi.encode(
            a.arbiterFeeBps,
            a.start,
            a.period,
            a.periods,
            a.reportWindow,
            a.lockWindow,
            a.arbitrationWindow,
            a.deadline,
            a.salt,
            keccak256(abi.encodePacked(tierHashes))
        );
        return keccak256(bytes.concat(head, tail));
    }

    /// @notice The EIP-712 struct hash of a report.
    function hashReport(Report calldata r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(REPORT_TYPEHASH, r.agreementId, r.period, r.version, r.units, r.revenue, r.detailRoot)
        );
    }
}
