"""What a request needs, built once per app: settings, database, indexer, confusable names.

``request.app.state.services`` holds one :class:`Services`; routes get it through
:func:`get_services` (a FastAPI dependency), so tests can swap it with ``dependency_overrides``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.names import ReleaseName
from registry.verdict import ChainView, Check
from verifier.index.indexer import BackgroundIndexer, Indexer
from verifier.index.schema import EventRow, NamespaceRow
from verifier.limits import CheckSlots
from verifier.settings import VerifierSettings

if TYPE_CHECKING:
    from verifier.audit import Audit
    from verifier.check import EndpointCheck, ReleaseFact
    from verifier.jobs import JobQueue, Task, TaskKind


MAX_NAME_CHARS = 64
log = logging.getLogger("modelseal.verifier")
_T = TypeVar("_T")


class Services:
    def __init__(
        self,
        settings: VerifierSettings,
        engine: Engine,
        indexer: Indexer,
        background: BackgroundIndexer | None,
        version: str,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.indexer = indexer
        self.background = background
        self.version = version
        self._names: Any = None
        self._names_version: tuple[int, str] | None = None  # the newest event (id, block hash) when last read
        self._names_checked = 0.0
        self._answers: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}  # until the names change
        self._lock = threading.Lock()
        from verifier.check import make_prober

        self.prober = make_prober(settings)
        from verifier.metrics import Metrics

        self.metrics = Metrics()
        self.metrics.watch(self)
        self.slots = CheckSlots(
            settings.max_concurrent_checks,
            settings.max_queued_checks,
            on_refuse=lambda: self.metrics.refused.labels("check-slots").inc(),
        )
        self._behaviour: Any = None
        self.uploads = 0
        """manifest uploads this replica stored (part of :mod:`verifier.cache`'s key, with the
        database's count every replica reads)"""
        self._queue: Any = None
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._submitted: dict[Future[Any], str] = {}
        self._closed = False
        self._outbound = threading.Semaphore(settings.max_concurrent_checks)
        self.outbound_waiting = 0
        """checks of this replica waiting for the bound on outbound checks"""
        from verifier.jobs import TaskStore

        self.tasks = TaskStore(engine, **self.retention)
        """endpoint-check and receipt-audit jobs (:mod:`verifier.jobs`)"""

    def check(self, url: str, claimed: ReleaseName | None) -> EndpointCheck:
        """``/v1/check`` and the web page's check: the one verdict rule (:mod:`verifier.check`) with
        facts from the index and the latest behavioural check on record."""
        from verifier.check import IndexFacts, check_endpoint

        def behaviour(release: ReleaseName, _fact: ReleaseFact | None) -> Check:
            return self.latest_behaviour_check(url, str(release))

        started = time.monotonic()
        result = check_endpoint(url, claimed, IndexFacts(self), self.prober, behaviour)
        self.metrics.check_seconds.labels(result.verdict.verdict).observe(time.monotonic() - started)
        return result

    def latest_behaviour_check(self, url: str, release: str) -> Check:
        """The behavioural check on record for this endpoint and release
        (:func:`verifier.behaviour.check_on_record`); start one with ``POST /v1/behaviour-checks``."""
        from verifier.behaviour import check_on_record
        from verifier.jobs import JobStore

        jobs = JobStore(self.engine)
        return check_on_record(jobs.history(url, release), now=jobs.now())  # ages by the clock the times are

    @property
    def retention(self) -> dict[str, Any]:
        """The job stores' retention, from the settings."""
        return {"retention_days": self.settings.job_retention_days, "max_rows": self.settings.job_retention_rows}

    @property
    def queue(self) -> JobQueue:
        """The task queue (``MODELSEAL_JOBS=queue``), opened on first use."""
        from verifier.jobs import JobQueue

        with self._lock:
            if self._queue is None:
                self._queue = JobQueue(self.settings.database_url or "")
            queue: JobQueue = self._queue
            return queue

    def start_job(self, kind: TaskKind, data: dict[str, Any], client: str | None = None) -> Task:
        """Ask for an endpoint check (``url``, ``release``) or a receipt audit (``request``,
        ``response``, ``receipt``) as a job: on the task queue for a worker, or in this replica's
        bounded threads (endpoint checks within the replica's bound on outbound checks, shared
        with ``/v1/check``; audits one at a time). An audit asked again with the same input while
        the first is unfinished or just finished is that job. 503 with ``Retry-After`` when
        :data:`verifier.jobs.MAX_PENDING` jobs of the kind, or
        :data:`verifier.jobs.MAX_PENDING_PER_CLIENT` of ``client``'s, are queued or running
        already, or when the task queue cannot take the job. An audit's receipt is verified
        first (422 when it does not verify over these bytes: nothing is queued)."""
        from verifier.errors import Problem
        from verifier.jobs import MAX_PENDING, MAX_PENDING_PER_CLIENT, RETRY_AFTER, Busy

        if kind == "audit":
            from registry.identity.protocol import verify_receipt

            verify_receipt(data["receipt"], data["request"].encode(), data["response"].encode())
        mode = self.settings.jobs
        what = "endpoint checks" if kind == "check" else "receipt audits"
        retry = RETRY_AFTER[kind]
        try:
            task, new = self.tasks.start(
                kind, data, client=client, max_pending=MAX_PENDING[(kind, mode)],
                max_per_client=MAX_PENDING_PER_CLIENT[(kind, mode)],
            )  # fmt: skip
        except Busy as busy:
            self.metrics.refused.labels(f"{kind}-jobs").inc()
            whose = "of yours " if busy.per_client else ""
            raise Problem(
                503, "busy", f"Too many {what} in progress",
                f"{busy.waiting} {what} {whose}are running or waiting; try again later",
                retryAfter=retry, headers={"Retry-After": str(retry)},
            ) from None  # fmt: skip
        if not new:
            return task
        if mode == "queue":
            try:
                self.queue.defer_task(kind, task.id)
            except Exception:
                log.exception("%s job %s: the task queue refused it", kind, task.id)
                self.tasks.abandon(task.id, "queue")
                raise Problem(
                    503, "queue-unavailable", "The task queue is unavailable",
                    f"the {what} queue could not take the job; try again later",
                    retryAfter=retry, headers={"Retry-After": str(retry)},
                ) from None  # fmt: skip
        else:
            self._submit(kind, task.id)
        return task

    def _submit(self, kind: TaskKind, job_id: str) -> None:
        from verifier.jobs import run_task

        run: Callable[[], None] = lambda: run_task(self.tasks, job_id, lambda: self)  # noqa: E731
        if kind == "check":
            run = partial(self._outbound_bounded, run)
        with self._lock:
            closed = self._closed
            if not closed:
                pool = self._pools.get(kind)
                if pool is None:
                    size = self.settings.max_concurrent_checks if kind == "check" else 1
                    pool = self._pools[kind] = ThreadPoolExecutor(size, thread_name_prefix=f"{kind}-job")
                future = pool.submit(run)
                self._submitted[future] = job_id
        if closed:  # the replica is stopping: the job will not run here
            self.tasks.abandon(job_id, "shutdown")
            return
        future.add_done_callback(self._forget)  # (outside the lock: a finished future calls back at once)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._submitted.pop(future, None)

    def _outbound_bounded(self, fn: Callable[[], _T]) -> _T:
        """``fn`` within this replica's bound on outbound checks (``max_concurrent_checks``): one
        bound for ``/v1/check`` and in-process check jobs together."""
        with self._lock:
            self.outbound_waiting += 1
        try:
            self._outbound.acquire()
        finally:
            with self._lock:
                self.outbound_waiting -= 1
        try:
            return fn()
        finally:
            self._outbound.release()

    def check_bounded(self, url: str, claimed: ReleaseName | None) -> EndpointCheck:
        """:meth:`check` within the replica's bound on outbound checks (``/v1/check``, which
        holds one of :attr:`slots` while it waits here)."""
        return self._outbound_bounded(lambda: self.check(url, claimed))

    def close(self) -> None:
        """Stop this replica's job threads (the app's shutdown): jobs not started yet are
        cancelled and recorded as failed (``shutdown``: ask again), running ones finish."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
            submitted = list(self._submitted.items())  # (a cancelled future forgets itself)
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
        cancelled = [job_id for future, job_id in submitted if future.cancelled()]
        for job_id in cancelled:
            try:
                self.tasks.abandon(job_id, "shutdown")
            except Exception:  # the database went first: the job is reported lost in time
                log.exception("job %s: could not record it as cancelled", job_id)
        with self._lock:
            queue, self._queue = self._queue, None
        if queue is not None:
            queue.close()

    def use_behaviour(self, service: Any) -> None:
        """Use this behavioural-check service (a worker's: its replayer serves audits too)."""
        with self._lock:
            self._behaviour = service

    def audit(self, request: bytes, response: bytes, receipt: str) -> Audit:
        """Audit a user's kept answer against the registered weights (:mod:`verifier.audit`)."""
        from verifier.audit import audit_receipt
        from verifier.check import IndexFacts

        behaviour = self.behaviour
        return audit_receipt(
            request, response, receipt, IndexFacts(self).release, behaviour.store.get, behaviour.replayer
        )

    def chain_time(self) -> int:
        """Chain time of the index's view (the last indexed block's timestamp): what operator
        expiry and every other chain fact is judged against."""
        return self.indexer.chain_time(max_age=1.0)

    @property
    def behaviour(self) -> Any:
        """The behavioural-check service (loads llama.cpp only when a check runs here): jobs in
        the index database, run in this process or, with ``MODELSEAL_JOBS=queue``, by workers."""
        from verifier.behaviour import BehaviourService
        from verifier.guard import GuardedClient, GuardPolicy
        from verifier.jobs import JobStore

        with self._lock:
            if self._behaviour is not None:
                return self._behaviour
        queue = self.queue if self.settings.jobs == "queue" else None  # (takes the lock itself)
        with self._lock:
            if self._behaviour is None:
                policy = GuardPolicy.for_behaviour(self.settings)
                self._behaviour = BehaviourService(
                    self.settings.home,
                    GuardedClient(policy, keep_alive=True),
                    JobStore(self.engine, **self.retention),
                    queue,
                )
            return self._behaviour

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as s:
            yield s

    def chain_view(self) -> ChainView:
        st = self.indexer.status(max_age=1.0)
        return ChainView(st.chain_id, st.registry, st.indexed, st.behind, st.stale, st.confirmations)

    def confusions(self, s: Session, name: str) -> list[dict[str, Any]]:
        """Namespaces registered before ``name`` that it could be mistaken for (every look-alike,
        for a name not registered): the ``confusable-name`` warning."""
        return self.name_standing(s, name)[0]

    def lookalikes(self, s: Session, name: str) -> list[dict[str, Any]]:
        """Namespaces registered after ``name`` that could be mistaken for it: a notice for its
        owner, never a warning about it."""
        return self.name_standing(s, name)[1]

    def name_standing(self, s: Session, name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``name``'s look-alikes registered before it and after it
        (:meth:`registry.confusables.ConfusableIndex.standing`), from a cached index of the
        namespaces in registration order. At most once a second it looks at the newest event row:
        when events were added, the names of the new claims among them (event ids grow in chain
        order) are added to the index; it is rebuilt from every claim only if the event it last
        saw is gone (a reorg). Answers are cached for at most 10,000 names of at most 64
        characters (a namespace's longest): a longer text is no namespace and is answered without
        the cache, from its first 64 characters."""
        from registry.confusables import ConfusableIndex

        name = name[:MAX_NAME_CHARS]
        with self._lock:
            now = time.monotonic()
            if self._names is None or now - self._names_checked > 1.0:  # look for new names at most once a second
                newest = s.execute(
                    select(EventRow.id, EventRow.block_hash).order_by(EventRow.id.desc()).limit(1)
                ).first()
                version = (int(newest[0]), str(newest[1])) if newest is not None else (0, "")
                seen = self._names_version
                if self._names is None or seen is None or not _still_there(s, seen):
                    self._names = ConfusableIndex(_names_in_claim_order(s))
                    self._answers.clear()
                elif version != seen:
                    claims = s.scalars(
                        select(EventRow.namespace)
                        .where(EventRow.name == "NamespaceClaimed", EventRow.id > seen[0], EventRow.id <= version[0])
                        .order_by(EventRow.id)
                    ).all()
                    added = [n for n in claims if n and n not in self._names.names]
                    for claimed in added:
                        self._names.add(claimed)
                    if added:
                        self._answers.clear()
                self._names_version = version
                self._names_checked = now
            answer = self._answers.get(name)
            if answer is None:
                standing = self._names.standing(name)
                answer = (_confusions_json(standing.earlier), _confusions_json(standing.later))
                if len(self._answers) >= 10_000:
                    self._answers.clear()
                self._answers[name] = answer
        return [dict(item) for item in answer[0]], [dict(item) for item in answer[1]]


def _still_there(s: Session, event: tuple[int, str]) -> bool:
    """Whether the event row last seen (id, block hash) is still indexed: then so is every event
    before it, since a reorg removes the events of whole blocks from the newest back."""
    if event[0] == 0:
        return True
    return s.scalar(select(EventRow.block_hash).where(EventRow.id == event[0])) == event[1]


def _names_in_claim_order(s: Session) -> list[str]:
    """Every claimed namespace, oldest claim first (block, then position in the block)."""
    claims = (
        select(EventRow.namespace)
        .where(EventRow.name == "NamespaceClaimed")
        .order_by(EventRow.block_number, EventRow.log_index)
    )
    current = set(s.scalars(select(NamespaceRow.name)).all())
    ordered = [n for n in dict.fromkeys(s.scalars(claims).all()) if n in current]
    return ordered + sorted(current - set(ordered))


def _confusions_json(found: list[Any]) -> list[dict[str, Any]]:
    return [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in found]


def get_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
