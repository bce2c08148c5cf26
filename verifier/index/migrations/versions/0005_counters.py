"""Counters of what changes outside the chain's events, read by every replica's read cache: the
manifests stored (``manifests``: raised with every upload that stores or merges one), so an
upload to one replica ends the cached answers that show that manifest on all of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(counters, [{"name": "manifests", "value": 0}])


def downgrade() -> None:
    op.drop_table("counters")
