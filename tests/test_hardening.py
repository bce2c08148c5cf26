"""Hostile input and bad luck: nothing a client or a chatbot sends may crash, stall or poison the
verifier or the CLI. Each test names the item of the hardening issue it keeps fixed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import web3  # noqa: F401  # imported for its side effect: the recursion limit becomes 100,000
from hypothesis import given, settings
from hypothesis import strategies as st
from test_api import World, problem

from registry import jsontext
from registry.errors import ManifestInvalid
from registry.signing.manifest import Manifest
from verifier.errors import Problem
from verifier.limits import CheckSlots

DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB; json.loads of it overflows the C stack under web3
DEEP_OBJECT = b'{"a":' * 40_000 + b"1" + b"}" * 40_000


@pytest.fixture
def world(anvil_url: str, tmp_path: Path, model_dir: Path) -> World:
    return World(anvil_url, tmp_path, model_dir)


# --- 1. one response kills the process --------------------------------------------------------


def test_the_recursion_limit_is_what_makes_deep_json_lethal() -> None:
    assert sys.getrecursionlimit() >= 100_000  # web3 raised it: the guard must not rely on RecursionError


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deep_json_is_refused_by_depth_before_any_parser_recurses(body: bytes) -> None:
    with pytest.raises(jsontext.JSONRefused, match="levels deep, over the limit of 64"):
        jsontext.loads(body)
    with pytest.raises(ManifestInvalid, match="levels deep"):
        Manifest.from_json(body)


@pytest.mark.parametrize("path", ["/v1/manifests", "/v1/manifests/verify"])
def test_deep_bodies_get_problem_details_and_the_service_lives(world: World, path: str) -> None:
    for body in (DEEP, DEEP_OBJECT):
        resp = world.http.post(path, content=body, headers={"content-type": "application/json"})
        assert problem(resp, 400)["type"].endswith("/invalid-json")
        assert "levels deep" in resp.json()["detail"]
    assert world.http.get("/v1/health").json()["status"] == "ok"


def test_cli_refuses_deep_manifests_in_one_line(cli: Any, tmp_path: Path) -> None:
    deep = tmp_path / "deep.manifest.json"
    deep.write_bytes(DEEP)
    for args in (("verify-manifest", deep), ("sign", deep, "--key", "nobody")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "levels deep" in proc.stderr and "Traceback" not in proc.stderr


# --- 5. limits ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_without_being_read(world: World) -> None:
    limit = world.settings.max_body_bytes
    big = b'{"type": "' + b"x" * limit + b'"}'
    resp = world.http.post("/v1/manifests/verify", content=big, headers={"content-type": "application/json"})
    assert problem(resp, 413)["type"].endswith("/body-too-large")

    def chunks() -> Any:  # no Content-Length: the limit holds while reading
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    resp = world.http.post("/v1/manifests", content=chunks(), headers={"content-type": "application/json"})
    assert problem(resp, 413)["type"].endswith("/body-too-large")


def test_checks_are_rate_limited_per_client_and_per_target(anvil_url: str, tmp_path: Path, model_dir: Path) -> None:
    w = World(anvil_url, tmp_path, model_dir)
    w.settings.outbound_rate_limit = "3/minute"
    from fastapi.testclient import TestClient

    from verifier.app import create_app

    app = create_app(w.settings, services=w.app.state.services)
    http = TestClient(app)
    statuses = [http.get("/v1/check", params={"url": "http://127.0.0.1:9/"}).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    resp = http.get("/v1/check", params={"url": "http://127.0.0.1:9/"})
    body = problem(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60 and body["retryAfter"] == int(resp.headers["Retry-After"])
    assert http.get("/v1/health").status_code == 200  # never limited
    assert http.get(f"/v1/releases/{w.manifest.release_name}").status_code == 200  # reads have their own limit

    w.settings.outbound_rate_limit, w.settings.target_rate_limit = "100/minute", "2/minute"
    app = create_app(w.settings, services=w.app.state.services)
    statuses = [
        TestClient(app, client=(f"10.0.0.{i}", 1000))
        .get("/v1/check", params={"url": "http://victim.example/"})
        .status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 429, 429]  # four clients, one target: the target's limit holds


def test_check_slots_queue_then_refuse_with_retry_after() -> None:
    slots = CheckSlots(concurrent=2, queued=1)
    release = asyncio.Event()
    started: list[int] = []

    async def one(i: int) -> str:
        try:
            async with slots.slot():
                started.append(i)
                await release.wait()
            return "done"
        except Problem as exc:
            assert exc.status == 503 and exc.headers["Retry-After"]
            return "busy"

    async def main() -> list[str]:
        tasks = [asyncio.create_task(one(i)) for i in range(4)]
        await asyncio.sleep(0.05)
        assert started == [0, 1] and slots.waiting == 1  # two run, one waits, the fourth is refused
        release.set()
        return await asyncio.gather(*tasks)

    assert sorted(asyncio.run(main())) == ["busy", "done", "done", "done"]


# --- 6. bad numbers and strings -------------------------------------------------------------

BAD_MEMBERS = {
    "2^64": b"18446744073709551616",
    "1e999": b"1e999",
    "NaN": b"NaN",
    "-Infinity": b"-Infinity",
    "lone surrogate": b'"\\ud800"',
}


@pytest.mark.parametrize("value", BAD_MEMBERS.values(), ids=BAD_MEMBERS.keys())
def test_bad_numbers_in_a_proof_are_client_errors(world: World, value: bytes, cli: Any, tmp_path: Path) -> None:
    doc = world.manifest.document()
    doc["proof"][0]["created"] = "PLACEHOLDER"
    body = json.dumps(doc).replace('"PLACEHOLDER"', value.decode()).encode()
    for path in ("/v1/manifests/verify", "/v1/manifests"):
        resp = world.http.post(path, content=body, headers={"content-type": "application/json"})
        assert resp.status_code in (400, 422), resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    target = tmp_path / "bad.manifest.json"
    target.write_bytes(body)
    proc = cli("verify-manifest", target)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


# --- the parser itself, on arbitrary input ----------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512) | st.text(max_size=512).map(str.encode))
def test_jsontext_raises_only_its_own_error_on_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(jsontext.JSONRefused):
        jsontext.loads(data)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_jsontext_reads_what_json_writes(value: Any) -> None:
    assert jsontext.loads(json.dumps(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.sampled_from([b"[]", b"{}"]), st.text(alphabet='[]{}"\\', max_size=20))
def test_depth_counts_brackets_outside_strings_only(levels: int, pair: bytes, noise: str) -> None:
    inner = json.dumps(noise).encode()  # brackets and quotes inside a string never count
    nested = pair[:1] * levels + (inner if pair == b"[]" else b"") + pair[1:] * levels
    assert jsontext.depth(nested) == levels
