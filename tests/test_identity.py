"""registry.identity.protocol and its ASGI middleware: claims, challenges, receipts (JSON and SSE)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import rfc8785
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from registry.errors import IdentityError, InputError, OriginNotServed, OutdatedClaim
from registry.identity.asgi import IdentityMiddleware
from registry.identity.protocol import (
    RECEIPT_HEADER,
    Claim,
    answer_challenge,
    check_origin,
    check_receipt_time,
    make_receipt,
    new_nonce,
    origin_of,
    split_sse_receipt,
    verify_challenge,
    verify_receipt,
)
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key

ORIGINS = ("https://chat.acme.example", "http://127.0.0.1:8081")
REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")


@pytest.fixture
def key() -> Ed25519Key:
    return Ed25519Key.generate()


@pytest.fixture
def claim(key: Ed25519Key) -> Claim:
    return Claim(REL, "ab" * 32, key.did, 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", ORIGINS)


def test_claim_roundtrip_and_refusals(claim: Claim) -> None:
    doc = claim.document()
    assert Claim.from_document(doc) == claim
    for mutate in (
        lambda d: d.update(type="other"),
        lambda d: d.update(releaseId="0x" + "00" * 32),
        lambda d: d.update(weightsDigest="xyz"),
        lambda d: d.update(operator="did:web:evil.example"),
        lambda d: d["release"].update(namespace="Smollm"),
        lambda d: d.pop("chainId"),
        lambda d: d.update(chainId="31337"),
        lambda d: d.pop("origins"),
        lambda d: d.update(origins=[]),
        lambda d: d.update(origins=["https://Chat.example"]),  # not canonical
        lambda d: d.update(origins=["https://chat.example/v1"]),  # a path is not an origin
        lambda d: d.update(origins=["https://chat.example", "https://chat.example"]),
        lambda d: d.update(origins=[f"https://c{i}.example" for i in range(9)]),
    ):
        bad = json.loads(json.dumps(doc))
        mutate(bad)
        with pytest.raises(IdentityError):
            Claim.from_document(bad)


def test_a_v1_claim_is_recognised_and_refused(claim: Claim) -> None:
    doc = {k: v for k, v in claim.document().items() if k != "origins"} | {"type": "modelseal/identity/v1"}
    with pytest.raises(OutdatedClaim, match="modelseal/identity/v2"):
        Claim.from_document(doc)


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Chat.Example.COM/v1/chat?x=1#f", "https://chat.example.com"),
        ("https://chat.example.com:443/", "https://chat.example.com"),
        ("http://chat.example.com:80", "http://chat.example.com"),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
        ("https://[2001:DB8:0:0::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origin_of_gives_the_canonical_origin(given: str, origin: str) -> None:
    assert origin_of(given) == origin
    assert check_origin(origin) == origin


@pytest.mark.parametrize(
    "bad", ["ftp://chat.example", "https://user:pw@chat.example", "https://", "chat.example", "https://a_b.example"]
)
def test_origin_of_refuses_what_is_not_an_http_origin(bad: str) -> None:
    with pytest.raises(InputError):
        origin_of(bad)


def test_challenge_fresh_nonce_verifies_for_the_origin(claim: Claim, key: Ed25519Key) -> None:
    nonce = new_nonce()
    signed = verify_challenge(answer_challenge(claim, key, nonce, ORIGINS[1]), nonce)
    assert (signed.claim, signed.origin) == (claim, ORIGINS[1])


def test_the_operator_signs_only_for_origins_it_serves(claim: Claim, key: Ed25519Key) -> None:
    with pytest.raises(OriginNotServed, match=r"does not serve at https://relay\.example") as exc:
        answer_challenge(claim, key, new_nonce(), "https://relay.example")
    assert exc.value.origins == ORIGINS
    with pytest.raises(InputError, match="names no origin"):
        answer_challenge(claim, key, new_nonce(), None)
    with pytest.raises(InputError, match="bad origin"):
        answer_challenge(claim, key, new_nonce(), "https://Chat.example")


def test_an_answer_edited_to_another_origin_does_not_verify(claim: Claim, key: Ed25519Key) -> None:
    nonce = new_nonce()
    answer = answer_challenge(claim, key, nonce, ORIGINS[0])
    answer["origin"] = ORIGINS[1]
    with pytest.raises(IdentityError, match="does not verify"):
        verify_challenge(answer, nonce)


def test_receipt_time_is_checked_against_a_window(claim: Claim, key: Ed25519Key) -> None:
    r = verify_receipt(make_receipt(claim, key, b"q", b"a"), b"q", b"a")
    check_receipt_time(r)
    with pytest.raises(IdentityError, match="off"):
        check_receipt_time(r, now=r.time + 978)
    with pytest.raises(IdentityError, match="off"):
        check_receipt_time(r, now=r.time - 120)


def test_replayed_answer_with_old_nonce_refused(claim: Claim, key: Ed25519Key) -> None:
    old = answer_challenge(claim, key, new_nonce(), ORIGINS[0])
    with pytest.raises(IdentityError, match="another nonce"):
        verify_challenge(old, new_nonce())


def test_stale_answer_refused(claim: Claim, key: Ed25519Key) -> None:
    nonce = new_nonce()
    answer = answer_challenge(claim, key, nonce, ORIGINS[0])
    with pytest.raises(IdentityError, match="off"):
        verify_challenge(answer, nonce, now=int(time.time()) + 3600)


def test_answer_signed_by_another_key_refused(claim: Claim) -> None:
    thief = Ed25519Key.generate()
    nonce = new_nonce()
    stolen = Claim(REL, claim.weights_digest, thief.did, 31337, claim.registry, ORIGINS)
    forged = answer_challenge(stolen, thief, nonce, ORIGINS[0])
    forged["operator"] = claim.operator  # claim the real operator, sign with another key
    with pytest.raises(IdentityError, match="not by the operator"):
        verify_challenge(forged, nonce)


def test_answer_edited_after_signing_refused(claim: Claim, key: Ed25519Key) -> None:
    nonce = new_nonce()
    answer = answer_challenge(claim, key, nonce, ORIGINS[0])
    answer["weightsDigest"] = "cd" * 32
    with pytest.raises(IdentityError, match="does not verify"):
        verify_challenge(answer, nonce)


def test_receipt_binds_request_and_response(claim: Claim, key: Ed25519Key) -> None:
    header = make_receipt(claim, key, b'{"q": 1}', b'{"a": 2}')
    r = verify_receipt(header, b'{"q": 1}', b'{"a": 2}')
    assert (r.release, r.operator, r.weights_digest) == (REL, key.did, claim.weights_digest)
    with pytest.raises(IdentityError, match="response body"):
        verify_receipt(header, b'{"q": 1}', b'{"a": 3}')
    with pytest.raises(IdentityError, match="request body"):
        verify_receipt(header, b'{"q": 9}', b'{"a": 2}')


def test_receipt_with_altered_signature_or_field_refused(claim: Claim, key: Ed25519Key) -> None:
    header = make_receipt(claim, key, b"q", b"a")
    doc = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    doc["release"] = "smollm/smollm2-135m-instruct/9.9.9"
    doc["releaseId"] = (
        "0x" + __import__("registry.names", fromlist=["release_id"]).release_id(ReleaseName.parse(doc["release"])).hex()
    )
    forged = base64.urlsafe_b64encode(rfc8785.dumps(doc)).decode().rstrip("=")  # well formed, wrong signature
    with pytest.raises(IdentityError, match="does not verify"):
        verify_receipt(forged, b"q", b"a")
    doc = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    value = doc["proof"]["proofValue"]
    doc["proof"]["proofValue"] = value[:-2] + ("22" if value[-2:] != "22" else "33")
    with pytest.raises(IdentityError):
        verify_receipt(base64.urlsafe_b64encode(rfc8785.dumps(doc)).decode().rstrip("="), b"q", b"a")
    with pytest.raises(IdentityError, match="base64url"):
        verify_receipt("%%%", b"q", b"a")


# --- the middleware around a small real ASGI chat app --------------------------------------


def _chat_app() -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        if body.get("stream"):

            async def events() -> Any:
                for word in ("Hel", "lo"):
                    yield f"data: {json.dumps({'choices': [{'delta': {'content': word}}]})}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse({"choices": [{"message": {"content": "Hello"}}]})

    async def other(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", other)])


def test_middleware_serves_claim_challenge_and_json_receipts(claim: Claim, key: Ed25519Key) -> None:
    http = TestClient(IdentityMiddleware(_chat_app(), claim, key))
    assert Claim.from_document(http.get("/.well-known/model-identity").json()) == claim
    nonce = new_nonce()
    answer = http.post("/.well-known/model-identity/challenge", json={"nonce": nonce, "origin": ORIGINS[0]})
    assert verify_challenge(answer.json(), nonce).claim == claim
    short = {"nonce": "short", "origin": ORIGINS[0]}
    assert http.post("/.well-known/model-identity/challenge", json=short).status_code == 400
    assert http.post("/.well-known/model-identity/challenge", json={"nonce": nonce}).status_code == 400
    assert http.post("/.well-known/model-identity/challenge", json=[nonce]).status_code == 400
    relay = http.post("/.well-known/model-identity/challenge", json={"nonce": nonce, "origin": "https://relay.example"})
    assert relay.status_code == 403 and relay.json()["origins"] == list(ORIGINS)
    request = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    resp = http.post("/v1/chat/completions", content=request, headers={"content-type": "application/json"})
    assert resp.json()["choices"][0]["message"]["content"] == "Hello"
    assert verify_receipt(resp.headers[RECEIPT_HEADER], request, resp.content).operator == key.did
    assert RECEIPT_HEADER not in http.get("/v1/models").headers


def test_middleware_streaming_receipt_after_done(claim: Claim, key: Ed25519Key) -> None:
    http = TestClient(IdentityMiddleware(_chat_app(), claim, key))
    request = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
    resp = http.post("/v1/chat/completions", content=request, headers={"content-type": "application/json"})
    assert resp.headers[RECEIPT_HEADER] == "sse"
    covered, header = split_sse_receipt(resp.content)
    assert covered.endswith(b"data: [DONE]\n\n")
    assert verify_receipt(header, request, covered).release == REL
    with pytest.raises(IdentityError):
        verify_receipt(header, request, covered.replace(b"Hel", b"Bye"))


def test_middleware_refuses_a_key_that_is_not_the_claims(claim: Claim) -> None:
    from registry.errors import InputError

    with pytest.raises(InputError):
        IdentityMiddleware(_chat_app(), claim, Ed25519Key.generate())
