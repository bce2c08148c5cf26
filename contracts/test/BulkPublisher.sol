// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "../IModelRegistry.sol";

/**
 * @title BulkPublisher
 * @notice Test only, never deployed by modelseal: anchors many releases of one weights digest in a
 * few transactions, so a Python test can build the "20,000 anchors of one digest" state the audit
 * describes (each anchor is an ordinary publishRelease by this contract, the namespace controller).
 */
contract BulkPublisher {
    /// @notice Claims `ns` for this contract and adds `did` as its signer.
    function claim(IModelRegistry registry, string calldata ns, string calldata did) external {
        bytes32 nsId = registry.claimNamespace(ns);
        registry.addSigner(nsId, did);
    }

    /// @notice Publishes versions `first` .. `first + count - 1` (as decimal strings) of `model`,
    /// all anchoring `weightsDigest`, each with its own manifest digest.
    function publishMany(
        IModelRegistry registry,
        string calldata ns,
        string calldata model,
        uint256 first,
        uint256 count,
        bytes32 weightsDigest,
        bytes32 signerDidHash
    ) external {
        for (uint256 i = first; i < first + count; ++i) {
            registry.publishRelease(ns, model, _decimal(i), bytes32(i + 1), weightsDigest, signerDidHash);
        }
    }

    function _decimal(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) {
            ++digits;
        }
        bytes memory out = new bytes(digits);
        for (uint256 v = value; v != 0; v /= 10) {
            out[--digits] = bytes1(uint8(48 + (v % 10)));
        }
        return string(out);
    }
}
