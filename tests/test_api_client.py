"""A typed client, generated from the verifier's OpenAPI, reads a real verifier's answers.

The client is generated at test time by openapi-python-client (pinned in pyproject.toml's
``codegen`` dependency group, installed in a virtual environment of its own because its typer cap
conflicts with the CLI's), imported, and called against a verifier served by uvicorn over a real
anvil: every answer must parse into the generated models, enums included. That is the contract an
app store builds on."""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api import REL, World
from test_api_contract import live  # noqa: F401  (the fixture: a verifier on uvicorn over a real world)

REPO = Path(__file__).resolve().parents[1]
NOT_A_CHATBOT = "http://127.0.0.1:9"


def codegen_requirements() -> list[str]:
    group: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]["codegen"]
    return group


@pytest.fixture(scope="session")
def generator() -> Path:
    """The openapi-python-client executable, installed once per pinned version."""
    requirements = codegen_requirements()
    home = (
        REPO / ".modelseal" / "tools" / ("codegen-" + hashlib.sha256(" ".join(requirements).encode()).hexdigest()[:12])
    )
    exe = home / "bin" / "openapi-python-client"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs never build it at once
        if not exe.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True, timeout=300)
            pip = [str(home / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, *requirements], check=True, timeout=900)
    return exe


@pytest.fixture
def client_package(request: pytest.FixtureRequest, generator: Path, tmp_path: Path) -> Iterator[tuple[Any, str, World]]:
    base, world = request.getfixturevalue("live")
    spec = tmp_path / "openapi.json"
    spec.write_text(httpx.get(f"{base}/openapi.json").text)
    out = tmp_path / "generated" / "modelseal_client"
    env = {**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff hook
    done = subprocess.run(
        [str(generator), "generate", "--path", str(spec), "--output-path", str(out), "--meta", "none",
         "--fail-on-warning"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(out.parent))
    try:
        package = importlib.import_module("modelseal_client")
        yield package, base, world
    finally:
        sys.path.remove(str(out.parent))
        for name in [m for m in sys.modules if m == "modelseal_client" or m.startswith("modelseal_client.")]:
            del sys.modules[name]


def test_a_generated_client_reads_typed_answers(client_package: tuple[Any, str, World]) -> None:
    package, base, world = client_package
    models = importlib.import_module("modelseal_client.models")

    def op(group: str, name: str) -> Any:
        return importlib.import_module(f"modelseal_client.api.{group}.{name}")

    client = package.Client(base_url=base, raise_on_unexpected_status=True, timeout=60)

    health = op("health", "health").sync(client=client)
    assert isinstance(health, models.Health) and health.status == models.HealthStatus.OK
    assert health.chain.registry == world.client.address

    namespace = op("namespaces", "get_namespace").sync("deepseek", client=client)
    assert isinstance(namespace, models.Namespace) and namespace.name == "deepseek"
    assert [r.release for r in namespace.releases] == [str(REL)]
    assert {e.event for e in namespace.history} >= {models.EventEvent.NAMESPACECLAIMED}

    release = op("releases", "get_release").sync(REL.namespace, REL.model, REL.version, client=client)
    assert isinstance(release, models.ReleaseDetail) and release.weights_digest == world.manifest.weights.digest
    assert (
        release.manifest.type_ == "modelseal/manifest/v1"
        and release.manifest.weights.kind == models.ManifestWeightsKind.FOLDER
    )
    assert release.manifest.filing.number == "Beijing-DS-2026-001"

    missing = op("releases", "get_release").sync("deepseek", "chat", "9.9", client=client)
    assert isinstance(missing, models.ProblemDetails) and missing.status == 404

    matches = op("releases", "releases_by_weights").sync(world.manifest.weights.digest, client=client)
    assert isinstance(matches, models.WeightsMatches) and matches.count == 1

    endorsements = op("endorsements", "list_endorsements").sync(REL.namespace, REL.model, REL.version, client=client)
    assert isinstance(endorsements, models.EndorsementList)
    assert [(e.kind, e.trusted) for e in endorsements.endorsements] == [("filing.submitted", True)]

    filings = op("endorsements", "list_filings").sync(client=client)
    assert isinstance(filings, models.FilingList)
    [filing] = filings.filings
    assert filing.status == models.FilingStatus.SUBMITTED and filing.filing_number == "Beijing-DS-2026-001"

    feed = op("monitor", "feed").sync(client=client, namespace="deepseek")
    assert isinstance(feed, models.Feed) and feed.events[0].event == models.EventEvent.NAMESPACECLAIMED
    assert feed.next_cursor == feed.events[-1].cursor

    verdict = op("check", "check").sync(client=client, url_query=NOT_A_CHATBOT, release=str(REL))
    assert isinstance(verdict, models.CheckVerdict)
    assert verdict.verdict == models.VerdictWord.UNVERIFIED
    assert verdict.chain.development is True and verdict.subject.url == NOT_A_CHATBOT
    assert models.WarningCode.DEV_CHAIN in {w.code for w in verdict.warnings}
    statuses = {c.name: c.status for c in verdict.checks}
    assert statuses["release"] == models.CheckStatus.PASS and statuses["identity"] == models.CheckStatus.FAIL
    identity = next(c for c in verdict.checks if c.name == "identity")
    assert identity.evidence.reason == "loopback"
