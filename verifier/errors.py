"""Every error class of the verifier service, in one place.

The domain's errors (:mod:`registry.errors`, one root :class:`~registry.errors.ModelsealError`)
are used as they are; the service adds these:

* :class:`OutboundRefused` - the guarded outbound client (:mod:`verifier.guard`) refused or
  failed a request to a user-given URL; ``reason`` is a short machine code from :data:`REASONS`;
* :class:`Problem` - an RFC 9457 problem the API answers with (:mod:`verifier.problems` turns it,
  and every ``ModelsealError``, into ``application/problem+json``);
* :class:`NoReference` - a behavioural check asked for weights this verifier does not hold.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from registry.errors import ExitCode, InputError, ModelsealError

Reason = Literal[
    "scheme",
    "no-host",
    "dns-failed",
    "loopback",
    "private",
    "link-local",
    "metadata",
    "multicast",
    "reserved",
    "unspecified",
    "too-many-redirects",
    "redirect-refused",
    "too-large",
    "timeout",
    "connect-failed",
    "bad-response",
]

_HINTS: Final[dict[Reason, str]] = {
    "scheme": "give an http:// or https:// URL",
    "no-host": "give a full URL with a host name, such as https://chat.example.com/v1/identity",
    "dns-failed": "check the host name: the verifier could not resolve it",
    "loopback": (
        "the verifier does not contact its own host; an operator can allow it for a demo with "
        "MODELSEAL_ALLOW_LOOPBACK_TARGETS=true"
    ),
    "private": (
        "the verifier contacts public addresses only; an operator running it inside a private "
        "network can allow them with MODELSEAL_ALLOW_PRIVATE_TARGETS=true"
    ),
    "link-local": "the verifier contacts public addresses only; give a URL whose host resolves to them",
    "metadata": "cloud metadata services are never contacted; give a URL whose host resolves to public addresses",
    "multicast": "the verifier contacts public unicast addresses only",
    "reserved": "the verifier contacts public addresses only; this address is reserved or for documentation",
    "unspecified": "0.0.0.0 and :: are not addresses of a server; give the endpoint's public URL",
    "too-many-redirects": "give the URL the endpoint finally answers at, not one that redirects",
    "redirect-refused": "the endpoint redirected to a target the verifier will not contact; give its final URL",
    "too-large": "the endpoint's answer is larger than the verifier accepts; keep answers small",
    "timeout": "the endpoint answered too slowly or not at all; check that it is up",
    "connect-failed": (
        "check that the endpoint is up and reachable from the internet, and that its TLS certificate names its host"
    ),
    "bad-response": "the endpoint did not answer well-formed HTTP; check that the URL names an HTTP API",
}

REASONS: Final[frozenset[Reason]] = frozenset(_HINTS)


class OutboundRefused(ModelsealError):
    """An outbound request was refused, or failed, at the guard.

    ``reason`` is a short machine code (one of :data:`REASONS`); ``message`` says what happened in
    words. For ``redirect-refused``, ``underlying`` holds the reason the redirect target was refused
    (``"metadata"``, ``"scheme"``...).
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, reason: Reason, message: str, *, hint: str | None = None, underlying: Reason | None = None):
        super().__init__(message, hint=hint if hint is not None else _HINTS[reason])
        self.reason: Reason = reason
        self.underlying: Reason | None = underlying

    def __repr__(self) -> str:
        return f"OutboundRefused({self.reason!r}, {self.message!r})"


class Problem(Exception):
    """An RFC 9457 problem: ``extra`` members go into the body, ``headers`` onto the response
    (``Retry-After`` with a 429 or 503)."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra
        self.headers = dict(headers or {})


class NoReference(InputError):
    """A behavioural check was asked for a release whose weights this verifier does not hold."""

    default_hint = "the verifier's operator adds reference weights with: modelseal reference add FILE"
