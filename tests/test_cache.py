"""verifier/cache.py: release and weights answers are served again only while the index has not
moved (a revocation shows at once), never for errors, and always inside the rate limits."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from test_api import REL, World

from registry.signing.keys import Ed25519Key
from verifier import cache
from verifier.app import create_app


def test_a_cached_answer_never_hides_a_revocation(anvil_url: str, tmp_path: Path, model_dir: Path) -> None:
    world = World(anvil_url, tmp_path, model_dir)
    path = f"/v1/releases/{REL}"
    first = world.http.get(path)
    assert first.json()["revoked"] is False and "x-cache" not in first.headers
    second = world.http.get(path)
    assert second.headers["x-cache"] == "hit" and second.json() == first.json()
    world.client.revoke(REL, "withdrawn")
    world.sync()
    time.sleep(cache.CHECKPOINT_SECONDS + 0.05)
    again = world.http.get(path)
    assert "x-cache" not in again.headers  # the index moved: computed afresh
    assert again.json()["revoked"] is True and again.json()["revokeReason"] == "withdrawn"
    weights = world.http.get(f"/v1/weights/{world.manifest.weights.digest}").json()
    assert weights["releases"][0]["revoked"] is True


def test_a_manifest_upload_shows_at_once(anvil_url: str, tmp_path: Path, model_dir: Path) -> None:
    from sqlalchemy import delete

    from verifier.index.schema import ManifestRow

    world = World(anvil_url, tmp_path, model_dir)
    path = f"/v1/releases/{REL}"
    assert world.http.get(path).json()["manifest"] is None
    assert world.http.get(path).headers["x-cache"] == "hit"
    assert world.http.post("/v1/manifests", json=world.manifest.document()).status_code == 201
    after = world.http.get(path)
    assert "x-cache" not in after.headers and after.json()["manifest"] is not None
    with world.app.state.services.session() as s, s.begin():
        s.execute(delete(ManifestRow))


def test_an_upload_to_one_replica_ends_the_cached_answers_of_another(
    anvil_url: str, tmp_path: Path, model_dir: Path
) -> None:
    """Manifests are not chain events: the count of uploads lives in the database every replica
    reads, so replica B stops serving its copy without a manifest as soon as A stores it."""
    from sqlalchemy import delete

    from verifier.index.schema import ManifestRow

    world = World(anvil_url, tmp_path, model_dir)
    other = TestClient(create_app(world.settings))  # replica B: its own process state, the same database
    path = f"/v1/releases/{REL}"
    assert other.get(path).json()["manifest"] is None
    assert other.get(path).headers["x-cache"] == "hit"
    assert world.http.post("/v1/manifests", json=world.manifest.document()).status_code == 201
    time.sleep(cache.CHECKPOINT_SECONDS + 0.05)
    after = other.get(path)
    assert "x-cache" not in after.headers and after.json()["manifest"] is not None
    assert world.http.post("/v1/manifests", json=world.manifest.document()).status_code == 200  # nothing new
    time.sleep(cache.CHECKPOINT_SECONDS + 0.05)
    assert other.get(path).headers["x-cache"] == "hit"  # an upload that stored nothing ends nothing
    with world.app.state.services.session() as s, s.begin():
        s.execute(delete(ManifestRow))


def test_errors_are_not_kept_and_limits_still_count(anvil_url: str, tmp_path: Path, model_dir: Path) -> None:
    world = World(anvil_url, tmp_path, model_dir)
    world.settings.rate_limit = "3/minute"
    http = TestClient(create_app(world.settings, services=world.app.state.services))
    missing = "/v1/releases/deepseek/chat/9.9"
    assert [http.get(missing).status_code for _ in range(2)] == [404, 404]
    assert http.get(f"/v1/releases/{REL}").status_code == 200
    assert http.get(f"/v1/releases/{REL}").status_code == 429  # the cache sits inside the limits


def test_the_cache_is_bounded() -> None:
    rc = cache.ReadCache(app=None)  # type: ignore[arg-type]
    start = {"type": "http.response.start", "status": 200, "headers": []}
    for i in range(cache.MAX_ENTRIES + 10):
        rc._store((f"/v1/weights/{i}", b""), cache._Entry((1, "0x", 0, 0), 0.0, start, b"x" * 10))
    assert len(rc.entries) == cache.MAX_ENTRIES
    assert rc.size == sum(len(path) + len(query) + 10 for path, query in rc.entries)  # keys count too
    rc._store(("/big", b""), cache._Entry((1, "0x", 0, 0), 0.0, start, b"y" * cache.MAX_BYTES))
    assert rc.size <= cache.MAX_BYTES


def test_a_burst_reads_the_checkpoint_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found with a profiler under wrk: when the checkpoint was due, every one of 50 waiting
    requests read it from the database at once (a connection each, p99 55 ms); one reads it now,
    the others wait for that read."""
    import asyncio
    import threading

    reads: list[int] = []
    gate = threading.Event()

    def slow_read(_services: object) -> cache._Version:
        reads.append(1)
        gate.wait(5)
        return cache._Version((7, "0xab", 0), 1_800_000_000)

    monkeypatch.setattr(cache, "_read_checkpoint", slow_read)
    rc = cache.ReadCache(app=None)  # type: ignore[arg-type]

    async def burst() -> list[cache._Version | None]:
        waiting = [asyncio.ensure_future(rc._checkpoint(object())) for _ in range(50)]
        await asyncio.sleep(0.1)
        gate.set()
        return list(await asyncio.gather(*waiting))

    assert asyncio.run(burst()) == [cache._Version((7, "0xab", 0), 1_800_000_000)] * 50
    assert len(reads) == 1


def test_an_answer_outlives_blocks_without_events_and_ends_at_an_expiry_it_shows(
    anvil_url: str, tmp_path: Path, model_dir: Path
) -> None:
    """On a chain with fast blocks (an L2) most blocks carry no registry event: they must not end
    a cached answer; chain time passing an operator's expiry the answer shows must."""
    world = World(anvil_url, tmp_path, model_dir)
    rpc = world.client.w3.provider
    expiring = Ed25519Key.generate().did
    world.client.authorize_operator("deepseek", "chat", None, expiring, world.client.now() + 100)
    world.sync()
    path = f"/v1/releases/{REL}"

    def settled() -> Any:
        world.sync()
        time.sleep(cache.CHECKPOINT_SECONDS + 0.05)
        return world.http.get(path)

    first = settled()
    assert "x-cache" not in first.headers and cache.VALID_UNTIL.decode() not in first.headers
    assert {o["operator"]: o["active"] for o in first.json()["operators"]}[expiring] is True
    for _ in range(3):
        rpc.make_request("evm_mine", [])  # type: ignore[arg-type]
    again = settled()
    assert again.headers["x-cache"] == "hit" and cache.VALID_UNTIL.decode() not in again.headers
    rpc.make_request("evm_increaseTime", [101])  # type: ignore[arg-type]
    rpc.make_request("evm_mine", [])  # type: ignore[arg-type]
    after = settled()
    assert "x-cache" not in after.headers  # the expiry it showed has passed: computed afresh
    assert {o["operator"]: o["active"] for o in after.json()["operators"]}[expiring] is False


def test_the_internal_header_never_leaves_even_uncached(
    anvil_url: str, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(anvil_url, tmp_path, model_dir)  # its operator's grant expires: the answer says when

    def broken(_services: object) -> None:
        raise OSError("the database is gone")

    monkeypatch.setattr(cache, "_read_checkpoint", broken)
    resp = world.http.get(f"/v1/releases/{REL}")
    assert resp.status_code == 200 and "x-cache" not in resp.headers
    assert cache.VALID_UNTIL.decode() not in resp.headers


def test_concurrent_askers_of_one_answer_compute_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found under wrk: answers falling due together made every waiting client compute its own
    copy (p99 36 ms in a 60 s run); one request computes it, the others wait and get that one."""
    import asyncio
    from types import SimpleNamespace

    calls: list[int] = []
    gate = asyncio.Event()

    async def route(scope: Any, receive: Any, send: Any) -> None:
        calls.append(1)
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"release": "a/b/1"}'})

    monkeypatch.setattr(cache, "_read_checkpoint", lambda _s: cache._Version((1, "0xab", 0), 1_800_000_000))
    rc = cache.ReadCache(route)
    holder = SimpleNamespace(state=SimpleNamespace(services=SimpleNamespace()))

    async def ask() -> list[Any]:
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/v1/releases/a/b/1", "query_string": b"", "app": holder}
        await rc(scope, None, send)  # type: ignore[arg-type]
        return sent

    async def crowd() -> list[list[Any]]:
        asking = [asyncio.ensure_future(ask()) for _ in range(20)]
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(*asking))

    answers = asyncio.run(crowd())
    assert len(calls) == 1
    assert all(a[-1]["body"] == b'{"release": "a/b/1"}' for a in answers)
    assert sum((b"x-cache", b"hit") in a[0]["headers"] for a in answers) == 19


def _toy_app(state: dict[str, Any]) -> TestClient:
    """A release route over ``state`` behind the read cache, whose index version is ``state["v"]``."""
    app = FastAPI()
    app.state.services = SimpleNamespace(uploads=0)

    @app.get("/v1/releases/{ns}/{m}/{v:path}")
    def release(ns: str, m: str, v: str) -> Any:
        return {"release": v} if v in state["releases"] else Response(status_code=404)

    app.add_middleware(cache.ReadCache)
    return TestClient(app, root_path=state.get("root", ""))


def test_an_answer_is_kept_only_under_the_version_it_was_computed_at(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: the version read every 0.25 s could be older than the data a route read;
    an answer from event 6 kept under event 5's version came back as a hit after a reorg took
    event 6 away (a release served as published that no longer was)."""
    state: dict[str, Any] = {"v": (5, "0xa", 0), "releases": set()}
    monkeypatch.setattr(cache, "_read_checkpoint", lambda _s: cache._Version(state["v"], 100))
    http = _toy_app(state)
    assert http.get("/v1/releases/a/b/x").status_code == 404  # the periodic version: event 5
    state["v"], state["releases"] = (6, "0xb", 0), {"x"}  # event 6 indexed: x published
    assert http.get("/v1/releases/a/b/x").status_code == 200  # within 0.25 s of the periodic read
    time.sleep(cache.CHECKPOINT_SECONDS + 0.05)
    state["v"], state["releases"] = (5, "0xa", 0), set()  # a reorg takes event 6 back
    time.sleep(cache.CHECKPOINT_SECONDS + 0.05)
    assert http.get("/v1/releases/a/b/x").status_code == 404


def test_made_up_query_strings_are_answered_but_never_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    state: dict[str, Any] = {"v": (5, "0xa", 0), "releases": {"x"}}
    monkeypatch.setattr(cache, "_read_checkpoint", lambda _s: cache._Version(state["v"], 100))
    http = _toy_app(state)
    for i in range(3):
        resp = http.get(f"/v1/releases/a/b/x?junk={i}")
        assert resp.status_code == 200 and "x-cache" not in resp.headers
    assert cache._keyable("/v1/weights/ab", b"limit=5&offset=10") and not cache._keyable(
        "/v1/weights/ab", b"limit=5&limit=6"
    )
    assert not cache._keyable("/v1/releases/a/b/x", b"limit=5")


def test_behind_a_root_path_answers_are_kept_and_the_internal_header_stays_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "_read_checkpoint", lambda _s: cache._Version((5, "0xa", 0), 100))
    app = FastAPI()
    app.state.services = SimpleNamespace(uploads=0)

    @app.get("/v1/releases/{ns}/{m}/{v:path}")
    def release(ns: str, m: str, v: str, response: Response) -> Any:
        response.headers[cache.VALID_UNTIL.decode()] = "200"
        return {"release": v}

    app.add_middleware(cache.ReadCache)
    http = TestClient(app, root_path="/verifier")
    first, second = http.get("/v1/releases/a/b/x"), http.get("/v1/releases/a/b/x")
    assert first.json() == {"release": "x"}
    assert cache.VALID_UNTIL.decode() not in first.headers and cache.VALID_UNTIL.decode() not in second.headers
    assert second.headers["x-cache"] == "hit"
    assert cache.VALID_UNTIL.decode() not in http.get("/v1/releases/a/b/x?other=1").headers
