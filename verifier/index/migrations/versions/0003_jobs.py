"""Jobs: behavioural checks and their results in the database (any replica answers for any job),
and on PostgreSQL the procrastinate task queue's own schema (procrastinate 3.10.0's schema.sql),
from which ``modelseal verifier worker`` processes take jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "behaviour_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("release", sa.String(length=200), nullable=False),
        sa.Column("weights_digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("finished", sa.Float(), nullable=True),
        sa.Column("check_json", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_behaviour_jobs_target", "behaviour_jobs", ["release", "url", "created"], unique=False)
    op.create_index(op.f("ix_behaviour_jobs_state"), "behaviour_jobs", ["state"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # the schema is several statements with '%' in them: run it as one plain query (no parameters)
        dbapi = bind.connection.dbapi_connection
        assert dbapi is not None
        dbapi.cursor().execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.drop_table("behaviour_jobs")
