"""Release names and the ids the registry contract derives from them.

Owns the character rules that the ``ModelRegistry`` contract enforces on chain (so the CLI can
refuse a bad name before it costs gas) and the ``keccak256`` ids computed from names. It must
agree with ``contracts/ModelRegistry.sol`` exactly; ``tests/test_names.py`` and the chain tests
check that.

* namespace: ``[a-z0-9-]``, 2..64 characters, no leading, trailing or double hyphen;
* model: ``[a-z0-9._-]``, 1..64 characters;
* version: printable ASCII without spaces (0x21..0x7E), 1..64 characters;
* neither a model nor a version may be ``.`` or ``..``: as a path segment in a link
  (``/r/ns/../1``) a browser would remove it and land elsewhere.

Because neither a namespace nor a model may contain ``/``, the string ``ns/model/version`` names
one release unambiguously, and the ids are the keccak256 of those strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import InvalidName

_NAMESPACE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]")
_MODEL = re.compile(r"[a-z0-9._-]{1,64}")
_VERSION = re.compile(r"[\x21-\x7e]{1,64}")


def _explain(kind: str, name: str, allowed: str) -> str:
    for i, ch in enumerate(name):
        if ch not in allowed:
            cp = f"U+{ord(ch):04X}"
            return f"{kind} {name!r} has {ch!r} ({cp}) at position {i}, which is not allowed"
    return f"{kind} {name!r} is not allowed"


def check_namespace(name: str) -> str:
    if not (2 <= len(name) <= 64):
        raise InvalidName(f"namespace {name!r} must be 2 to 64 characters long, not {len(name)}")
    if not _NAMESPACE.fullmatch(name):
        allowed = "abcdefghijklmnopqrstuvwxyz0123456789-"
        if all(c in allowed for c in name):
            raise InvalidName(f"namespace {name!r} has a leading, trailing or double hyphen")
        if name.isascii() and _NAMESPACE.fullmatch(name.lower()):
            raise InvalidName(
                _explain("namespace", name, allowed) + " (upper case)",
                hint=f"namespaces are lower case (so no two can differ by case alone): use {name.lower()!r}",
            )
        raise InvalidName(_explain("namespace", name, allowed))
    return name


def _not_dot_segment(kind: str, name: str) -> str:
    if name in (".", ".."):
        raise InvalidName(f"{kind} {name!r} is not allowed: it is a path segment that means 'here' or 'up'")
    return name


def check_model(name: str) -> str:
    if not _MODEL.fullmatch(name):
        if not (1 <= len(name) <= 64):
            raise InvalidName(f"model {name!r} must be 1 to 64 characters long, not {len(name)}")
        lower = name.lower()
        if name.isascii() and _MODEL.fullmatch(lower) and lower not in (".", ".."):
            raise InvalidName(
                _explain("model", name, "abcdefghijklmnopqrstuvwxyz0123456789._-") + " (upper case)",
                hint=f"model names are lower case (so no two can differ by case alone): a model id such as "
                f"{name!r} on Hugging Face is registered as {lower!r}",
            )
        raise InvalidName(_explain("model", name, "abcdefghijklmnopqrstuvwxyz0123456789._-"))
    return _not_dot_segment("model", name)


def check_version(name: str) -> str:
    if not _VERSION.fullmatch(name):
        if not (1 <= len(name) <= 64):
            raise InvalidName(f"version {name!r} must be 1 to 64 characters long, not {len(name)}")
        raise InvalidName(_explain("version", name, "".join(chr(c) for c in range(0x21, 0x7F))))
    return _not_dot_segment("version", name)


_REASON = re.compile(r"[\x20-\x7e]{0,256}")


def check_reason(reason: str) -> str:
    """A revocation reason as the registry (1.3) accepts it: 0..256 characters of printable ASCII,
    spaces included (``InvalidName`` kind 6)."""
    if not _REASON.fullmatch(reason):
        if len(reason) > 256:
            raise InvalidName(
                f"a revocation reason is at most 256 characters, not {len(reason)}",
                hint="say it briefly; link to a longer notice if needed",
            )
        raise InvalidName(
            _explain("revocation reason", reason, "".join(chr(c) for c in range(0x20, 0x7F))),
            hint="a revocation reason is printable ASCII: letters, digits, spaces, punctuation; no line breaks",
        )
    return reason


@dataclass(frozen=True, slots=True)
class ReleaseName:
    """``namespace/model/version``, each part checked on construction."""

    namespace: str
    model: str
    version: str

    def __post_init__(self) -> None:
        check_namespace(self.namespace)
        check_model(self.model)
        check_version(self.version)

    @classmethod
    def parse(cls, text: str) -> ReleaseName:
        parts = text.split("/", 2)
        if len(parts) != 3:
            raise InvalidName(
                f"release {text!r} is not namespace/model/version",
                hint="write a release as namespace/model/version, e.g. smollm/smollm2-135m-instruct/1.0.0",
            )
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.model}/{self.version}"

    @property
    def model_path(self) -> str:
        return f"{self.namespace}/{self.model}"


def keccak(data: bytes) -> bytes:
    """keccak256 (Ethereum's, not SHA3-256)."""
    from eth_hash.auto import keccak as _keccak

    return bytes(_keccak(data))


def namespace_id(namespace: str) -> bytes:
    return keccak(check_namespace(namespace).encode())


def model_id(namespace: str, model: str) -> bytes:
    return keccak(f"{check_namespace(namespace)}/{check_model(model)}".encode())


def release_id(release: ReleaseName) -> bytes:
    return keccak(str(release).encode())


def did_id(did: str) -> bytes:
    """The on-chain key of a DID (signer or operator): keccak256 of its UTF-8 bytes."""
    return keccak(did.encode())
