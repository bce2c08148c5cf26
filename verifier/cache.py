"""Answers of the read routes kept while the index does not change: release and weights lookups.

An app store or a public registry page asks for the same releases again and again, and their
answers change only when the index does (a block indexed, a reorg) or when a manifest is
uploaded. :class:`ReadCache` (ASGI middleware, inside the rate limits) keeps the ``200`` answers
of ``GET /v1/releases/{namespace}/{model}/{version}`` and ``GET /v1/weights/{digest}``, each
tagged with the index's checkpoint (block number and hash) it was computed at and this
replica's count of manifest uploads, and serves one again only while both are the same **and**
for at most :data:`TTL` seconds (an upload to another replica, which is not chain data, shows
within that time). The checkpoint moves with every block indexed, so on a live chain an answer
is computed at most once per block; the chain facts in a cached answer are never older than the
index. The checkpoint is read from the database at most every :data:`CHECKPOINT_SECONDS`
(by one request at a time, ahead of time under load). A cached answer carries
``X-Cache: hit``. Memory is bounded by entries and by bytes; the verdict routes (``/v1/check``)
are never cached.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TTL = 60.0
CHECKPOINT_SECONDS = 0.25
MAX_ENTRIES = 4096
MAX_BYTES = 32 * 1024 * 1024
MAX_ANSWER = 256 * 1024
PREFIXES = ("/v1/releases/", "/v1/weights/")


@dataclass(frozen=True, slots=True)
class _Entry:
    version: tuple[int, str, int]
    at: float
    start: Message
    body: bytes


class ReadCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()
        self.size = 0
        self._version: tuple[tuple[int, str], float] | None = None
        self._reading: asyncio.Future[tuple[int, str] | None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or not scope["path"].startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        services = getattr(getattr(scope.get("app"), "state", None), "services", None)
        checkpoint = await self._checkpoint(services) if services is not None else None
        if checkpoint is None:
            await self.app(scope, receive, send)
            return
        version = (*checkpoint, int(getattr(services, "uploads", 0)))
        key = (scope["path"], scope.get("query_string", b""))
        now = time.monotonic()
        hit = self.entries.get(key)
        if hit is not None and hit.version == version and now - hit.at <= TTL:
            self.entries.move_to_end(key)
            await send({**hit.start, "headers": [*hit.start.get("headers", []), (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": hit.body})
            return
        start: Message | None = None
        chunks: list[bytes] = []
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, keep
            if message["type"] == "http.response.start":
                start = message
                keep = message.get("status") == 200
            elif message["type"] == "http.response.body" and keep:
                chunks.append(message.get("body", b""))
                if sum(map(len, chunks)) > MAX_ANSWER:
                    keep = False
            await send(message)

        await self.app(scope, receive, capture)
        if keep and start is not None:
            self._store(key, _Entry(version, now, start, b"".join(chunks)))

    def _store(self, key: tuple[str, bytes], entry: _Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= len(old.body)
        self.entries[key] = entry
        self.size += len(entry.body)
        while len(self.entries) > MAX_ENTRIES or self.size > MAX_BYTES:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped.body)

    async def _checkpoint(self, services: Any) -> tuple[int, str] | None:
        """The index's checkpoint as read from the database at most :data:`CHECKPOINT_SECONDS`
        ago. One read at a time: requests that find it due wait for that same read (a burst of
        requests must not become a burst of database reads), and past half its age the next read
        starts in the background while the current value is still served."""
        now = time.monotonic()
        if self._version is not None and now - self._version[1] <= CHECKPOINT_SECONDS:
            if self._reading is None and now - self._version[1] > CHECKPOINT_SECONDS / 2:
                # read the next one ahead, in the background: under steady load no request waits
                self._reading = asyncio.ensure_future(self._read(services))
            return self._version[0]
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read(services))
        return await asyncio.shield(self._reading)

    async def _read(self, services: Any) -> tuple[int, str] | None:
        """One read of the checkpoint; None when the database cannot be read (then nothing is
        cached and the route answers as it can)."""
        try:
            started = time.monotonic()
            version = await run_in_threadpool(_read_checkpoint, services)
        except Exception:
            return None
        finally:
            self._reading = None
        if version is not None:
            self._version = (version, started)
        return version


def _read_checkpoint(services: Any) -> tuple[int, str] | None:
    from verifier.index.schema import Checkpoint

    with services.session() as s:
        cp = s.get(Checkpoint, 1)
        return (cp.block_number, cp.block_hash) if cp is not None else None
