"""The index as it was when migrations began (index layout version 2: uint64 columns shifted).

An index written before Alembic was used is brought to this layout by
:func:`verifier.index.schema._legacy_upgrade` and then stamped with this revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UINT64 = sa.BigInteger  # verifier.index.schema.Uint64 is stored as a shifted BIGINT


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "endorsements",
        sa.Column("release_id", sa.String(length=66), nullable=False),
        sa.Column("endorser", sa.String(length=42), nullable=False),
        sa.Column("kind_hash", sa.String(length=66), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("data_digest", sa.String(length=66), nullable=False),
        sa.Column("time", UINT64(), nullable=False),
        sa.Column("revoked_at", UINT64(), nullable=False),
        sa.PrimaryKeyConstraint("release_id", "endorser", "kind_hash"),
    )
    op.create_index(op.f("ix_endorsements_kind"), "endorsements", ["kind"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=True),
        sa.Column("time", UINT64(), nullable=True),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("alerts", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("block_number", "log_index", name="uq_event_position"),
    )
    op.create_index(op.f("ix_events_block_number"), "events", ["block_number"], unique=False)
    op.create_index(op.f("ix_events_namespace"), "events", ["namespace"], unique=False)
    op.create_table(
        "manifests",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "namespaces",
        sa.Column("id", sa.String(length=66), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("controller", sa.String(length=42), nullable=False),
        sa.Column("pending_controller", sa.String(length=42), nullable=True),
        sa.Column("claimed_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "operators",
        sa.Column("scope_id", sa.String(length=66), nullable=False),
        sa.Column("operator_did_hash", sa.String(length=66), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("operator_did", sa.String(length=256), nullable=False),
        sa.Column("expires_at", UINT64(), nullable=False),
        sa.Column("revoked_at", UINT64(), nullable=False),
        sa.Column("origins", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("scope_id", "operator_did_hash"),
    )
    op.create_index(op.f("ix_operators_namespace"), "operators", ["namespace"], unique=False)
    op.create_table(
        "releases",
        sa.Column("id", sa.String(length=66), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("namespace_id", sa.String(length=66), nullable=False),
        sa.Column("weights_digest", sa.String(length=64), nullable=False),
        sa.Column("manifest_digest", sa.String(length=64), nullable=False),
        sa.Column("signer_did_hash", sa.String(length=66), nullable=False),
        sa.Column("publisher", sa.String(length=42), nullable=False),
        sa.Column("published_at", UINT64(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("revoked_at", UINT64(), nullable=False),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_releases_manifest_digest"), "releases", ["manifest_digest"], unique=False)
    op.create_index(op.f("ix_releases_namespace"), "releases", ["namespace"], unique=False)
    op.create_index(op.f("ix_releases_weights_digest"), "releases", ["weights_digest"], unique=False)
    op.create_table(
        "signers",
        sa.Column("namespace_id", sa.String(length=66), nullable=False),
        sa.Column("did_hash", sa.String(length=66), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("did", sa.String(length=256), nullable=False),
        sa.Column("valid_from", UINT64(), nullable=False),
        sa.Column("valid_until", UINT64(), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "did_hash"),
    )
    op.create_index(op.f("ix_signers_namespace"), "signers", ["namespace"], unique=False)
    op.create_table(
        "skipped_logs",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("topic", sa.String(length=66), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
    )
    op.create_table(
        "event_links",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "namespace"),
    )
    op.create_index("ix_event_links_ns", "event_links", ["namespace", "event_id"], unique=False)


def downgrade() -> None:
    for table in (
        "event_links", "skipped_logs", "signers", "releases", "operators", "namespaces", "manifests", "events",
        "endorsements", "checkpoint", "blocks",
    ):  # fmt: skip
        op.drop_table(table)
