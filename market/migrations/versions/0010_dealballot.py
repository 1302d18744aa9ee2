"""deal ballots (candidates, approvals, published outcome) and product waitlists

Revision ID: 0010_dealballot
Revises: 0010_api
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db


revision = "0010_dealballot"
down_revision = "0010_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deal_ballot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('budget_cents', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('closes_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', market.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('budget_used_cents', sa.Integer(), nullable=True),
    sa.Column('spent_cents', sa.Integer(), nullable=True),
    sa.Column('ballots_counted', sa.Integer(), nullable=True),
    sa.Column('approvals_counted', sa.Integer(), nullable=True),
    sa.Column('audit_head', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status IN ('open', 'published')", name=op.f('ck_deal_ballot_status_known')),
    sa.CheckConstraint('budget_cents >= 1', name=op.f('ck_deal_ballot_budget_positive')),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_deal_ballot_channel_id_channel')),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], name=op.f('fk_deal_ballot_created_by_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_ballot'))
    )
    with op.batch_alter_table('deal_ballot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_ballot_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_ballot_status'), ['status'], unique=False)

    op.create_table('deal_ballot_candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=False),
    sa.Column('approvals', sa.Integer(), nullable=True),
    sa.Column('funded', sa.Boolean(), nullable=True),
    sa.Column('greedy_funded', sa.Boolean(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint('cost_cents >= 1', name=op.f('ck_deal_ballot_candidate_cost_positive')),
    sa.ForeignKeyConstraint(['ballot_id'], ['deal_ballot.id'], name=op.f('fk_deal_ballot_candidate_ballot_id_deal_ballot')),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], name=op.f('fk_deal_ballot_candidate_deal_id_deal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_ballot_candidate')),
    sa.UniqueConstraint('ballot_id', 'deal_id', name='uq_deal_ballot_candidate')
    )
    with op.batch_alter_table('deal_ballot_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_ballot_candidate_ballot_id'), ['ballot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_ballot_candidate_deal_id'), ['deal_id'], unique=False)

    op.create_table('deal_ballot_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('approvals', sa.Text(), nullable=False),
    sa.Column('receipt', sa.String(length=64), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('created_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['deal_ballot.id'], name=op.f('fk_deal_ballot_vote_ballot_id_deal_ballot')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_deal_ballot_vote_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_ballot_vote')),
    sa.UniqueConstraint('ballot_id', 'member_id', name='uq_deal_ballot_vote_member')
    )
    with op.batch_alter_table('deal_ballot_vote', schema=None) as batch_op:
        batch_op.create_index('ix_deal_ballot_vote_receipt', ['ballot_id', 'receipt'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_ballot_vote_member_id'), ['member_id'], unique=False)

    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('created_at', market.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_waitlist_entry_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_waitlist_entry_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry')),
    sa.UniqueConstraint('product_id', 'member_id', name='uq_waitlist_product_member')
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entry_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entry_product_id'), ['product_id'], unique=False)

    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ballot_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_deal_ballot_id'), ['ballot_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_product_id'))
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_member_id'))
    op.drop_table('waitlist_entry')
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_ballot_id'))
        batch_op.drop_column('ballot_id')
    with op.batch_alter_table('deal_ballot_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_ballot_vote_member_id'))
        batch_op.drop_index('ix_deal_ballot_vote_receipt')
    op.drop_table('deal_ballot_vote')
    with op.batch_alter_table('deal_ballot_candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_ballot_candidate_deal_id'))
        batch_op.drop_index(batch_op.f('ix_deal_ballot_candidate_ballot_id'))
    op.drop_table('deal_ballot_candidate')
    with op.batch_alter_table('deal_ballot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_ballot_status'))
        batch_op.drop_index(batch_op.f('ix_deal_ballot_channel_id'))
    op.drop_table('deal_ballot')
