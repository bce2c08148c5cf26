"""Operator middleware: make any ASGI chat server speak the deployment identity protocol.

``IdentityMiddleware(app, claim, key)`` serves ``/.well-known/model-identity`` and its challenge
endpoint, and adds a ``Model-Receipt`` to every chat completion (``POST /v1/chat/completions`` and
``/v1/completions``). It signs a challenge only for an origin listed in ``claim.origins`` (the
addresses clients use: behind a reverse proxy or CDN, the public ones) and answers ``403`` with
the origins it serves otherwise. Receipts:

* a whole JSON answer gets the receipt in the ``Model-Receipt`` response header;
* a streamed (``text/event-stream``) answer gets ``Model-Receipt: sse`` as header, and after the
  upstream stream ends, one more event ``event: model-receipt`` whose receipt covers every byte of
  the stream before it (OpenAI-style clients stop reading at ``data: [DONE]``, so they are not
  disturbed; a checking client reads on).

Pure ASGI, no web framework; the protocol itself is :mod:`registry.identity.protocol`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from registry import jsontext
from registry.errors import InputError, OriginNotServed
from registry.identity.protocol import (
    CHALLENGE_PATH,
    RECEIPT_HEADER,
    WELL_KNOWN,
    Claim,
    answer_challenge,
    make_receipt,
    sse_receipt_event,
)
from registry.signing.keys import Ed25519Key

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RECEIPT_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/chat/completions", "/completions"})
MAX_BODY = 4 * 1024 * 1024


class IdentityMiddleware:
    def __init__(self, app: ASGIApp, claim: Claim, key: Ed25519Key) -> None:
        if key.did != claim.operator:
            raise InputError("the operator key does not match the claim's operator DID")
        self.app, self.claim, self.key = app, claim, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if path == WELL_KNOWN and method in ("GET", "HEAD"):
            await _json(send, 200, self.claim.document())
        elif path == CHALLENGE_PATH:
            if method != "POST":
                await _json(send, 405, {"error": 'POST {"nonce": "<hex>"}'})
                return
            try:
                body = jsontext.loads(await read_body(receive) or b"{}", what="the challenge", max_bytes=4096)
                if not isinstance(body, dict):
                    raise InputError('a challenge is a JSON object {"nonce": ..., "origin": ...}')
                answer = answer_challenge(self.claim, self.key, body.get("nonce"), body.get("origin"))
            except OriginNotServed as exc:
                await _json(send, 403, {"error": exc.message, "origins": list(exc.origins)})
            except (ValueError, InputError) as exc:
                await _json(send, 400, {"error": f"bad challenge: {exc}"})
            else:
                await _json(send, 200, answer)
        elif path in RECEIPT_PATHS and method == "POST":
            await self._with_receipt(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _with_receipt(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_body = await read_body(receive)
        replay = replaying(request_body, receive)

        start: Message | None = None
        streaming = False
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                streaming = ctype.startswith(b"text/event-stream")
                if streaming:
                    await send({**message, "headers": [*headers, (RECEIPT_HEADER.lower().encode(), b"sse")]})
                else:
                    start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            chunks.append(body)
            if streaming:
                if more:
                    await send(message)
                else:
                    receipt = make_receipt(self.claim, self.key, request_body, b"".join(chunks))
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    await send({"type": "http.response.body", "body": sse_receipt_event(receipt), "more_body": False})
                return
            if not more:
                assert start is not None
                whole = b"".join(chunks)
                receipt = make_receipt(self.claim, self.key, request_body, whole)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers += [
                    (b"content-length", str(len(whole)).encode()),
                    (RECEIPT_HEADER.lower().encode(), receipt.encode()),
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": whole, "more_body": False})

        await self.app(scope, replay, capture)


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes:
    """The whole request body from ``receive``; :class:`InputError` past ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise InputError("request body too large")
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app ``body`` (already read) once, then the real channel."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _json(send: Send, status: int, data: Any) -> None:
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
