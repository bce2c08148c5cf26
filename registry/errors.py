"""The one error root of modelseal, and its families.

Every failure a user can cause or meet is a :class:`ModelsealError`. Each carries a one-line
``message`` (what happened) and a ``hint`` (what to do next); :meth:`ModelsealError.diagnostics`
joins them. The CLI catches only this root, prints the two lines and exits with the family's
``exit_code``; anything else is a bug and shows a traceback.

The families keep apart things a caller must not confuse:

* :class:`InputError` - the input is malformed or refused (bad path, bad name, bad document);
* :class:`VerificationError` - the input is well formed but a check failed (digest, signature);
* :class:`KeystoreError` - a key is missing, unreadable or stored unsafely;
* :class:`ChainError` - the chain could not be reached or answered unexpectedly.

This module owns no behaviour beyond the error types; it imports nothing from the package.
"""

from __future__ import annotations


class ModelsealError(Exception):
    """Root of every error modelseal raises on purpose."""

    exit_code = 1
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

    exit_code = 2
    default_hint = "check the argument and try again; see --help"


class PathRefused(InputError):
    """A path inside a model cannot be recorded safely."""


class SymlinkRefused(PathRefused):
    default_hint = "pass --follow-symlinks to hash what the link points to, or replace the link"


class UnsafePath(PathRefused):
    default_hint = "a model's file list may only name files inside the model folder"


class AbsolutePath(PathRefused):
    default_hint = "file paths in a model are relative POSIX paths such as 'weights/a.bin'"


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


class InvalidDID(InputError):
    default_hint = "expected did:key:z6Mk... (Ed25519) or did:pkh:eip155:<chain>:<address>"


# --- failed checks ------------------------------------------------------------------------


class VerificationError(ModelsealError):
    """The input is well formed, but it did not verify."""

    exit_code = 1
    default_hint = "do not trust this model or document"


class ProofInvalid(VerificationError):
    """A signature does not verify over the document as it is now."""


class WrongKey(VerificationError):
    """The proof was made by (or names) another key than the one expected."""


class DigestMismatch(VerificationError):
    """Bytes on disk differ from the digests a document records."""


class Unsigned(VerificationError):
    default_hint = "sign it with `modelseal sign MANIFEST --key NAME`"


# --- keys ---------------------------------------------------------------------------------


class KeystoreError(ModelsealError):
    exit_code = 2
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

    exit_code = 3
    default_hint = "check --rpc-url, or start the dev chain with `modelseal chain up`"
