"""Endpoint checks and receipt audits as jobs, in-process (SQLite, the one-machine default), through
the real app over a real anvil: a check job answers the very verdict ``GET /v1/check`` gives, an
audit job the audit ``POST /v1/receipt-audits`` gives; an unreachable chatbot is an ``error``,
never ``verified``; bad input and unknown ids are problems; the pending bound answers 503. The
job stores on SQLite and a real PostgreSQL: a lost job is reported failed and its late result
dropped, retention deletes old jobs but never a chatbot's newest decisive behavioural result.
(The queue mode, with real worker processes, is tests/test_worker.py.)"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session
from test_api import REL, World, problem

from registry.chain.devchain import free_port
from registry.identity.protocol import Claim, make_receipt
from registry.signing.keys import Ed25519Key
from registry.verdict import Check
from verifier.app import create_app
from verifier.behaviour import Job
from verifier.index.schema import BehaviourJobRow, JobRow, make_engine
from verifier.jobs import MAX_PENDING, QUEUED_SECONDS, RUNNING_SECONDS, JobStore, TaskStore, parse_queues

NOT_A_CHATBOT = "http://127.0.0.1:9"  # loopback: refused by the guard, nothing is contacted


@pytest.fixture
def world(anvil_url: str, tmp_path: Path, model_dir: Path) -> World:
    return World(anvil_url, tmp_path, model_dir)


def finished(http: Any, started: Any) -> dict[str, Any]:
    assert started.status_code == 202, started.text
    assert started.headers["location"] == started.json()["statusUrl"]
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = http.get(started.json()["statusUrl"]).json()
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def comparable(verdict: dict[str, Any]) -> dict[str, Any]:
    """A verdict without the moment it was made."""
    return {**verdict, "subject": {k: v for k, v in verdict["subject"].items() if k != "checkedAt"}}


def kept_answer(world: World) -> dict[str, str]:
    """A kept answer with a valid receipt by an operator key, for the world's release."""
    operator = Ed25519Key.generate()
    view = world.app.state.services.chain_view()
    claim = Claim(REL, world.manifest.weights.digest, operator.did, view.chain_id, view.registry, ("https://x.test",))
    request = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "temperature": 0})
    answer = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}]})
    receipt = make_receipt(claim, operator, request.encode(), answer.encode())
    return {"request": request, "response": answer, "receipt": receipt}


def test_a_check_job_answers_the_verdict_of_the_check(world: World) -> None:
    http = world.http
    params = {"url": NOT_A_CHATBOT, "release": str(REL)}
    started = http.post("/v1/check-jobs", params=params)
    assert started.json()["state"] in ("queued", "running", "done") and len(started.json()["id"]) == 32
    job = finished(http, started)
    assert job["state"] == "done" and job["error"] is None, job
    assert job["url"] == NOT_A_CHATBOT and job["release"] == str(REL)
    direct = http.get("/v1/check", params=params).json()
    assert comparable(job["verdict"]) == comparable(direct)
    assert job["verdict"]["verdict"] == "unverified"
    without_release = finished(http, http.post("/v1/check-jobs", params={"url": NOT_A_CHATBOT}))
    assert without_release["state"] == "done" and without_release["release"] is None
    assert comparable(without_release["verdict"]) == comparable(
        http.get("/v1/check", params={"url": NOT_A_CHATBOT}).json()
    )


def test_an_audit_job_answers_the_audit(world: World) -> None:
    http = world.http
    kept = kept_answer(world)
    job = finished(http, http.post("/v1/receipt-audit-jobs", json=kept))
    assert job["state"] == "done", job
    direct = http.post("/v1/receipt-audits", json=kept)
    assert direct.status_code == 200  # in-process: the synchronous route stays synchronous
    assert job["audit"] == direct.json()
    assert job["audit"]["decision"] == "not-auditable"  # this verifier holds no reference weights
    assert "reference weights" in job["audit"]["detail"]
    svc = world.app.state.services
    with Session(svc.engine) as s:  # the audit's input (a user's private exchange) is not kept
        assert s.get(JobRow, job["id"]).input_json is None  # type: ignore[union-attr]


def test_an_unreachable_chatbot_is_an_error_never_verified(world: World) -> None:
    settings = world.settings.model_copy(update={"allow_loopback_targets": True})
    app = create_app(settings)
    from fastapi.testclient import TestClient

    http = TestClient(app)
    app.state.services.indexer.sync_once()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: the connection is refused
    job = finished(http, http.post("/v1/check-jobs", params={"url": closed, "release": str(REL)}))
    assert job["state"] == "error", job
    assert "could not be reached" in job["error"]
    assert job["verdict"]["verdict"] != "verified"  # the verdict beside the error, as /v1/check gives it
    assert any(c["evidence"].get("reason") == "connect-failed" for c in job["verdict"]["checks"])


def test_bad_input_and_unknown_jobs_are_problems(world: World) -> None:
    http = world.http
    problem(http.post("/v1/check-jobs", params={"url": "ftp://chat.example"}), 422)
    problem(http.post("/v1/check-jobs", params={"url": NOT_A_CHATBOT, "release": "no/such"}), 422)
    problem(http.post("/v1/check-jobs"), 422)
    kept = kept_answer(world)
    forged = problem(http.post("/v1/receipt-audit-jobs", json={**kept, "response": kept["response"] + " "}), 422)
    assert forged["type"].endswith("verification-failed")
    problem(http.post("/v1/receipt-audit-jobs", json={**kept, "extra": 1}), 422)
    with Session(world.app.state.services.engine) as s:
        assert s.scalar(text("SELECT count(*) FROM jobs")) == 0  # nothing was queued
    for path in ("/v1/check-jobs/", "/v1/receipt-audit-jobs/"):
        body = problem(http.get(path + "0" * 32), 404)
        assert body["type"].endswith("job-not-found")
    check_job = finished(http, http.post("/v1/check-jobs", params={"url": NOT_A_CHATBOT}))
    problem(http.get(f"/v1/receipt-audit-jobs/{check_job['id']}"), 404)  # an id names one kind of job
    problem(http.get(f"/v1/behaviour-checks/{check_job['id']}"), 404)
    audit_job = finished(http, http.post("/v1/receipt-audit-jobs", json=kept))
    problem(http.get(f"/v1/check-jobs/{audit_job['id']}"), 404)
    assert http.get("/v1/receipt-audit-jobs").status_code in (404, 405)  # audit jobs are never listed


def test_check_jobs_beyond_the_bound_are_refused_with_retry_after(world: World) -> None:
    svc = world.app.state.services
    for _ in range(MAX_PENDING[("check", "in-process")]):
        svc.tasks.add("check", {"url": NOT_A_CHATBOT, "release": None})  # queued, never handed to a runner
    refused = world.http.post("/v1/check-jobs", params={"url": NOT_A_CHATBOT})
    problem(refused, 503)
    assert int(refused.headers["retry-after"]) > 0
    metrics = world.http.get("/metrics").text
    assert 'modelseal_jobs_pending{kind="check"} 256.0' in metrics
    assert 'modelseal_refused_total{limit="check-jobs"} 1.0' in metrics


# --- the stores, on SQLite and PostgreSQL -------------------------------------------------------


def _age(engine: Any, table: Any, job_id: str, **values: float) -> None:
    """Move a job's times into the past (as if it had been asked for, or started, that long ago)."""
    with Session(engine) as s, s.begin():
        s.execute(update(table).where(table.id == job_id).values(**values))


def test_a_lost_job_is_reported_failed_and_its_late_result_dropped(database_url: str) -> None:
    engine = make_engine(database_url)
    store = TaskStore(engine)
    running = store.add("check", {"url": NOT_A_CHATBOT, "release": None})
    claimed = store.claim(running.id)
    assert claimed is not None and claimed.state == "running" and store.claim(running.id) is None  # once
    assert store.pending("check") == 1
    _age(engine, JobRow, running.id, started=time.time() - RUNNING_SECONDS["check"] - 1)
    lost = store.get(running.id)
    assert lost is not None and lost.state == "error" and "did not finish" in (lost.error or "")
    assert store.pending("check") == 0
    verified = {"verdict": "verified", "checks": []}
    assert store.finish(claimed, result=verified) is False  # too late: what was reported stays
    after = store.get(running.id)
    assert after is not None and after.state == "error" and after.result is None

    queued = store.add("audit", {"request": "{}", "response": "{}", "receipt": "x"})
    _age(engine, JobRow, queued.id, created=time.time() - QUEUED_SECONDS - 1)
    never = store.get(queued.id)
    assert never is not None and never.state == "error" and "not started" in (never.error or "")
    assert store.claim(queued.id) is None and store.pending("audit") == 0

    erred = store.add("check", {"url": NOT_A_CHATBOT, "release": None})
    task = store.claim(erred.id)
    assert task is not None and store.finish(task, result=verified, error="could not reach it") is True
    failed = store.get(erred.id)
    assert failed is not None and failed.state == "error" and failed.result is None  # never a verified verdict


def test_retention_deletes_old_jobs(database_url: str) -> None:
    engine = make_engine(database_url)
    store = TaskStore(engine, retention_days=1, max_rows=3)
    old = store.add("check", {"url": NOT_A_CHATBOT, "release": None})
    lost = store.add("audit", {"request": "{}", "response": "{}", "receipt": "x"})
    for job in (old, lost):
        _age(engine, JobRow, job.id, created=time.time() - 2 * 86400)
    recent = []
    for _ in range(5):
        task = store.add("check", {"url": NOT_A_CHATBOT, "release": None})
        claimed = store.claim(task.id)
        assert claimed is not None
        store.finish(claimed, result={"verdict": "unverified"})
        recent.append(task.id)
    assert store.get(old.id) is None and store.get(lost.id) is None  # older than the retention
    kept = [i for i in recent if store.get(i) is not None]
    assert kept == recent[-3:]  # the row bound: the newest three finished jobs


def _behaviour_job(store: JobStore, url: str, status: str | None, age_days: float) -> str:
    job = Job(os.urandom(8).hex(), url, "ab/c/1", created=time.time() - age_days * 86400)
    store.add(job, "00" * 32)
    job.state = "done" if status else "error"
    job.check = Check("behaviour", status, "x") if status else None  # type: ignore[arg-type]
    job.error = None if status else "the endpoint answered 429"
    job.finished = job.created + 60
    with Session(store.engine) as s, s.begin():  # written without save(): no pruning yet
        row = s.get(BehaviourJobRow, job.id)
        assert row is not None
        row.state, row.finished, row.error = job.state, job.finished, job.error
        row.check_json = json.dumps(job.check.as_json()) if job.check else None
    return job.id


def test_behaviour_retention_never_drops_a_chatbots_newest_decisive_result(database_url: str) -> None:
    store = JobStore(make_engine(database_url), retention_days=1, max_rows=1000)
    a, b = "http://a.example", "http://b.example"
    a_mismatch = _behaviour_job(store, a, "fail", 10)  # a's only decisive result: old, but kept
    a_skip = _behaviour_job(store, a, "skip", 9)
    a_errors = [_behaviour_job(store, a, None, 5 + i / 10) for i in range(3)]
    b_old_match = _behaviour_job(store, b, "pass", 8)
    b_new_match = _behaviour_job(store, b, "pass", 0.5)
    assert store.prune() == 5
    left = {j.id for url in (a, b) for j in store.history(url, "ab/c/1")}
    assert left == {a_mismatch, b_new_match}, (a_skip, a_errors, b_old_match)
    assert store.history(a, "ab/c/1")[0].check.status == "fail"  # type: ignore[union-attr]

    bounded = JobStore(store.engine, retention_days=100, max_rows=1)
    c_error = _behaviour_job(bounded, "http://c.example", None, 0.3)
    c_match = _behaviour_job(bounded, "http://c.example", "pass", 0.1)
    assert bounded.prune() == 1  # beyond the row bound: the oldest three, but two are newest decisive results
    assert bounded.get(c_error) is None and [j.id for j in bounded.history("http://c.example", "ab/c/1")] == [c_match]
    assert [j.id for j in bounded.history(a, "ab/c/1")] == [a_mismatch]


def test_worker_queues_are_named_repeated_or_as_comma_lists() -> None:
    assert parse_queues(None) == ["behaviour", "checks", "audits"]
    assert parse_queues(["audits,behaviour"]) == parse_queues(["audits", "behaviour"]) == ["behaviour", "audits"]
    assert parse_queues(["checks", " checks "]) == ["checks"]
    with pytest.raises(ValueError, match="no queue 'check'"):
        parse_queues(["check"])


def test_queue_mode_fails_closed_when_the_worker_fails_an_audit(world: World, postgres_server: str) -> None:
    """A worker (here: the job store, as a worker uses it) takes the audit and fails: the
    synchronous route answers a 503 problem naming the job, never an audit it did not make."""
    import threading

    from fastapi.testclient import TestClient

    from tools.postgres import new_database

    settings = world.settings.model_copy(update={"database_url": new_database(postgres_server), "jobs": "queue"})
    app = create_app(settings)
    app.state.services.indexer.sync_once()
    store: TaskStore = app.state.services.tasks
    failed: list[str] = []

    def failing_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not failed:
            with Session(store.engine) as s:
                waiting = s.scalars(text("SELECT id FROM jobs WHERE state = 'queued'")).all()
            for job_id in waiting:
                task = store.claim(job_id)
                if task is not None:
                    store.finish(task, error="RuntimeError: the replay crashed")
                    failed.append(job_id)
            time.sleep(0.05)

    worker = threading.Thread(target=failing_worker)
    worker.start()
    try:
        answer = TestClient(app).post("/v1/receipt-audits", json=kept_answer(world))
    finally:
        worker.join()
    body = problem(answer, 503)
    assert body["job"] == failed[0] and "the replay crashed" in body["detail"]
    assert answer.headers["retry-after"]
    job = TestClient(app).get(f"/v1/receipt-audit-jobs/{failed[0]}").json()
    assert job["state"] == "error" and job["audit"] is None
