"""Where behavioural checks wait, run and are remembered: in the database every replica shares.

A behavioural check (:mod:`verifier.behaviour`) costs tens of seconds of CPU. It is asked for
through the API of any replica, and its job and result live in the ``behaviour_jobs`` table
(:class:`JobStore`), so any replica answers for any job and ``/v1/check`` reports the latest
result whichever process ran it. Who runs it is the ``MODELSEAL_JOBS`` setting:

* ``in-process`` (the default, and the only choice on SQLite): a background thread of the
  replica that was asked, one check at a time, as before;
* ``queue`` (PostgreSQL): the job goes onto a procrastinate task queue in the same database
  (:class:`JobQueue`), and ``modelseal verifier worker`` processes, on any number of machines,
  take jobs from it (:func:`run_worker`). No other server is needed.

A job left ``queued`` or ``running`` by a process that died is reported as failed once it is
older than :data:`STALE_SECONDS`, and no longer counts against the queue's bound; a runner
claims a job (``queued`` -> ``running``, once) before it runs it. Jobs are kept per chatbot
deployment (its :func:`verifier.probe.deployment_base`: the address, ``.../v1`` and the
chat-completions URL are one chatbot) and release; trimming the history never drops the newest
decisive result, so no run of errors can erase a proven mismatch.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.verdict import Check
from verifier.index.schema import BehaviourJobRow

if TYPE_CHECKING:
    from verifier.behaviour import BehaviourService, Job
    from verifier.settings import VerifierSettings

log = logging.getLogger("modelseal.jobs")

STALE_SECONDS = 1800
"""A job not finished this long after it was asked for is taken as lost (its process died)."""
QUEUE = "behaviour"
TASK = "modelseal.behaviour_check"


def _check_from_json(data: dict[str, Any]) -> Check:
    return Check(
        str(data["name"]),
        data["status"],
        str(data["detail"]),
        dict(data.get("evidence") or {}),
        required=bool(data.get("required", True)),
        warning=data.get("warning"),
    )


class JobStore:
    """Behavioural-check jobs in the index database (the ``behaviour_jobs`` table)."""

    def __init__(self, engine: Engine, history_per_target: int = 50) -> None:
        self.engine = engine
        self.history_per_target = history_per_target

    def _job(self, row: BehaviourJobRow, now: float) -> Job:
        from verifier.behaviour import Job

        job = Job(row.id, row.url, row.release, row.state, row.created, row.finished)  # type: ignore[arg-type]
        job.check = _check_from_json(json.loads(row.check_json)) if row.check_json else None
        job.error = row.error
        if job.state in ("queued", "running") and now - job.created > STALE_SECONDS:
            job.state, job.error = "error", f"did not finish within {STALE_SECONDS // 60} minutes (its process stopped)"
            job.finished = job.created + STALE_SECONDS
        return job

    def add(self, job: Job, weights_digest: str) -> None:
        job.url = target(job.url)
        with Session(self.engine) as s, s.begin():
            s.add(
                BehaviourJobRow(
                    id=job.id, url=job.url, release=job.release, weights_digest=weights_digest, state=job.state,
                    created=job.created, finished=job.finished, check_json=None, error=job.error,
                )
            )  # fmt: skip

    def save(self, job: Job) -> None:
        """Write a job's state and result; a finished job also trims its target's history."""
        with Session(self.engine) as s, s.begin():
            row = s.get(BehaviourJobRow, job.id)
            if row is None:
                return
            row.state, row.finished, row.error = job.state, job.finished, job.error
            row.check_json = json.dumps(job.check.as_json()) if job.check else None
            if job.state in ("done", "error"):
                finished = s.execute(
                    select(BehaviourJobRow.id, BehaviourJobRow.check_json)
                    .where(BehaviourJobRow.url == job.url, BehaviourJobRow.release == job.release)
                    .where(BehaviourJobRow.state.in_(("done", "error")))
                    .order_by(BehaviourJobRow.created.desc())
                ).all()
                doomed = [row.id for row in finished[self.history_per_target :]]
                newest_decisive = next((row.id for row in finished if _decisive(row.check_json)), None)
                doomed = [i for i in doomed if i != newest_decisive]
                for i in range(0, len(doomed), 500):
                    s.execute(delete(BehaviourJobRow).where(BehaviourJobRow.id.in_(doomed[i : i + 500])))

    def claim(self, job_id: str) -> bool:
        """Take a queued job to run it (once: a second runner, or a job taken as lost, gets False)."""
        with Session(self.engine) as s, s.begin():
            changed = s.execute(
                update(BehaviourJobRow)
                .where(BehaviourJobRow.id == job_id, BehaviourJobRow.state == "queued")
                .where(BehaviourJobRow.created > time.time() - STALE_SECONDS)
                .values(state="running")
            )
            return getattr(changed, "rowcount", 0) == 1

    def get(self, job_id: str) -> Job | None:
        with Session(self.engine) as s:
            row = s.get(BehaviourJobRow, job_id)
            return self._job(row, time.time()) if row is not None else None

    def weights_of(self, job_id: str) -> str | None:
        with Session(self.engine) as s:
            return s.scalar(select(BehaviourJobRow.weights_digest).where(BehaviourJobRow.id == job_id))

    def pending(self) -> int:
        """Jobs queued or running (not counting those taken as lost)."""
        with Session(self.engine) as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(BehaviourJobRow)
                    .where(BehaviourJobRow.state.in_(("queued", "running")))
                    .where(BehaviourJobRow.created > time.time() - STALE_SECONDS)
                )
                or 0
            )

    def _jobs_of(self, url: str, release: str, states: tuple[str, ...] | None = None) -> list[Job]:
        """The jobs of one chatbot deployment and release, newest first (stale ones as lost)."""
        now = time.time()
        query = select(BehaviourJobRow).where(BehaviourJobRow.url == target(url), BehaviourJobRow.release == release)
        if states is not None:
            query = query.where(BehaviourJobRow.state.in_(states))
        with Session(self.engine) as s:
            return [self._job(r, now) for r in s.scalars(query.order_by(BehaviourJobRow.created.desc())).all()]

    def unfinished(self, url: str, release: str) -> Job | None:
        """A job of this endpoint and release that is queued or running, if any."""
        jobs = self._jobs_of(url, release, ("queued", "running"))
        return next((j for j in jobs if j.state in ("queued", "running")), None)

    def history(self, url: str, release: str) -> list[Job]:
        """The finished jobs of this endpoint and release kept, oldest first: the newest
        :attr:`history_per_target`, and the newest decisive one however old."""
        jobs = self._jobs_of(url, release)
        finished = [j for j in jobs if j.state in ("done", "error")]
        kept = finished[: self.history_per_target]
        decisive = next((j for j in finished if j.check is not None and j.check.status in ("pass", "fail")), None)
        if decisive is not None and decisive not in kept:
            kept.append(decisive)
        return sorted(kept, key=lambda j: (j.finished or j.created, j.created))


def target(url: str) -> str:
    """The chatbot a job is about: its deployment base, whichever URL it was asked by."""
    from verifier.probe import deployment_base

    return deployment_base(url).rstrip("/")


def _decisive(check_json: str | None) -> bool:
    return bool(check_json) and json.loads(check_json or "{}").get("status") in ("pass", "fail")


def conninfo(database_url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL of a PostgreSQL database."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue needs PostgreSQL (MODELSEAL_DATABASE_URL=postgresql+psycopg://...)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _queue_app(database_url: str, *, for_worker: bool) -> Any:
    import procrastinate

    connector: Any
    if for_worker:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    else:
        connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url))
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK, queue=QUEUE, pass_context=True)
    def behaviour_check(context: Any, job_id: str, release: str) -> None:
        service: BehaviourService = context.additional_context["behaviour"]
        service.execute(job_id, release)

    return app


class JobQueue:
    """Puts behavioural checks onto the procrastinate queue in the index database."""

    def __init__(self, database_url: str) -> None:
        self.app = _queue_app(database_url, for_worker=False)
        self._opened = False
        self._lock = threading.Lock()

    def _open(self) -> None:
        with self._lock:  # requests and scrapes at once open one pool
            if not self._opened:
                self.app.open()
                self._opened = True

    def defer(self, job_id: str, release: str) -> None:
        self._open()
        self.app.tasks[TASK].defer(job_id=job_id, release=release)

    def depth(self) -> int:
        """Jobs waiting on the queue (not yet taken by a worker)."""
        self._open()
        connector = self.app.connector
        rows = connector.execute_query_all(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE queue_name = %(q)s AND status = 'todo'", q=QUEUE
        )
        return int(rows[0]["n"])

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self.app.close()
                self._opened = False


def run_worker(settings: VerifierSettings, *, wait: bool = True, name: str | None = None) -> None:
    """Take behavioural checks from the queue and run them, one at a time, until stopped
    (SIGINT/SIGTERM; with ``wait=False``, until the queue is empty)."""
    from verifier.behaviour import BehaviourService
    from verifier.guard import GuardedClient, GuardPolicy
    from verifier.index.schema import make_engine

    if not settings.database_url:
        raise ValueError("a worker needs the verifiers' PostgreSQL database (MODELSEAL_DATABASE_URL)")
    engine = make_engine(settings.database_url)  # migrated: the queue's tables exist
    client = GuardedClient(GuardPolicy.for_behaviour(settings), keep_alive=True)
    service = BehaviourService(settings.home, client, JobStore(engine))
    app = _queue_app(settings.database_url, for_worker=True)
    app.run_worker(
        queues=[QUEUE],
        wait=wait,
        name=name,
        concurrency=1,
        additional_context={"behaviour": service},
        delete_jobs="successful",
        fetch_job_polling_interval=2.0,
    )
