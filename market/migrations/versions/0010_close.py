"""close: files stored in the database (audit files, uploads, exports); job progress percent;
the audit file's covering index on ballots

Revision ID: 0010_close
Revises: 0010_talk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db

revision = "0010_close"
down_revision = "0010_talk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("created_at", market.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
        sa.UniqueConstraint("name", name=op.f("uq_stored_file_name")),
    )
    op.create_table(
        "stored_file_chunk",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("first_line", sa.BigInteger(), nullable=False),
        sa.Column("first_key", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_file.id"],
            name=op.f("fk_stored_file_chunk_file_id_stored_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "seq", name=op.f("pk_stored_file_chunk")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Chunks are written once and read whole: skip TOAST's compression (CPU on every
        # close for ~2x on hex digits) but keep them out of line.
        op.execute("ALTER TABLE stored_file_chunk ALTER COLUMN data SET STORAGE EXTERNAL")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("percent", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(
        "ix_ballot_audit",
        "ballot",
        ["round_id", "receipt"],
        unique=False,
        postgresql_include=["member_class", "split"],
        postgresql_where=sa.text("is_current AND NOT abstain"),
        sqlite_where=sa.text("is_current AND NOT abstain"),
    )


def downgrade() -> None:
    op.drop_index("ix_ballot_audit", table_name="ballot")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("percent")
    op.drop_table("stored_file_chunk")
    op.drop_table("stored_file")
