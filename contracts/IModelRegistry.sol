// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title IModelRegistry
 * @notice The on-chain anchor of modelseal: who controls a namespace, which keys sign for it,
 * which weights a release (namespace/model/version) stands for, which operators may serve it,
 * and who vouches for it.
 *
 * Ids are content addressed and recomputed off chain (all `keccak256` over UTF-8/ASCII bytes):
 *
 * - `namespaceId = keccak256(bytes(namespace))`
 * - `modelId     = keccak256(bytes(string.concat(namespace, "/", model)))`
 * - `releaseId   = keccak256(bytes(string.concat(namespace, "/", model, "/", version)))`
 * - a DID's key (`didHash`, `operatorDidHash`) `= keccak256(bytes(did))`
 * - `kindHash    = keccak256(bytes(kind))` for endorsement kinds
 *
 * Since neither a namespace nor a model may contain "/", the three preimages never coincide
 * (a namespace has no "/", a model id exactly one, a release id at least two), so model and
 * release ids share one scope space for operators. That holds only for valid names, so every
 * function that takes names checks them, views and the id helpers included (see {InvalidName}):
 * no call can split `ns/model/version` differently (e.g. a model "m/v1" with version "fp16").
 *
 * Names are checked on chain, so no Unicode look-alike can ever be registered
 * (see {NameKind} and {InvalidName}):
 *
 * - namespace: `[a-z0-9-]`, 2..64 bytes, no leading or trailing `-`, no `--`;
 * - model: `[a-z0-9._-]`, 1..64 bytes;
 * - version: printable ASCII without space (0x21..0x7E), 1..64 bytes;
 * - endorsement kind: printable ASCII without space (0x21..0x7E), 1..64 bytes;
 * - revocation reason ({revokeRelease}): printable ASCII with space (0x20..0x7E), 0..256 bytes
 *   (empty allowed), so that no NUL, control byte, invalid UTF-8 or megabyte string reaches an indexer;
 * - DID (signer or operator): exactly one of these two, each in its one spelling, so that one key
 *   has exactly one DID and so one `didHash` (the rule of modelseal's `check_did`):
 *   - an Ed25519 did:key: `did:key:z` followed by exactly 47 characters of the base58btc alphabet
 *     (`123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz`) whose value v, most
 *     significant digit first, has `v >> 256 == 0xed01` (multicodec ed25519-pub, then the 32 key
 *     bytes); 56 bytes in all. Every such v has exactly 47 digits, so the spelling is unique. A
 *     `z6Mk` prefix is not enough: the digits are decoded;
 *   - an Ethereum account as did:pkh: `did:pkh:eip155:` + the chain id in decimal, 1..2^64-1
 *     without a leading zero + `:0x` + 40 hex digits in EIP-55 checksum case: with
 *     `h = keccak256` of the 40 digits in lower case (ASCII), the i-th digit, if a letter a-f,
 *     is upper case iff the i-th nibble of `h` (most significant first) is 8 or more.
 *   Nothing else: no fragment (`#...`), no other DID method, multicodec or case, no whitespace.
 *
 * Times are `block.timestamp` values as `uint64` seconds; `0` means "never" / "not set".
 * Every state change emits exactly one past-tense event, right after the change, carrying
 * every string an indexer needs (names arrive as strings in the event that creates the thing;
 * later events refer to it by id and repeat the namespace string where the contract has it).
 *
 * Storage versus events, for releases: storage holds only what on-chain checks and
 * first-writer-wins need, because each new storage slot is the largest cost of {publishRelease}.
 * A release stores its manifest digest (non-zero, so it also marks the release as published),
 * the head of its weights digest's list (for {releasesByWeightsPage}) and, once revoked, its
 * revocation time; a release of weights that already have one also stores its link in that list,
 * and from the third release of the same weights on, their count. Its names, namespace id,
 * weights digest, signer, publisher and publish time live in its {ReleasePublished} event: logs
 * are immutable and part of consensus (receipts), so a verifier reads them from there (an
 * indexer, or `eth_getLogs` filtered by the indexed `releaseId` or `weightsDigest`) and
 * recomputes the ids from the names. The signer check itself stays on chain: a release is
 * accepted only if its signer is an active key of the namespace at that block, which is what
 * makes "a signature is judged against the key set at anchoring time" hold without storing the
 * time.
 */
interface IModelRegistry {
    // ------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------

    /// @notice Which name rule an {InvalidName} error refers to (ABI type `uint8`).
    enum NameKind {
        Namespace, // 0
        Model, // 1
        Version, // 2
        EndorsementKind, // 3
        Did, // 4
        Origin, // 5
        Reason // 6: the reason of {revokeRelease} (added in 1.3; the others keep their numbers)
    }

    /// @notice A namespace: its controller, the pending controller of a two-step transfer
    /// (`address(0)` when none) and its name.
    struct Namespace {
        address controller;
        address pendingController;
        string name;
    }

    /// @notice A signing key of a namespace. `validUntil == 0` means the key is still active.
    /// A key is active at `t` iff `validFrom != 0 && validFrom <= t && (validUntil == 0 || t < validUntil)`:
    /// `validUntil` is the first second at which the key is no longer valid ({removeSigner} sets it
    /// to the second after the removal's block timestamp).
    struct Signer {
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice What the chain stores about a release. `manifestDigest == 0` means the release
    /// was never published; `revokedAt == 0` means not revoked. Everything else about it (names,
    /// namespace id, weights digest, signer, publisher, publish time) is in its {ReleasePublished} event.
    struct ReleaseRecord {
        bytes32 manifestDigest;
        uint64 revokedAt;
    }

    /// @notice An operator authorisation on a scope (a model id or a release id).
    /// Active iff `revokedAt == 0 && block.timestamp < expiresAt`. `expiresAt == 0`: never authorised.
    /// `originsHash` is `keccak256(abi.encode(origins))` of the origins the authorisation is pinned
    /// to (see {OperatorAuthorized}), or zero when it is not pinned.
    struct Operator {
        uint64 expiresAt;
        uint64 revokedAt;
        bytes32 originsHash;
    }

    /// @notice An endorsement of a release by an account, per kind. `time == 0`: none;
    /// `revokedAt != 0`: revoked (it may then be replaced by a new endorsement).
    struct Endorsement {
        bytes32 dataDigest;
        uint64 time;
        uint64 revokedAt;
    }

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `controller` claimed the namespace `namespace`.
    event NamespaceClaimed(bytes32 indexed namespaceId, address indexed controller, string namespace);

    /// @notice `controller` offered the namespace to `pendingController`;
    /// `pendingController == address(0)` means a pending transfer was cancelled.
    event NamespaceTransferStarted(
        bytes32 indexed namespaceId, address indexed controller, address indexed pendingController, string namespace
    );

    /// @notice `newController` accepted the namespace from `previousController`. Only control moves:
    /// the signers and operator authorisations the previous controller set stay valid (there is no
    /// epoch). The new controller must review them and remove those it does not want
    /// ({removeSigner}, {revokeOperator}); they are all listed by the namespace's {SignerAdded} /
    /// {SignerRemoved} and {OperatorAuthorized} / {OperatorRevoked} events.
    event NamespaceTransferred(
        bytes32 indexed namespaceId, address indexed previousController, address indexed newController, string namespace
    );

    /// @notice The key `did` (`didHash = keccak256(bytes(did))`) signs for `namespace` from `validFrom` on.
    event SignerAdded(
        bytes32 indexed namespaceId, bytes32 indexed didHash, string namespace, string did, uint64 validFrom
    );

    /// @notice The key `didHash` no longer signs for `namespace` from `validUntil` on (history is kept).
    /// `validUntil` is the first second at which the key is no longer valid: the block timestamp of
    /// the removal plus one, so a release published in the same second (same block timestamp) as the
    /// removal, which {publishRelease} accepted, still passes {isSignerAt} at its `publishedAt`.
    event SignerRemoved(bytes32 indexed namespaceId, bytes32 indexed didHash, string namespace, uint64 validUntil);

    /// @notice `publisher` anchored `namespace/model/version` with its digests, signed by the key
    /// `signerDidHash`. This event is the only record of the names, the weights digest, the signer,
    /// the publisher and `publishedAt` (storage keeps the manifest digest and the weights lookup;
    /// see "Storage versus events" above).
    event ReleasePublished(
        bytes32 indexed releaseId,
        bytes32 indexed namespaceId,
        bytes32 indexed weightsDigest,
        string namespace,
        string model,
        string version,
        bytes32 manifestDigest,
        bytes32 signerDidHash,
        address publisher,
        uint64 publishedAt
    );

    /// @notice The controller of the release's namespace revoked it, giving `reason` (0..256 bytes of
    /// printable ASCII 0x20..0x7E, checked on chain: {NameKind} `Reason`).
    event ReleaseRevoked(bytes32 indexed releaseId, bytes32 indexed namespaceId, string reason, uint64 revokedAt);

    /// @notice `operatorDid` may serve `scopeId` until `expiresAt`. `version == ""` means the
    /// scope is the model (`scopeId == modelId`), otherwise the release (`scopeId == releaseId`).
    /// A non-empty `origins` pins the authorisation to those origins (`scheme://host[:port]`):
    /// verifiers then accept the operator's key only at those addresses.
    event OperatorAuthorized(
        bytes32 indexed scopeId,
        bytes32 indexed namespaceId,
        bytes32 indexed operatorDidHash,
        string namespace,
        string model,
        string version,
        string operatorDid,
        uint64 expiresAt,
        string[] origins
    );

    /// @notice The authorisation of `operatorDidHash` on `scopeId` was revoked (see {OperatorAuthorized}).
    event OperatorRevoked(
        bytes32 indexed scopeId,
        bytes32 indexed namespaceId,
        bytes32 indexed operatorDidHash,
        string namespace,
        string model,
        string version,
        uint64 revokedAt
    );

    /// @notice `endorser` endorsed the release as `kind` (`kindHash = keccak256(bytes(kind))`) with `dataDigest`.
    event Endorsed(
        bytes32 indexed releaseId,
        address indexed endorser,
        bytes32 indexed kindHash,
        string kind,
        bytes32 dataDigest,
        uint64 time
    );

    /// @notice `endorser` revoked its `kind` endorsement of the release.
    event EndorsementRevoked(
        bytes32 indexed releaseId, address indexed endorser, bytes32 indexed kindHash, string kind, uint64 revokedAt
    );

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice `name` breaks the rule for its `kind` (a {NameKind} as `uint8`: 0 namespace,
    /// 1 model, 2 version, 3 endorsement kind, 4 DID, 5 origin, 6 revocation reason). For kind 4 the
    /// rule is exact (see the DID rule at the top): an Ed25519 did:key or an EIP-55 did:pkh:eip155,
    /// each in its one spelling. For kind 6 `name` is the refused reason.
    error InvalidName(NameKind kind, string name);

    /// @notice The namespace is already claimed by `controller`.
    error NamespaceTaken(bytes32 namespaceId, address controller);

    /// @notice Nobody has claimed the namespace.
    error UnknownNamespace(bytes32 namespaceId);

    /// @notice `account` is not `controller`, the controller of the namespace.
    error NotNamespaceController(bytes32 namespaceId, address account, address controller);

    /// @notice `account` is not `pendingController` (`address(0)`: no transfer is pending).
    error NotPendingController(bytes32 namespaceId, address account, address pendingController);

    /// @notice The key is already an active signer of the namespace since `validFrom`.
    error SignerExists(bytes32 namespaceId, bytes32 didHash, uint64 validFrom);

    /// @notice The key was retired at `validUntil`; a retired key can never be added again.
    error SignerRetired(bytes32 namespaceId, bytes32 didHash, uint64 validUntil);

    /// @notice The key was never a signer of the namespace.
    error UnknownSigner(bytes32 namespaceId, bytes32 didHash);

    /// @notice The key is not an active signer of the namespace at `timestamp`.
    error InactiveSigner(bytes32 namespaceId, bytes32 didHash, uint64 timestamp);

    /// @notice A release needs a non-zero manifest digest and a non-zero weights digest.
    error ZeroDigest(bytes32 releaseId, bytes32 manifestDigest, bytes32 weightsDigest);

    /// @notice The release was already published (first writer wins) with this manifest digest
    /// (its other values are in its {ReleasePublished} event).
    error ReleaseExists(bytes32 releaseId, bytes32 manifestDigest);

    /// @notice No release has this id.
    error UnknownRelease(bytes32 releaseId);

    /// @notice The release was already revoked at `revokedAt`.
    error ReleaseAlreadyRevoked(bytes32 releaseId, uint64 revokedAt);

    /// @notice `expiresAt` is not after the current time `timestamp`.
    error ExpiryNotInFuture(uint64 expiresAt, uint64 timestamp);

    /// @notice An authorisation lists `count` origins; at most `max` are allowed.
    error TooManyOrigins(uint256 count, uint256 max);

    /// @notice The operator was never authorised on the scope.
    error UnknownOperator(bytes32 scopeId, bytes32 operatorDidHash);

    /// @notice The operator's authorisation on the scope was already revoked at `revokedAt`.
    error OperatorAlreadyRevoked(bytes32 scopeId, bytes32 operatorDidHash, uint64 revokedAt);

    /// @notice `endorser` already has an active endorsement of this kind on the release since `time`.
    error EndorsementExists(bytes32 releaseId, address endorser, bytes32 kindHash, uint64 time);

    /// @notice `endorser` never endorsed the release with this kind.
    error UnknownEndorsement(bytes32 releaseId, address endorser, bytes32 kindHash);

    /// @notice `endorser`'s endorsement of this kind was already revoked at `revokedAt`.
    error EndorsementAlreadyRevoked(bytes32 releaseId, address endorser, bytes32 kindHash, uint64 revokedAt);

    /// @notice `cursor` is not a release of `weightsDigest`'s list (see {releasesByWeightsPage}).
    error BadCursor(bytes32 weightsDigest, bytes32 cursor);

    /// @notice A page size must be 1..`max` (1000); `limit` is not.
    error BadLimit(uint256 limit, uint256 max);

    // ------------------------------------------------------------------------------------------
    // Namespaces
    // ------------------------------------------------------------------------------------------

    /**
     * @notice Claims the namespace `ns`; the caller becomes its controller (first claimer wins).
     * @param ns The namespace name.
     * @return nsId `keccak256(bytes(ns))`.
     *
     * Requirements:
     * - `ns` is a valid namespace name, else {InvalidName} with kind 0;
     * - nobody has claimed it yet, else {NamespaceTaken}.
     *
     * Emits {NamespaceClaimed}.
     */
    function claimNamespace(string calldata ns) external returns (bytes32 nsId);

    /**
     * @notice Starts a two-step transfer of the namespace to `newController`, who must call
     * {acceptNamespace}; `address(0)` cancels a pending transfer. The caller stays controller until then.
     * The transfer moves control only: the signers and operator authorisations set so far stay valid
     * after it (see {NamespaceTransferred}); the new controller must review and remove them.
     * @param nsId The namespace id.
     * @param newController The account that may accept, or `address(0)` to cancel.
     *
     * Requirements:
     * - the namespace exists, else {UnknownNamespace};
     * - the caller is its controller, else {NotNamespaceController}.
     *
     * Emits {NamespaceTransferStarted}.
     */
    function transferNamespace(bytes32 nsId, address newController) external;

    /**
     * @notice Completes a transfer: the caller (the pending controller) becomes the controller.
     * Only control moves (decided for 1.3: no epoch): the previous controller's signers stay active
     * and its operator authorisations stay in force, while the previous controller can no longer
     * write anything in the namespace. Review them and remove the unwanted ones with {removeSigner}
     * and {revokeOperator}: every one is in the namespace's {SignerAdded} and {OperatorAuthorized}
     * events (indexed by `namespaceId`).
     * @param nsId The namespace id.
     *
     * Requirements:
     * - the caller is the pending controller, else {NotPendingController}
     *   (with `pendingController == address(0)` when no transfer is pending).
     *
     * Emits {NamespaceTransferred}.
     */
    function acceptNamespace(bytes32 nsId) external;

    /**
     * @notice The namespace's controller, pending controller and name; all zero/empty if unclaimed.
     * @param nsId The namespace id.
     */
    function namespaceInfo(bytes32 nsId) external view returns (Namespace memory);

    // ------------------------------------------------------------------------------------------
    // Signers
    // ------------------------------------------------------------------------------------------

    /**
     * @notice Adds the key `did` to the namespace's signers, valid from now, open-ended.
     * @param nsId The namespace id.
     * @param did The signer's DID (`did:key:z6Mk...` or `did:pkh:eip155:...`); its key is
     * `keccak256(bytes(did))`.
     *
     * Requirements:
     * - the caller is the namespace's controller ({UnknownNamespace}, {NotNamespaceController});
     * - `did` is an Ed25519 did:key or an EIP-55 did:pkh:eip155 in its one spelling (the DID rule
     *   at the top), else {InvalidName} with kind 4;
     * - the key is not active, else {SignerExists}; it was never retired, else {SignerRetired}.
     *
     * Emits {SignerAdded}.
     */
    function addSigner(bytes32 nsId, string calldata did) external;

    /**
     * @notice Retires a key at the end of the current second: `validUntil = block.timestamp + 1`,
     * the first second at which it is no longer valid (the window stays `[validFrom, validUntil)`).
     * So a release published in the same second as the removal (same block timestamp: some chains
     * give consecutive blocks the same timestamp), which {publishRelease} accepts, still passes
     * {isSignerAt} at its `publishedAt` forever: acceptance and the later check agree. A key added
     * and removed in the same second was valid for that second. History is kept; the key can never come back.
     * @param nsId The namespace id.
     * @param didHash `keccak256(bytes(did))`.
     *
     * Requirements:
     * - the caller is the namespace's controller ({UnknownNamespace}, {NotNamespaceController});
     * - the key was added, else {UnknownSigner}, and not yet retired, else {SignerRetired}.
     *
     * Emits {SignerRemoved}.
     */
    function removeSigner(bytes32 nsId, bytes32 didHash) external;

    /**
     * @notice The validity window of a key (both zero if it was never added).
     * @param nsId The namespace id.
     * @param didHash `keccak256(bytes(did))`.
     */
    function signer(bytes32 nsId, bytes32 didHash) external view returns (Signer memory);

    /**
     * @notice Whether the key signed for the namespace at `timestamp`:
     * `validFrom <= timestamp && (validUntil == 0 || timestamp < validUntil)` for an added key.
     * @param nsId The namespace id.
     * @param didHash `keccak256(bytes(did))`.
     * @param timestamp The time to judge at (e.g. a release's `publishedAt`, from {ReleasePublished}).
     */
    function isSignerAt(bytes32 nsId, bytes32 didHash, uint64 timestamp) external view returns (bool);

    // ------------------------------------------------------------------------------------------
    // Releases
    // ------------------------------------------------------------------------------------------

    /**
     * @notice Anchors the release `ns/model/version` (first writer wins; never re-pointed).
     * Stores the manifest digest under the release id and puts the release at the head of the
     * weights digest's list; everything else is recorded by the {ReleasePublished} event.
     * @param ns The namespace name.
     * @param model The model name.
     * @param version_ The version name.
     * @param manifestDigest BLAKE3 of the manifest's JCS bytes without `proof`.
     * @param weightsDigest The weights digest the manifest names.
     * @param signerDidHash `keccak256(bytes(did))` of the key that signed the manifest.
     * @return relId The release id.
     *
     * Requirements:
     * - the caller is the namespace's controller ({UnknownNamespace}, {NotNamespaceController});
     * - `model` and `version` are valid names, else {InvalidName} with kind 1 or 2;
     * - both digests are non-zero, else {ZeroDigest};
     * - the release does not exist, else {ReleaseExists} (also when it was revoked);
     * - `signerDidHash` is an active signer of the namespace now, else {InactiveSigner}.
     *
     * Emits {ReleasePublished}.
     */
    function publishRelease(
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 manifestDigest,
        bytes32 weightsDigest,
        bytes32 signerDidHash
    ) external returns (bytes32 relId);

    /**
     * @notice Revokes the release `ns/model/version` for good (it stays readable and listed, with
     * `revokedAt` set; its name can never be published again).
     * @param ns The namespace name.
     * @param model The model name.
     * @param version_ The version name.
     * @param reason Text for people: 0..256 bytes of printable ASCII 0x20..0x7E (space allowed,
     * empty allowed), so that no NUL, control byte, invalid UTF-8 or huge string reaches an indexer.
     *
     * Requirements:
     * - the caller controls the namespace now ({UnknownNamespace}, {NotNamespaceController});
     * - `model` and `version` are valid names, else {InvalidName} with kind 1 or 2 (the checks of
     *   {publishRelease});
     * - `reason` follows the rule above, else {InvalidName} with kind 6 (`Reason`);
     * - the release was published, else {UnknownRelease};
     * - it is not revoked yet, else {ReleaseAlreadyRevoked}.
     *
     * Emits {ReleaseRevoked}.
     */
    function revokeRelease(
        string calldata ns,
        string calldata model,
        string calldata version_,
        string calldata reason
    ) external;

    /**
     * @notice What the chain stores about a release: its manifest digest and revocation time;
     * both zero if it was never published. The rest is in its {ReleasePublished} event.
     * @param relId The release id.
     */
    function release(bytes32 relId) external view returns (ReleaseRecord memory);

    /**
     * @notice Every release that anchored `weightsDigest`, in publish order (revoked ones included),
     * so that a squatter cannot hide the real publisher's release.
     * UNBOUNDED: its gas grows with the number of releases of the digest (about 2,500 gas each,
     * measured cold), and anyone can publish more under their own namespace, so an `eth_call` of it
     * can run out of gas (from about 12,000 releases at a 30M gas cap). Clients MUST use
     * {releaseCountByWeights} and {releasesByWeightsPage}; this function is kept for existing callers.
     * @param weightsDigest The weights digest.
     */
    function releasesByWeights(bytes32 weightsDigest) external view returns (bytes32[] memory);

    /**
     * @notice How many releases anchored `weightsDigest` (revoked ones included); constant gas.
     * @param weightsDigest The weights digest.
     * @return count The length of the list {releasesByWeightsPage} walks.
     */
    function releaseCountByWeights(bytes32 weightsDigest) external view returns (uint256 count);

    /**
     * @notice One page of the releases that anchored `weightsDigest`, NEWEST FIRST (revoked ones
     * included): at most `limit` ids starting at `cursor`. Start with `cursor == 0` and pass each
     * returned `next` as the following cursor until it is 0. Gas is bounded by `limit` (about
     * 2,600 per id, a full page about 2.6M). Releases published between two calls are ahead of the
     * head the walk started from, so they do not appear; start again from 0 (or compare
     * {releaseCountByWeights}) to see them.
     * @param weightsDigest The weights digest.
     * @param cursor 0 for the newest release, else the id of the release to start at, which must
     * be a release of this digest's list (every `next` returned for this digest is one), else
     * {BadCursor}. Membership is checked exactly: the newest release, a release linked to an older
     * one of this digest, or the oldest one, recognised by the first 192 bits of its id, stored
     * with the count (another release sharing them is a 192-bit preimage search), so a cursor
     * taken from another digest's list is refused, never followed.
     * @param limit The page size, 1..1000, else {BadLimit}.
     * @return ids Up to `limit` release ids, newest first (fewer only at the end of the list).
     * @return next The cursor of the following page, or 0 if `ids` ends the list.
     */
    function releasesByWeightsPage(bytes32 weightsDigest, bytes32 cursor, uint256 limit)
        external
        view
        returns (bytes32[] memory ids, bytes32 next);

    // ------------------------------------------------------------------------------------------
    // Operators
    // ------------------------------------------------------------------------------------------

    /**
     * @notice Authorises `operatorDid` to serve a model (`version == ""`, scope = model id) or one
     * release (scope = release id) until `expiresAt`, optionally pinned to `origins`. Re-authorising
     * sets the new expiry and origins and clears a revocation. The release need not be published yet.
     * @param ns The namespace name.
     * @param model The model name.
     * @param version_ The version name, or "" for the whole model.
     * @param operatorDid The operator's DID (the DID rule at the top); its key is `keccak256(bytes(operatorDid))`.
     * @param expiresAt The first second at which the authorisation no longer holds.
     * @param origins The origins (`scheme://host[:port]`) the operator may serve at, or none for
     * any origin its key signs for. Verifiers compare them as strings: give them in canonical form
     * (lower case, no default port, no path), as `modelseal operator authorize --origin` does.
     * @return scopeId The model id or the release id.
     *
     * Requirements:
     * - the caller is the namespace's controller ({UnknownNamespace}, {NotNamespaceController});
     * - `model` is valid, `version` is "" or valid, `operatorDid` is valid ({InvalidName} kinds 1, 2, 4);
     * - `expiresAt > block.timestamp`, else {ExpiryNotInFuture};
     * - at most 8 origins ({TooManyOrigins}), each 1..255 bytes of `[a-z0-9.:/[]-]` ({InvalidName} kind 5).
     *
     * Emits {OperatorAuthorized}.
     */
    function authorizeOperator(
        string calldata ns,
        string calldata model,
        string calldata version_,
        string calldata operatorDid,
        uint64 expiresAt,
        string[] calldata origins
    ) external returns (bytes32 scopeId);

    /**
     * @notice Revokes an operator's authorisation on a model (`version == ""`) or a release.
     * @param ns The namespace name.
     * @param model The model name.
     * @param version_ The version name, or "" for the whole model.
     * @param operatorDidHash `keccak256(bytes(operatorDid))`.
     *
     * Requirements:
     * - the caller is the namespace's controller ({UnknownNamespace}, {NotNamespaceController});
     * - `model` is valid and `version` is "" or valid, else {InvalidName} with kind 1 or 2 (the
     *   checks of {authorizeOperator}), so the event never reports a release grant as model-wide;
     * - the operator was authorised on the scope, else {UnknownOperator},
     *   and is not revoked yet, else {OperatorAlreadyRevoked}.
     *
     * Emits {OperatorRevoked}.
     */
    function revokeOperator(
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 operatorDidHash
    ) external;

    /**
     * @notice The operator's authorisation on a scope (both zero if never authorised).
     * @param scopeId A model id or a release id.
     * @param operatorDidHash `keccak256(bytes(operatorDid))`.
     */
    function operator(bytes32 scopeId, bytes32 operatorDidHash) external view returns (Operator memory);

    /**
     * @notice Whether the operator may serve the release `ns/model/version` now: the release was
     * published and is not revoked, and the operator is authorised (not expired, not revoked) on
     * the release or on its model. The names are checked as a release's (namespace rule, then the
     * checks of {publishRelease}), so `("ns", "m/v1", "fp16")` is refused rather than answered for
     * the release `ns/m/v1/fp16`; an empty version names no release and is refused too.
     * @param ns The namespace name ({InvalidName} kind 0 if invalid).
     * @param model The model name ({InvalidName} kind 1 if invalid).
     * @param version_ The version name ({InvalidName} kind 2 if invalid or empty).
     * @param operatorDidHash `keccak256(bytes(operatorDid))`.
     */
    function isOperatorAuthorized(
        string calldata ns,
        string calldata model,
        string calldata version_,
        bytes32 operatorDidHash
    ) external view returns (bool);

    // ------------------------------------------------------------------------------------------
    // Endorsements
    // ------------------------------------------------------------------------------------------

    /**
     * @notice The caller endorses a release as `kind` (e.g. "filing.submitted"), binding `dataDigest`
     * (may be zero). A revoked endorsement of the same kind is replaced.
     * @param relId The release id.
     * @param kind The endorsement kind; its key is `keccak256(bytes(kind))`.
     * @param dataDigest A digest of the endorsement's document, or zero.
     *
     * Requirements:
     * - the release exists, else {UnknownRelease} (a revoked release may still be endorsed);
     * - `kind` is printable ASCII, 1..64 bytes, else {InvalidName} with kind 3;
     * - the caller has no active endorsement of this kind on it, else {EndorsementExists}.
     *
     * Emits {Endorsed}.
     */
    function endorse(bytes32 relId, string calldata kind, bytes32 dataDigest) external;

    /**
     * @notice The caller revokes its `kind` endorsement of a release.
     * @param relId The release id.
     * @param kind The endorsement kind.
     *
     * Requirements:
     * - the caller endorsed the release with this kind, else {UnknownEndorsement},
     *   and has not revoked it yet, else {EndorsementAlreadyRevoked}.
     *
     * Emits {EndorsementRevoked}.
     */
    function revokeEndorsement(bytes32 relId, string calldata kind) external;

    /**
     * @notice An endorsement (all zero if none).
     * @param relId The release id.
     * @param endorser The endorsing account.
     * @param kindHash `keccak256(bytes(kind))`.
     */
    function endorsement(bytes32 relId, address endorser, bytes32 kindHash)
        external
        view
        returns (Endorsement memory);

    // ------------------------------------------------------------------------------------------
    // Ids and version
    // ------------------------------------------------------------------------------------------

    /// @notice `keccak256(bytes(ns))`. Reverts with {InvalidName} (kind 0) for an invalid name
    /// (since 1.3: only valid names have ids).
    /// @param ns The namespace name.
    function namespaceId(string calldata ns) external pure returns (bytes32);

    /// @notice `keccak256(bytes(string.concat(ns, "/", model)))`. Reverts with {InvalidName}
    /// (kind 0 or 1) for an invalid name (since 1.3).
    /// @param ns The namespace name.
    /// @param model The model name.
    function modelId(string calldata ns, string calldata model) external pure returns (bytes32);

    /// @notice `keccak256(bytes(string.concat(ns, "/", model, "/", version)))`. Reverts with
    /// {InvalidName} (kind 0, 1 or 2) for an invalid name (since 1.3), so that no two splits of one
    /// preimage both get an id.
    /// @param ns The namespace name.
    /// @param model The model name.
    /// @param version_ The version name.
    function releaseId(string calldata ns, string calldata model, string calldata version_)
        external
        pure
        returns (bytes32);

    /// @notice The contract's interface version, "1.3.0" (1.1: operator authorisations pinned to
    /// origins; 1.2: one canonical spelling per DID; 1.3: reasons restricted, removal at the end of
    /// the second, paged weights reads, names checked everywhere).
    function version() external pure returns (string memory);
}
