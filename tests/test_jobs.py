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
import select as selectors
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.orm import Session
from test_api import REL, World, problem

from registry.chain.devchain import free_port
from registry.errors import ChainError
from registry.identity.protocol import Claim, make_receipt
from registry.signing.keys import Ed25519Key
from registry.verdict import Check
from tools.postgres import new_database
from verifier.api import audit_polls
from verifier.app import create_app
from verifier.behaviour import Job
from verifier.index.schema import BehaviourJobRow, JobRow, make_engine
from verifier.jobs import (
    ERRORS,
    MAX_PENDING,
    MAX_PENDING_PER_CLIENT,
    PRUNE_BATCH,
    QUEUED_SECONDS,
    RUNNING_SECONDS,
    JobStore,
    TaskStore,
    parse_queues,
    run_task,
)

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
    assert task is not None and store.finish(task, result=verified, error="unreachable") is True
    failed = store.get(erred.id)
    assert failed is not None and failed.state == "error" and failed.result is None  # never a verified verdict
    assert failed.error == ERRORS["unreachable"]


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
    job = Job(os.urandom(8).hex(), url, "ab/c/1")
    store.add(job, "00" * 32)
    job.created = time.time() - age_days * 86400
    _age(store.engine, BehaviourJobRow, job.id, created=job.created)
    job.state = "done" if status else "error"
    job.check = Check("behaviour", status, "x") if status else None  # type: ignore[arg-type]
    job.error = None if status else "the endpoint answered 429"
    job.finished = job.created + 60
    with Session(store.engine) as s, s.begin():  # written without save(): no pruning yet
        row = s.get(BehaviourJobRow, job.id)
        assert row is not None
        row.state, row.finished, row.error = job.state, job.finished, job.error
        row.check_json = json.dumps(job.check.as_json()) if job.check else None
        row.decisive = status in ("pass", "fail")  # as save() writes it
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
                    store.finish(task, error="internal")
                    failed.append(job_id)
            time.sleep(0.05)

    worker = threading.Thread(target=failing_worker)
    worker.start()
    try:
        answer = TestClient(app).post("/v1/receipt-audits", json=kept_answer(world))
    finally:
        worker.join()
    body = problem(answer, 503)
    assert body["job"] == failed[0] and body["detail"] == f"the audit job failed: {ERRORS['internal']}"
    assert answer.headers["retry-after"]
    job = TestClient(app).get(f"/v1/receipt-audit-jobs/{failed[0]}").json()
    assert job["state"] == "error" and job["audit"] is None


# --- found in review: decided verdicts, retention, error words, bounds, clocks -------------------


def _closed(sock: socket.socket) -> bool:
    """Whether the peer of ``sock`` hung up (it gave up waiting)."""
    readable, _, _ = selectors.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class HoldingChatbot:
    """A real HTTP server on loopback that holds every request until released (or until its client
    gives up), and counts the connections it holds at once: a slow chatbot, as the verifier sees
    it. Released, it answers 404 (no identity: the check says ``unverified``)."""

    def __init__(self) -> None:
        self.active = self.peak = self.seen = 0
        self.released = False
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._hold(self)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _hold(self, handler: BaseHTTPRequestHandler) -> None:
        with self.cond:
            self.active += 1
            self.seen += 1
            self.peak = max(self.peak, self.active)
            self.cond.notify_all()
        try:
            while True:
                with self.cond:
                    if self.released:
                        break
                    self.cond.wait(0.05)
                if _closed(handler.connection):
                    return  # its client gave up: no longer a connection held
            body = b'{"error": "no identity here"}'
            handler.send_response(404)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(body)))
            handler.send_header("connection", "close")
            handler.end_headers()
            handler.wfile.write(body)
        finally:
            with self.cond:
                self.active -= 1
                self.cond.notify_all()

    def release(self) -> None:
        with self.cond:
            self.released = True
            self.cond.notify_all()

    def __enter__(self) -> HoldingChatbot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class GarbageServer:
    """A real TCP server that answers every request with bytes that are not HTTP."""

    def __init__(self) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(65536)
                self.request.sendall(b"this is not HTTP at all\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> GarbageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def until(predicate: Callable[[], bool], timeout: float = 60) -> bool:
    """Wait for ``predicate`` (a deadline against hangs, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _loopback_app(world: World, **settings: Any) -> tuple[Any, TestClient]:
    app = create_app(world.settings.model_copy(update={"allow_loopback_targets": True, **settings}))
    app.state.services.indexer.sync_once()
    return app, TestClient(app)


def test_a_decided_verdict_is_done_whatever_the_endpoint_did(world: World) -> None:
    """A chatbot that answers garbage is judged (``done``, unverified), not "try again later"; a
    revoked release is ``revoked`` however the endpoint fails to answer."""
    _, http = _loopback_app(world)
    with GarbageServer() as garbage:
        job = finished(http, http.post("/v1/check-jobs", params={"url": garbage.url, "release": str(REL)}))
    assert job["state"] == "done" and job["error"] is None, job
    assert job["verdict"]["verdict"] == "unverified"
    assert any(c["evidence"].get("reason") == "bad-response" for c in job["verdict"]["checks"])

    world.client.revoke(REL, "recalled")
    world.sync()  # (the world's app holds the indexer lease)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: the connection is refused
    job = finished(http, http.post("/v1/check-jobs", params={"url": closed, "release": str(REL)}))
    assert job["state"] == "done" and job["error"] is None, job
    assert job["verdict"]["verdict"] == "revoked"
    assert any(c["evidence"].get("reason") == "connect-failed" for c in job["verdict"]["checks"])


def test_behaviour_retention_deletes_past_a_batch_of_protected_rows(database_url: str) -> None:
    """More than a batch of the oldest rows are each chatbot's newest decisive result (kept for
    ever): the expired rows behind them are still deleted."""
    store = JobStore(make_engine(database_url), retention_days=1, max_rows=100_000)
    now, passed = time.time(), json.dumps(Check("behaviour", "pass", "x").as_json())
    protected = [
        {"id": f"p{i:031d}", "url": f"http://bot{i}.example", "release": "ab/c/1", "weights_digest": "00" * 32,
         "state": "done", "created": now - 20 * 86400 + i, "finished": now - 20 * 86400 + i, "check_json": passed,
         "error": None, "decisive": True}
        for i in range(PRUNE_BATCH + 20)
    ]  # fmt: skip
    expired = [
        {"id": f"e{i:031d}", "url": "http://x.example", "release": "ab/c/1", "weights_digest": "00" * 32,
         "state": "error", "created": now - 10 * 86400 + i, "finished": now - 10 * 86400 + i, "check_json": None,
         "error": "the endpoint answered 429", "decisive": False}
        for i in range(30)
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(BehaviourJobRow), protected + expired)
    assert store.prune() == 30
    with Session(store.engine) as s:
        left = set(s.scalars(select(BehaviourJobRow.id)).all())
    assert left == {r["id"] for r in protected}


def test_a_failed_job_says_why_in_fixed_words_never_the_exception(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = TaskStore(make_engine(database_url))
    secret = "could not connect to postgresql://admin:hunter2@db-internal.corp:5432/index"

    def broken() -> Any:
        raise RuntimeError(secret)

    def chain_down() -> Any:
        raise ChainError("http://10.1.2.3:8545 refused the connection")

    for services, why in ((broken, "internal"), (chain_down, "chain")):
        task = store.add("check", {"url": NOT_A_CHATBOT, "release": None})
        run_task(store, task.id, services)
        job = store.get(task.id)
        assert job is not None and job.state == "error" and job.error == ERRORS[why], job  # type: ignore[index]
    assert "db-internal.corp" in caplog.text and "10.1.2.3" in caplog.text  # the operator's log has them


def test_a_queue_that_refuses_a_job_answers_503_with_retry_after(world: World, postgres_server: str) -> None:
    from verifier.jobs import JobQueue

    settings = world.settings.model_copy(update={"database_url": new_database(postgres_server), "jobs": "queue"})
    app = create_app(settings)
    svc = app.state.services
    svc.indexer.sync_once()
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    svc._queue = JobQueue(down)  # a real task queue whose server does not answer
    answer = TestClient(app).post("/v1/check-jobs", params={"url": NOT_A_CHATBOT})
    body = problem(answer, 503)
    assert answer.headers["retry-after"] == "10" and body["retryAfter"] == 10
    assert "127.0.0.1" not in answer.text and "psycopg" not in answer.text.lower()
    with Session(svc.engine) as s:
        row = s.scalars(select(JobRow)).one()
    assert row.state == "error" and row.error == ERRORS["queue"]


def test_one_client_cannot_take_every_job_slot(world: World) -> None:
    http, svc = world.http, world.app.state.services
    kept = kept_answer(world)
    asked = [http.post("/v1/receipt-audit-jobs", json=kept) for _ in range(5)]
    assert all(a.status_code == 202 for a in asked)
    assert len({a.json()["id"] for a in asked}) == 1  # the same audit: one job
    with Session(svc.engine) as s:
        assert s.scalar(text("SELECT count(*) FROM jobs")) == 1

    me = "testclient"  # the rate-limit key of the test client's peer
    for _ in range(MAX_PENDING_PER_CLIENT[("check", "in-process")]):
        svc.tasks.add("check", {"url": NOT_A_CHATBOT, "release": None}, client=me)
    for _ in range(MAX_PENDING_PER_CLIENT[("audit", "in-process")]):
        svc.tasks.add("audit", {"request": "{}", "response": "{}", "receipt": "x"}, client=me)
    refused = http.post("/v1/check-jobs", params={"url": NOT_A_CHATBOT})
    assert "of yours" in problem(refused, 503)["detail"] and int(refused.headers["retry-after"]) > 0
    other = {**kept, "request": kept["request"]}  # the same audit: still the job it was
    assert http.post("/v1/receipt-audit-jobs", json=other).status_code == 202
    fresh = kept_answer(world)
    problem(http.post("/v1/receipt-audit-jobs", json=fresh), 503)
    task, new = svc.tasks.start(
        "check", {"url": NOT_A_CHATBOT, "release": None}, client="198.51.100.7", max_pending=256, max_per_client=64
    )
    assert new and task.state == "queued"  # another client is not refused


def test_stopping_the_app_cancels_waiting_job_threads_and_says_so(world: World) -> None:
    with HoldingChatbot() as bot:
        app = create_app(world.settings.model_copy(update={"allow_loopback_targets": True, "max_concurrent_checks": 1}))
        svc = app.state.services
        with TestClient(app) as http:
            svc.indexer.sync_once()
            ids = [http.post("/v1/check-jobs", params={"url": bot.url}).json()["id"] for _ in range(3)]
            assert until(lambda: bot.active == 1)
        jobs = [svc.tasks.get(i) for i in ids]  # the app stopped: its lifespan ended
        assert [j.state for j in jobs[1:]] == ["error", "error"], jobs
        assert {j.error for j in jobs[1:]} == {ERRORS["shutdown"]}
        bot.release()
        assert until(lambda: svc.tasks.get(ids[0]).state == "done")


def test_check_jobs_and_checks_share_the_replicas_bound_on_outbound_checks(world: World) -> None:
    with HoldingChatbot() as bot:
        app, http = _loopback_app(world, max_concurrent_checks=2)
        svc = app.state.services
        for _ in range(2):
            assert http.post("/v1/check-jobs", params={"url": bot.url}).status_code == 202
        assert until(lambda: bot.active == 2)
        answers: list[int] = []
        checks = [
            threading.Thread(target=lambda: answers.append(http.get("/v1/check", params={"url": bot.url}).status_code))
            for _ in range(2)
        ]
        for t in checks:
            t.start()
        assert until(lambda: bot.active + getattr(svc, "outbound_waiting", 0) >= 4)  # everyone has asked
        assert bot.peak == 2  # two outbound checks at once, jobs and /v1/check together
        bot.release()
        for t in checks:
            t.join()
        assert answers == [200, 200] and bot.peak == 2


def test_the_synchronous_audit_backs_off_and_reads_no_input(world: World, postgres_server: str) -> None:
    pauses = audit_polls(30.0)
    assert pauses[:4] == [0.25, 0.5, 1.0, 1.0] and sum(pauses) >= 30 and len(pauses) <= 33
    settings = world.settings.model_copy(update={"database_url": new_database(postgres_server), "jobs": "queue"})
    app = create_app(settings)
    svc = app.state.services
    svc.indexer.sync_once()
    statements: list[str] = []

    @event.listens_for(svc.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread().name != "worker":
            statements.append(statement)

    done: list[str] = []

    def worker() -> None:  # a worker: takes the job after a few looks, and answers it
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not done:
            if sum("jobs.result_json" in s for s in statements) >= 3:
                with Session(svc.engine) as s:
                    waiting = s.scalars(text("SELECT id FROM jobs WHERE state = 'queued'")).all()
                for job_id in waiting:
                    run_task(svc.tasks, job_id, lambda: svc)  # the audit, as a worker runs it
                    done.append(job_id)
            time.sleep(0.05)

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    try:
        answer = TestClient(app).post("/v1/receipt-audits", json=kept_answer(world))
    finally:
        thread.join()
    assert answer.status_code == 200 and answer.json()["decision"] == "not-auditable", answer.text
    looks = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM jobs" in s]
    assert len(looks) >= 3 and not [s for s in looks if "input_json" in s], looks


def test_times_are_the_databases_so_clocks_that_disagree_agree(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TaskStore(make_engine(database_url))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 7200)  # the replica asked: two hours fast
    task = store.add("check", {"url": NOT_A_CHATBOT, "release": None})
    monkeypatch.setattr(time, "time", lambda: real() - 7200)  # the worker: two hours slow
    claimed = store.claim(task.id)
    assert claimed is not None
    for skew in (7200, 0, -7200):  # any replica reads it
        monkeypatch.setattr(time, "time", lambda skew=skew: real() + skew)
        seen = store.get(task.id)
        assert seen is not None and seen.state == "running", (skew, seen)
        assert store.pending("check") == 1
    monkeypatch.setattr(time, "time", real)
    assert store.finish(claimed, result={"verdict": "unverified"}) is True

    behaviour = JobStore(store.engine)  # behavioural checks: asked of a replica two hours slow
    monkeypatch.setattr(time, "time", lambda: real() - 7200)
    job = Job(os.urandom(8).hex(), "http://a.example", "ab/c/1")
    behaviour.add(job, "00" * 32)
    monkeypatch.setattr(time, "time", real)  # the worker's clock is right: it may still take it
    assert behaviour.claim(job.id) and behaviour.pending() == 1
    monkeypatch.setattr(time, "time", lambda: real() + 7200)  # a replica two hours fast: not lost
    running = behaviour.get(job.id)
    assert running is not None and running.state == "running"


def test_a_lost_audit_forgets_its_input_at_once(database_url: str) -> None:
    engine = make_engine(database_url)
    store = TaskStore(engine)
    private = {"request": "my private question", "response": "its answer", "receipt": "x"}
    queued = store.add("audit", private)
    _age(engine, JobRow, queued.id, created=time.time() - QUEUED_SECONDS - 1)
    running = store.add("audit", private)
    assert store.claim(running.id) is not None
    _age(engine, JobRow, running.id, started=time.time() - RUNNING_SECONDS["audit"] - 1)
    lost = store.get(queued.id)
    assert lost is not None and lost.state == "error"
    with Session(engine) as s:
        rows = s.scalars(select(JobRow)).all()
    assert [(r.state, r.input_json) for r in rows] == [("error", None), ("error", None)]


def test_job_retention_is_at_least_a_day(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from verifier.settings import VerifierSettings

    with pytest.raises(ValidationError, match="job_retention_days"):
        VerifierSettings(home=tmp_path, job_retention_days=0.5)
    assert VerifierSettings(home=tmp_path, job_retention_days=1).job_retention_days == 1


_RACE = """
import sys, threading
from verifier.index.schema import make_engine
from verifier.jobs import Busy, TaskStore
store = TaskStore(make_engine(sys.argv[1]))
start, accepted = threading.Barrier(8), []
def ask(i):
    start.wait()
    try:
        store.start("check", {"url": "http://127.0.0.1:9", "release": None}, client=f"c{i % 2}",
                    max_pending=7, max_per_client=5)
        accepted.append(i)
    except Busy:
        pass
threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(accepted))
"""


def test_the_pending_bounds_hold_when_many_ask_at_once(database_url: str) -> None:
    """Eight threads in each of four processes (as four replicas) ask at once: exactly the bound
    is accepted (PostgreSQL; on SQLite, one process: its threads)."""
    processes = 4 if database_url.startswith("postgresql") else 1
    make_engine(database_url).dispose()  # migrated before the race
    procs = [
        subprocess.Popen([sys.executable, "-c", _RACE, database_url], stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    accepted = sum(int(p.communicate(timeout=120)[0]) for p in procs)
    assert accepted == 7
    store = TaskStore(make_engine(database_url))
    assert store.pending("check") == 7
    with Session(store.engine) as s:
        per_client = dict(s.execute(text("SELECT client, count(*) FROM jobs GROUP BY client")).all())  # type: ignore[arg-type]
    assert max(per_client.values()) <= 5
