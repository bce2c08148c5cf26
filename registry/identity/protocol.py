"""The deployment identity protocol (``modelseal/identity/v2``): what a chatbot says about itself,
and how that is checked.

A chatbot that claims to serve a registered release exposes (see ``docs/formats.md`` §6):

* ``GET /.well-known/model-identity`` - the **claim**: release, release id, weights digest,
  operator DID, chain id, registry address, and the **origins** (``scheme://host[:port]``) the
  operator serves at;
* ``POST /.well-known/model-identity/challenge`` with ``{"nonce": <hex>, "origin": <origin>}`` -
  the claim plus the nonce, the origin the verifier connected to and the operator's time, signed
  by the operator key (W3C Data Integrity, ``eddsa-jcs-2022``): proof that whoever answers holds
  that key *now* and serves *at that address*. The operator signs only for origins it serves, and
  the verifier accepts only its own connected origin: a site that relays every request to a
  genuine operator elsewhere cannot get an answer signed for its own address;
* a ``Model-Receipt`` header on every chat completion - a signed statement binding release id,
  weights digest, ``sha256`` of the request body and of the response body, and the time, so a
  user can later prove which registered release answered. For a streamed (SSE) answer the
  header says ``sse`` and the receipt arrives as a last ``event: model-receipt`` after
  ``data: [DONE]``, covering every byte of the stream before it. Receipts are portable: they say
  which release answered, not at which address.

Clocks: the challenge answer's and the receipt's ``time`` are judged against the verifier's own
clock (:data:`FRESHNESS_SECONDS`); chain facts (operator expiry) are judged by chain time, by the
caller.

This module is the protocol only (documents, signing, verification); it knows nothing of web
frameworks (:mod:`registry.identity.asgi` serves it) or of the chain (callers check the claims
against the registry). Everything a chatbot says is a claim until checked.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from registry import jsontext
from registry.errors import (
    BodyMismatch,
    IdentityMalformed,
    InputError,
    OperatorSignatureInvalid,
    OriginNotServed,
    OutdatedClaim,
    ProofInvalid,
    StaleAnswer,
    WrongNonce,
)
from registry.names import ReleaseName, release_id
from registry.signing.keys import Ed25519Key, check_did_key
from registry.signing.proofs import create_eddsa_jcs_proof, verify_eddsa_jcs_proof

CLAIM_TYPE = "modelseal/identity/v2"
CHALLENGE_TYPE = "modelseal/identity-challenge/v2"
OLD_CLAIM_TYPES = ("modelseal/identity/v1",)
"""Earlier claim formats: recognised, so a verifier can say what is missing, and never accepted."""
RECEIPT_TYPE = "modelseal/receipt/v1"
WELL_KNOWN = "/.well-known/model-identity"
CHALLENGE_PATH = WELL_KNOWN + "/challenge"
RECEIPT_HEADER = "Model-Receipt"
SSE_RECEIPT_EVENT = "model-receipt"
FRESHNESS_SECONDS = 60
"""How far a challenge answer's or a receipt's ``time`` may be from the verifier's clock."""
MAX_RECEIPT_BYTES = 8192
"""A receipt (decoded) is at most 8 KiB; a real one is ~1 KB."""
MAX_CLAIM_BYTES = 16384
"""A claim document is at most 16 KiB; a real one is ~1.5 KB."""
MAX_ORIGINS = 8
"""At most this many origins per claim (and per on-chain authorisation)."""
MAX_ORIGIN_LENGTH = 255
_NONCE = re.compile(r"(?:[0-9a-f]{2}){16,64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
CLAIM_MEMBERS = frozenset(
    ("type", "release", "releaseId", "weightsDigest", "operator", "chainId", "registry", "origins", "endpoints")
)
"""A claim holds exactly these members, and ``engine`` when it declares one."""
ANSWER_MEMBERS = frozenset(("nonce", "origin", "time", "proof"))
"""A challenge answer holds the claim's members (its ``type`` changed) and exactly these."""
RECEIPT_MEMBERS = frozenset(
    (
        "type", "release", "releaseId", "weightsDigest", "operator", "requestSha256", "responseSha256",
        "time", "chainId", "registry", "proof",
    )
)  # fmt: skip
"""A receipt holds exactly these members, and ``engine`` when its claim declares one."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ENGINE = re.compile(r"[\x20-\x7e]{1,200}")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> int:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise IdentityMalformed(f"time {value!r} is not a UTC time like 2026-01-31T12:00:00Z")
    try:
        return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise IdentityMalformed(f"bad time {value!r}") from None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_nonce() -> str:
    return os.urandom(32).hex()


# --- origins -------------------------------------------------------------------------------


def origin_of(url: str) -> str:
    """The canonical origin of an http(s) URL: ``scheme://host[:port]``, scheme and host in lower
    case, an internationalised host in its IDNA (``xn--``) form, the default port left out, no
    user info, path, query or fragment. Raises :class:`~registry.errors.InputError` otherwise."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InputError(f"not a URL: {url!r} ({exc})", hint="give an http:// or https:// URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InputError(f"{url!r} is not an http(s) URL", hint="give an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{url!r} carries user info", hint="an origin is scheme://host[:port] only")
    host = parts.hostname or ""
    if not host:
        raise InputError(f"{url!r} names no host", hint="give a full URL such as https://chat.example.com")
    if ":" in host:  # an IPv6 literal
        import ipaddress

        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise InputError(f"{url!r} has a malformed IPv6 address") from None
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InputError(f"{url!r} has a host name that cannot be written in IDNA form") from None
        if not _HOST.fullmatch(host):
            raise InputError(f"{url!r} has an invalid host name {host!r}")
    origin = f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")
    if len(origin) > MAX_ORIGIN_LENGTH:
        raise InputError(f"origin {origin[:40]!r}... is longer than {MAX_ORIGIN_LENGTH} characters")
    return origin


def check_origin(value: Any) -> str:
    """``value`` if it is a canonical origin (what :func:`origin_of` gives for it), else
    :class:`~registry.errors.InputError`: a document carries origins only in that one spelling,
    so two readers never disagree on whether an origin is listed."""
    if not isinstance(value, str) or origin_of(value) != value:
        raise InputError(f"{value!r} is not a canonical origin", hint="scheme://host[:port], lower case, no path")
    return value


def check_origins(values: Any) -> tuple[str, ...]:
    """A claim's or an authorisation's origin list: 1..:data:`MAX_ORIGINS` canonical origins, no repeats."""
    if not isinstance(values, list | tuple) or not values:
        raise InputError("origins must be a non-empty list")
    if len(values) > MAX_ORIGINS:
        raise InputError(f"at most {MAX_ORIGINS} origins, not {len(values)}")
    origins = tuple(check_origin(v) for v in values)
    if len(set(origins)) != len(origins):
        raise InputError("origins are listed twice")
    return origins


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, InputError) else str(exc)


def _engine(value: Any) -> str | None:
    """An optional engine-build declaration: absent, or 1-200 printable ASCII characters."""
    if value is not None and not (isinstance(value, str) and _ENGINE.fullmatch(value)):
        raise ValueError("engine must be 1-200 printable ASCII characters")
    return value


def _closed(doc: dict[str, Any], members: frozenset[str], what: str) -> None:
    """Refuse a document without exactly ``members`` (plus an optional ``engine``): the identity
    formats are closed, so no reader can see a member another reader ignores."""
    keys = set(doc) - {"engine"}
    missing, extra = sorted(members - keys), sorted(keys - members)
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}")
    if extra:
        raise ValueError(f"{what} has unknown member(s) {', '.join(extra)}")


def _chain_id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**64:
        raise ValueError("chainId must be a JSON integer in 1 .. 2^64-1")
    return value


def _address(value: Any) -> str:
    """A registry address: ``0x`` + 40 hex digits in EIP-55 checksum case."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValueError("registry must be a 0x address")
    from eth_utils.address import to_checksum_address

    if to_checksum_address(value) != value:
        raise ValueError(f"registry address {value} is not EIP-55 checksummed")
    return value


def _release(value: Any) -> ReleaseName:
    if not isinstance(value, dict) or set(value) != {"namespace", "model", "version"}:
        raise ValueError("release must be {namespace, model, version}")
    if not all(isinstance(v, str) for v in value.values()):
        raise ValueError("release names are strings")
    return ReleaseName(value["namespace"], value["model"], value["version"])


def _hex64(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{what} must be 64 lowercase hex characters")
    return value


# --- claims --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """What a deployment says it is, and where it serves."""

    release: ReleaseName
    weights_digest: str
    operator: str
    chain_id: int
    registry: str
    origins: tuple[str, ...]
    engine: str | None = None
    """the engine build it answers with, if it declares one (a verifier that replays with the same
    build then compares answers bit for bit); printable ASCII, at most 200 characters"""

    def document(self) -> dict[str, Any]:
        return {
            "type": CLAIM_TYPE,
            "release": {
                "namespace": self.release.namespace,
                "model": self.release.model,
                "version": self.release.version,
            },
            "releaseId": "0x" + release_id(self.release).hex(),
            "weightsDigest": self.weights_digest,
            "operator": self.operator,
            "chainId": self.chain_id,
            "registry": self.registry,
            "origins": list(self.origins),
            **({"engine": self.engine} if self.engine is not None else {}),
            "endpoints": {"challenge": CHALLENGE_PATH},
        }

    @classmethod
    def from_document(cls, doc: Any) -> Claim:
        """Parse a claim, refusing anything malformed or self-inconsistent."""
        kind = doc.get("type") if isinstance(doc, dict) else None
        if kind in OLD_CLAIM_TYPES:
            raise OutdatedClaim(
                f"the endpoint speaks {kind}, which does not bind its answers to the address checked; "
                f"nothing is proven until it speaks {CLAIM_TYPE}"
            )
        if kind != CLAIM_TYPE:
            raise IdentityMalformed(f"not a {CLAIM_TYPE} claim")
        try:
            _closed(doc, CLAIM_MEMBERS, "the claim")
            release = _release(doc["release"])
            if doc["endpoints"] != {"challenge": CHALLENGE_PATH}:
                raise ValueError(f"endpoints must be {{'challenge': {CHALLENGE_PATH!r}}}")
            claim = cls(
                release,
                _hex64(doc["weightsDigest"], "weightsDigest"),
                check_did_key(doc["operator"]),
                _chain_id(doc["chainId"]),
                _address(doc["registry"]),
                check_origins(doc["origins"]),
                _engine(doc.get("engine")),
            )
        except (ValueError, InputError) as exc:
            raise IdentityMalformed(f"malformed identity claim: {_reason(exc)}") from None
        if doc["releaseId"] != "0x" + release_id(release).hex():
            raise IdentityMalformed("the claim's releaseId does not match its release name")
        return claim


# --- challenges ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChallengeAnswer:
    """A verified challenge answer: the claim the operator signed, for which origin, and when."""

    claim: Claim
    origin: str
    time: int


def answer_challenge(claim: Claim, key: Ed25519Key, nonce: Any, origin: Any) -> dict[str, Any]:
    """The operator's signed answer to a verifier's nonce, for the origin the verifier connected
    to. Refuses (:class:`~registry.errors.OriginNotServed`) an origin the operator does not serve:
    that is what keeps a relaying site from obtaining an answer for its own address."""
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise InputError("nonce must be 16-64 bytes in lowercase hex (32-128 characters, an even number)")
    if origin is None:
        raise InputError(f"the challenge names no origin ({CHALLENGE_TYPE} needs the address the verifier reached)")
    try:
        origin = check_origin(origin)
    except InputError as exc:
        raise InputError(f"bad origin: {exc.message}") from None
    if origin not in claim.origins:
        raise OriginNotServed(
            f"this operator does not serve at {origin}; it serves at {', '.join(claim.origins)}",
            origins=claim.origins,
        )
    if key.did != claim.operator:
        raise InputError("the signing key is not the claim's operator key")
    doc = {**claim.document(), "type": CHALLENGE_TYPE, "nonce": nonce, "origin": origin, "time": now_iso()}
    return {**doc, "proof": create_eddsa_jcs_proof(doc, key)}


def verify_challenge(
    answer: Any, nonce: str, *, now: int | None = None, window: int = FRESHNESS_SECONDS
) -> ChallengeAnswer:
    """Check a challenge answer: our nonce, a fresh time, and the operator's signature over it all.

    Returns what was signed - the claim, the origin and the time; the caller compares the origin
    with the one it connected to (a different one means the answer was relayed). Raises
    :class:`~registry.errors.IdentityError` on any problem (fail closed).
    """
    if not isinstance(answer, dict):
        raise IdentityMalformed("challenge answer is not a JSON object")
    if answer.get("type") != CHALLENGE_TYPE:
        raise IdentityMalformed(f"not a {CHALLENGE_TYPE} document")
    try:
        _closed(answer, CLAIM_MEMBERS | ANSWER_MEMBERS, "the challenge answer")
    except ValueError as exc:
        raise IdentityMalformed(f"malformed challenge answer: {exc}") from None
    if answer.get("nonce") != nonce:
        raise WrongNonce("the answer is for another nonce (a replayed or stale response)")
    t = _parse_time(answer.get("time"))
    current = int(datetime.now(UTC).timestamp()) if now is None else now
    if abs(current - t) > window:
        raise StaleAnswer(f"the answer's time is {current - t:+d} s off (window {window} s)")
    proof = answer["proof"]
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022":
        raise IdentityMalformed("the answer carries no eddsa-jcs-2022 proof")
    try:
        origin = check_origin(answer.get("origin"))
    except InputError as exc:
        raise IdentityMalformed(f"the answer's origin is malformed: {exc.message}") from None
    claim = Claim.from_document({**{k: v for k, v in answer.items() if k not in ANSWER_MEMBERS}, "type": CLAIM_TYPE})
    _check_signed_by(answer, proof, claim.operator)
    if origin not in claim.origins:
        raise IdentityMalformed(f"the answer is signed for {origin}, which its own claim does not list")
    return ChallengeAnswer(claim, origin, t)


def _check_signed_by(doc: dict[str, Any], proof: dict[str, Any], did: str) -> None:
    vm = str(proof.get("verificationMethod", ""))
    if vm != f"{did}#{did[len('did:key:') :]}":
        raise OperatorSignatureInvalid(f"signed by {vm.partition('#')[0] or 'nobody'}, not by the operator {did}")
    try:
        verify_eddsa_jcs_proof(doc, proof)
    except (ProofInvalid, InputError) as exc:
        raise OperatorSignatureInvalid(f"operator signature does not verify: {exc}") from None


# --- receipts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    release: ReleaseName
    release_id: str
    weights_digest: str
    operator: str
    request_sha256: str
    response_sha256: str
    time: int
    chain_id: int
    registry: str
    engine: str | None = None
    """the engine build the operator declares in its claim, if any (lets an audit use the exact rule)"""


def receipt_document(claim: Claim, request_body: bytes, response_body: bytes, time: str) -> dict[str, Any]:
    """The receipt members, before the operator's proof: what :func:`make_receipt` signs."""
    return {
        "type": RECEIPT_TYPE,
        "release": str(claim.release),
        "releaseId": "0x" + release_id(claim.release).hex(),
        "weightsDigest": claim.weights_digest,
        "operator": claim.operator,
        "requestSha256": sha256_hex(request_body),
        "responseSha256": sha256_hex(response_body),
        "time": time,
        "chainId": claim.chain_id,
        "registry": claim.registry,
        **({"engine": claim.engine} if claim.engine is not None else {}),
    }


def make_receipt(claim: Claim, key: Ed25519Key, request_body: bytes, response_body: bytes) -> str:
    """The ``Model-Receipt`` header value: base64url of the JCS bytes of the signed receipt."""
    doc = receipt_document(claim, request_body, response_body, now_iso())
    signed = {**doc, "proof": create_eddsa_jcs_proof(doc, key)}
    return base64.urlsafe_b64encode(rfc8785.dumps(signed)).decode().rstrip("=")


def decode_receipt(header: str) -> dict[str, Any]:
    """The receipt in a ``Model-Receipt`` value: unpadded base64url (each receipt has one
    spelling) of exactly the RFC 8785 bytes of a ``modelseal/receipt/v1`` object."""
    value = header.strip()
    if not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise IdentityMalformed("the Model-Receipt value is not unpadded base64url")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != value:
        raise IdentityMalformed("the Model-Receipt value is not canonical base64url (stray bits in its last character)")
    what = "the Model-Receipt header's base64url JSON"
    doc = jsontext.loads(raw, what=what, error=IdentityMalformed, max_bytes=MAX_RECEIPT_BYTES)
    if not isinstance(doc, dict) or doc.get("type") != RECEIPT_TYPE:
        raise IdentityMalformed(f"not a {RECEIPT_TYPE} receipt")
    try:
        canonical = rfc8785.dumps(doc)
    except rfc8785.CanonicalizationError as exc:
        raise IdentityMalformed(f"the receipt cannot be canonicalised: {exc}") from None
    if canonical != raw:
        raise IdentityMalformed(
            "the receipt is not in RFC 8785 (JCS) form", hint="a receipt is the JCS bytes, base64url"
        )
    return doc


def check_receipt_time(receipt: Receipt, *, now: int | None = None, window: int = FRESHNESS_SECONDS) -> None:
    """Refuse a receipt whose time is more than ``window`` seconds from ``now`` (the checker's
    clock): a receipt for a request the checker just sent must be fresh, or it was recorded earlier."""
    current = int(datetime.now(UTC).timestamp()) if now is None else now
    if abs(current - receipt.time) > window:
        raise StaleAnswer(f"the receipt's time is {current - receipt.time:+d} s off (window {window} s)")


def verify_receipt(header: str, request_body: bytes, response_body: bytes) -> Receipt:
    """Check a kept response against its receipt: the operator's signature, and that the request
    and response bodies are exactly the ones signed. Which release and operator it names must then
    be checked against the chain (was the operator authorised for that release at that time?)."""
    doc = decode_receipt(header)
    try:
        _closed(doc, RECEIPT_MEMBERS, "the receipt")
        if not isinstance(doc["release"], str):
            raise ValueError("release must be a string ns/model/version")
        name = ReleaseName.parse(doc["release"])
        receipt = Receipt(
            name,
            str(doc["releaseId"]),
            _hex64(doc["weightsDigest"], "weightsDigest"),
            check_did_key(doc["operator"]),
            _hex64(doc["requestSha256"], "requestSha256"),
            _hex64(doc["responseSha256"], "responseSha256"),
            _parse_time(doc["time"]),
            _chain_id(doc["chainId"]),
            _address(doc["registry"]),
            _engine(doc.get("engine")),
        )
    except (ValueError, InputError) as exc:
        raise IdentityMalformed(f"malformed receipt: {_reason(exc)}") from None
    proof = doc["proof"]
    if not isinstance(proof, dict):
        raise IdentityMalformed("the receipt carries no proof")
    if receipt.release_id != "0x" + release_id(name).hex():
        raise IdentityMalformed("the receipt's releaseId does not match its release name")
    _check_signed_by({k: v for k, v in doc.items() if k != "proof"}, proof, receipt.operator)
    if receipt.request_sha256 != sha256_hex(request_body):
        raise BodyMismatch("the request body is not the one this receipt signed")
    if receipt.response_sha256 != sha256_hex(response_body):
        raise BodyMismatch("the response body is not the one this receipt signed")
    return receipt


def receipt_value(text: str) -> str:
    """The receipt in what a user kept: the ``Model-Receipt`` value alone, or response headers (as
    ``curl -D`` saves them) holding one ``Model-Receipt:`` line. ``sse`` means the receipt is the
    stream's last event (:func:`split_sse_receipt`)."""
    found = re.findall(rf"(?im)^{RECEIPT_HEADER}:[ \t]*(\S*)[ \t]*\r?$", text)
    if len(found) > 1:
        raise IdentityMalformed("the saved headers hold more than one Model-Receipt line (several answers?)")
    if found:
        return str(found[0])
    if ":" in text:
        raise IdentityMalformed(
            "no Model-Receipt line in the saved headers", hint="did the answer come through a modelseal operator?"
        )
    return text.strip()


def split_sse_receipt(stream: bytes) -> tuple[bytes, str]:
    """Split a streamed answer into (the bytes the receipt covers, the receipt header value)."""
    marker = f"event: {SSE_RECEIPT_EVENT}\n".encode()
    at = stream.rfind(marker)
    if at < 0:
        raise IdentityMalformed("the stream ended without a model-receipt event")
    tail = stream[at + len(marker) :].decode(errors="replace")
    m = re.match(r"data: ([A-Za-z0-9_-]+)\r?\n", tail)
    if not m:
        raise IdentityMalformed("the model-receipt event has no data line")
    return stream[:at], m.group(1)


def sse_receipt_event(receipt: str) -> bytes:
    return f"event: {SSE_RECEIPT_EVENT}\ndata: {receipt}\n\n".encode()
