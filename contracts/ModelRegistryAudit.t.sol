// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "./IModelRegistry.sol";
import {ModelRegistryTestBase} from "./ModelRegistryTestBase.t.sol";

/// @dev The findings of the audit of 1.2.0, one numbered section per finding: the fix of each, or
/// for the namespace transfer the decision, pinned by tests.
contract ModelRegistryAuditTest is ModelRegistryTestBase {
    bytes32 internal constant OP = keccak256(bytes(OPERATOR_DID));

    // =============================================================================================
    // 1. revokeRelease's reason: 0..256 bytes of printable ASCII 0x20..0x7E
    // =============================================================================================

    function _badReason(string memory reason) internal pure returns (bytes memory) {
        return _invalidName(IModelRegistry.NameKind.Reason, reason);
    }

    function test_reason_kind_is_6_appended() public pure {
        _eq(uint256(IModelRegistry.NameKind.Reason), 6, "Reason");
        _eq(uint256(IModelRegistry.NameKind.Origin), 5, "Origin keeps its number");
    }

    function test_revokeRelease_refuses_bad_reasons_and_keeps_the_release() public {
        bytes32 rel = _publish(MODEL, VERSION, WEIGHTS);
        string[9] memory bad = [
            "a\x00b", // NUL
            "\x00",
            "caf\xc3\xa9", // UTF-8, not ASCII
            "\x80",
            "\xff\xfe", // not even UTF-8
            "del\x7f",
            "two\nlines",
            "tab\there",
            "x"
        ];
        bad[8] = _repeat("r", 257);
        vm.startPrank(ALICE);
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(_badReason(bad[i]));
            registry.revokeRelease(NS, MODEL, VERSION, bad[i]);
        }
        vm.stopPrank();
        _eq(registry.release(rel).revokedAt, 0, "not revoked");
    }

    function test_revokeRelease_accepts_256_printable_bytes_and_the_empty_reason() public {
        // 256 bytes cycling through all of 0x20..0x7E (space and "~" included).
        bytes memory longest = new bytes(256);
        for (uint256 i; i < 256; ++i) {
            longest[i] = bytes1(uint8(0x20 + i % 95));
        }
        bytes32 rel = _publish(MODEL, VERSION, WEIGHTS);
        bytes32 other = _publish(MODEL, "1.0.1", keccak256("w2"));
        vm.expectEmit(address(registry));
        emit IModelRegistry.ReleaseRevoked(rel, nsId, string(longest), T0);
        vm.prank(ALICE);
        registry.revokeRelease(NS, MODEL, VERSION, string(longest));
        vm.prank(ALICE);
        registry.revokeRelease(NS, MODEL, "1.0.1", "");
        _eq(registry.release(rel).revokedAt, T0, "256 bytes");
        _eq(registry.release(other).revokedAt, T0, "empty");
        // One byte more is refused.
        _publish(MODEL, "1.0.2", keccak256("w3"));
        vm.expectRevert(_badReason(string(bytes.concat(longest, " "))));
        vm.prank(ALICE);
        registry.revokeRelease(NS, MODEL, "1.0.2", string(bytes.concat(longest, " ")));
    }

    /// Every byte value, between two letters: accepted iff 0x20..0x7E.
    function test_revokeRelease_reason_every_byte_value() public {
        vm.startPrank(ALICE);
        for (uint256 c; c < 256; ++c) {
            string memory version_ = string.concat("r", _dec(c));
            registry.publishRelease(NS, MODEL, version_, MANIFEST, WEIGHTS, didHash);
            string memory reason = string(abi.encodePacked("a", bytes1(uint8(c)), "a"));
            bool ok = c >= 0x20 && c <= 0x7e;
            if (!ok) vm.expectRevert(_badReason(reason));
            registry.revokeRelease(NS, MODEL, version_, reason);
            _eq(registry.release(_relId(NS, MODEL, version_)).revokedAt, ok ? T0 : 0, version_);
        }
        vm.stopPrank();
    }

    /// The names are checked before the reason, and the reason before the release's existence.
    function test_revokeRelease_check_order() public {
        vm.startPrank(ALICE);
        vm.expectRevert(_invalidName(IModelRegistry.NameKind.Model, "Bad"));
        registry.revokeRelease(NS, "Bad", VERSION, "\x00");
        vm.expectRevert(_badReason("\x00"));
        registry.revokeRelease(NS, MODEL, "9.9.9", "\x00");
        vm.expectRevert(_err(IModelRegistry.UnknownRelease.selector, _relId(NS, MODEL, "9.9.9")));
        registry.revokeRelease(NS, MODEL, "9.9.9", "fine");
        vm.stopPrank();
    }

    // =============================================================================================
    // 2. removeSigner takes effect at the end of the current second
    // =============================================================================================

    /// Add, publish, remove, all at one block timestamp (anvil and some L2s give consecutive blocks
    /// the same timestamp): the release publishRelease accepted passes isSignerAt at its
    /// publishedAt forever, and a publish one second later is refused.
    function test_publish_then_remove_in_the_same_second_keeps_the_release_valid() public {
        string memory did = _did("rotating");
        bytes32 h = keccak256(bytes(did));
        uint64 t = T0 + 10;
        vm.warp(t);
        vm.startPrank(ALICE);
        registry.addSigner(nsId, did);
        vm.expectEmit(address(registry));
        emit IModelRegistry.ReleasePublished(
            _relId(NS, MODEL, VERSION), nsId, WEIGHTS, NS, MODEL, VERSION, MANIFEST, h, ALICE, t
        );
        registry.publishRelease(NS, MODEL, VERSION, MANIFEST, WEIGHTS, h);
        vm.expectEmit(address(registry));
        emit IModelRegistry.SignerRemoved(nsId, h, NS, t + 1);
        registry.removeSigner(nsId, h);
        vm.stopPrank();
        _eq(registry.signer(nsId, h).validUntil, t + 1, "validUntil: the first second it is no longer valid");
        _true(registry.isSignerAt(nsId, h, t), "valid at the release's publishedAt");

        vm.warp(t + 1);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.InactiveSigner.selector, nsId, h, t + 1));
        vm.prank(ALICE);
        registry.publishRelease(NS, MODEL, "1.0.1", MANIFEST, keccak256("w2"), h);
        vm.warp(t + 365 days);
        _true(registry.isSignerAt(nsId, h, t), "still valid at publishedAt, later");
    }

    /// The other order in the same second: a publish after the removal is still accepted (the key
    /// is valid until the end of the second), and then isSignerAt agrees with that acceptance.
    function test_remove_then_publish_in_the_same_second_agree() public {
        vm.warp(T0 + 20);
        vm.startPrank(ALICE);
        registry.removeSigner(nsId, didHash);
        registry.publishRelease(NS, MODEL, VERSION, MANIFEST, WEIGHTS, didHash);
        vm.stopPrank();
        _true(registry.isSignerAt(nsId, didHash, T0 + 20), "accepted, so valid at publishedAt");
        _true(!registry.isSignerAt(nsId, didHash, T0 + 21), "not after the second");
    }

    // =============================================================================================
    // 3. Paged weights reads
    // =============================================================================================

    uint256 internal constant MAX_PAGE = 1000;

    function _badCursor(bytes32 weights, bytes32 cursor) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IModelRegistry.BadCursor.selector, weights, cursor);
    }

    /// Every page of `weights` with page size `limit`, concatenated (newest first), checking that
    /// each page but the last is full and that `next` is the id after it.
    function _walk(bytes32 weights, uint256 limit) internal view returns (bytes32[] memory all) {
        all = new bytes32[](registry.releaseCountByWeights(weights));
        uint256 n;
        bytes32 cursor;
        do {
            (bytes32[] memory ids, bytes32 next) = registry.releasesByWeightsPage(weights, cursor, limit);
            _true(ids.length <= limit, "page size");
            if (next != 0) _eq(ids.length, limit, "a page before the end is full");
            for (uint256 i; i < ids.length; ++i) {
                all[n++] = ids[i];
            }
            cursor = next;
        } while (cursor != 0);
        _eq(n, all.length, "pages hold count ids");
    }

    /// The paged walk is the old function's list, newest first.
    function _checkPagesEqualTheList(bytes32 weights, uint256 limit) internal view {
        bytes32[] memory oldest = registry.releasesByWeights(weights);
        bytes32[] memory paged = _walk(weights, limit);
        _eq(paged.length, oldest.length, "count");
        for (uint256 i; i < paged.length; ++i) {
            _eq(paged[i], oldest[oldest.length - 1 - i], "same ids, newest first");
        }
    }

    function test_releasesByWeightsPage_2500_releases_in_pages_of_1000() public {
        uint256 total = 2500;
        bytes32[] memory published = new bytes32[](total);
        for (uint256 i; i < total; ++i) {
            published[i] = _publish(MODEL, string.concat("v", _dec(i)), WEIGHTS);
        }
        _eq(registry.releaseCountByWeights(WEIGHTS), total, "count");

        (bytes32[] memory page1, bytes32 next1) = registry.releasesByWeightsPage(WEIGHTS, 0, 1000);
        (bytes32[] memory page2, bytes32 next2) = registry.releasesByWeightsPage(WEIGHTS, next1, 1000);
        (bytes32[] memory page3, bytes32 next3) = registry.releasesByWeightsPage(WEIGHTS, next2, 1000);
        _eq(page1.length, 1000, "page 1");
        _eq(page2.length, 1000, "page 2");
        _eq(page3.length, 500, "page 3");
        _eq(next1, published[1499], "next 1");
        _eq(next2, published[499], "next 2");
        _eq(next3, 0, "end");
        bytes32[] memory list = registry.releasesByWeights(WEIGHTS);
        _eq(list.length, total, "old function");
        for (uint256 i; i < 1000; ++i) {
            _eq(page1[i], published[total - 1 - i], "page 1 newest first");
            _eq(page2[i], published[total - 1001 - i], "page 2");
            if (i < 500) _eq(page3[i], published[total - 2001 - i], "page 3");
        }
        for (uint256 i; i < total; ++i) {
            _eq(list[i], published[i], "old function: publish order");
        }
        // The last page's cursor is the oldest release, recognised although it links to nothing.
        (bytes32[] memory last,) = registry.releasesByWeightsPage(WEIGHTS, published[0], 1000);
        _eq(last.length, 1, "oldest alone");
        _eq(last[0], published[0], "oldest");
    }

    /// Counts and pages agree with the old function at every length that changes the storage
    /// layout (0, 1, 2: no stored count; 3: count stored; more: updated), for several page sizes,
    /// and any member is a valid cursor that starts the suffix at itself.
    function test_count_and_pages_at_every_small_length() public {
        bytes32 other = keccak256("other weights");
        _publish(MODEL, "other-0", other); // an interleaved list, to catch cross-links
        for (uint256 n; n <= 7; ++n) {
            _eq(registry.releaseCountByWeights(WEIGHTS), n, "count");
            _checkPagesEqualTheList(WEIGHTS, 1);
            _checkPagesEqualTheList(WEIGHTS, 2);
            _checkPagesEqualTheList(WEIGHTS, 3);
            _checkPagesEqualTheList(WEIGHTS, 1000);
            bytes32[] memory oldest = registry.releasesByWeights(WEIGHTS);
            for (uint256 i; i < oldest.length; ++i) {
                (bytes32[] memory ids, bytes32 next) = registry.releasesByWeightsPage(WEIGHTS, oldest[i], 1000);
                _eq(ids.length, i + 1, "suffix from a member");
                _eq(ids[0], oldest[i], "starts at the cursor");
                _eq(next, 0, "to the end");
            }
            _publish(MODEL, string.concat("w-", _dec(n)), WEIGHTS);
            _publish(MODEL, string.concat("other-", _dec(n + 1)), other);
        }
        _eq(registry.releaseCountByWeights(other), 9, "other count");
        _eq(registry.releaseCountByWeights(keccak256("never")), 0, "unknown weights");
        (bytes32[] memory none, bytes32 end) = registry.releasesByWeightsPage(keccak256("never"), 0, 10);
        _eq(none.length, 0, "unknown weights: empty page");
        _eq(end, 0, "unknown weights: end");
    }

    function test_releasesByWeightsPage_refuses_bad_limits() public {
        _publish(MODEL, VERSION, WEIGHTS);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.BadLimit.selector, 0, MAX_PAGE));
        registry.releasesByWeightsPage(WEIGHTS, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.BadLimit.selector, 1001, MAX_PAGE));
        registry.releasesByWeightsPage(WEIGHTS, 0, 1001);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.BadLimit.selector, type(uint256).max, MAX_PAGE));
        registry.releasesByWeightsPage(WEIGHTS, 0, type(uint256).max);
        (bytes32[] memory ids,) = registry.releasesByWeightsPage(WEIGHTS, 0, 1000);
        _eq(ids.length, 1, "1000 is allowed");
    }

    /// A cursor that is not a release of this digest's list is refused, never followed: ids of
    /// another digest's list (its newest, middle and oldest), a release of no list, an id that
    /// is no release, and forgeries of the oldest release's id that keep its first 192 bits.
    function test_releasesByWeightsPage_refuses_foreign_cursors() public {
        bytes32 other = keccak256("other weights");
        bytes32[] memory mine = new bytes32[](4);
        bytes32[] memory theirs = new bytes32[](4);
        for (uint256 i; i < 4; ++i) {
            mine[i] = _publish(MODEL, string.concat("m", _dec(i)), WEIGHTS);
            theirs[i] = _publish(MODEL, string.concat("t", _dec(i)), other);
        }
        for (uint256 i; i < 4; ++i) {
            vm.expectRevert(_badCursor(WEIGHTS, theirs[i]));
            registry.releasesByWeightsPage(WEIGHTS, theirs[i], 10);
            vm.expectRevert(_badCursor(other, mine[i]));
            registry.releasesByWeightsPage(other, mine[i], 10);
        }
        bytes32 nothing = keccak256("no release");
        vm.expectRevert(_badCursor(WEIGHTS, nothing));
        registry.releasesByWeightsPage(WEIGHTS, nothing, 10);
        bytes32 forged = mine[0] ^ bytes32(uint256(1));
        vm.expectRevert(_badCursor(WEIGHTS, forged));
        registry.releasesByWeightsPage(WEIGHTS, forged, 10);
        forged = bytes32(uint256(mine[0]) | type(uint64).max);
        vm.expectRevert(_badCursor(WEIGHTS, forged));
        registry.releasesByWeightsPage(WEIGHTS, forged, 10);
        // A digest with no releases has no members at all.
        vm.expectRevert(_badCursor(keccak256("never"), mine[0]));
        registry.releasesByWeightsPage(keccak256("never"), mine[0], 10);
    }

    /// Short lists store no count: their oldest release is recognised from the list itself.
    function test_releasesByWeightsPage_cursor_checks_on_lists_of_one_and_two() public {
        bytes32 other = keccak256("other weights");
        bytes32 a = _publish(MODEL, "a", WEIGHTS);
        bytes32 x = _publish(MODEL, "x", other);
        vm.expectRevert(_badCursor(WEIGHTS, x));
        registry.releasesByWeightsPage(WEIGHTS, x, 10);
        (bytes32[] memory ids,) = registry.releasesByWeightsPage(WEIGHTS, a, 10);
        _eq(ids.length, 1, "one: the head");
        bytes32 b = _publish(MODEL, "b", WEIGHTS);
        (ids,) = registry.releasesByWeightsPage(WEIGHTS, a, 10);
        _eq(ids.length, 1, "two: the oldest");
        _eq(ids[0], a, "two: the oldest");
        (ids,) = registry.releasesByWeightsPage(WEIGHTS, b, 10);
        _eq(ids.length, 2, "two: from the head");
        vm.expectRevert(_badCursor(WEIGHTS, x));
        registry.releasesByWeightsPage(WEIGHTS, x, 10);
    }

    /// The storage budget: a first publish of a digest still writes exactly two slots, a second
    /// one three (as before), the third one four (the count, once per digest), later ones four
    /// (the count updated in place). The count of a first release is read, not stored.
    function test_publish_storage_writes_with_paging() public {
        vm.record();
        _publish(MODEL, "1", WEIGHTS);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        _eq(writes.length, 2, "first publish of a digest");
        _eq(registry.releaseCountByWeights(WEIGHTS), 1, "count without a stored count");
        vm.record();
        _publish(MODEL, "2", WEIGHTS);
        (, writes) = vm.accesses(address(registry));
        _eq(writes.length, 3, "second");
        vm.record();
        _publish(MODEL, "3", WEIGHTS);
        (, writes) = vm.accesses(address(registry));
        _eq(writes.length, 4, "third: the count is stored");
        vm.record();
        _publish(MODEL, "4", WEIGHTS);
        (, writes) = vm.accesses(address(registry));
        _eq(writes.length, 4, "fourth: the count is updated");
        _eq(registry.releaseCountByWeights(WEIGHTS), 4, "count");
    }

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

    // =============================================================================================
    // 5. A namespace transfer keeps signers and operators (decision for 1.3: no epoch)
    // =============================================================================================

    function _transferToBob() internal {
        vm.prank(ALICE);
        registry.transferNamespace(nsId, BOB);
        vm.expectEmit(address(registry));
        emit IModelRegistry.NamespaceTransferred(nsId, ALICE, BOB, NS);
        vm.prank(BOB);
        registry.acceptNamespace(nsId);
    }

    /// Pinned behaviour: the previous controller's signer stays active (the new controller can
    /// even publish with it) and its operator grant stays in force.
    function test_transfer_keeps_the_previous_controllers_signers_and_operators() public {
        vm.prank(ALICE);
        registry.authorizeOperator(NS, MODEL, "", OPERATOR_DID, T0 + 1 days, _noOrigins());
        vm.warp(T0 + 5);
        _transferToBob();
        vm.warp(T0 + 10);
        IModelRegistry.Signer memory s = registry.signer(nsId, didHash);
        _eq(s.validFrom, T0, "validFrom");
        _eq(s.validUntil, 0, "still active");
        _true(registry.isSignerAt(nsId, didHash, T0 + 10), "old signer valid after the transfer");
        vm.prank(BOB);
        registry.publishRelease(NS, MODEL, VERSION, MANIFEST, WEIGHTS, didHash);
        _true(registry.isOperatorAuthorized(NS, MODEL, VERSION, OP), "old operator grant in force");
    }

    /// The previous controller can no longer write anything in the namespace.
    function test_transfer_leaves_the_previous_controller_no_power() public {
        bytes32 rel = _publish(MODEL, VERSION, WEIGHTS);
        vm.prank(ALICE);
        registry.authorizeOperator(NS, MODEL, "", OPERATOR_DID, T0 + 1 days, _noOrigins());
        _transferToBob();
        bytes memory refused = abi.encodeWithSelector(IModelRegistry.NotNamespaceController.selector, nsId, ALICE, BOB);
        vm.startPrank(ALICE);
        vm.expectRevert(refused);
        registry.addSigner(nsId, _did("alice-again"));
        vm.expectRevert(refused);
        registry.removeSigner(nsId, didHash);
        vm.expectRevert(refused);
        registry.authorizeOperator(NS, MODEL, "", _did("alice-op"), T0 + 1 days, _noOrigins());
        vm.expectRevert(refused);
        registry.revokeOperator(NS, MODEL, "", OP);
        vm.expectRevert(refused);
        registry.publishRelease(NS, MODEL, "2.0.0", MANIFEST, WEIGHTS, didHash);
        vm.expectRevert(refused);
        registry.revokeRelease(NS, MODEL, VERSION, "");
        vm.expectRevert(refused);
        registry.transferNamespace(nsId, ALICE);
        vm.stopPrank();
        _eq(registry.release(rel).revokedAt, 0, "release untouched");
        _eq(registry.signer(nsId, didHash).validUntil, 0, "signer untouched");
    }

    /// The new controller reviews and removes what it inherited: the old signers and the old
    /// operator grants (model and release scope).
    function test_transfer_new_controller_removes_the_old_signers_and_operators() public {
        string memory second = _did("alice-second-key");
        bytes32 secondHash = keccak256(bytes(second));
        _publish(MODEL, VERSION, WEIGHTS);
        vm.startPrank(ALICE);
        registry.addSigner(nsId, second);
        registry.authorizeOperator(NS, MODEL, "", OPERATOR_DID, T0 + 1 days, _noOrigins());
        registry.authorizeOperator(NS, MODEL, VERSION, OPERATOR_DID, T0 + 1 days, _noOrigins());
        vm.stopPrank();
        _transferToBob();
        vm.warp(T0 + 100);
        vm.startPrank(BOB);
        registry.removeSigner(nsId, didHash);
        registry.removeSigner(nsId, secondHash);
        registry.revokeOperator(NS, MODEL, "", OP);
        _true(registry.isOperatorAuthorized(NS, MODEL, VERSION, OP), "the release grant is separate");
        registry.revokeOperator(NS, MODEL, VERSION, OP);
        vm.stopPrank();
        _true(!registry.isOperatorAuthorized(NS, MODEL, VERSION, OP), "no grant left");
        vm.warp(T0 + 101);
        _true(!registry.isSignerAt(nsId, didHash, T0 + 101), "old signer gone");
        _true(!registry.isSignerAt(nsId, secondHash, T0 + 101), "second old signer gone");
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.InactiveSigner.selector, nsId, didHash, T0 + 101));
        vm.prank(BOB);
        registry.publishRelease(NS, MODEL, "2.0.0", MANIFEST, WEIGHTS, didHash);
    }
}
