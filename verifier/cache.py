"""Answers of the read routes kept while the index does not change: release and weights lookups.

An app store or a public registry page asks for the same releases again and again, and their
answers change only when the index's data does (events indexed, a reorg), when chain time passes
an expiry the answer shows (a signer's or an operator's), or when a manifest is uploaded.
:class:`ReadCache` (ASGI middleware, inside the rate limits) keeps the ``200`` answers of
``GET /v1/releases/{namespace}/{model}/{version}`` and ``GET /v1/weights/{digest}``, each tagged
with the index's **data version** it was computed at: the newest event row (its id and block
hash, which change with every event indexed and with every reorg that removes one) and the
count of manifest uploads (a row every replica reads, so an upload to one replica ends the
answers of all; the replica that took it counts it in memory too, so its own answers end at
once). One is served again only while that version is the same, while the index's
chain time is before the first expiry the answer could change at (a route that shows one says
so in the internal header :data:`VALID_UNTIL`, which never leaves the verifier), and for at most
:data:`TTL` seconds (a bound for what no version tells: each answer's time is drawn between
half that and that, so answers computed together do not fall due together). While one request
computes an answer, the others asking for it wait for that one. Blocks without registry events
do not end an answer, so the cache serves a chain with fast blocks (an L2) as well as an idle
one; the chain facts in a cached answer are never older than the index. The version is read
from the database at most every :data:`CHECKPOINT_SECONDS` (by one request at a time, ahead of
time under load). A cached answer carries ``X-Cache: hit``. Memory is bounded by entries and by
bytes; the verdict routes (``/v1/check``) are never cached.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TTL = 600.0
CHECKPOINT_SECONDS = 0.25
MAX_ENTRIES = 4096
MAX_BYTES = 32 * 1024 * 1024
MAX_ANSWER = 256 * 1024
PREFIXES = ("/v1/releases/", "/v1/weights/")


VALID_UNTIL = b"x-modelseal-valid-until"
"""Internal response header: the chain time (seconds) from which the answer may differ although
no event was indexed (an expiry it shows). Read and removed by :class:`ReadCache`."""


@dataclass(frozen=True, slots=True)
class _Version:
    """What a cached answer depends on, as read from the index."""

    data: tuple[int, str, int]
    """the newest event row's id and block hash (``(0, "")`` with no events), and the count of
    manifest uploads (:class:`verifier.index.schema.Counter`)"""
    chain_time: int | None
    """the checkpoint's block time (None when unknown, e.g. just after a reorg)"""


@dataclass(frozen=True, slots=True)
class _Entry:
    version: tuple[int, str, int, int]
    expires: float
    """monotonic time after which it is computed afresh"""
    start: Message
    body: bytes
    until: int | None = None
    """chain time from which this answer may be out of date (an expiry it shows)"""


class ReadCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()
        self.size = 0
        self._version: tuple[_Version, float] | None = None
        self._reading: asyncio.Future[_Version | None] | None = None
        self._computing: dict[tuple[str, bytes], asyncio.Future[_Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, query = _route_path(scope), scope.get("query_string", b"")
        if scope.get("method") != "GET" or not path.startswith(PREFIXES) or not _keyable(path, query):
            await self.app(scope, receive, _without_valid_until(send))  # answered as it comes
            return
        services = getattr(getattr(scope.get("app"), "state", None), "services", None)
        current = await self._checkpoint(services) if services is not None else None
        if current is None:  # nothing to key answers on: answered as it comes
            await self.app(scope, receive, _without_valid_until(send))
            return
        uploads = int(getattr(services, "uploads", 0))  # this replica's: its own uploads seen at once
        version = (*current.data, uploads)
        key = (path, query)
        now = time.monotonic()
        hit = self.entries.get(key)
        if hit is None or hit.version != version:
            computing = self._computing.get(key)
            if computing is not None:  # another request computes it now: wait for that answer
                hit = await asyncio.shield(computing)
        if hit is not None and hit.version == version and now <= hit.expires and _in_time(hit.until, current):
            self.entries.move_to_end(key)
            await send({**hit.start, "headers": [*hit.start.get("headers", []), (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": hit.body})
            return
        computed: asyncio.Future[_Entry | None] | None = None
        if key not in self._computing:
            computed = self._computing[key] = asyncio.get_running_loop().create_future()
        entry: _Entry | None = None
        try:
            # the version read just before and just after the answer is computed: only when they
            # agree is the answer known to be that version's (the periodic read may be older
            # than the data the route reads, and a reorg may bring an older version back)
            before = await self._read_now(services)
            entry = await self._compute(scope, receive, send, (*before.data, uploads) if before else version, now)
            if entry is not None and before is not None:
                after = await self._read_now(services)
                if after is not None and after.data == before.data:
                    self._store(key, entry)
                else:
                    entry = None
            else:
                entry = None
        finally:
            if computed is not None:  # those waiting get it (None: not kept, they compute their own)
                del self._computing[key]
                computed.set_result(entry)

    async def _read_now(self, services: Any) -> _Version | None:
        try:
            return await run_in_threadpool(_read_checkpoint, services)
        except Exception:
            return None

    async def _compute(
        self, scope: Scope, receive: Receive, send: Send, version: tuple[int, str, int, int], now: float
    ) -> _Entry | None:
        """The route's answer, sent on and returned as an entry to keep (None if not to keep)."""
        start: Message | None = None
        until: int | None = None
        chunks: list[bytes] = []
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, keep, until
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                said = [v for k, v in headers if k.lower() == VALID_UNTIL]
                if said:
                    until = min(int(v) for v in said)
                    message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != VALID_UNTIL]}
                start = message
                keep = message.get("status") == 200
            elif message["type"] == "http.response.body" and keep:
                chunks.append(message.get("body", b""))
                if sum(map(len, chunks)) > MAX_ANSWER:
                    keep = False
            await send(message)

        await self.app(scope, receive, capture)
        if not keep or start is None:
            return None
        return _Entry(version, now + random.uniform(TTL / 2, TTL), start, b"".join(chunks), until)

    def _store(self, key: tuple[str, bytes], entry: _Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= _size(key, old)
        self.entries[key] = entry
        self.size += _size(key, entry)
        while len(self.entries) > MAX_ENTRIES or self.size > MAX_BYTES:
            dropped_key, dropped = self.entries.popitem(last=False)
            self.size -= _size(dropped_key, dropped)

    async def _checkpoint(self, services: Any) -> _Version | None:
        """The index's data version and chain time as read from the database at most :data:`CHECKPOINT_SECONDS`
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

    async def _read(self, services: Any) -> _Version | None:
        """One read of the data version and chain time; None when the database cannot be read (then nothing is
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


def _size(key: tuple[str, bytes], entry: _Entry) -> int:
    return len(key[0]) + len(key[1]) + len(entry.body)


PAGING = {"limit", "offset"}
"""The only query parameters a cached route reads (the weights route's page)."""


def _keyable(path: str, query: bytes) -> bool:
    """Whether answers to this query string are kept: none, or the weights route's page
    parameters once each. Any other query string is answered afresh and never kept, so a client
    cannot fill the cache with copies of one answer under made-up parameters."""
    if not query:
        return True
    if not path.startswith("/v1/weights/"):
        return False
    names = [name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    return len(names) == len(set(names)) and set(names) <= PAGING


def _route_path(scope: Scope) -> str:
    """The path the routes see (without a ``--root-path`` prefix)."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _without_valid_until(send: Send) -> Send:
    async def strip(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != VALID_UNTIL]}
        await send(message)

    return strip


def _in_time(until: int | None, current: _Version) -> bool:
    """Whether an answer that may change at chain time ``until`` still holds at the index's."""
    return until is None or (current.chain_time is not None and current.chain_time < until)


def _read_checkpoint(services: Any) -> _Version | None:
    """The index's data version and chain time; None before anything was indexed."""
    from sqlalchemy import select

    from verifier.index.schema import Checkpoint, Counter, EventRow

    with services.session() as s:
        cp = s.get(Checkpoint, 1)
        if cp is None:
            return None
        newest = s.execute(select(EventRow.id, EventRow.block_hash).order_by(EventRow.id.desc()).limit(1)).first()
        uploads = int(s.scalar(select(Counter.value).where(Counter.name == "manifests")) or 0)
        event = (int(newest[0]), str(newest[1])) if newest is not None else (0, "")
        return _Version((*event, uploads), cp.block_time)
