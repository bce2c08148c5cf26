"""Behavioural checks on the PostgreSQL task queue (MODELSEAL_JOBS=queue): asked of a verifier
replica (a real `modelseal verifier serve` process), run by a real `modelseal verifier worker`
process that holds the reference weights (the replica does not), against a real llama.cpp
chatbot; the result is the replica's to report."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_identity_e2e import REL, Env

from registry.chain.devchain import free_port
from tools.postgres import new_database
from tools.waiting import wait_http


@pytest.fixture
def env(tmp_path: Path, smollm_model: Path) -> Iterator[Env]:
    e = Env(tmp_path, smollm_model)
    try:
        yield e
    finally:
        e.close()


def test_a_check_asked_of_a_replica_runs_on_the_worker(env: Env, postgres_server: str, tmp_path: Path) -> None:
    honest = env.serve("honest")
    database_url = new_database(postgres_server)
    common = {
        **env.env,
        "MODELSEAL_DEPLOY_BLOCK": str(env.client.deploy_block),
        "MODELSEAL_DATABASE_URL": database_url,
        "MODELSEAL_JOBS": "queue",
        "MODELSEAL_ALLOW_LOOPBACK_TARGETS": "true",
    }
    worker_home = tmp_path / "worker-home"
    subprocess.run(
        [sys.executable, "-m", "registry", "reference", "add", str(env.model), "--home", str(worker_home)],
        env=common, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    replica_log, worker_log = (tmp_path / "replica.log").open("wb"), (tmp_path / "worker.log").open("wb")
    replica = subprocess.Popen(
        [sys.executable, "-m", "registry", "verifier", "serve", "--port", str(port)],
        env={**common, "MODELSEAL_HOME": str(tmp_path / "replica-home")}, stdout=replica_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "registry", "verifier", "worker"],
        env={**common, "MODELSEAL_HOME": str(worker_home)}, stdout=worker_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/v1/health", replica)
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/v1/releases/{REL}", timeout=10).status_code != 200:  # indexed yet?
            assert time.monotonic() < deadline, "the replica did not index the release"
            time.sleep(0.2)
        started = httpx.post(base + "/v1/behaviour-checks", params={"url": honest, "release": str(REL)}, timeout=30)
        assert started.status_code == 202, started.text  # the replica holds no reference weights: the worker does
        status_url = base + started.json()["statusUrl"]
        deadline = time.monotonic() + 240
        job = started.json()
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(1)
            job = httpx.get(status_url, timeout=10).json()
        assert job["state"] == "done", job
        assert job["check"]["status"] == "pass", job
        verdict = httpx.get(base + "/v1/check", params={"url": honest, "release": str(REL)}, timeout=120).json()
        behaviour = next(c for c in verdict["checks"] if c["name"] == "behaviour")
        assert behaviour["status"] == "pass" and behaviour["evidence"]["job"] == job["id"]
        assert "behaviour-not-established" not in {w["code"] for w in verdict["warnings"]}
    finally:
        for proc in (replica, worker):
            proc.terminate()
        for proc in (replica, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    logged = (tmp_path / "worker.log").read_text(errors="replace")
    assert "Traceback" not in logged, logged[-3000:]
    assert os.path.exists(worker_home / "references")
