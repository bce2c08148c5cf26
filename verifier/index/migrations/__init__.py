"""Alembic migrations of the index schema (:mod:`verifier.index.schema`).

Every change to the index's tables after the first Alembic revision is a revision in
``versions/``, applied by :func:`verifier.index.schema.migrate` when a verifier starts (under a
lock, so replicas starting together never race). ``tests/test_migrations.py`` checks that the
revisions build exactly the tables the models describe. docs/development.md says how to add one.
"""
