"""What a request needs, built once per app: settings, database, indexer, confusable names.

``request.app.state.services`` holds one :class:`Services`; routes get it through
:func:`get_services` (a FastAPI dependency), so tests can swap it with ``dependency_overrides``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.verdict import ChainView
from verifier.db import NamespaceRow
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
        self._names_count = -1
        self._lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as s:
            yield s

    def chain_view(self) -> ChainView:
        st = self.indexer.status()
        return ChainView(st.chain_id, st.registry, st.indexed, st.behind)

    def confusions(self, s: Session, name: str) -> list[dict[str, Any]]:
        """Registered namespaces ``name`` could be mistaken for (cached index, rebuilt when a
        namespace is added)."""
        from verifier.confusables import ConfusableIndex

        count = int(s.scalar(select(func.count()).select_from(NamespaceRow)) or 0)
        with self._lock:
            if self._names is None or count != self._names_count:
                self._names = ConfusableIndex(s.scalars(select(NamespaceRow.name)).all())
                self._names_count = count
            found = self._names.check(name)
        return [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in found]


def get_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
