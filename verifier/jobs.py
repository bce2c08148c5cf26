"""Where jobs wait, run and are remembered: in the database every replica shares.

Three kinds of work are jobs, asked for through the API of any replica and answered by any:

* **behavioural checks** (:mod:`verifier.behaviour`, tens of seconds of CPU and the reference
  weights): table ``behaviour_jobs`` (:class:`JobStore`); ``/v1/check`` reports the latest result
  whichever process ran it;
* **endpoint checks** (``POST /v1/check-jobs``: the verdict of ``GET /v1/check``, the bulk path
  for an app store re-checking its listings) and **receipt audits** (``POST
  /v1/receipt-audit-jobs``: a replay on the registered weights): table ``jobs``
  (:class:`TaskStore`), input until they finish, then the result or the error.

Who runs them is the ``MODELSEAL_JOBS`` setting:

* ``in-process`` (the default, and the only choice on SQLite): threads of the replica that was
  asked (behavioural checks and audits one at a time, endpoint checks a few at a time);
* ``queue`` (PostgreSQL): the job goes onto a procrastinate task queue in the same database
  (:class:`JobQueue`; queues ``behaviour``, ``checks`` and ``audits``), and ``modelseal verifier
  worker`` processes, on any number of machines, take jobs from the queues they are given
  (:func:`run_worker`). No other server is needed.

Every kind is bounded: beyond a number of jobs queued or running the API refuses (503,
``Retry-After``). A runner claims a job (``queued`` -> ``running``, once) before it runs it. A job
whose process died is reported failed, never ``running`` for ever: a behavioural check not
finished :data:`STALE_SECONDS` after it was asked for; a check or audit not started within
:data:`QUEUED_SECONDS`, or not finished :data:`RUNNING_SECONDS` after it started (a result that
comes later is dropped). A job that fails carries ``state: error`` and the reason, never a
``verified`` verdict.

Retention: when a job finishes, finished jobs older than ``MODELSEAL_JOB_RETENTION_DAYS`` and the
oldest beyond ``MODELSEAL_JOB_RETENTION_ROWS`` are deleted, in both tables. Behavioural checks are
also kept per chatbot deployment (its :func:`verifier.probe.deployment_base`: the address,
``.../v1`` and the chat-completions URL are one chatbot) and release, and neither rule ever drops
a target's newest decisive result, so no run of errors, and no age, can erase a proven mismatch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Float, and_, case, delete, exists, func, literal_column, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from registry.errors import ChainError
from registry.verdict import Check, Verdict
from verifier.index.lease import _now_sql
from verifier.index.schema import BehaviourJobRow, JobRow

if TYPE_CHECKING:
    from verifier.behaviour import BehaviourService, Job
    from verifier.services import Services
    from verifier.settings import VerifierSettings

log = logging.getLogger("modelseal.jobs")

STALE_SECONDS = 1800
"""A behavioural check not finished this long after it was asked for is taken as lost (its process died)."""
QUEUE = "behaviour"
TASK = "modelseal.behaviour_check"
CHECK_QUEUE, CHECK_TASK = "checks", "modelseal.endpoint_check"
AUDIT_QUEUE, AUDIT_TASK = "audits", "modelseal.receipt_audit"
QUEUES = (QUEUE, CHECK_QUEUE, AUDIT_QUEUE)
"""The task queues, by the names ``modelseal verifier worker --queue`` takes."""
HEAVY_QUEUES = (QUEUE, AUDIT_QUEUE)
"""Queues whose jobs use every core (a replay on the weights): a worker runs them one at a time."""

TaskKind = Literal["check", "audit"]
TaskState = Literal["queued", "running", "done", "error"]
KINDS: tuple[TaskKind, ...] = ("check", "audit")
KIND_QUEUE: dict[TaskKind, str] = {"check": CHECK_QUEUE, "audit": AUDIT_QUEUE}
KIND_TASK: dict[TaskKind, str] = {"check": CHECK_TASK, "audit": AUDIT_TASK}
QUEUED_SECONDS = 3600
"""A check or audit job not started this long after it was asked for is taken as lost (the
replica that was to run it stopped, or the workers are far behind)."""
RUNNING_SECONDS: dict[TaskKind, int] = {"check": 300, "audit": 1800}
"""A check or audit job not finished this long after it started is taken as lost (its process died)."""
MAX_PENDING: dict[tuple[TaskKind, str], int] = {
    ("check", "in-process"): 256,
    ("check", "queue"): 10_000,
    ("audit", "in-process"): 16,
    ("audit", "queue"): 256,
}
"""Jobs of a kind queued or running at once, all replicas together, per ``MODELSEAL_JOBS``: beyond
it the API refuses (503, ``Retry-After``)."""
MAX_PENDING_PER_CLIENT: dict[tuple[TaskKind, str], int] = {
    ("check", "in-process"): 64,
    ("check", "queue"): 1_000,
    ("audit", "in-process"): 4,
    ("audit", "queue"): 16,
}
"""Jobs of a kind queued or running at once for one client (the rate-limit key of
:mod:`verifier.limits`: an IPv4 address or an IPv6 /64), all replicas together: one client cannot
take every slot of :data:`MAX_PENDING`."""
REUSE_SECONDS = 600
"""An audit asked again with the same input (receipt, request and response) within this long of
the last one finishing, or while it is unfinished, is that job (no second replay)."""
RETRY_AFTER: dict[TaskKind, int] = {"check": 10, "audit": 60}
UNREACHABLE = frozenset({"dns-failed", "timeout", "connect-failed"})
"""Outbound failures after which a check job is ``error`` (try again later), not ``done``: the
endpoint could not be reached at all. A chatbot that answers, even with broken HTTP
(``bad-response``), is judged: the job is ``done`` with the verdict the check gives."""
JobError = Literal["unreachable", "chain", "database", "internal", "queue", "shutdown"]
ERRORS: dict[JobError, str] = {
    "unreachable": "the endpoint could not be reached (a DNS, connection or timeout failure: the verdict beside "
    "says which request); try again later",
    "chain": "the chain could not be read; try again later",
    "database": "the verifier's database could not be read or written; try again later",
    "internal": "the verifier failed to run the job (its operator's log has the details); try again later",
    "queue": "the task queue refused the job; try again later",
    "shutdown": "the verifier replica stopped before the job ran; ask again",
}
"""What a failed job says to clients: a fixed set of reasons. The exception behind one (driver
text, SQL, hosts, paths) goes to the log with the job's id, never to a client."""
RETENTION_DAYS = 30.0
RETENTION_ROWS = 100_000
PRUNE_BATCH = 500
"""Rows deleted at most per finished job (enough to keep up: one job finishes, up to 500 go)."""


def _check_from_json(data: dict[str, Any]) -> Check:
    return Check(
        str(data["name"]),
        data["status"],
        str(data["detail"]),
        dict(data.get("evidence") or {}),
        required=bool(data.get("required", True)),
        warning=data.get("warning"),
    )


def _db_clock(engine: Engine) -> Any:
    """The database's ``now`` in seconds since 1970, as SQL (as :mod:`verifier.index.lease` reads it)."""
    return literal_column(_now_sql(engine.dialect.name), Float)


class JobStore:
    """Behavioural-check jobs in the index database (the ``behaviour_jobs`` table). When a job was
    asked for and finished, and whether it is lost, are the database's clock (never a replica's
    or a worker's)."""

    def __init__(
        self,
        engine: Engine,
        history_per_target: int = 50,
        *,
        retention_days: float = RETENTION_DAYS,
        max_rows: int = RETENTION_ROWS,
    ) -> None:
        self.engine = engine
        self.history_per_target = history_per_target
        self.retention_seconds = retention_days * 86400
        self.max_rows = max_rows
        self._now = _db_clock(engine)

    def _clock(self, s: Session) -> float:
        return float(s.scalar(select(self._now)) or 0.0)

    def now(self) -> float:
        """Now, by the database's clock."""
        with Session(self.engine) as s:
            return self._clock(s)

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
        """Record a job asked for (``created``: now, by the database's clock)."""
        job.url = target(job.url)
        with Session(self.engine) as s, s.begin():
            job.created = self._clock(s)
            s.add(
                BehaviourJobRow(
                    id=job.id, url=job.url, release=job.release, weights_digest=weights_digest, state=job.state,
                    created=job.created, finished=job.finished, check_json=None, error=job.error,
                )
            )  # fmt: skip

    def save(self, job: Job) -> None:
        """Write a job's state and result; a finished job also trims its target's history and
        applies the global retention (:meth:`prune`)."""
        decisive = job.state == "done" and job.check is not None and job.check.status in ("pass", "fail")
        with Session(self.engine) as s, s.begin():
            row = s.get(BehaviourJobRow, job.id)
            if row is None:
                return
            if job.state in ("done", "error"):
                job.finished = self._clock(s)
            row.state, row.finished, row.error = job.state, job.finished, job.error
            row.check_json = json.dumps(job.check.as_json()) if job.check else None
            row.decisive = decisive
            if job.state in ("done", "error"):
                s.flush()
                of_target = and_(BehaviourJobRow.url == job.url, BehaviourJobRow.release == job.release)
                doomed = s.scalars(
                    select(BehaviourJobRow.id)
                    .where(of_target, BehaviourJobRow.state.in_(("done", "error")), ~_protected())
                    .order_by(BehaviourJobRow.created.desc())
                    .offset(self.history_per_target)
                ).all()
                for i in range(0, len(doomed), 500):
                    s.execute(delete(BehaviourJobRow).where(BehaviourJobRow.id.in_(doomed[i : i + 500])))
        if job.state in ("done", "error"):
            self.prune()

    def prune(self, now: float | None = None) -> int:
        """The global retention: delete jobs asked for more than the retention ago (finished, or
        lost), and the oldest finished ones beyond the row bound, at most :data:`PRUNE_BATCH` at
        a time, never a target's newest decisive result (left out in SQL, before the batch is
        taken: a table whose oldest rows are all protected still loses its unprotected ones). The
        number deleted."""
        unprotected = ~_protected()
        with Session(self.engine) as s, s.begin():
            now = self._clock(s) if now is None else now
            old = s.scalars(
                select(BehaviourJobRow.id).where(BehaviourJobRow.created < now - self.retention_seconds, unprotected)
                .order_by(BehaviourJobRow.created).limit(PRUNE_BATCH)
            ).all()  # fmt: skip
            finished = BehaviourJobRow.state.in_(("done", "error"))
            count = int(s.scalar(select(func.count()).select_from(BehaviourJobRow).where(finished)) or 0)
            over = min(max(count - self.max_rows, 0), PRUNE_BATCH)
            beyond = (
                s.scalars(
                    select(BehaviourJobRow.id)
                    .where(finished, unprotected)
                    .order_by(BehaviourJobRow.created)
                    .limit(over)
                ).all()
                if over
                else []
            )
            doomed = sorted({*old, *beyond})
            if doomed:
                s.execute(delete(BehaviourJobRow).where(BehaviourJobRow.id.in_(doomed)))
            return len(doomed)

    def claim(self, job_id: str) -> bool:
        """Take a queued job to run it (once: a second runner, or a job taken as lost, gets False)."""
        with Session(self.engine) as s, s.begin():
            changed = s.execute(
                update(BehaviourJobRow)
                .where(BehaviourJobRow.id == job_id, BehaviourJobRow.state == "queued")
                .where(BehaviourJobRow.created > self._now - STALE_SECONDS)
                .values(state="running")
            )
            return getattr(changed, "rowcount", 0) == 1

    def get(self, job_id: str) -> Job | None:
        with Session(self.engine) as s:
            row = s.get(BehaviourJobRow, job_id)
            return self._job(row, self._clock(s)) if row is not None else None

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
                    .where(BehaviourJobRow.created > self._now - STALE_SECONDS)
                )
                or 0
            )

    def _jobs_of(self, url: str, release: str, states: tuple[str, ...] | None = None) -> list[Job]:
        """The jobs of one chatbot deployment and release, newest first (stale ones as lost)."""
        query = select(BehaviourJobRow).where(BehaviourJobRow.url == target(url), BehaviourJobRow.release == release)
        if states is not None:
            query = query.where(BehaviourJobRow.state.in_(states))
        with Session(self.engine) as s:
            now = self._clock(s)
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


def _protected() -> Any:
    """A behavioural-check row that is its target's newest decisive result (``decisive``: done with
    a match or a mismatch): no decisive row of the same chatbot and release is newer."""
    newer = aliased(BehaviourJobRow)
    return and_(
        BehaviourJobRow.decisive,
        ~exists().where(
            newer.url == BehaviourJobRow.url,
            newer.release == BehaviourJobRow.release,
            newer.decisive,
            or_(
                newer.created > BehaviourJobRow.created,
                and_(newer.created == BehaviourJobRow.created, newer.id > BehaviourJobRow.id),
            ),
        ),
    )


# --- endpoint checks and receipt audits as jobs (table ``jobs``) ------------------------------


@dataclass
class Task:
    """An endpoint check or a receipt audit run as a job."""

    id: str
    kind: TaskKind
    state: TaskState
    created: float
    started: float | None = None
    finished: float | None = None
    input: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The members every kind answers with (its route adds its own)."""
        return {
            "id": self.id,
            "state": self.state,
            "created": int(self.created),
            "finished": int(self.finished) if self.finished else None,
            "error": self.error,
        }


class Busy(Exception):
    """Too many jobs of a kind are queued or running (all clients, or this client's)."""

    def __init__(self, waiting: int, *, per_client: bool) -> None:
        super().__init__(waiting, per_client)
        self.waiting, self.per_client = waiting, per_client


_START_LOCK = threading.Lock()
_LOCK_KEYS: dict[TaskKind, int] = {"check": 0x6D736A01, "audit": 0x6D736A02}
"""PostgreSQL advisory transaction-lock keys: one start of a job of a kind at a time, all replicas."""


def input_key(kind: TaskKind, data: dict[str, Any]) -> str | None:
    """An audit's key: SHA-256 over its receipt, request and response (length-prefixed, so no two
    inputs share one); None for a check (each check job contacts the endpoint anew)."""
    if kind != "audit":
        return None
    digest = hashlib.sha256()
    for part in (data["receipt"], data["request"], data["response"]):
        raw = str(part).encode()
        digest.update(len(raw).to_bytes(8, "big") + raw)
    return digest.hexdigest()


class TaskStore:
    """Endpoint-check and receipt-audit jobs in the index database (the ``jobs`` table). Ids are
    128 random bits: whoever holds one may read the job (an audit's result may be private), and
    no route lists them.

    Every time (asked, started, finished) and every judgement of a lost job uses the **database's
    clock** (as :mod:`verifier.index.lease` does), never a replica's or a worker's: machines whose
    clocks disagree still agree on what is lost."""

    def __init__(
        self, engine: Engine, *, retention_days: float = RETENTION_DAYS, max_rows: int = RETENTION_ROWS
    ) -> None:
        self.engine = engine
        self.retention_seconds = retention_days * 86400
        self.max_rows = max_rows
        self._postgres = engine.dialect.name == "postgresql"
        self._now_sql = _db_clock(engine)
        self._now = self._now_sql.label("db_now")

    def _clock(self, s: Session) -> float:
        """Now, by the database's clock."""
        return float(s.scalar(select(self._now)) or 0.0)

    @staticmethod
    def _task(row: Any, now: float) -> Task:
        kind: TaskKind = "audit" if row.kind == "audit" else "check"
        input_json = getattr(row, "input_json", None)
        task = Task(
            row.id, kind, row.state, row.created, row.started, row.finished,
            json.loads(input_json) if input_json else None,
            json.loads(row.result_json) if row.result_json else None,
            row.error,
        )  # fmt: skip
        lost = _lost(kind, task.state, task.created, task.started, now)
        if lost is not None:
            task.state, task.finished, task.error = "error", lost[0], lost[1]
        return task

    def add(self, kind: TaskKind, input: dict[str, Any], *, client: str | None = None) -> Task:
        """A queued job, unbounded (:meth:`start` is the bounded way in)."""
        with Session(self.engine) as s, s.begin():
            return self._insert(s, kind, input, client, self._clock(s))

    def _insert(self, s: Session, kind: TaskKind, data: dict[str, Any], client: str | None, now: float) -> Task:
        task = Task(secrets.token_hex(16), kind, "queued", now, input=data)
        s.add(
            JobRow(
                id=task.id, kind=kind, state="queued", created=now, input_json=json.dumps(data),
                client=client[:64] if client else None, input_key=input_key(kind, data),
            )
        )  # fmt: skip
        return task

    def start(
        self, kind: TaskKind, data: dict[str, Any], *, client: str | None, max_pending: int, max_per_client: int
    ) -> tuple[Task, bool]:
        """Ask for a job within the bounds: ``(job, True)`` for a new one; ``(job, False)`` for an
        audit whose identical input is unfinished or finished within :data:`REUSE_SECONDS` (that
        job: no second replay); :class:`Busy` when ``max_pending`` jobs of the kind, or
        ``max_per_client`` of this client's, are queued or running.

        The count and the insert are one critical section, so the bounds hold under races: within
        a process by a lock; across replicas, on PostgreSQL, by a transaction-level advisory lock
        per kind (held until the insert commits: the bounds are exact however many replicas ask at
        once); on SQLite (one machine) a second process that counted before another's insert
        committed cannot write on its stale read (SQLite refuses it), so the bounds are exact too."""
        key = input_key(kind, data)
        with _START_LOCK, Session(self.engine) as s, s.begin():
            if self._postgres:
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS[kind]})
            now = self._clock(s)
            self._reap(s, now)
            if key is not None:
                recent = or_(
                    self._unfinished(kind, now), and_(JobRow.state == "done", JobRow.finished > now - REUSE_SECONDS)
                )
                row = s.execute(
                    select(*_STATUS).where(JobRow.kind == kind, JobRow.input_key == key, recent)
                    .order_by(JobRow.created.desc()).limit(1)
                ).first()  # fmt: skip
                if row is not None:
                    return self._task(row, now), False
            count = select(func.count()).select_from(JobRow).where(self._unfinished(kind, now))
            waiting = int(s.scalar(count) or 0)
            if waiting >= max_pending:
                raise Busy(waiting, per_client=False)
            if client is not None:
                mine = int(s.scalar(count.where(JobRow.client == client[:64])) or 0)
                if mine >= max_per_client:
                    raise Busy(mine, per_client=True)
            return self._insert(s, kind, data, client, now), True

    def get(self, job_id: str, kind: TaskKind | None = None) -> Task | None:
        """The job (lost ones as ``error``), or None when there is none (of this kind)."""
        with Session(self.engine) as s:
            found = s.execute(select(JobRow, self._now).where(JobRow.id == job_id[:64])).first()
            if found is None or (kind is not None and found[0].kind != kind):
                return None
            task = self._task(found[0], float(found[1]))
        if task.state == "error" and found[0].state in ("queued", "running"):
            self.reap()  # lost: recorded as failed now, and a lost audit's private input deleted now
        return task

    def status(self, job_id: str, kind: TaskKind) -> Task | None:
        """As :meth:`get`, without the input (which may be megabytes): what a waiter polls."""
        with Session(self.engine) as s:
            row = s.execute(select(*_STATUS, self._now).where(JobRow.id == job_id[:64], JobRow.kind == kind)).first()
        if row is None:
            return None
        task = self._task(row, float(row.db_now))
        if task.state == "error" and row.state in ("queued", "running"):
            self.reap()
        return task

    def claim(self, job_id: str) -> Task | None:
        """Take a queued job to run it, once: None when it is gone, taken, or taken as lost."""
        with Session(self.engine) as s, s.begin():
            now = self._clock(s)
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "queued", JobRow.created > now - QUEUED_SECONDS)
                .values(state="running", started=now)
            )
            if getattr(changed, "rowcount", 0) != 1:
                return None
            row = s.get(JobRow, job_id)
            return self._task(row, now) if row is not None else None

    def finish(self, task: Task, *, result: dict[str, Any] | None = None, error: JobError | None = None) -> bool:
        """Record a claimed job's result, or its error (one of :data:`ERRORS`; an error never
        carries a ``verified`` verdict). A result that comes after the job was taken as lost is
        dropped (False): what was reported stays. An audit's input is deleted with it. Then
        :meth:`prune`."""
        if error is not None and result is not None and result.get("verdict") == "verified":
            result = None  # fail closed, whatever the caller did
        values: dict[str, Any] = {
            "state": "error" if error is not None else "done", "error": ERRORS[error] if error else None,
            "result_json": json.dumps(result) if result is not None else None,
        }  # fmt: skip
        if task.kind == "audit":
            values["input_json"] = None
        with Session(self.engine) as s, s.begin():
            now = self._clock(s)
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == task.id, JobRow.state == "running")
                .where(JobRow.started > now - RUNNING_SECONDS[task.kind])
                .values(**values, finished=now)
            )
            recorded = getattr(changed, "rowcount", 0) == 1
            if not recorded and task.kind == "audit":  # too late: the input goes all the same
                s.execute(update(JobRow).where(JobRow.id == task.id).values(input_json=None))
        self.prune()
        return recorded

    def abandon(self, task_id: str, error: JobError) -> bool:
        """A job that will not be run (the queue refused it, the replica stopped): failed at once,
        its input deleted. False when it was no longer queued."""
        with Session(self.engine) as s, s.begin():
            changed = s.execute(
                update(JobRow)
                .where(JobRow.id == task_id, JobRow.state == "queued")
                .values(state="error", finished=self._now_sql, error=ERRORS[error], input_json=None)
            )
            return getattr(changed, "rowcount", 0) == 1

    def _unfinished(self, kind: TaskKind, now: float) -> Any:
        return and_(
            JobRow.kind == kind,
            or_(
                and_(JobRow.state == "queued", JobRow.created > now - QUEUED_SECONDS),
                and_(JobRow.state == "running", JobRow.started > now - RUNNING_SECONDS[kind]),
            ),
        )

    def pending(self, kind: TaskKind) -> int:
        """Jobs of this kind queued or running (not counting those taken as lost)."""
        with Session(self.engine) as s:
            now = self._clock(s)
            query = select(func.count()).select_from(JobRow).where(self._unfinished(kind, now))
            return int(s.scalar(query) or 0)

    def reap(self) -> int:
        """Record every lost job as failed (its runner stopped), at once: a lost audit's input (a
        user's private exchange) is deleted then, not kept until the retention. The number."""
        with Session(self.engine) as s, s.begin():
            return self._reap(s, self._clock(s))

    def _reap(self, s: Session, now: float) -> int:
        cleared = case((JobRow.kind == "audit", None), else_=JobRow.input_json)
        reaped = s.execute(
            update(JobRow)
            .where(JobRow.state == "queued", JobRow.created <= now - QUEUED_SECONDS)
            .values(state="error", finished=JobRow.created + QUEUED_SECONDS, error=_LOST_QUEUED, input_json=cleared)
            .execution_options(synchronize_session=False)
        )
        count = getattr(reaped, "rowcount", 0) or 0
        for kind in KINDS:
            reaped = s.execute(
                update(JobRow)
                .where(JobRow.kind == kind, JobRow.state == "running")
                .where(JobRow.started <= now - RUNNING_SECONDS[kind])
                .values(state="error", finished=JobRow.started + RUNNING_SECONDS[kind], error=_lost_running(kind),
                        input_json=cleared)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            count += getattr(reaped, "rowcount", 0) or 0
        return int(count)

    def prune(self, now: float | None = None) -> int:
        """The global retention: delete jobs asked for more than the retention ago (finished, or
        lost), and the oldest finished ones beyond the row bound, at most :data:`PRUNE_BATCH` at
        a time (lost jobs are recorded as failed first). The number deleted."""
        with Session(self.engine) as s, s.begin():
            now = self._clock(s) if now is None else now
            self._reap(s, now)
            old = s.scalars(
                select(JobRow.id).where(JobRow.created < now - self.retention_seconds)
                .order_by(JobRow.created).limit(PRUNE_BATCH)
            ).all()  # fmt: skip
            finished = JobRow.state.in_(("done", "error"))
            count = int(s.scalar(select(func.count()).select_from(JobRow).where(finished)) or 0)
            over = min(max(count - self.max_rows, 0), PRUNE_BATCH)
            beyond = (
                s.scalars(select(JobRow.id).where(finished).order_by(JobRow.created).limit(over)).all() if over else []
            )
            doomed = sorted({*old, *beyond})
            if doomed:
                s.execute(delete(JobRow).where(JobRow.id.in_(doomed)))
            return len(doomed)


_STATUS = (JobRow.id, JobRow.kind, JobRow.state, JobRow.created, JobRow.started, JobRow.finished, JobRow.result_json,
           JobRow.error)  # fmt: skip
"""A job's columns but its input (which may be megabytes)."""
_LOST_QUEUED = f"was not started within {QUEUED_SECONDS // 60} minutes (the process that was to run it stopped)"


def _lost_running(kind: TaskKind) -> str:
    return f"did not finish within {RUNNING_SECONDS[kind] // 60} minutes of starting (its process stopped)"


def _lost(kind: TaskKind, state: str, created: float, started: float | None, now: float) -> tuple[float, str] | None:
    """When and why a job still recorded as queued or running is lost (by the database's ``now``)."""
    if state == "queued" and now - created > QUEUED_SECONDS:
        return created + QUEUED_SECONDS, _LOST_QUEUED
    if state == "running" and now - (started or created) > RUNNING_SECONDS[kind]:
        return (started or created) + RUNNING_SECONDS[kind], _lost_running(kind)
    return None


def unreachable(verdict: Verdict) -> bool:
    """Whether a check job's verdict is no verdict about the endpoint: it is ``unverified`` only
    because the endpoint could not be reached (a DNS, connection or timeout failure), and no
    other check failed. A ``revoked`` or ``mismatch`` verdict, a release that is not registered,
    an endpoint that answered (even garbage): those are results, never "try again later"."""
    if verdict.verdict != "unverified":
        return False
    failed = [c for c in verdict.checks if c.status in ("fail", "error")]
    return bool(failed) and all(c.evidence.get("reason") in UNREACHABLE for c in failed)


def run_task(store: TaskStore, job_id: str, services: Callable[[], Services]) -> None:
    """Run a check or audit job that was asked for (in a thread of the replica asked, or taken
    from the queue by a worker): claim it, run it through the one rule of its kind
    (:meth:`Services.check <verifier.services.Services.check>`, :meth:`Services.audit
    <verifier.services.Services.audit>`), record the result or the error (one of
    :data:`ERRORS`; the exception goes to the log)."""
    from registry.names import ReleaseName

    task = store.claim(job_id)
    if task is None or task.input is None:
        return  # gone, already taken, or taken as lost
    try:
        svc = services()
        data = task.input
        if task.kind == "check":
            claimed = ReleaseName.parse(data["release"]) if data.get("release") else None
            verdict = svc.check(str(data["url"]), claimed).verdict
            store.finish(task, result=verdict.as_json(), error="unreachable" if unreachable(verdict) else None)
        else:
            audit = svc.audit(str(data["request"]).encode(), str(data["response"]).encode(), str(data["receipt"]))
            store.finish(task, result=audit.as_json())
    except Exception as exc:  # fail closed: the job says it failed, in words fixed here
        why: JobError = (
            "chain" if isinstance(exc, ChainError) else "database" if isinstance(exc, SQLAlchemyError) else "internal"
        )
        log.exception("%s job %s failed (%s)", task.kind, task.id, why)
        store.finish(task, error=why)


# --- the task queue ---------------------------------------------------------------------------


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
        worker: _WorkerContext = context.additional_context["worker"]
        worker.behaviour().execute(job_id, release)

    @app.task(name=CHECK_TASK, queue=CHECK_QUEUE, pass_context=True)
    def endpoint_check(context: Any, job_id: str) -> None:
        worker: _WorkerContext = context.additional_context["worker"]
        run_task(worker.tasks, job_id, worker.services)

    @app.task(name=AUDIT_TASK, queue=AUDIT_QUEUE, pass_context=True)
    def receipt_audit(context: Any, job_id: str) -> None:
        worker: _WorkerContext = context.additional_context["worker"]
        run_task(worker.tasks, job_id, worker.services)

    return app


class JobQueue:
    """Puts jobs onto the procrastinate queues in the index database."""

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
        """A behavioural check."""
        self._open()
        self.app.tasks[TASK].defer(job_id=job_id, release=release)

    def defer_task(self, kind: TaskKind, job_id: str) -> None:
        """An endpoint check or a receipt audit (its input is in the ``jobs`` table, not on the queue)."""
        self._open()
        self.app.tasks[KIND_TASK[kind]].defer(job_id=job_id)

    def depths(self) -> dict[str, int]:
        """Jobs waiting on each queue (not yet taken by a worker)."""
        self._open()
        rows = self.app.connector.execute_query_all(
            "SELECT queue_name, count(*) AS n FROM procrastinate_jobs WHERE status = 'todo' GROUP BY queue_name"
        )
        found = {str(r["queue_name"]): int(r["n"]) for r in rows}
        return {q: found.get(q, 0) for q in QUEUES}

    def depth(self) -> int:
        """Behavioural checks waiting on the queue."""
        return self.depths()[QUEUE]

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self.app.close()
                self._opened = False


class _WorkerContext:
    """What a worker's tasks need, built on first use: a behaviour-only worker never connects to
    the chain; one that runs checks or audits reads the shared index (and never indexes)."""

    def __init__(self, settings: VerifierSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        days, rows = settings.job_retention_days, settings.job_retention_rows
        self.tasks = TaskStore(engine, retention_days=days, max_rows=rows)
        self._jobs = JobStore(engine, retention_days=days, max_rows=rows)
        self._behaviour: BehaviourService | None = None
        self._services: Services | None = None
        self._lock = threading.Lock()

    def behaviour(self) -> BehaviourService:
        from verifier.behaviour import BehaviourService
        from verifier.guard import GuardedClient, GuardPolicy

        with self._lock:
            if self._behaviour is None:
                client = GuardedClient(GuardPolicy.for_behaviour(self.settings), keep_alive=True)
                self._behaviour = BehaviourService(self.settings.home, client, self._jobs)
            return self._behaviour

    def services(self) -> Services:
        from verifier.app import build_services

        behaviour = self.behaviour()
        with self._lock:
            if self._services is None:
                svc = build_services(self.settings.model_copy(update={"index_in_background": False}))
                svc.use_behaviour(behaviour)  # one replayer (one model in memory) for checks and audits
                self._services = svc
            return self._services


def parse_queues(values: list[str] | None) -> list[str]:
    """``--queue`` values (repeated, or comma lists) as queue names; every queue when none."""
    names = [n.strip() for v in values or () for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in QUEUES]
    if unknown:
        raise ValueError(f"no queue {unknown[0]!r}: the queues are {', '.join(QUEUES)}")
    return [q for q in QUEUES if q in names] if names else list(QUEUES)


def run_worker(
    settings: VerifierSettings,
    *,
    wait: bool = True,
    name: str | None = None,
    queues: list[str] | None = None,
    concurrency: int = 1,
) -> None:
    """Take jobs from ``queues`` (default: every queue) and run them until stopped (SIGINT or
    SIGTERM: running jobs finish first; with ``wait=False``, until the queues are empty).
    Behavioural checks and audits run one at a time (each uses every core); endpoint checks
    ``concurrency`` at a time (they wait on the network)."""
    from verifier.index.schema import make_engine

    if not settings.database_url:
        raise ValueError("a worker needs the verifiers' PostgreSQL database (MODELSEAL_DATABASE_URL)")
    chosen = queues or list(QUEUES)
    engine = make_engine(settings.database_url)  # migrated: the queue's tables exist
    context = _WorkerContext(settings, engine)
    app = _queue_app(settings.database_url, for_worker=True)
    loops = [(q, 1) for q in [[q for q in chosen if q in HEAVY_QUEUES]] if q]
    loops += [(q, concurrency) for q in [[q for q in chosen if q not in HEAVY_QUEUES]] if q]

    threads = sum(n for _, n in loops) + 2

    async def main() -> None:
        # procrastinate runs a sync task in the loop's default executor (asgiref, not thread
        # sensitive), which asyncio sizes min(32, CPUs + 4): a pool as large as the concurrency
        # asked for, or --concurrency would be capped silently
        executor = ThreadPoolExecutor(threads, thread_name_prefix="job")
        asyncio.get_running_loop().set_default_executor(executor)
        async with app.open_async():
            running = [
                asyncio.create_task(
                    app.run_worker_async(
                        queues=names, wait=wait, name=f"{name or 'worker'}:{','.join(names)}", concurrency=n,
                        additional_context={"worker": context}, delete_jobs="successful",
                        fetch_job_polling_interval=2.0, install_signal_handlers=False,
                    )
                )
                for names, n in loops
            ]  # fmt: skip
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):  # one handler stops every loop
                loop.add_signal_handler(sig, lambda: [t.cancel() for t in running])
            try:
                outcomes = await asyncio.gather(*running, return_exceptions=True)
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    raise outcome

    asyncio.run(main())
