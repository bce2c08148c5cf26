"""The one error root of modelseal, and its families.

Every failure a user can cause or meet is a :class:`ModelsealError`. Each carries a one-line
``message`` (what happened) and a ``hint`` (what to do next); :meth:`ModelsealError.diagnostics`
joins them. The CLI catches only this root, prints the two lines and exits with the family's
``exit_code``; anything else is a bug and shows a traceback.

The families keep apart things a caller must not confuse, and each has its exit status
(:class:`ExitCode`, the one table of the CLI; ``docs/architecture.md`` prints it too):

* :class:`VerificationError` (1) - the input is well formed but a check failed (digest, signature,
  identity);
* :class:`InputError` (2) - the input is malformed or refused (bad path, bad name, bad document,
  unsafe setting); :class:`KeystoreError` (2) - a key is missing, unreadable or stored unsafely;
  :class:`ArtifactMissing` (2) - the contracts are not built;
* :class:`ChainError` (3) - the chain could not be reached or answered unexpectedly;
* :class:`RegistryRefused` (4) - the registry's rules refuse the action (a reverted transaction,
  a key that is not a signer, an operator that is not authorised).

Verdicts have their own statuses (``verified`` 0, ``mismatch`` 1, ``unverified`` 10, ``revoked``
11; :data:`registry.verdict.EXIT_STATUS`). This module owns no behaviour beyond the error types and
the table; it imports nothing (``modelseal hash`` loads it on its fast path).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`: this module is on the fast path of `modelseal hash`
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class ExitCode:
    """Exit statuses of the ``modelseal`` command, one table for every command."""

    OK = 0
    """success; for a verification: ``verified``"""
    FAILED = 1
    """a verification failed (``mismatch``)"""
    BAD_INPUT = 2
    """bad input, a key problem, an unsafe setting, a missing build; also command-line usage errors"""
    CHAIN = 3
    """the chain could not be reached or answered unexpectedly"""
    REFUSED = 4
    """the registry's rules refuse the action (revert, not a signer, not an authorised operator)"""
    UNVERIFIED = 10
    """a verification could not prove anything (not registered, no identity protocol)"""
    REVOKED = 11
    """the release was revoked by its publisher"""
    INTERRUPTED = 130
    """stopped by Ctrl-C"""


class ModelsealError(Exception):
    """Root of every error modelseal raises on purpose."""

    exit_code = ExitCode.FAILED
    default_hint = "run with MODELSEAL_DEBUG=1 for a traceback"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def diagnostics(self) -> str:
        """What happened, then what to do about it, on two lines."""
        return f"{self.message}\nhint: {self.hint}"


# --- bad input ----------------------------------------------------------------------------


class InputError(ModelsealError):
    """The input is malformed or refused; nothing was changed."""

    exit_code = ExitCode.BAD_INPUT
    default_hint = "check the argument and try again; see --help"


class PathRefused(InputError):
    """A path inside a model cannot be recorded safely."""


class SymlinkRefused(PathRefused):
    default_hint = "pass --follow-symlinks to hash what the link points to, or replace the link"


class UnsafePath(PathRefused):
    default_hint = "a model's file list may only name files inside the model folder"


class AbsolutePath(PathRefused):
    default_hint = "file paths in a model are relative POSIX paths such as 'weights/a.bin'"


class SpecialFileRefused(PathRefused):
    """A FIFO, socket or device in a model: only regular files (and folders) can be hashed."""

    default_hint = "sockets, fifos and devices cannot be part of a model; move them out or --ignore them"


class EmptyModel(InputError):
    """A folder with no file to hash (empty, or every file ignored)."""

    default_hint = "check the folder and the --ignore rules"


class NonNFCName(PathRefused):
    default_hint = "rename the file to its Unicode NFC form (e.g. with `convmv --nfc`)"


class InvalidName(InputError):
    default_hint = (
        "namespaces are [a-z0-9-] (2-64, no leading, trailing or double hyphen); "
        "models [a-z0-9._-] (1-64); versions printable ASCII without spaces (1-64)"
    )


class ManifestInvalid(InputError):
    """The manifest cannot be parsed or breaks the format."""

    default_hint = "the manifest format is described in docs/formats.md"


class ManifestInconsistent(ManifestInvalid):
    """The manifest's weights digest does not follow from its own file list."""

    default_hint = "the document was edited after it was written; recreate it with `modelseal manifest create`"


class UnknownCryptosuite(InputError):
    default_hint = "modelseal verifies DataIntegrityProof/eddsa-jcs-2022 and EthereumEip712Signature2021"


class UnsafeAccount(InputError):
    """A sending account that must not be used here (anvil's public keys off the dev chain)."""

    default_hint = "set MODELSEAL_PRIVATE_KEY to your own account's key; anvil's keys are public"


class ArtifactMissing(ModelsealError):
    """The compiled contracts are not there (Python cannot compile Solidity)."""

    exit_code = ExitCode.BAD_INPUT
    default_hint = "build the contracts first: `npx hardhat build` (or `make setup`)"


class InvalidDID(InputError):
    default_hint = "expected did:key:z6Mk... (Ed25519) or did:pkh:eip155:<chain>:<address>"


# --- failed checks ------------------------------------------------------------------------


class VerificationError(ModelsealError):
    """The input is well formed, but it did not verify."""

    exit_code = ExitCode.FAILED
    default_hint = "do not trust this model or document"


class ProofInvalid(VerificationError):
    """A signature does not verify over the document as it is now."""


class WrongKey(VerificationError):
    """The proof was made by (or names) another key than the one expected."""


class IdentityError(VerificationError):
    """An identity document, challenge answer or receipt did not verify."""

    default_hint = "this endpoint cannot prove it is the deployment it claims to be"


class IdentityMalformed(IdentityError):
    """A claim, challenge answer or receipt that breaks its format (docs/formats.md §6)."""


class StaleAnswer(IdentityError):
    """A challenge answer or receipt whose time is outside the verifier's window."""


class WrongNonce(IdentityError):
    """A challenge answer to another nonce: replayed, or stale."""


class OperatorSignatureInvalid(IdentityError):
    """A challenge answer or receipt not signed by the operator key it names, or not over these bytes."""


class BodyMismatch(IdentityError):
    """A receipt checked against a request or response body it did not sign."""


class OutdatedClaim(IdentityError):
    """The endpoint speaks an earlier identity protocol, which cannot prove what is asked now."""

    default_hint = "the operator should upgrade: modelseal serve / IdentityMiddleware speak modelseal/identity/v2"


class OriginNotServed(InputError):
    """A challenge named an origin the operator does not serve (the operator refuses to sign)."""

    default_hint = "an operator signs only for the origins in its claim; see modelseal serve --public-url"

    def __init__(self, message: str, *, origins: tuple[str, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.origins = origins


class DigestMismatch(VerificationError):
    """Bytes on disk differ from the digests a document records."""


class Unsigned(VerificationError):
    default_hint = "sign it with `modelseal sign MANIFEST --key NAME`"


# --- keys ---------------------------------------------------------------------------------


class KeystoreError(ModelsealError):
    exit_code = ExitCode.BAD_INPUT
    default_hint = "list your keys with `modelseal keys`; create one with `modelseal keygen`"


class KeyNotFound(KeystoreError):
    pass


class KeyExists(KeystoreError):
    default_hint = "choose another --name, or pass --force to overwrite it (the old key is lost)"


class UnsafeKeyFile(KeystoreError):
    default_hint = "restrict it: chmod 600 <file>"


# --- chain --------------------------------------------------------------------------------


class ChainError(ModelsealError):
    """The chain could not be reached, or answered something unexpected."""

    exit_code = ExitCode.CHAIN
    default_hint = "check --rpc-url, or start the dev chain with `modelseal chain up`"


# --- refused by the registry's rules ------------------------------------------------------


class RegistryRefused(ModelsealError):
    """The registry's rules refuse the action; nothing was changed on chain."""

    exit_code = ExitCode.REFUSED
    default_hint = "see `modelseal show` and `modelseal namespace` for what the chain records"


class RegistryRevert(RegistryRefused):
    """The registry reverted a transaction or call; ``error`` is the custom error's name and
    ``args_by_name`` its decoded arguments."""

    def __init__(self, error: str, args: Mapping[str, Any], message: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error = error
        self.args_by_name = dict(args)


class NotASigner(RegistryRefused):
    """The publishing key is not a signer of the namespace (checked before sending)."""

    default_hint = "add the key first: modelseal signer add NAMESPACE --key NAME"


class NotAuthorised(RegistryRefused):
    """The operator key is not authorised on chain to serve the release (checked before serving)."""

    default_hint = "ask the release's publisher: modelseal operator authorize NS/MODEL --did YOUR_DID"
