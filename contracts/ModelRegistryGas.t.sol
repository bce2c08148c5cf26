// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ModelRegistryTestBase} from "./ModelRegistryTestBase.t.sol";

/// @dev Gas of publishRelease against the figures of 1.2.0, measured with this very file (the gas
/// seen from a calling contract depends on the caller's code, so the reference figures come from
/// running this file, unchanged, against ModelRegistry 1.2.0; solc 0.8.37, optimizer 200 runs,
/// cancun). Whole-transaction figures against EAS: bench/gas.py.
contract ModelRegistryGasTest is ModelRegistryTestBase {
    /// 1.2.0: first publish of a digest (cold) 67,859; second release of that digest in the same
    /// transaction (warm namespace and signer) 57,433.
    uint256 internal constant FIRST_1_2_0 = 67_859;
    uint256 internal constant SECOND_1_2_0 = 57_433;

    /// The hot path, a first publish of a digest, must not cost a single gas more than in 1.2.0
    /// (paging added nothing to it). A second release of the same digest may pay one cold read
    /// (2,100: whether the list already holds two releases, to start the stored count at the
    /// third) and the digest-keyed link (about 200).
    function test_gas_first_publish_unchanged_and_second_bounded() public {
        vm.prank(ALICE);
        uint256 before = gasleft();
        registry.publishRelease(NS, MODEL, VERSION, MANIFEST, WEIGHTS, didHash);
        uint256 first = before - gasleft();
        vm.prank(ALICE);
        before = gasleft();
        registry.publishRelease(NS, MODEL, "1.0.1", MANIFEST, WEIGHTS, didHash);
        uint256 second = before - gasleft();
        if (first > FIRST_1_2_0) revert AssertionFailed("first publish gas", bytes32(first), bytes32(FIRST_1_2_0));
        if (second > SECOND_1_2_0 + 2_100 + 300) {
            revert AssertionFailed("second publish gas", bytes32(second), bytes32(SECOND_1_2_0));
        }
    }
}
