"""proposals: decisions, current positions and their history

Revision ID: 0005_proposals
Revises: 0004_notifications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db


revision = "0005_proposals"
down_revision = "0004_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('closes_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('results_while_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('close_noticed_at', market.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('outcome_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome_at', market.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('subject_kind', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(subject_kind IS NULL) = (subject_id IS NULL)', name=op.f('ck_proposal_subject_kind_and_id_together')),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_proposal_author_id_member')),
    sa.ForeignKeyConstraint(['outcome_by_id'], ['member.id'], name=op.f('fk_proposal_outcome_by_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal'))
    )
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_closes_at', ['closes_at'], unique=False)
        batch_op.create_index('ix_proposal_subject', ['subject_kind', 'subject_id'], unique=False)

    op.create_table('position',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('stance', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stance <> 'block' OR (reason IS NOT NULL AND length(trim(reason)) > 0)", name=op.f('ck_position_block_has_reason')),
    sa.CheckConstraint("stance IN ('agree', 'abstain', 'disagree', 'block')", name=op.f('ck_position_stance_known')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_position_member_id_member')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_position_proposal_id_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position')),
    sa.UniqueConstraint('proposal_id', 'member_id', name=op.f('uq_position_proposal_id'))
    )
    op.create_table('position_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('stance', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stance <> 'block' OR (reason IS NOT NULL AND length(trim(reason)) > 0)", name=op.f('ck_position_change_block_has_reason')),
    sa.CheckConstraint("stance IN ('agree', 'abstain', 'disagree', 'block')", name=op.f('ck_position_change_stance_known')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_position_change_member_id_member')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_position_change_proposal_id_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_change'))
    )
    with op.batch_alter_table('position_change', schema=None) as batch_op:
        batch_op.create_index('ix_position_change_proposal', ['proposal_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('position_change', schema=None) as batch_op:
        batch_op.drop_index('ix_position_change_proposal')

    op.drop_table('position_change')
    op.drop_table('position')
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_subject')
        batch_op.drop_index('ix_proposal_closes_at')

    op.drop_table('proposal')
