// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IModelRegistry} from "./IModelRegistry.sol";

/**
 * @title ModelRegistry
 * @notice The modelseal registry: namespaces, their signing keys, releases, operators and
 * endorsements. No owner, no upgrade path, no fees: every write is gated only by namespace control
 * (or, for endorsements, by being the endorser). See {IModelRegistry} for ids, name rules and events.
 *
 * Storage is laid out for the cost of {publishRelease}, the hot path, where each new slot costs
 * 22,100 gas: a first publish writes exactly two slots, the manifest digest under the release id
 * (non-zero, so it doubles as the existence marker for first-writer-wins) and the release id as the
 * new head of its weights digest's list. Publishing weights that already have releases writes one
 * more slot, the link to the previous head; from the third release of the same weights on, their
 * count is stored too (one more slot, once per digest, then updated in place), so that the list
 * can be counted and paged in bounded gas. Revocation writes its own slot when it happens. Names,
 * namespace id, weights digest, signer, publisher and publish time are not stored per release: the
 * immutable {ReleasePublished} event carries them (see "Storage versus events" in {IModelRegistry}).
 * The namespace name is stored once, at claim time, so that later events about the namespace can
 * repeat it.
 */
contract ModelRegistry is IModelRegistry {
    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    /// @dev A namespace. `controller` is alone in the first slot: the one read of every guard.
    struct NamespaceRecord {
        address controller; // address(0): unclaimed
        address pendingController; // address(0): no transfer pending
        string name;
    }

    mapping(bytes32 namespaceId => NamespaceRecord) private _namespaces;
    mapping(bytes32 namespaceId => mapping(bytes32 didHash => Signer)) private _signers;
    /// @dev Zero: never published (publishRelease refuses a zero manifest digest).
    mapping(bytes32 releaseId => bytes32 manifestDigest) private _releases;
    /// @dev Zero: not revoked. Written by revokeRelease only, so publishing never pays for it.
    mapping(bytes32 releaseId => uint64 revokedAt) private _revokedAt;
    /// @dev The releases of one weights digest form a list, newest first: the head is here and each
    /// release links to the one published before it. The link stays unwritten (zero, the end of the
    /// list) for the first release of a digest, so a first publish writes no third slot.
    mapping(bytes32 weightsDigest => bytes32 releaseId) private _byWeights;
    /// @dev Keyed by the digest too, so that a non-zero link proves its release is in that digest's
    /// list (what {releasesByWeightsPage} checks a cursor with).
    mapping(bytes32 weightsDigest => mapping(bytes32 releaseId => bytes32 olderReleaseId)) private _olderSameWeights;
    /// @dev Zero while the digest has fewer than three releases (the count is then read from the
    /// list: 0 without a head, 1 if the head has no link, else 2). From the third release on: the
    /// count in the low 64 bits and the first 192 bits of the id of the digest's first (oldest)
    /// release, the only member without a link, above them, so that it too can be recognised as a cursor.
    mapping(bytes32 weightsDigest => uint256 countAndOldest) private _weightsCount;
    mapping(bytes32 scopeId => mapping(bytes32 operatorDidHash => Operator)) private _operators;
    mapping(bytes32 releaseId => mapping(address endorser => mapping(bytes32 kindHash => Endorsement))) private
        _endorsements;

    // ------------------------------------------------------------------------------------------
    // Name rules: one bit per allowed byte value (bit c set <=> byte c allowed)
    // ------------------------------------------------------------------------------------------

    uint256 private constant _DIGITS = ((1 << 10) - 1) << 0x30; // 0-9
    uint256 private constant _LOWERCASE = ((1 << 26) - 1) << 0x61; // a-z
    uint256 private constant _NAMESPACE_CHARS = _DIGITS | _LOWERCASE | (1 << 0x2d); // [a-z0-9-]
    uint256 private constant _MODEL_CHARS = _NAMESPACE_CHARS | (1 << 0x2e) | (1 << 0x5f); // [a-z0-9._-]
    uint256 private constant _PRINTABLE_CHARS = ((1 << 94) - 1) << 0x21; // 0x21..0x7E
    uint256 private constant _REASON_CHARS = _PRINTABLE_CHARS | (1 << 0x20); // 0x20..0x7E: space too

    // [a-z0-9-] . : / [ ]  - an origin in canonical form: scheme://host[:port], IPv6 in brackets
    uint256 private constant _ORIGIN_CHARS =
        _NAMESPACE_CHARS | (1 << 0x2e) | (1 << 0x3a) | (1 << 0x2f) | (1 << 0x5b) | (1 << 0x5d);

    uint256 private constant _MAX_NAME_LENGTH = 64;
    uint256 private constant _MAX_ORIGIN_LENGTH = 255;
    uint256 private constant _MAX_ORIGINS = 8;
    uint256 private constant _MAX_REASON_LENGTH = 256;

    /// @dev The largest page of {releasesByWeightsPage}: about 2.6M gas (measured cold), far below any eth_call cap.
    uint256 private constant _MAX_PAGE = 1000;
    /// @dev The count's bits in `_weightsCount` (a count never reaches 2**64).
    uint256 private constant _COUNT_MASK = type(uint64).max;

    // ------------------------------------------------------------------------------------------
    // DIDs: the rule of {IModelRegistry} (off chain: registry.signing.keys.check_did)
    // ------------------------------------------------------------------------------------------

    /// @dev "did:key:z" and its 47 base58btc digits: the length of every Ed25519 did:key.
    uint256 private constant _DID_KEY_LENGTH = 56;
    /// @dev Base58btc digit value of each byte below 0x80, one byte each (byte c of the 128 bytes
    /// _B58_0.._B58_3 is the value of byte c), 0x40 for a byte outside the alphabet
    /// 123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz.
    uint256 private constant _B58_0 = 0x4040404040404040404040404040404040404040404040404040404040404040;
    uint256 private constant _B58_1 = 0x4040404040404040404040404040404040000102030405060708404040404040;
    uint256 private constant _B58_2 = 0x40090a0b0c0d0e0f1040111213141540161718191a1b1c1d1e1f204040404040;
    uint256 private constant _B58_3 = 0x402122232425262728292a2b402c2d2e2f303132333435363738394040404040;
    /// @dev A did:pkh is 59..78 bytes: "did:pkh:eip155:", 1..20 chain id digits, ":0x", 40 hex digits.
    uint256 private constant _MIN_DID_PKH_LENGTH = 59;
    uint256 private constant _MAX_DID_PKH_LENGTH = 78;
    uint256 private constant _HEX_CHARS = _DIGITS | (((1 << 6) - 1) << 0x41) | (((1 << 6) - 1) << 0x61); // 0-9A-Fa-f

    // ------------------------------------------------------------------------------------------
    // Namespaces
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function claimNamespace(string calldata ns) external returns (bytes32 nsId) {
        _checkNamespaceName(ns);
        nsId = keccak256(bytes(ns));
        NamespaceRecord storage rec = _namespaces[nsId];
        if (rec.controller != address(0)) revert NamespaceTaken(nsId, rec.controller);
        rec.controller = msg.sender;
        rec.name = ns;
        emit NamespaceClaimed(nsId, msg.sender, ns);
    }

    /// @inheritdoc IModelRegistry
    function transferNamespace(bytes32 nsId, address newController) external {
        NamespaceRecord storage rec = _checkController(nsId);
        rec.pendingController = newController;
        emit NamespaceTransferStarted(nsId, msg.sender, newController, rec.name);
    }

    /// @inheritdoc IModelRegistry
    function acceptNamespace(bytes32 nsId) external {
        NamespaceRecord storage rec = _namespaces[nsId];
        address pending = rec.pendingController;
        // msg.sender is never address(0), so this also rejects "no transfer pending".
        if (msg.sender != pending) revert NotPendingController(nsId, msg.sender, pending);
        address previous = rec.controller;
        rec.controller = msg.sender;
        delete rec.pendingController;
        emit NamespaceTransferred(nsId, previous, msg.sender, rec.name);
    }

    /// @inheritdoc IModelRegistry
    function namespaceInfo(bytes32 nsId) external view returns (Namespace memory) {
        NamespaceRecord storage rec = _namespaces[nsId];
        return Namespace({controller: rec.controller, pendingController: rec.pendingController, name: rec.name});
    }

    // ------------------------------------------------------------------------------------------
    // Signers
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function addSigner(bytes32 nsId, string calldata did) external {
        NamespaceRecord storage rec = _checkController(nsId);
        _checkDid(did);
        bytes32 didHash = keccak256(bytes(did));
        Signer storage s = _signers[nsId][didHash];
        if (s.validUntil != 0) revert SignerRetired(nsId, didHash, s.validUntil);
        if (s.validFrom != 0) revert SignerExists(nsId, didHash, s.validFrom);
        uint64 now_ = _now();
        s.validFrom = now_;
        emit SignerAdded(nsId, didHash, rec.name, did, now_);
    }

    /// @inheritdoc IModelRegistry
    function removeSigner(bytes32 nsId, bytes32 didHash) external {
        NamespaceRecord storage rec = _checkController(nsId);
        Signer storage s = _signers[nsId][didHash];
        if (s.validFrom == 0) revert UnknownSigner(nsId, didHash);
        if (s.validUntil != 0) revert SignerRetired(nsId, didHash, s.validUntil);
        // The end of the current second: a publish in this same second (same block timestamp) was
        // accepted with the key, so isSignerAt(publishedAt) must stay true; the window stays
        // [validFrom, validUntil), and validUntil is the first second the key is no longer valid.
        uint64 until = _now() + 1;
        s.validUntil = until;
        emit SignerRemoved(nsId, didHash, rec.name, until);
    }

    /// @inheritdoc IModelRegistry
    function signer(bytes32 nsId, bytes32 didHash) external view returns (Signer memory) {
        return _signers[nsId][didHash];
    }

    /// @inheritdoc IModelRegistry
    function isSignerAt(bytes32 nsId, bytes32 didHash, uint64 timestamp) external view returns (bool) {
        return _isSignerAt(_signers[nsId][didHash], timestamp);
    }

    // ------------------------------------------------------------------------------------------
    // Releases
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function publishRelease(
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 manifestDigest,
        bytes32 weightsDigest,
        bytes32 signerDidHash
    ) external returns (bytes32 relId) {
        bytes32 nsId = keccak256(bytes(ns));
        relId = _storeRelease(nsId, ns, model, version_, manifestDigest, weightsDigest, signerDidHash);
        // Emitted from a helper: thirteen stack words of arguments do not fit beside the above.
        _emitReleasePublished(relId, nsId, ns, model, version_, manifestDigest, weightsDigest, signerDidHash);
    }

    /// @inheritdoc IModelRegistry
    function revokeRelease(
        string calldata ns,
        string calldata model,
        string calldata version_,
        string calldata reason
    ) external {
        bytes32 nsId = keccak256(bytes(ns));
        _checkController(nsId);
        // The names are checked as publishRelease checks them (the namespace is claimed, so valid).
        _checkReleaseNames(model, version_);
        uint256 n = bytes(reason).length;
        if (n > _MAX_REASON_LENGTH || !_allBytesIn(bytes(reason), _REASON_CHARS)) {
            revert InvalidName(NameKind.Reason, reason);
        }
        bytes32 relId = _releaseId(ns, model, version_);
        if (_releases[relId] == 0) revert UnknownRelease(relId);
        uint64 revokedAt = _revokedAt[relId];
        if (revokedAt != 0) revert ReleaseAlreadyRevoked(relId, revokedAt);
        uint64 now_ = _now();
        _revokedAt[relId] = now_;
        emit ReleaseRevoked(relId, nsId, reason, now_);
    }

    /// @inheritdoc IModelRegistry
    function release(bytes32 relId) external view returns (ReleaseRecord memory) {
        return ReleaseRecord({manifestDigest: _releases[relId], revokedAt: _revokedAt[relId]});
    }

    /// @inheritdoc IModelRegistry
    function releasesByWeights(bytes32 weightsDigest) external view returns (bytes32[] memory ids) {
        // Unbounded (see the interface): clients use releasesByWeightsPage.
        bytes32 head = _byWeights[weightsDigest];
        uint256 count = _releaseCount(weightsDigest, head);
        ids = new bytes32[](count);
        mapping(bytes32 => bytes32) storage older = _olderSameWeights[weightsDigest];
        // The list runs newest first: fill from the end to return publish order.
        for (bytes32 id = head; id != 0; id = older[id]) {
            // One decrement per element counted: never below zero.
            unchecked {
                --count;
            }
            ids[count] = id;
        }
    }

    /// @inheritdoc IModelRegistry
    function releaseCountByWeights(bytes32 weightsDigest) external view returns (uint256 count) {
        return _releaseCount(weightsDigest, _byWeights[weightsDigest]);
    }

    /// @inheritdoc IModelRegistry
    function releasesByWeightsPage(bytes32 weightsDigest, bytes32 cursor, uint256 limit)
        external
        view
        returns (bytes32[] memory ids, bytes32 next)
    {
        if (limit == 0 || limit > _MAX_PAGE) revert BadLimit(limit, _MAX_PAGE);
        bytes32 head = _byWeights[weightsDigest];
        if (cursor == 0) {
            next = head;
        } else {
            if (!_isInWeightsList(weightsDigest, head, cursor)) revert BadCursor(weightsDigest, cursor);
            next = cursor;
        }
        ids = new bytes32[](limit);
        mapping(bytes32 => bytes32) storage older = _olderSameWeights[weightsDigest];
        uint256 n;
        for (; n < limit && next != 0; ++n) {
            ids[n] = next;
            next = older[next];
        }
        // Shrink the array to the ids found (n <= limit: the memory stays allocated, unused).
        assembly ("memory-safe") {
            mstore(ids, n)
        }
    }

    // ------------------------------------------------------------------------------------------
    // Operators
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function authorizeOperator(
        string calldata ns,
        string calldata model,
        string calldata version_,
        string calldata operatorDid,
        uint64 expiresAt,
        string[] calldata origins
    ) external returns (bytes32 scopeId) {
        bytes32 nsId = keccak256(bytes(ns));
        _checkController(nsId);
        _checkScopeNames(model, version_);
        _checkDid(operatorDid);
        if (expiresAt <= _now()) revert ExpiryNotInFuture(expiresAt, _now());
        scopeId = _scopeId(ns, model, version_);
        _operators[scopeId][keccak256(bytes(operatorDid))] =
            Operator({expiresAt: expiresAt, revokedAt: 0, originsHash: _originsHash(origins)});
        // Emitted from a helper: the event's arguments do not fit on the stack beside the above.
        _emitOperatorAuthorized(scopeId, nsId, ns, model, version_, operatorDid, expiresAt, origins);
    }

    /// @inheritdoc IModelRegistry
    function revokeOperator(
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 operatorDidHash
    ) external {
        bytes32 nsId = keccak256(bytes(ns));
        _checkController(nsId);
        // The names are checked as authorizeOperator checks them (the namespace is claimed, so valid).
        _checkScopeNames(model, version_);
        bytes32 scopeId = _scopeId(ns, model, version_);
        Operator storage op = _operators[scopeId][operatorDidHash];
        if (op.expiresAt == 0) revert UnknownOperator(scopeId, operatorDidHash);
        if (op.revokedAt != 0) revert OperatorAlreadyRevoked(scopeId, operatorDidHash, op.revokedAt);
        uint64 now_ = _now();
        op.revokedAt = now_;
        emit OperatorRevoked(scopeId, nsId, operatorDidHash, ns, model, version_, now_);
    }

    /// @inheritdoc IModelRegistry
    function operator(bytes32 scopeId, bytes32 operatorDidHash) external view returns (Operator memory) {
        return _operators[scopeId][operatorDidHash];
    }

    /// @inheritdoc IModelRegistry
    function isOperatorAuthorized(
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 operatorDidHash
    ) external view returns (bool) {
        _checkNamespaceName(ns);
        _checkReleaseNames(model, version_);
        bytes32 relId = _releaseId(ns, model, version_);
        if (_releases[relId] == 0 || _revokedAt[relId] != 0) return false;
        return _isOperatorActive(_operators[relId][operatorDidHash])
            || _isOperatorActive(_operators[_modelId(ns, model)][operatorDidHash]);
    }

    // ------------------------------------------------------------------------------------------
    // Endorsements
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function endorse(bytes32 relId, string calldata kind, bytes32 dataDigest) external {
        if (_releases[relId] == 0) revert UnknownRelease(relId);
        _checkName(NameKind.EndorsementKind, kind, _PRINTABLE_CHARS, _MAX_NAME_LENGTH);
        bytes32 kindHash = keccak256(bytes(kind));
        Endorsement storage e = _endorsements[relId][msg.sender][kindHash];
        if (e.time != 0 && e.revokedAt == 0) revert EndorsementExists(relId, msg.sender, kindHash, e.time);
        uint64 now_ = _now();
        e.dataDigest = dataDigest;
        e.time = now_;
        e.revokedAt = 0;
        emit Endorsed(relId, msg.sender, kindHash, kind, dataDigest, now_);
    }

    /// @inheritdoc IModelRegistry
    function revokeEndorsement(bytes32 relId, string calldata kind) external {
        bytes32 kindHash = keccak256(bytes(kind));
        Endorsement storage e = _endorsements[relId][msg.sender][kindHash];
        if (e.time == 0) revert UnknownEndorsement(relId, msg.sender, kindHash);
        if (e.revokedAt != 0) revert EndorsementAlreadyRevoked(relId, msg.sender, kindHash, e.revokedAt);
        uint64 now_ = _now();
        e.revokedAt = now_;
        emit EndorsementRevoked(relId, msg.sender, kindHash, kind, now_);
    }

    /// @inheritdoc IModelRegistry
    function endorsement(bytes32 relId, address endorser, bytes32 kindHash)
        external
        view
        returns (Endorsement memory)
    {
        return _endorsements[relId][endorser][kindHash];
    }

    // ------------------------------------------------------------------------------------------
    // Ids and version
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function namespaceId(string calldata ns) external pure returns (bytes32) {
        _checkNamespaceName(ns);
        return keccak256(bytes(ns));
    }

    /// @inheritdoc IModelRegistry
    function modelId(string calldata ns, string calldata model) external pure returns (bytes32) {
        _checkNamespaceName(ns);
        _checkModelName(model);
        return _modelId(ns, model);
    }

    /// @inheritdoc IModelRegistry
    function releaseId(string calldata ns, string calldata model, string calldata version_)
        external
        pure
        returns (bytes32)
    {
        _checkNamespaceName(ns);
        _checkReleaseNames(model, version_);
        return _releaseId(ns, model, version_);
    }

    /// @inheritdoc IModelRegistry
    function version() external pure returns (string memory) {
        return "1.3.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internal helpers
    // ------------------------------------------------------------------------------------------

    /// @dev The checks and writes of {publishRelease}; returns the release id.
    function _storeRelease(
        bytes32 nsId,
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 manifestDigest,
        bytes32 weightsDigest,
        bytes32 signerDidHash
    ) private returns (bytes32 relId) {
        _checkController(nsId);
        // Exactly _checkReleaseNames, written out: on this hot path the extra internal calls cost
        // about 100 gas (measured); ModelRegistryFuzz.t.sol holds both to one reference rule.
        _checkName(NameKind.Model, model, _MODEL_CHARS, _MAX_NAME_LENGTH);
        _checkNotDotSegment(NameKind.Model, model);
        _checkName(NameKind.Version, version_, _PRINTABLE_CHARS, _MAX_NAME_LENGTH);
        _checkNotDotSegment(NameKind.Version, version_);
        relId = _releaseId(ns, model, version_);
        if (manifestDigest == 0 || weightsDigest == 0) revert ZeroDigest(relId, manifestDigest, weightsDigest);

        bytes32 existing = _releases[relId];
        if (existing != 0) revert ReleaseExists(relId, existing);
        if (!_isSignerAt(_signers[nsId][signerDidHash], _now())) {
            revert InactiveSigner(nsId, signerDidHash, _now());
        }

        // The two slots of a first publish: the record (non-zero: manifestDigest was checked above)...
        _releases[relId] = manifestDigest;
        // ...and the new head of the weights list, linked to the old head only if there is one.
        bytes32 previous = _byWeights[weightsDigest];
        if (previous != 0) _linkRelease(weightsDigest, relId, previous);
        _byWeights[weightsDigest] = relId;
    }

    /// @dev Links a release of weights that already have some to the previous head, and keeps the
    /// count from the third release on (see `_weightsCount`). Never runs for a first publish.
    function _linkRelease(bytes32 weightsDigest, bytes32 relId, bytes32 previous) private {
        mapping(bytes32 => bytes32) storage older = _olderSameWeights[weightsDigest];
        older[relId] = previous;
        bytes32 second = older[previous];
        // A second release (the previous head was alone) stores nothing more: the count is read from the list.
        if (second == 0) return;
        uint256 packed = _weightsCount[weightsDigest];
        // The third release: the list was `previous -> second`, so `second` is the oldest release.
        // Later ones: the count (low 64 bits, far from overflowing) goes up by one, the rest stays.
        _weightsCount[weightsDigest] = packed == 0 ? (uint256(second) & ~_COUNT_MASK) | 3 : packed + 1;
    }

    /// @dev The number of releases of `weightsDigest`, whose list starts at `head`.
    function _releaseCount(bytes32 weightsDigest, bytes32 head) private view returns (uint256) {
        if (head == 0) return 0;
        uint256 packed = _weightsCount[weightsDigest];
        if (packed != 0) return packed & _COUNT_MASK;
        return _olderSameWeights[weightsDigest][head] == 0 ? 1 : 2;
    }

    /// @dev Whether the non-zero `id` is in the list of `weightsDigest` (whose head is `head`):
    /// it is the head, or it links to an older release of the digest (links are keyed by the
    /// digest), or it is the oldest release, which links to nothing: then it is the head's link
    /// while the list has two releases, and from three on, a published release whose first 192
    /// bits are those stored with the count (no other release shares them, short of a 192-bit
    /// preimage search; a forged id that is no release is refused by the `_releases` check).
    function _isInWeightsList(bytes32 weightsDigest, bytes32 head, bytes32 id) private view returns (bool) {
        if (id == head) return true;
        mapping(bytes32 => bytes32) storage older = _olderSameWeights[weightsDigest];
        if (older[id] != 0) return true;
        if (head == 0 || _releases[id] == 0) return false;
        uint256 packed = _weightsCount[weightsDigest];
        if (packed == 0) return older[head] == id;
        return (uint256(id) ^ packed) & ~_COUNT_MASK == 0;
    }

    /// @dev The name checks of a release (publishRelease, revokeRelease, isOperatorAuthorized,
    /// releaseId): a valid model and a valid, non-empty version.
    function _checkReleaseNames(string calldata model, string calldata version_) private pure {
        _checkModelName(model);
        _checkVersionName(version_);
    }

    /// @dev The name checks of an operator scope (authorizeOperator, revokeOperator): a valid
    /// model, and a version that is empty (the whole model) or valid.
    function _checkScopeNames(string calldata model, string calldata version_) private pure {
        _checkModelName(model);
        if (bytes(version_).length != 0) _checkVersionName(version_);
    }

    /// @dev `[a-z0-9._-]`, 1..64 bytes, not "." or "..".
    function _checkModelName(string calldata model) private pure {
        _checkName(NameKind.Model, model, _MODEL_CHARS, _MAX_NAME_LENGTH);
        _checkNotDotSegment(NameKind.Model, model);
    }

    /// @dev Printable ASCII without space, 1..64 bytes, not "." or "..".
    function _checkVersionName(string calldata version_) private pure {
        _checkName(NameKind.Version, version_, _PRINTABLE_CHARS, _MAX_NAME_LENGTH);
        _checkNotDotSegment(NameKind.Version, version_);
    }

    function _emitReleasePublished(
        bytes32 relId,
        bytes32 nsId,
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 manifestDigest,
        bytes32 weightsDigest,
        bytes32 signerDidHash
    ) private {
        emit ReleasePublished(
            relId, nsId, weightsDigest, ns, model, version_, manifestDigest, signerDidHash, msg.sender, _now()
        );
    }

    function _emitOperatorAuthorized(
        bytes32 scopeId,
        bytes32 nsId,
        string calldata ns,
        string calldata model,
        string calldata version_,
        string calldata operatorDid,
        uint64 expiresAt,
        string[] calldata origins
    ) private {
        emit OperatorAuthorized(
            scopeId, nsId, keccak256(bytes(operatorDid)), ns, model, version_, operatorDid, expiresAt, origins
        );
    }

    /// @dev Checks the origins an authorisation is pinned to; returns their hash (zero for none).
    function _originsHash(string[] calldata origins) private pure returns (bytes32) {
        uint256 count = origins.length;
        if (count == 0) return bytes32(0);
        if (count > _MAX_ORIGINS) revert TooManyOrigins(count, _MAX_ORIGINS);
        for (uint256 i = 0; i < count; ++i) {
            _checkName(NameKind.Origin, origins[i], _ORIGIN_CHARS, _MAX_ORIGIN_LENGTH);
        }
        return keccak256(abi.encode(origins));
    }

    /// @dev Reverts unless the namespace is claimed and the caller controls it; returns its record.
    function _checkController(bytes32 nsId) private view returns (NamespaceRecord storage rec) {
        rec = _namespaces[nsId];
        address controller = rec.controller;
        if (controller == address(0)) revert UnknownNamespace(nsId);
        if (controller != msg.sender) revert NotNamespaceController(nsId, msg.sender, controller);
    }

    /// @dev Reverts with {InvalidName} (kind Namespace) unless `ns` is `[a-z0-9-]`, 2..64 bytes,
    /// with no leading, trailing or double hyphen.
    function _checkNamespaceName(string calldata ns) private pure {
        bytes calldata b = bytes(ns);
        uint256 n = b.length;
        bool ok = n >= 2 && n <= _MAX_NAME_LENGTH;
        bool afterHyphen = true; // as if a hyphen preceded the name: rejects a leading one
        for (uint256 i; ok && i < n;) {
            bytes1 c = b[i];
            bool hyphen = c == "-";
            ok = (_NAMESPACE_CHARS >> uint8(c)) & 1 == 1 && !(hyphen && afterHyphen);
            afterHyphen = hyphen;
            // i < n <= 64: cannot overflow.
            unchecked {
                ++i;
            }
        }
        // afterHyphen is still true for an empty name and true after a trailing hyphen.
        if (!ok || afterHyphen) revert InvalidName(NameKind.Namespace, ns);
    }

    /// @dev Reverts with {InvalidName} (`kind`) unless `name` is 1..`maxLength` bytes, all in `allowed`.
    function _checkName(NameKind kind, string calldata name, uint256 allowed, uint256 maxLength) private pure {
        uint256 n = bytes(name).length;
        if (n == 0 || n > maxLength || !_allBytesIn(bytes(name), allowed)) revert InvalidName(kind, name);
    }

    /// @dev Reverts with {InvalidName} (kind Did) unless `did` is an Ed25519 did:key or an EIP-55
    /// did:pkh:eip155, each in its one spelling (the rule in {IModelRegistry}), so that one key has
    /// exactly one DID and so one signer or operator key (`keccak256(bytes(did))`) on chain.
    function _checkDid(string calldata did) private pure {
        if (!_isDidKey(did) && !_isDidPkh(did)) revert InvalidName(NameKind.Did, did);
    }

    /// @dev Whether `did` is "did:key:z" followed by exactly 47 base58btc digits whose value v
    /// (most significant digit first) has v >> 256 == 0xed01: multicodec ed25519-pub, then the 32
    /// key bytes. Every such v has exactly 47 digits (58**46 < 0xed01 << 256 and
    /// 0xed02 << 256 <= 58**47), the first never "1", so the spelling is unique. A "z6Mk" prefix
    /// alone would not do (0xed00ff..ff and 0xed0200..00 start with it too): the digits are decoded.
    /// v needs up to 276 bits: the first 43 digits fit in one word (58**43 < 2**252), so
    /// v = hi * 58**4 + lo, and only the word above the low 256 bits of that sum is compared.
    /// Assembly, because this runs per digit: one table look-up and unchecked arithmetic each (no
    /// calldata bounds or overflow checks). Measured: addSigner with a did:key costs about 2,300 gas
    /// more than with the printable-ASCII check this rule replaced.
    function _isDidKey(string calldata did) private pure returns (bool ok) {
        if (bytes(did).length != _DID_KEY_LENGTH) return false;
        assembly ("memory-safe") {
            // Decodes the n digits at calldata position p; `bad` has bit 6 set if one is not a digit
            // (a byte outside the alphabet looks up 0x40, a byte >= 0x80 has bit 6 set after shr(1)).
            function decode(table, p, n) -> value, bad {
                for { let end := add(p, n) } lt(p, end) { p := add(p, 1) } {
                    let c := byte(0, calldataload(p))
                    let d := byte(0, mload(add(table, and(c, 0x7f))))
                    bad := or(bad, or(d, shr(1, c)))
                    // No overflow for digits (< 58**43 < 2**252); a wrapped value is refused by `bad`.
                    value := add(mul(value, 58), d)
                }
            }
            // "did:key:z" is the first 9 bytes (72 bits) of the first calldata word.
            if eq(shr(184, calldataload(did.offset)), 0x6469643a6b65793a7a) {
                // The 128-byte digit table, placed in free memory (not allocated: used only here).
                let table := mload(0x40)
                mstore(table, _B58_0)
                mstore(add(table, 0x20), _B58_1)
                mstore(add(table, 0x40), _B58_2)
                mstore(add(table, 0x60), _B58_3)
                let hi, badHi := decode(table, add(did.offset, 9), 43)
                let lo, badLo := decode(table, add(did.offset, 52), 4)
                // The high word of the 512-bit product hi * 58**4: mulmod by 2**256 - 1 and the low
                // word differ by it (the mul512 method, as in Uniswap's FullMath). Its borrow term never
                // decides here (no multiple of 58**4 lies that close below 0xed01 or 0xed02 << 256) but
                // keeps the method exact.
                let m := 11316496 // 58**4
                let low := mul(hi, m)
                let mm := mulmod(hi, m, not(0))
                let high := sub(sub(mm, low), lt(mm, low))
                // Plus the carry of adding lo (< 58**4) to the low word.
                high := add(high, lt(add(low, lo), low))
                ok := and(iszero(and(or(badHi, badLo), 0x40)), eq(high, 0xed01))
            }
        }
    }

    /// @dev Whether `did` is "did:pkh:eip155:" + a chain id 1..2**64-1 in decimal without a leading
    /// zero + ":0x" + 40 hex digits in EIP-55 case: with h = keccak256 of the 40 digits in lower
    /// case, letter i (a-f) is upper case iff nibble i of h (most significant first) is 8 or more.
    /// Assembly, because this runs per byte over up to 60 bytes, plus one 40-byte hash. Measured:
    /// addSigner with a did:pkh costs about 1,000 (chain id 1) to 1,700 (20 digits) gas more than
    /// with the printable-ASCII check this rule replaced.
    function _isDidPkh(string calldata did) private pure returns (bool ok) {
        uint256 n = bytes(did).length;
        if (n < _MIN_DID_PKH_LENGTH || n > _MAX_DID_PKH_LENGTH) return false;
        uint256 hexChars = _HEX_CHARS;
        assembly ("memory-safe") {
            let s := did.offset
            // "did:pkh:eip155:" is the first 15 bytes (120 bits) of the first calldata word.
            if eq(shr(136, calldataload(s)), 0x6469643a706b683a6569703135353a) {
                // The chain id is bytes 15 .. n - 43, then ":0x" (3 bytes), then the 40 hex digits.
                let idEnd := add(s, sub(n, 43))
                let noLeadingZero := iszero(eq(byte(0, calldataload(add(s, 15))), 0x30))
                ok := and(noLeadingZero, eq(shr(232, calldataload(idEnd)), 0x3a3078))
                let id := 0
                for { let p := add(s, 15) } lt(p, idEnd) { p := add(p, 1) } {
                    let d := sub(byte(0, calldataload(p)), 0x30) // wraps to a huge value below "0"
                    ok := and(ok, lt(d, 10))
                    // At most 20 digits: id < 10**20 < 2**67 (after a non-digit, ok is already 0).
                    id := add(mul(id, 10), d)
                }
                ok := and(ok, iszero(shr(64, id)))
                let a := add(idEnd, 3)
                // Lower case: of the hex digits only A-F lack bit 0x20, so OR-ing it into every byte
                // lowers exactly them (any other byte is refused below). The buffer is free memory.
                let buf := mload(0x40)
                let lower := 0x2020202020202020202020202020202020202020202020202020202020202020
                mstore(buf, or(calldataload(a), lower))
                mstore(add(buf, 0x20), or(calldataload(add(a, 0x20)), lower))
                let h := keccak256(buf, 40)
                for { let i := 0 } lt(i, 40) { i := add(i, 1) } {
                    let c := byte(0, calldataload(add(a, i)))
                    ok := and(ok, and(shr(c, hexChars), 1))
                    // A letter (above 0x40): upper case (below 0x61) iff the top bit of nibble i of h
                    // (bit 255 - 4i) is set.
                    if gt(c, 0x40) { ok := and(ok, eq(lt(c, 0x61), and(shr(sub(255, shl(2, i)), h), 1))) }
                }
            }
        }
    }

    /// @dev Reverts with {InvalidName} (`kind`) if `name` is "." or "..": as a path segment it would
    /// make a link such as /r/ns/../1 lead somewhere else (browsers remove dot segments).
    function _checkNotDotSegment(NameKind kind, string calldata name) private pure {
        bytes calldata b = bytes(name);
        if (b.length <= 2 && b[0] == "." && b[b.length - 1] == ".") revert InvalidName(kind, name);
    }

    /// @dev Whether every byte `c` of `b` has bit `c` set in `allowed`. Assembly because this runs
    /// per byte of every name on the publish path (about 30 gas a byte instead of about 120).
    function _allBytesIn(bytes calldata b, uint256 allowed) private pure returns (bool ok) {
        assembly ("memory-safe") {
            ok := 1
            let end := add(b.offset, b.length)
            for { let p := b.offset } lt(p, end) { p := add(p, 1) } {
                // byte(0, calldataload(p)) is the byte at calldata position p.
                if iszero(and(shr(byte(0, calldataload(p)), allowed), 1)) {
                    ok := 0
                    break
                }
            }
        }
    }

    function _modelId(string calldata ns, string calldata model) private pure returns (bytes32) {
        return keccak256(bytes(string.concat(ns, "/", model)));
    }

    function _releaseId(string calldata ns, string calldata model, string calldata version_)
        private
        pure
        returns (bytes32)
    {
        return keccak256(bytes(string.concat(ns, "/", model, "/", version_)));
    }

    /// @dev The operator scope: the model id for an empty version, else the release id.
    function _scopeId(string calldata ns, string calldata model, string calldata version_)
        private
        pure
        returns (bytes32)
    {
        return bytes(version_).length == 0 ? _modelId(ns, model) : _releaseId(ns, model, version_);
    }

    function _isSignerAt(Signer storage s, uint64 timestamp) private view returns (bool) {
        uint64 from = s.validFrom;
        uint64 until = s.validUntil;
        return from != 0 && from <= timestamp && (until == 0 || timestamp < until);
    }

    function _isOperatorActive(Operator storage op) private view returns (bool) {
        return op.revokedAt == 0 && block.timestamp < op.expiresAt;
    }

    /// @dev `block.timestamp` as uint64: it will not exceed 2**64 seconds (5.8e11 years).
    function _now() private view returns (uint64) {
        return uint64(block.timestamp);
    }
}
