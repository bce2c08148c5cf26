// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "./IModelRegistry.sol";
import {ModelRegistryTestBase} from "./ModelRegistryTestBase.t.sol";

/// @dev Properties, fuzzed: control, immutability of releases, name rules, id formulas, time windows.
contract ModelRegistryFuzzTest is ModelRegistryTestBase {
    // =============================================================================================
    // Only the controller writes in a namespace
    // =============================================================================================

    /// Any other account, including one with a pending (unaccepted) transfer, is refused by every
    /// controller-only function, whatever the other arguments, and nothing changes.
    function testFuzz_only_the_controller_can_write(
        address attacker,
        bool pendingTransferToAttacker,
        string calldata model,
        string calldata version_,
        string calldata did,
        uint64 expiresAt,
        bytes32 digest
    ) public {
        vm.assume(attacker != ALICE);
        bytes32 rel = _publish(MODEL, VERSION, WEIGHTS);
        // The manifest digest `_publish` stored, read back before the attack.
        bytes32 manifest = registry.release(rel).manifestDigest;
        if (pendingTransferToAttacker) {
            vm.prank(ALICE);
            registry.transferNamespace(nsId, attacker);
        }
        bytes memory refused = _notController(attacker);
        vm.startPrank(attacker);

        vm.expectRevert(refused);
        registry.publishRelease(NS, model, version_, digest, digest, didHash);
        vm.expectRevert(refused);
        registry.publishRelease(NS, MODEL, "9.9.9", MANIFEST, WEIGHTS, didHash);
        vm.expectRevert(refused);
        registry.addSigner(nsId, did);
        vm.expectRevert(refused);
        registry.removeSigner(nsId, didHash);
        vm.expectRevert(refused);
        registry.authorizeOperator(NS, model, version_, did, expiresAt, _noOrigins());
        vm.expectRevert(refused);
        registry.authorizeOperator(NS, MODEL, "", OPERATOR_DID, T0 + 1 days, _noOrigins());
        vm.expectRevert(refused);
        registry.revokeOperator(NS, model, version_, digest);
        vm.expectRevert(refused);
        registry.revokeRelease(NS, MODEL, VERSION, "hijack");
        vm.expectRevert(refused);
        registry.revokeRelease(NS, model, version_, "hijack");
        vm.expectRevert(refused);
        registry.transferNamespace(nsId, attacker);
        vm.stopPrank();

        _eq(registry.namespaceInfo(nsId).controller, ALICE, "controller");
        _eq(registry.release(_relId(NS, MODEL, "9.9.9")).manifestDigest, 0, "no release");
        bytes32 fuzzedRel = _relId(NS, model, version_);
        _eq(registry.release(fuzzedRel).manifestDigest, fuzzedRel == rel ? manifest : bytes32(0), "no fuzzed release");
        _eq(registry.release(rel).manifestDigest, manifest, "release kept");
        _eq(registry.release(rel).revokedAt, 0, "not revoked");
        _eq(registry.releasesByWeights(WEIGHTS).length, 1, "weights list kept");
        if (digest != WEIGHTS) _eq(registry.releasesByWeights(digest).length, 0, "fuzzed weights not listed");
        if (keccak256(bytes(did)) != didHash) _eq(registry.signer(nsId, keccak256(bytes(did))).validFrom, 0, "signer");
        _eq(registry.signer(nsId, didHash).validUntil, 0, "signer kept");
        _eq(registry.operator(_modelId(NS, MODEL), keccak256(bytes(OPERATOR_DID))).expiresAt, 0, "operator");
    }

    // =============================================================================================
    // A published version never changes
    // =============================================================================================

    /// Whatever comes later (another publish of the same name, a revocation, a new controller with
    /// its own key, more releases of the same weights), the stored record and the weights list
    /// keep what the first publish wrote; only `revokedAt` is set, once.
    function testFuzz_a_published_release_never_changes(
        bytes32 manifest2,
        bytes32 weights2,
        address newController,
        uint32 later,
        string memory reason
    ) public {
        // address(0) cannot send transactions (and would "accept" a cancelled transfer under a prank).
        vm.assume(newController != ALICE && newController != address(0));
        bytes32 rel = _relId(NS, MODEL, VERSION);
        vm.prank(ALICE);
        registry.publishRelease(NS, MODEL, VERSION, MANIFEST, WEIGHTS, didHash);
        bytes memory exists = abi.encodeWithSelector(IModelRegistry.ReleaseExists.selector, rel, MANIFEST);

        vm.warp(uint256(T0) + later);
        // Non-zero digests reach the existence check; zero ones are refused before it.
        if (manifest2 != 0 && weights2 != 0) {
            vm.expectRevert(exists);
            vm.prank(ALICE);
            registry.publishRelease(NS, MODEL, VERSION, manifest2, weights2, didHash);
        }
        // A later release of the same weights joins the list behind it.
        bytes32 copy = _publish(MODEL, "1.0.0-copy", WEIGHTS);
        // Any reason the contract accepts (0..256 bytes of 0x20..0x7E, 1.3) made from the fuzzed one.
        reason = _printableReason(bytes(reason));
        vm.prank(ALICE);
        registry.revokeRelease(NS, MODEL, VERSION, reason);

        // Not even a later controller can re-point it, or revoke it a second time.
        vm.prank(ALICE);
        registry.transferNamespace(nsId, newController);
        vm.startPrank(newController);
        registry.acceptNamespace(nsId);
        string memory newDid = _did("new-controller");
        registry.addSigner(nsId, newDid);
        vm.expectRevert(exists);
        registry.publishRelease(NS, MODEL, VERSION, MANIFEST, WEIGHTS, keccak256(bytes(newDid)));
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ReleaseAlreadyRevoked.selector, rel, uint64(uint256(T0) + later))
        );
        registry.revokeRelease(NS, MODEL, VERSION, reason);
        vm.stopPrank();

        IModelRegistry.ReleaseRecord memory r = registry.release(rel);
        _eq(r.manifestDigest, MANIFEST, "manifest");
        _eq(r.revokedAt, uint256(T0) + later, "revokedAt");
        bytes32[] memory ids = registry.releasesByWeights(WEIGHTS);
        _eq(ids.length, 2, "listed once, then the copy");
        _eq(ids[0], rel, "still first");
        _eq(ids[1], copy, "copy second");
        if (weights2 != WEIGHTS) _eq(registry.releasesByWeights(weights2).length, 0, "never listed elsewhere");
    }

    // =============================================================================================
    // Name rules: exhaustive per byte, then fuzzed against a plain reference implementation
    // =============================================================================================

    function test_every_byte_value_against_each_rule() public {
        uint256 namespaces;
        vm.startPrank(ALICE);
        for (uint256 c; c < 256; ++c) {
            bytes1 b = bytes1(uint8(c));
            // namespace "a?a": the middle byte alone decides (a single hyphen is fine there)
            string memory ns = string(abi.encodePacked("a", b, "a"));
            if (_isNamespaceChar(uint8(c))) {
                registry.claimNamespace(ns);
                ++namespaces;
            } else {
                vm.expectRevert(_invalidName(IModelRegistry.NameKind.Namespace, ns));
                registry.claimNamespace(ns);
            }
            string memory one = string(abi.encodePacked(b));
            if (!_isModelChar(uint8(c)) || c == 0x2e) {  // "." alone is a dot segment
                vm.expectRevert(_invalidName(IModelRegistry.NameKind.Model, one));
            }
            registry.publishRelease(NS, one, "model-rule", MANIFEST, WEIGHTS, didHash);
            if (!_isPrintable(uint8(c)) || c == 0x2e) {
                vm.expectRevert(_invalidName(IModelRegistry.NameKind.Version, one));
            }
            registry.publishRelease(NS, "version-rule", one, MANIFEST, WEIGHTS, didHash);
        }
        vm.stopPrank();
        // 37 namespace bytes ([a-z0-9-]), 39 model bytes ([a-z0-9._-]), 94 version bytes (0x21..0x7E);
        // "." alone is neither a model nor a version (a dot segment)
        _eq(namespaces, 37, "accepted namespaces");
        _eq(registry.releasesByWeights(WEIGHTS).length, 38 + 93, "accepted releases");
    }

    function testFuzz_namespace_rule(bytes calldata raw) public {
        _checkNamespaceAgainstReference(raw);
    }

    /// Mostly-valid bytes, so that hyphen placement and lengths are really exercised.
    function testFuzz_namespace_rule_near_valid(uint256 seed) public {
        _checkNamespaceAgainstReference(_gen(seed, "abc0-9z", 66));
    }

    function testFuzz_model_and_version_rules(bytes calldata rawModel, bytes calldata rawVersion) public {
        _checkReleaseNamesAgainstReference(rawModel, rawVersion);
    }

    function testFuzz_model_and_version_rules_near_valid(uint256 seed) public {
        _checkReleaseNamesAgainstReference(
            _gen(seed, "abcdefxyz0189._-A", 66), _gen(uint256(keccak256(abi.encode(seed))), "0123456789.-+~!rcABC/ ", 66)
        );
    }

    // =============================================================================================
    // Ids equal the documented formulas
    // =============================================================================================

    /// Valid names get the formula; an invalid one is refused with its kind (1.3: the helpers check
    /// names, in the order namespace, model, version).
    function testFuzz_id_helpers_equal_formulas(bytes calldata ns, bytes calldata model, bytes calldata version_)
        public
    {
        _checkIdHelpersAgainstReference(ns, model, version_);
    }

    function testFuzz_id_helpers_equal_formulas_near_valid(uint256 seed) public {
        _checkIdHelpersAgainstReference(
            _gen(seed, "abc09-", 66),
            _gen(uint256(keccak256(abi.encode(seed, 1))), "abz09._-/A", 66),
            _gen(uint256(keccak256(abi.encode(seed, 2))), "09.-+~!/A ", 66)
        );
    }

    function _checkIdHelpersAgainstReference(bytes memory rawNs, bytes memory rawModel, bytes memory rawVersion)
        internal
    {
        (string memory ns, string memory model, string memory version_) =
            (string(rawNs), string(rawModel), string(rawVersion));
        bool nsOk = _refNamespace(rawNs);
        bool modelOk = _refAll(rawModel, true);
        bool versionOk = _refAll(rawVersion, false);
        bytes memory badNs = _invalidName(IModelRegistry.NameKind.Namespace, ns);
        bytes memory badModel = _invalidName(IModelRegistry.NameKind.Model, model);
        if (nsOk) {
            _eq(registry.namespaceId(ns), keccak256(rawNs), "namespaceId");
        } else {
            vm.expectRevert(badNs);
            registry.namespaceId(ns);
        }
        if (nsOk && modelOk) {
            _eq(registry.modelId(ns, model), keccak256(bytes(string.concat(ns, "/", model))), "modelId");
        } else {
            vm.expectRevert(nsOk ? badModel : badNs);
            registry.modelId(ns, model);
        }
        if (nsOk && modelOk && versionOk) {
            _eq(
                registry.releaseId(ns, model, version_),
                keccak256(bytes(string.concat(ns, "/", model, "/", version_))),
                "releaseId"
            );
        } else {
            vm.expectRevert(
                !nsOk ? badNs : !modelOk ? badModel : _invalidName(IModelRegistry.NameKind.Version, version_)
            );
            registry.releaseId(ns, model, version_);
        }
    }

    /// The ids the contract stores and emits are the formulas, for any valid names.
    function testFuzz_published_ids_equal_formulas(uint256 seed) public {
        string memory ns = string(_gen(seed, "abcdefghijklmnopqrstuvwxyz0123456789", 64));
        vm.assume(bytes(ns).length >= 2);
        string memory model = string(_gen(seed >> 8, "abcxyz0189._-", 64));
        vm.assume(bytes(model).length >= 1);
        string memory version_ = string(_gen(seed >> 16, "!/09:AZaz~.-+", 64));
        vm.assume(bytes(version_).length >= 1);
        string memory did = _didKeyOf(keccak256(abi.encode(seed)));
        bytes32 expectedNs = keccak256(bytes(ns));
        bytes32 expectedRel = keccak256(bytes(string.concat(ns, "/", model, "/", version_)));
        bytes32 expectedDid = keccak256(bytes(did));

        vm.startPrank(BOB);
        _eq(registry.claimNamespace(ns), expectedNs, "claim id");
        registry.addSigner(expectedNs, did);
        _eq(registry.signer(expectedNs, expectedDid).validFrom, T0, "did hash");
        vm.expectEmit(address(registry));
        emit IModelRegistry.ReleasePublished(
            expectedRel, expectedNs, WEIGHTS, ns, model, version_, MANIFEST, expectedDid, BOB, T0
        );
        _eq(registry.publishRelease(ns, model, version_, MANIFEST, WEIGHTS, expectedDid), expectedRel, "release id");
        _eq(
            registry.authorizeOperator(ns, model, "", did, T0 + 1, _noOrigins()), keccak256(bytes(string.concat(ns, "/", model))), "scope"
        );
        vm.stopPrank();
        _eq(registry.release(expectedRel).manifestDigest, MANIFEST, "stored under the release id");
        bytes32[] memory ids = registry.releasesByWeights(WEIGHTS);
        _eq(ids.length, 1, "weights list");
        _eq(ids[0], expectedRel, "weights list holds the release id");
        _true(registry.isOperatorAuthorized(ns, model, version_, expectedDid), "model scope found from the names");
    }

    // =============================================================================================
    // Time windows
    // =============================================================================================

    function testFuzz_isSignerAt_is_the_half_open_window(uint32 addAfter, uint32 removeAfter, uint64 t) public {
        string memory did = _did("window");
        bytes32 h = keccak256(bytes(did));
        uint64 from = T0 + addAfter;
        uint64 until = from + removeAfter;
        vm.startPrank(ALICE);
        vm.warp(from);
        registry.addSigner(nsId, did);
        _true(registry.isSignerAt(nsId, h, t) == (t >= from), "open window");
        vm.warp(until);
        registry.removeSigner(nsId, h);
        vm.stopPrank();
        // Removal takes effect at the end of its second: the window is [from, until + 1).
        _eq(registry.signer(nsId, h).validUntil, uint256(until) + 1, "validUntil");
        _true(registry.isSignerAt(nsId, h, t) == (t >= from && t <= until), "closed window");
    }

    /// An operator holds until its expiry, on either scope, and never for a revoked release.
    function testFuzz_operator_holds_until_expiry(uint64 expiresAt, uint64 when, bool modelScope, bool recalled)
        public
    {
        vm.assume(expiresAt > T0);
        _publish(MODEL, VERSION, WEIGHTS);
        vm.startPrank(ALICE);
        registry.authorizeOperator(NS, MODEL, modelScope ? "" : VERSION, OPERATOR_DID, expiresAt, _noOrigins());
        if (recalled) registry.revokeRelease(NS, MODEL, VERSION, "recalled");
        vm.stopPrank();
        when = when < T0 ? T0 : when;
        vm.warp(when);
        _true(
            registry.isOperatorAuthorized(NS, MODEL, VERSION, keccak256(bytes(OPERATOR_DID)))
                == (when < expiresAt && !recalled),
            "window"
        );
    }

    // =============================================================================================
    // Reference rules (written plainly, independently of the contract's bitmasks)
    // =============================================================================================

    function _isNamespaceChar(uint8 c) internal pure returns (bool) {
        return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d;
    }

    function _isModelChar(uint8 c) internal pure returns (bool) {
        return _isNamespaceChar(c) || c == 0x2e || c == 0x5f;
    }

    function _isPrintable(uint8 c) internal pure returns (bool) {
        return c >= 0x21 && c <= 0x7e;
    }

    function _refNamespace(bytes memory b) internal pure returns (bool) {
        if (b.length < 2 || b.length > 64) return false;
        if (b[0] == "-" || b[b.length - 1] == "-") return false;
        for (uint256 i; i < b.length; ++i) {
            if (!_isNamespaceChar(uint8(b[i]))) return false;
            if (i > 0 && b[i] == "-" && b[i - 1] == "-") return false;
        }
        return true;
    }

    function _refAll(bytes memory b, bool model) internal pure returns (bool) {
        if (b.length < 1 || b.length > 64) return false;
        if (keccak256(b) == keccak256(".") || keccak256(b) == keccak256("..")) return false; // dot segments
        for (uint256 i; i < b.length; ++i) {
            if (model ? !_isModelChar(uint8(b[i])) : !_isPrintable(uint8(b[i]))) return false;
        }
        return true;
    }

    function _checkNamespaceAgainstReference(bytes memory raw) internal {
        string memory ns = string(raw);
        vm.prank(CAROL);
        if (_refNamespace(raw)) {
            if (keccak256(raw) == nsId) {
                vm.expectRevert(abi.encodeWithSelector(IModelRegistry.NamespaceTaken.selector, nsId, ALICE));
            }
            registry.claimNamespace(ns);
        } else {
            vm.expectRevert(_invalidName(IModelRegistry.NameKind.Namespace, ns));
            registry.claimNamespace(ns);
        }
    }

    /// Every function that takes a release's names (publishRelease, isOperatorAuthorized,
    /// revokeRelease, releaseId) or an operator scope's (authorizeOperator, revokeOperator) checks
    /// them by the same reference rule (1.3: names checked everywhere).
    function _checkReleaseNamesAgainstReference(bytes memory rawModel, bytes memory rawVersion) internal {
        string memory model = string(rawModel);
        string memory version_ = string(rawVersion);
        bytes memory releaseRule;
        if (!_refAll(rawModel, true)) {
            releaseRule = _invalidName(IModelRegistry.NameKind.Model, model);
        } else if (!_refAll(rawVersion, false)) {
            releaseRule = _invalidName(IModelRegistry.NameKind.Version, version_);
        }
        // The operator rule is the same, except that an empty version means "the whole model".
        bytes memory scopeRule;
        if (!_refAll(rawModel, true)) {
            scopeRule = _invalidName(IModelRegistry.NameKind.Model, model);
        } else if (rawVersion.length != 0 && !_refAll(rawVersion, false)) {
            scopeRule = _invalidName(IModelRegistry.NameKind.Version, version_);
        }
        bytes32 op = keccak256(bytes(OPERATOR_DID));
        vm.startPrank(ALICE);
        if (releaseRule.length != 0) vm.expectRevert(releaseRule);
        registry.publishRelease(NS, model, version_, MANIFEST, WEIGHTS, didHash);
        if (scopeRule.length != 0) vm.expectRevert(scopeRule);
        registry.authorizeOperator(NS, model, version_, OPERATOR_DID, T0 + 1, _noOrigins());
        if (releaseRule.length != 0) vm.expectRevert(releaseRule);
        registry.isOperatorAuthorized(NS, model, version_, op);
        if (releaseRule.length != 0) vm.expectRevert(releaseRule);
        registry.releaseId(NS, model, version_);
        if (releaseRule.length != 0) vm.expectRevert(releaseRule);
        registry.revokeRelease(NS, model, version_, "");
        if (scopeRule.length != 0) vm.expectRevert(scopeRule);
        registry.revokeOperator(NS, model, version_, op);
        vm.stopPrank();
    }

    /// @dev `raw` cut to 256 bytes, each byte mapped into 0x20..0x7E: a reason revokeRelease accepts.
    function _printableReason(bytes memory raw) internal pure returns (string memory) {
        bytes memory out = new bytes(raw.length > 256 ? 256 : raw.length);
        for (uint256 i; i < out.length; ++i) {
            out[i] = bytes1(uint8(0x20 + uint8(raw[i]) % 95));
        }
        return string(out);
    }

    /// @dev A string of 0..maxLength bytes drawn from `alphabet`, determined by `seed`.
    function _gen(uint256 seed, bytes memory alphabet, uint256 maxLength) internal pure returns (bytes memory out) {
        out = new bytes(seed % (maxLength + 1));
        for (uint256 i; i < out.length; ++i) {
            out[i] = alphabet[uint256(keccak256(abi.encode(seed, i))) % alphabet.length];
        }
    }
}
