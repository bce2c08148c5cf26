// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "./IModelRegistry.sol";
import {ModelRegistryTestBase} from "./ModelRegistryTestBase.t.sol";

/// @dev The findings of the audit of 1.2.0, one numbered section per finding: the fix of each, or
/// for the namespace transfer the decision, pinned by tests.
contract ModelRegistryAuditTest is ModelRegistryTestBase {
    bytes32 internal constant OP = keccak256(bytes(OPERATOR_DID));

    // =============================================================================================
    // 4. Names are checked, identically, by every function that takes them
    // =============================================================================================

    /// Models that are not models: "m/v1" would re-split `ns/m/v1/fp16` as model "m/v1".
    function _badModels() internal pure returns (string[6] memory bad) {
        bad = ["m/v1", "", "Model", "a b", "..", "x"];
        bad[5] = _repeat("m", 65);
    }

    function _badVersions() internal pure returns (string[5] memory bad) {
        bad = ["1 0", "1\n", ".", "\xc3\xa9", "x"];
        bad[4] = _repeat("1", 65);
    }

    function _badNamespaces() internal pure returns (string[5] memory bad) {
        bad = ["a", "Smollm", "smol/lm", "-smollm", "x"];
        bad[4] = _repeat("z", 65);
    }

    function _model(string memory name) internal pure returns (bytes memory) {
        return _invalidName(IModelRegistry.NameKind.Model, name);
    }

    function _version(string memory name) internal pure returns (bytes memory) {
        return _invalidName(IModelRegistry.NameKind.Version, name);
    }

    function _namespace(string memory name) internal pure returns (bytes memory) {
        return _invalidName(IModelRegistry.NameKind.Namespace, name);
    }

    /// The audit's case: release m/"v1/fp16" published, an operator authorised on release m/v1
    /// only. Asked with the names split as ("m/v1", "fp16"), 1.2 answered true (the model scope
    /// of "m/v1" is the release id of m/v1); now the split is refused, and the right split is false.
    function test_isOperatorAuthorized_refuses_a_model_with_a_slash() public {
        _publish("m", "v1/fp16", WEIGHTS);
        _publish("m", "v1", keccak256("w2"));
        vm.prank(ALICE);
        registry.authorizeOperator(NS, "m", "v1", OPERATOR_DID, T0 + 100, _noOrigins());
        vm.expectRevert(_model("m/v1"));
        registry.isOperatorAuthorized(NS, "m/v1", "fp16", OP);
        _true(!registry.isOperatorAuthorized(NS, "m", "v1/fp16", OP), "not authorised on m/v1/fp16");
        _true(registry.isOperatorAuthorized(NS, "m", "v1", OP), "authorised on m/v1");
    }

    function test_isOperatorAuthorized_checks_every_name() public {
        string[6] memory models = _badModels();
        for (uint256 i; i < models.length; ++i) {
            vm.expectRevert(_model(models[i]));
            registry.isOperatorAuthorized(NS, models[i], VERSION, OP);
        }
        string[5] memory versions = _badVersions();
        for (uint256 i; i < versions.length; ++i) {
            vm.expectRevert(_version(versions[i]));
            registry.isOperatorAuthorized(NS, MODEL, versions[i], OP);
        }
        vm.expectRevert(_version(""));
        registry.isOperatorAuthorized(NS, MODEL, "", OP);
        string[5] memory namespaces = _badNamespaces();
        for (uint256 i; i < namespaces.length; ++i) {
            vm.expectRevert(_namespace(namespaces[i]));
            registry.isOperatorAuthorized(namespaces[i], MODEL, VERSION, OP);
        }
    }

    /// 1.2 revoked the grant on release m/v1 when asked to revoke model "m/v1", and its event
    /// reported a model-wide revocation (version ""). Now the name is refused and the grant holds.
    function test_revokeOperator_refuses_a_model_with_a_slash() public {
        _publish("m", "v1", WEIGHTS);
        vm.startPrank(ALICE);
        registry.authorizeOperator(NS, "m", "v1", OPERATOR_DID, T0 + 100, _noOrigins());
        vm.expectRevert(_model("m/v1"));
        registry.revokeOperator(NS, "m/v1", "", OP);
        vm.stopPrank();
        _eq(registry.operator(_relId(NS, "m", "v1"), OP).revokedAt, 0, "release grant kept");
        _true(registry.isOperatorAuthorized(NS, "m", "v1", OP), "still authorised");
    }

    function test_revokeOperator_checks_every_name() public {
        vm.startPrank(ALICE);
        string[6] memory models = _badModels();
        for (uint256 i; i < models.length; ++i) {
            vm.expectRevert(_model(models[i]));
            registry.revokeOperator(NS, models[i], "", OP);
            vm.expectRevert(_model(models[i]));
            registry.revokeOperator(NS, models[i], VERSION, OP);
        }
        string[5] memory versions = _badVersions();
        for (uint256 i; i < versions.length; ++i) {
            vm.expectRevert(_version(versions[i]));
            registry.revokeOperator(NS, MODEL, versions[i], OP);
        }
        // As in authorizeOperator, "" is the whole model: a valid scope, here never authorised.
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.UnknownOperator.selector, _modelId(NS, MODEL), OP));
        registry.revokeOperator(NS, MODEL, "", OP);
        vm.stopPrank();
    }

    /// revokeRelease checks names as publishRelease does: release m/"v1/fp16" cannot be revoked
    /// under the split ("m/v1", "fp16").
    function test_revokeRelease_refuses_a_model_with_a_slash_and_checks_every_name() public {
        bytes32 rel = _publish("m", "v1/fp16", WEIGHTS);
        vm.startPrank(ALICE);
        vm.expectRevert(_model("m/v1"));
        registry.revokeRelease(NS, "m/v1", "fp16", "");
        string[6] memory models = _badModels();
        for (uint256 i; i < models.length; ++i) {
            vm.expectRevert(_model(models[i]));
            registry.revokeRelease(NS, models[i], VERSION, "");
        }
        string[5] memory versions = _badVersions();
        for (uint256 i; i < versions.length; ++i) {
            vm.expectRevert(_version(versions[i]));
            registry.revokeRelease(NS, MODEL, versions[i], "");
        }
        vm.expectRevert(_version(""));
        registry.revokeRelease(NS, MODEL, "", "");
        vm.stopPrank();
        _eq(registry.release(rel).revokedAt, 0, "not revoked");
    }

    /// The write functions that already checked names keep doing so, with "m/v1" too.
    function test_publish_and_authorize_refuse_a_model_with_a_slash() public {
        vm.startPrank(ALICE);
        vm.expectRevert(_model("m/v1"));
        registry.publishRelease(NS, "m/v1", "fp16", MANIFEST, WEIGHTS, didHash);
        vm.expectRevert(_model("m/v1"));
        registry.authorizeOperator(NS, "m/v1", "", OPERATOR_DID, T0 + 100, _noOrigins());
        vm.stopPrank();
    }

    /// The id helpers give ids to valid names only, so no two splits of a preimage both have one.
    function test_id_helpers_check_every_name() public {
        _eq(registry.releaseId(NS, "m", "v1/fp16"), _relId(NS, "m", "v1/fp16"), "valid split");
        vm.expectRevert(_model("m/v1"));
        registry.releaseId(NS, "m/v1", "fp16");
        vm.expectRevert(_model("m/v1"));
        registry.modelId(NS, "m/v1");
        string[6] memory models = _badModels();
        for (uint256 i; i < models.length; ++i) {
            vm.expectRevert(_model(models[i]));
            registry.modelId(NS, models[i]);
            vm.expectRevert(_model(models[i]));
            registry.releaseId(NS, models[i], VERSION);
        }
        string[5] memory versions = _badVersions();
        for (uint256 i; i < versions.length; ++i) {
            vm.expectRevert(_version(versions[i]));
            registry.releaseId(NS, MODEL, versions[i]);
        }
        vm.expectRevert(_version(""));
        registry.releaseId(NS, MODEL, "");
        string[5] memory namespaces = _badNamespaces();
        for (uint256 i; i < namespaces.length; ++i) {
            vm.expectRevert(_namespace(namespaces[i]));
            registry.namespaceId(namespaces[i]);
            vm.expectRevert(_namespace(namespaces[i]));
            registry.modelId(namespaces[i], MODEL);
            vm.expectRevert(_namespace(namespaces[i]));
            registry.releaseId(namespaces[i], MODEL, VERSION);
        }
    }
}
