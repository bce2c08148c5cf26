"""The baseline of bench/load.py: a bare ASGI app that answers every request with one constant
JSON document (about the size of a release lookup), served by the same uvicorn as the verifier.
Run: ``python -m uvicorn bench._bare:app --port PORT --log-level warning``."""

from __future__ import annotations

import json
from typing import Any

BODY = json.dumps(
    {"release": "smollm/smollm2-135m-instruct/1.0.0", "weightsDigest": "ab" * 32, "manifestDigest": "cd" * 32,
     "revoked": False, "signer": {"did": "did:key:z6Mk" + "x" * 44}, "operators": [], "endorsements": [],
     "history": [{"event": "ReleasePublished", "block": 4, "tx": "0x" + "ef" * 32}] * 4}
).encode()  # fmt: skip
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
