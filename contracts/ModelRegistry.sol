// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

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
 * more slot, the link to the previous head. Revocation writes its own slot when it happens. Names,
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
    mapping(bytes32 releaseId => bytes32 olderReleaseId) private _nextSameWeights;
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

    // [a-z0-9-] . : / [ ]  - an origin in canonical form: scheme://host[:port], IPv6 in brackets
    uint256 private constant _ORIGIN_CHARS =
        _NAMESPACE_CHARS | (1 << 0x2e) | (1 << 0x3a) | (1 << 0x2f) | (1 << 0x5b) | (1 << 0x5d);

    uint256 private constant _MAX_NAME_LENGTH = 64;
    uint256 private constant _MAX_DID_LENGTH = 256;
    uint256 private constant _MAX_ORIGIN_LENGTH = 255;
    uint256 private constant _MAX_ORIGINS = 8;

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
        _checkName(NameKind.Did, did, _PRINTABLE_CHARS, _MAX_DID_LENGTH);
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
        uint64 now_ = _now();
        s.validUntil = now_;
        emit SignerRemoved(nsId, didHash, rec.name, now_);
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
        // Names are not re-checked: an invalid name can never have been published (UnknownRelease).
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
        bytes32 head = _byWeights[weightsDigest];
        uint256 count;
        for (bytes32 id = head; id != 0; id = _nextSameWeights[id]) {
            // Bounded by the number of releases ever published: cannot overflow.
            unchecked {
                ++count;
            }
        }
        ids = new bytes32[](count);
        // The list runs newest first: fill from the end to return publish order.
        for (bytes32 id = head; id != 0; id = _nextSameWeights[id]) {
            // One decrement per element counted above: never below zero.
            unchecked {
                --count;
            }
            ids[count] = id;
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
        _checkName(NameKind.Model, model, _MODEL_CHARS, _MAX_NAME_LENGTH);
        _checkNotDotSegment(NameKind.Model, model);
        if (bytes(version_).length != 0) {
            _checkName(NameKind.Version, version_, _PRINTABLE_CHARS, _MAX_NAME_LENGTH);
            _checkNotDotSegment(NameKind.Version, version_);
        }
        _checkName(NameKind.Did, operatorDid, _PRINTABLE_CHARS, _MAX_DID_LENGTH);
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
        // Names are not re-checked: an invalid name can never have been authorised (UnknownOperator).
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
        return keccak256(bytes(ns));
    }

    /// @inheritdoc IModelRegistry
    function modelId(string calldata ns, string calldata model) external pure returns (bytes32) {
        return _modelId(ns, model);
    }

    /// @inheritdoc IModelRegistry
    function releaseId(string calldata ns, string calldata model, string calldata version_)
        external
        pure
        returns (bytes32)
    {
        return _releaseId(ns, model, version_);
    }

    /// @inheritdoc IModelRegistry
    function version() external pure returns (string memory) {
        return "1.1.0";
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
        if (previous != 0) _nextSameWeights[relId] = previous;
        _byWeights[weightsDigest] = relId;
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
