"""Endpoint checks and receipt audits as jobs (table ``jobs``: input, state, result, who asked, an
audit's input digest), an index on ``behaviour_jobs.created`` for the global retention of finished
jobs, and ``behaviour_jobs.decisive`` (a match or a mismatch: the retention keeps each chatbot's
newest such row, found in SQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
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
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("input_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_kind_state", "jobs", ["kind", "state"], unique=False)
    op.create_index("ix_jobs_created", "jobs", ["created"], unique=False)
    op.create_index("ix_jobs_kind_client", "jobs", ["kind", "client"], unique=False)
    op.create_index("ix_jobs_input_key", "jobs", ["input_key"], unique=False)
    op.create_index("ix_behaviour_jobs_created", "behaviour_jobs", ["created"], unique=False)
    with op.batch_alter_table("behaviour_jobs") as batch:
        batch.add_column(sa.Column("decisive", sa.Boolean(), nullable=False, server_default=sa.false()))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, check_json FROM behaviour_jobs WHERE state = 'done' AND check_json IS NOT NULL")
    )
    decided = [r.id for r in rows if json.loads(r.check_json).get("status") in ("pass", "fail")]
    for i in range(0, len(decided), 500):
        conn.execute(
            sa.text("UPDATE behaviour_jobs SET decisive = :yes WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"yes": True, "ids": decided[i : i + 500]},
        )


def downgrade() -> None:
    with op.batch_alter_table("behaviour_jobs") as batch:
        batch.drop_column("decisive")
    op.drop_index("ix_behaviour_jobs_created", table_name="behaviour_jobs")
    op.drop_table("jobs")
