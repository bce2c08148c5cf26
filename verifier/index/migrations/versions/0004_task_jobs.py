"""Endpoint checks and receipt audits as jobs (table ``jobs``: input, state, result), and an
index on ``behaviour_jobs.created`` for the global retention of finished jobs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("started", sa.Float(), nullable=True),
        sa.Column("finished", sa.Float(), nullable=True),
        sa.Column("input_json", sa.Text(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_kind_state", "jobs", ["kind", "state"], unique=False)
    op.create_index("ix_jobs_created", "jobs", ["created"], unique=False)
    op.create_index("ix_behaviour_jobs_created", "behaviour_jobs", ["created"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_behaviour_jobs_created", table_name="behaviour_jobs")
    op.drop_table("jobs")
