"""What a request needs, built once per app: settings, database, indexer, confusable names.

``request.app.state.services`` holds one :class:`Services`; routes get it through
:func:`get_services` (a FastAPI dependency), so tests can swap it with ``dependency_overrides``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.verdict import ChainView
from verifier.db import Checkpoint, NamespaceRow
from verifier.indexer import BackgroundIndexer, Indexer
from verifier.settings import VerifierSettings


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
        self._names_count: tuple[int, str | None] = (-1, None)  # namespaces, indexed head, when last read
        self._names_checked = 0.0
        self._answers: dict[str, list[dict[str, Any]]] = {}  # name -> confusions, until the names change
        self._lock = threading.Lock()
        from verifier.guard import GuardedClient, GuardPolicy
        from verifier.prober import Prober

        policy = GuardPolicy(
            allow_loopback=settings.allow_loopback_targets, allow_private=settings.allow_private_targets
        )
        self.prober = Prober(GuardedClient(policy))
        self._behaviour: Any = None

    def latest_behaviour(self, url: str, release: str) -> Any:
        """The most recent behavioural-check job for this endpoint and release, if any ran."""
        return None if self._behaviour is None else self._behaviour.latest(url, release)

    @property
    def behaviour(self) -> Any:
        """The behavioural-check runner (loads llama.cpp only when first used)."""
        from verifier.behaviour import BehaviourService
        from verifier.guard import GuardedClient, GuardPolicy

        with self._lock:
            if self._behaviour is None:
                policy = GuardPolicy(
                    allow_loopback=self.settings.allow_loopback_targets,
                    allow_private=self.settings.allow_private_targets,
                    read_timeout=120.0,
                    total_timeout=180.0,
                )
                self._behaviour = BehaviourService(self.settings.home, GuardedClient(policy))
            return self._behaviour

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as s:
            yield s

    def chain_view(self) -> ChainView:
        st = self.indexer.status(max_age=1.0)
        return ChainView(st.chain_id, st.registry, st.indexed, st.behind)

    def confusions(self, s: Session, name: str) -> list[dict[str, Any]]:
        """Registered namespaces ``name`` could be mistaken for (a cached index: new namespaces
        are added to it; it is rebuilt only if a namespace went away, i.e. a reorg)."""
        from verifier.confusables import ConfusableIndex

        with self._lock:
            now = time.monotonic()
            if self._names is None or now - self._names_checked > 1.0:  # look for new names at most once a second
                count = int(s.scalar(select(func.count()).select_from(NamespaceRow)) or 0)
                head = s.scalar(select(Checkpoint.block_hash))  # moves with every block indexed (and reorg)
                if self._names is None or (count, head) != self._names_count:
                    current = set(s.scalars(select(NamespaceRow.name)).all())
                    if self._names is None or not self._names.names <= current:
                        self._names = ConfusableIndex(current)
                    else:
                        for added in current - self._names.names:
                            self._names.add(added)
                    self._names_count = (count, head)
                    self._answers.clear()
                self._names_checked = now
            answer = self._answers.get(name)
            if answer is None:
                found = self._names.check(name)
                answer = [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in found]
                if len(self._answers) >= 10_000:
                    self._answers.clear()
                self._answers[name] = answer
        return [dict(item) for item in answer]


def get_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
