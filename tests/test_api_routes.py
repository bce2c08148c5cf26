"""Every documented route, walked: each operation in /openapi.json is called with valid parameters
taken from a real world (a release, its weights and manifest, a behaviour job, a signed receipt),
answers a documented status, and its body validates against the documented schema; the typed
answer is exactly the JSON the route built (no member dropped, none added). The published schemas
have no free-form object, the enums match the domain's, and /docs and /redoc work offline."""

from __future__ import annotations

import json
import re
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
import jsonschema_rs
import pytest
from fastapi.encoders import jsonable_encoder
from test_api import REL, World

from registry import verdict
from registry.confusables import REASONS
from registry.hashing.model import hash_model
from registry.identity.protocol import Claim, make_receipt
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest
from registry.verdict import WARNING_CODES
from verifier import behaviour, schemas

JOB_REL = ReleaseName("deepseek", "chat", "2.0.0")  # single-file weights the verifier holds a reference for
NOT_A_CHATBOT = "http://127.0.0.1:9"  # loopback: refused by the guard, nothing is contacted
METHODS = ("get", "post", "put", "patch", "delete")


class Walk:
    """The world, plus what a walk needs: a second release with reference weights, a finished
    behaviour job, and a receipt signed by an operator key."""

    def __init__(self, world: World, tmp: Path) -> None:
        self.world = world
        http = world.http
        assert http.post("/v1/manifests", json=world.manifest.document()).status_code == 201
        weights = tmp / "weights.gguf"
        weights.write_bytes(b"GGUF" + bytes(range(256)) * 64)  # not a model: a replay fails at once
        md = hash_model(weights)
        manifest = sign_manifest(Manifest.create(JOB_REL, world.key.did, md), world.key)
        world.client.publish(JOB_REL, manifest.digest.value, md.weights.value, world.key.did)
        world.sync()
        world.app.state.services.behaviour.store.add(weights)
        started = http.post("/v1/behaviour-checks", params={"url": NOT_A_CHATBOT, "release": str(JOB_REL)})
        assert started.status_code == 202, started.text
        self.job = started.json()["id"]
        deadline = time.monotonic() + 120
        while http.get(f"/v1/behaviour-checks/{self.job}").json()["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the behaviour job did not finish"
            time.sleep(0.2)
        operator = Ed25519Key.generate()
        view = world.app.state.services.chain_view()
        claim = Claim(
            REL, world.manifest.weights.digest, operator.did, view.chain_id, view.registry, ("https://x.test",)
        )
        request = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "temperature": 0})
        answer = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}]})
        self.audit = {"request": request, "response": answer, "receipt": make_receipt(claim, operator, request.encode(),
                                                                                     answer.encode())}  # fmt: skip
        self.check_job = self.finished_job(
            http.post("/v1/check-jobs", params={"url": NOT_A_CHATBOT, "release": str(REL)})
        )
        self.audit_job = self.finished_job(http.post("/v1/receipt-audit-jobs", json=self.audit))

    def finished_job(self, started: Any) -> str:
        assert started.status_code == 202, started.text
        status_url = started.json()["statusUrl"]
        assert started.headers["location"] == status_url
        deadline = time.monotonic() + 120
        while self.world.http.get(status_url).json()["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"{status_url} did not finish"
            time.sleep(0.1)
        job_id: str = started.json()["id"]
        return job_id

    def path_values(self, path: str) -> dict[str, str]:
        w = self.world
        return {
            "name": "deepseek",
            "namespace": REL.namespace,
            "model": REL.model,
            "version": REL.version,
            "digest": w.manifest.digest.hex if path.startswith("/v1/manifests") else w.manifest.weights.digest,
            "job_id": self.check_job
            if path.startswith("/v1/check-jobs")
            else self.audit_job
            if path.startswith("/v1/receipt-audit-jobs")
            else self.job,
        }

    def query(self, path: str, params: list[dict[str, Any]]) -> dict[str, str]:
        release = str(JOB_REL) if path.startswith("/v1/behaviour-checks") else str(REL)
        known = {"url": NOT_A_CHATBOT, "release": release}
        return {p["name"]: known[p["name"]] for p in params if p["in"] == "query" and p.get("required")}

    def body(self, path: str) -> Any:
        if path in ("/v1/receipt-audits", "/v1/receipt-audit-jobs"):
            return self.audit
        if path.startswith("/v1/manifests"):
            return self.world.manifest.document()
        return None


@pytest.fixture
def world(anvil_url: str, tmp_path: Path, model_dir: Path) -> World:
    return World(anvil_url, tmp_path, model_dir)


@pytest.fixture
def walk(world: World, tmp_path: Path) -> Walk:
    return Walk(world, tmp_path)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any]]]:
    """Each typed answer beside the JSON the route built (what it would send without a model)."""
    seen: list[tuple[Any, Any]] = []
    typed = fastapi.routing.serialize_response

    async def both(**kwargs: Any) -> Any:
        content = await typed(**kwargs)
        sent = json.loads(content) if isinstance(content, bytes | str) else jsonable_encoder(content)
        seen.append((json.loads(json.dumps(jsonable_encoder(kwargs["response_content"]))), sent))
        return content

    monkeypatch.setattr(fastapi.routing, "serialize_response", both)
    yield seen


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def assert_documented(spec: dict[str, Any], op: dict[str, Any], resp: Any) -> None:
    where = f"{op['operationId']} answered {resp.status_code}"
    documented = op["responses"].get(str(resp.status_code))
    assert documented is not None, f"{where}, which is not documented: {resp.text[:500]}"
    media = resp.headers["content-type"].split(";")[0]
    assert media in documented.get("content", {}), f"{where} as {media}, documented {list(documented['content'])}"
    errors = [str(e) for e in validator(spec, documented["content"][media]["schema"]).iter_errors(resp.json())]
    assert not errors, f"{where}: the body does not match its schema: {errors[:5]}"


def test_every_documented_operation_answers_as_documented(walk: Walk, answers: list[tuple[Any, Any]]) -> None:
    http = walk.world.http
    spec = http.get("/openapi.json").json()
    walked = []
    for path, method, op in operations(spec):
        url = path.format(**walk.path_values(path))
        answers.clear()
        resp = http.request(
            method.upper(), url, params=walk.query(path, op.get("parameters", [])), json=walk.body(path)
        )
        assert 200 <= resp.status_code < 300, f"{method.upper()} {url}: {resp.status_code} {resp.text[:500]}"
        assert_documented(spec, op, resp)
        assert len(answers) == 1, f"{op['operationId']} answered without its response model"
        built, sent = answers[0]
        same = json.dumps(sent, sort_keys=True) == json.dumps(built, sort_keys=True)  # 1 and 1.0 differ here
        assert same, f"{op['operationId']}: the typed answer differs from the built one:\n{sent}\n{built}"
        walked.append(op["operationId"])
    assert len(walked) == len(set(walked)) >= 18, walked


def test_unknown_resources_answer_documented_problems(walk: Walk) -> None:
    http = walk.world.http
    spec = http.get("/openapi.json").json()
    unknown = {"name": "nobody", "namespace": "nobody", "model": "none", "version": "0.0.0", "digest": "00" * 32,
               "job_id": "0000"}  # fmt: skip
    tried = 0
    for path, method, op in operations(spec):
        if "{" not in path:
            continue
        resp = http.request(method.upper(), path.format(**unknown), params=walk.query(path, op.get("parameters", [])))
        if resp.status_code == 200 and path.endswith("/confusables"):
            continue  # any name has a standing
        assert resp.status_code == 404, (path, resp.status_code, resp.text)
        assert_documented(spec, op, resp)
        tried += 1
    assert tried >= 6


def test_endorsements_of_a_release_are_listed(walk: Walk) -> None:
    resp = walk.world.http.get(f"/v1/releases/{REL}/endorsements")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["release"] == str(REL)
    [endorsement] = body["endorsements"]
    assert endorsement["kind"] == "filing.submitted" and endorsement["trusted"] is True


# --- the published schemas ---------------------------------------------------------------------


def free_form_objects(spec: dict[str, Any]) -> list[str]:
    """Every place a response schema (followed through $ref) is an object without declared members."""
    components = spec["components"]["schemas"]
    found: list[str] = []
    seen: set[str] = set()

    def visit(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                visit(components[name], name)
            return
        extra = node.get("additionalProperties")
        if (
            (node.get("type") == "object" or extra is True)
            and not node.get("properties")
            and not isinstance(extra, dict)
        ):
            found.append(where)
        for key, child in (node.get("properties") or {}).items():
            visit(child, f"{where}.{key}")
        for key in ("items", "additionalProperties"):
            visit(node.get(key), f"{where}[]")
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for i, child in enumerate(node.get(key) or ()):
                visit(child, f"{where}|{i}")

    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                visit(content.get("schema"), f"{method.upper()} {path} {status} {media}")
    return found


def test_no_response_schema_is_a_free_form_object(world: World) -> None:
    spec = world.http.get("/openapi.json").json()
    assert free_form_objects(spec) == []
    free = {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}
    assert free_form_objects({"paths": {"/x": {"get": {"responses": {"200": free}}}}, "components": {"schemas": {}}})
    schemas_ = spec["components"]["schemas"]
    for name in ("CheckVerdict", "Release", "ProblemDetails"):
        assert schemas_[name].get("examples"), f"{name} has no example"
        errors = [str(e) for e in validator(spec, schemas_[name]).iter_errors(schemas_[name]["examples"][0])]
        assert not errors, (name, errors)
    verdict_ref = schemas_["CheckVerdict"]["properties"]["verdict"]["$ref"]
    assert (
        verdict_ref.endswith("/VerdictWord")
        and schemas_["ManifestVerdict"]["properties"]["verdict"]["$ref"] == verdict_ref
    )
    assert schemas_["VerdictWord"]["enum"] == ["verified", "unverified", "mismatch", "revoked"]
    assert schemas_["CheckStatus"]["enum"] == ["pass", "fail", "skip", "error"]
    assert schemas_["WarningCode"]["enum"] == list(WARNING_CODES)
    assert schemas_["Evidence"]["description"] and schemas_["Evidence"]["additionalProperties"] is True


def test_every_error_status_is_documented_as_problem_details(world: World) -> None:
    spec = world.http.get("/openapi.json").json()
    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
                }, (path, method, status)
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"]
        if path != "/v1/health":
            assert "429" in op["responses"], (path, method)
    documented = {op["operationId"]: set(op["responses"]) for _, _, op in operations(spec)}
    assert {"404", "422", "503"} <= documented["startBehaviourCheck"]
    assert {"400", "409", "413", "422"} <= documented["uploadManifest"] and "200" in documented["uploadManifest"]
    assert {"422", "503"} <= documented["check"]
    assert {"202", "404"} <= set(documented["startCheckJob"]) | set(documented["getCheckJob"])
    assert {"202", "422", "503"} <= documented["startReceiptAuditJob"]
    assert {"200", "202", "422", "503"} <= documented["auditReceipt"]  # 202: a worker has not finished it yet
    assert "Location" in spec["paths"]["/v1/receipt-audits"]["post"]["responses"]["202"]["headers"]


def test_enums_are_the_domains() -> None:
    assert tuple(schemas.ConfusionReason) == REASONS
    assert tuple(schemas.VerdictWord) == typing.get_args(verdict.VerdictWord)
    assert tuple(schemas.CheckStatus) == typing.get_args(verdict.Status)
    assert tuple(schemas.WarningCode) == typing.get_args(verdict.WarningCode) == tuple(verdict.WARNING_CODES)
    assert tuple(schemas.JobState) == typing.get_args(typing.get_type_hints(behaviour.Job)["state"])
    artifact = Path(__file__).parents[1] / "artifacts/contracts/ModelRegistry.sol/ModelRegistry.json"
    abi = json.loads(artifact.read_text())["abi"]
    assert set(typing.get_args(schemas.EventName)) == {e["name"] for e in abi if e["type"] == "event"}
    declared = {schemas.EventArgs.model_fields[f].alias for f in schemas.EventArgs.model_fields}
    assert declared == {i["name"] for e in abi if e["type"] == "event" for i in e["inputs"]}


# --- the documentation pages, offline ---------------------------------------------------------

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'|spec-url=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_verifier(world: World, page: str) -> None:
    resp = world.http.get(page)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]+)", csp)
    assert script_src is not None and "'self'" in script_src[1] and "http" not in csp and "*" not in csp, csp
    assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in script_src[1], csp
    urls = [next(u for u in m if u) for m in ASSET.findall(resp.text)]
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}
    for url in urls:
        asset = world.http.get(url)
        assert asset.status_code == 200, url
        wanted = next(kind for suffix, kind in kinds.items() if url.endswith(suffix))
        assert wanted in asset.headers["content-type"], (url, asset.headers["content-type"])
    assert "cdn" not in resp.text.lower() and "googleapis" not in resp.text
