"""Jobs on the PostgreSQL task queue (MODELSEAL_JOBS=queue): asked of a verifier replica (a real
`modelseal verifier serve` process), run by real `modelseal verifier worker` processes against a
real llama.cpp chatbot, answered by the replica. A behavioural check runs on the worker that holds
the reference weights (the replica does not); an endpoint-check job runs on a worker that takes
only the `checks` queue and answers the verdict `GET /v1/check` gives, while it leaves audits
alone; audits (as jobs, and through the synchronous route, which answers 202 while no worker
takes them) run on a worker that takes `behaviour,audits` and give `match` for an honest answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_identity_e2e import REL, Env, _kept_answer
from test_jobs import HoldingChatbot, until

from registry.chain.devchain import free_port
from tools.postgres import new_database
from tools.waiting import wait_http
from verifier.index.schema import make_engine
from verifier.jobs import JobQueue, TaskStore


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


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "registry", "verifier", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def _poll(url: str, *watched: subprocess.Popen[bytes], timeout: float = 240) -> dict[str, Any]:
    """A job's document once it is no longer queued or running."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = httpx.get(url, timeout=10).json()
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline and all(p.poll() is None for p in watched), job
        time.sleep(0.5)


def _shape(verdict: dict[str, Any]) -> Any:
    """What a verdict says, without what differs between two runs (nonces, times)."""
    checks = [(c["name"], c["status"], c["required"], c["warning"]) for c in verdict["checks"]]
    return verdict["verdict"], verdict["release"], checks, sorted(w["code"] for w in verdict["warnings"])


def test_check_and_audit_jobs_run_on_the_workers_that_take_their_queues(
    env: Env, postgres_server: str, tmp_path: Path
) -> None:
    honest = env.serve("honest")
    kept = _kept_answer(honest)
    common = {
        **env.env,
        "MODELSEAL_DEPLOY_BLOCK": str(env.client.deploy_block),
        "MODELSEAL_DATABASE_URL": new_database(postgres_server),
        "MODELSEAL_JOBS": "queue",
        "MODELSEAL_ALLOW_LOOPBACK_TARGETS": "true",
    }
    weights_home = tmp_path / "weights-home"
    subprocess.run(
        [sys.executable, "-m", "registry", "reference", "add", str(env.model), "--home", str(weights_home)],
        env=common, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs = [_spawn(["serve", "--port", str(port)], {**common, "MODELSEAL_HOME": str(tmp_path / "replica-home")},
                    tmp_path / "replica.log")]  # fmt: skip
    try:
        wait_http(base + "/v1/health", procs[0])
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/v1/releases/{REL}", timeout=10).status_code != 200:  # indexed yet?
            assert time.monotonic() < deadline, "the replica did not index the release"
            time.sleep(0.2)
        audit_started = httpx.post(base + "/v1/receipt-audit-jobs", json=kept, timeout=30)
        check_started = httpx.post(base + "/v1/check-jobs", params={"url": honest, "release": str(REL)}, timeout=30)
        assert audit_started.status_code == check_started.status_code == 202, (audit_started.text, check_started.text)
        assert audit_started.json()["state"] == check_started.json()["state"] == "queued"  # no worker yet
        metrics = httpx.get(base + "/metrics", timeout=10).text
        assert 'modelseal_queue_depth{queue="checks"} 1.0' in metrics, metrics
        assert 'modelseal_queue_depth{queue="audits"} 1.0' in metrics
        assert 'modelseal_jobs_pending{kind="audit"} 1.0' in metrics

        checks_env = {**common, "MODELSEAL_HOME": str(tmp_path / "checks-home")}  # no reference weights here
        procs.append(_spawn(["worker", "--queue", "checks", "--concurrency", "4"], checks_env, tmp_path / "checks.log"))
        job = _poll(base + check_started.json()["statusUrl"], *procs)
        assert job["state"] == "done" and job["error"] is None, job
        assert job["verdict"]["verdict"] == "verified", job["verdict"]
        direct = httpx.get(base + "/v1/check", params={"url": honest, "release": str(REL)}, timeout=120).json()
        assert _shape(job["verdict"]) == _shape(direct)
        audit_url = base + audit_started.json()["statusUrl"]
        # asked for before the check, on a queue the checks worker does not take: still waiting
        assert httpx.get(audit_url, timeout=10).json()["state"] == "queued"

        waited = httpx.post(base + "/v1/receipt-audits", json=kept, timeout=120)  # no worker takes audits yet
        assert waited.status_code == 202, waited.text
        assert waited.headers["location"] == waited.json()["statusUrl"] and waited.json()["state"] == "queued"

        heavy_env = {**common, "MODELSEAL_HOME": str(weights_home)}
        procs.append(_spawn(["worker", "--queue", "behaviour", "--queue", "audits"], heavy_env, tmp_path / "heavy.log"))
        for url in (audit_url, base + waited.headers["location"]):
            audit_job = _poll(url, *procs)
            assert audit_job["state"] == "done", audit_job
            assert audit_job["audit"]["decision"] == "match", audit_job
            assert audit_job["audit"]["evidence"]["comparison"] == "exact"
        now = httpx.post(base + "/v1/receipt-audits", json=kept, timeout=120)
        assert now.status_code in (200, 202), now.text  # the worker's replay, or its job if that takes longer
        audit = now.json() if now.status_code == 200 else _poll(base + now.json()["statusUrl"], *procs)["audit"]
        assert audit["decision"] == "match", audit
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    for name in ("checks.log", "heavy.log", "replica.log"):
        logged = (tmp_path / name).read_text(errors="replace")
        assert "Traceback" not in logged, (name, logged[-3000:])


def test_a_worker_runs_as_many_checks_at_once_as_its_concurrency(
    env: Env, postgres_server: str, tmp_path: Path
) -> None:
    """``--concurrency N`` is N endpoint checks at once, more than asyncio's default executor has
    threads (where procrastinate runs a sync task): a slow chatbot counts the connections."""
    n = min(32, (os.cpu_count() or 1) + 4) + 2
    database_url = new_database(postgres_server)
    common = {
        **env.env,
        "MODELSEAL_DEPLOY_BLOCK": str(env.client.deploy_block),
        "MODELSEAL_DATABASE_URL": database_url,
        "MODELSEAL_JOBS": "queue",
        "MODELSEAL_ALLOW_LOOPBACK_TARGETS": "true",
        "MODELSEAL_HOME": str(tmp_path / "checks-home"),
    }
    store, queue = TaskStore(make_engine(database_url)), JobQueue(database_url)
    with HoldingChatbot() as bot:
        ids = []
        for _ in range(n):
            task = store.add("check", {"url": bot.url, "release": None})
            queue.defer_task("check", task.id)
            ids.append(task.id)
        queue.close()
        worker = _spawn(["worker", "--queue", "checks", "--concurrency", str(n)], common, tmp_path / "checks.log")
        try:
            reached = until(lambda: bot.peak >= n or worker.poll() is not None, timeout=120)
            peak = bot.peak
            bot.release()
            assert reached and peak == n, (peak, (tmp_path / "checks.log").read_text(errors="replace")[-3000:])
            for job_id in ids:
                assert until(lambda job_id=job_id: store.get(job_id).state not in ("queued", "running"))  # type: ignore[union-attr]
                job = store.get(job_id)
                assert job is not None and job.state == "done" and job.result is not None, job
                assert job.result["verdict"] == "unverified"  # no identity: nothing proven
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    logged = (tmp_path / "checks.log").read_text(errors="replace")
    assert "Traceback" not in logged, logged[-3000:]
