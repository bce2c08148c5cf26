"""The OpenAPI contract, checked by schemathesis against a real running verifier (uvicorn, over a
real anvil with a real published release and an uploaded manifest): no 5xx, every response as
documented (status, content type, headers, schema), every error as problem details, every 405
with ``Allow``. ``make test`` runs it with a fixed seed and few examples per operation;
``make bench`` runs it longer (MODELSEAL_SCHEMATHESIS_EXAMPLES)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import serve_app
from test_api import World

from verifier.app import create_app

SEED = 20261129
EXAMPLES = int(os.environ.get("MODELSEAL_SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture
def live(anvil_url: str, tmp_path: Path, model_dir: Path) -> Iterator[tuple[str, World]]:
    world = World(anvil_url, tmp_path, model_dir)
    world.http.post("/v1/manifests", json=world.manifest.document())
    # the generous limits of a load test: the rate limits have their own tests
    settings = world.settings.model_copy(update={"rate_limit": "100000/minute", "outbound_rate_limit": "100000/minute",
                                                 "target_rate_limit": "100000/minute"})  # fmt: skip
    app = create_app(settings, services=world.app.state.services)
    with serve_app(app) as url:
        yield url, world


def test_the_api_keeps_its_openapi_contract(live: tuple[str, World], tmp_path: Path) -> None:
    base, _ = live
    report = tmp_path / "events.ndjson"
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
            "run", f"{base}/openapi.json",
            "--seed", str(SEED), "--max-examples", str(EXAMPLES),
            # one worker: CPython 3.11.7's compiler is not thread-safe (hypothesis describes filters
            # with ast.parse; two threads at once crashed schemathesis with "SystemError: AST
            # constructor recursion depth mismatch", a CPython bug fixed in later 3.11 releases)
            "--request-timeout", "30", "--workers", "1",
            "--report", "ndjson", "--report-ndjson-path", str(report), "--no-color",
        ],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    (tmp_path / "schemathesis.txt").write_text(proc.stdout + proc.stderr)
    summary = proc.stdout[-20000:]
    assert proc.returncode == 0, summary
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    checks = {name for line in report.read_text().splitlines() for name in re.findall(r'"name": ?"([a-z_]+)"', line)}
    wanted = {"not_a_server_error", "status_code_conformance", "content_type_conformance",
              "response_schema_conformance", "response_headers_conformance", "unsupported_method",
              "allow_header_conformance"}  # fmt: skip
    assert wanted <= checks, checks
    found = re.search(r"(\d+) generated, (\d+) passed", proc.stdout)
    assert events and found is not None and found[1] == found[2] and int(found[1]) >= 18 * 5, summary
    print(f"schemathesis: {found[1]} cases, all passed (seed {SEED}, {EXAMPLES} examples per operation)")
