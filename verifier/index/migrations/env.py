"""Alembic's environment: migrations run on the connection :func:`verifier.index.schema.migrate`
hands over (already in a transaction and holding the migration lock), or, for a developer's
``alembic`` command, on ``MODELSEAL_DATABASE_URL`` (default: a throwaway SQLite file)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from verifier.index.schema import Base, ours

connection = context.config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, include_name=ours)
    with context.begin_transaction():
        context.run_migrations()
else:  # a developer's `alembic -c verifier/index/alembic.ini ...`
    url = os.environ.get("MODELSEAL_DATABASE_URL", "sqlite:///alembic-dev.sqlite")
    with create_engine(url).begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True, include_name=ours)
        with context.begin_transaction():
            context.run_migrations()
