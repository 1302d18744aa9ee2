"""Decisions' schemas: proposals, positions on them, comment threads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.schemas.base import Base
from market.bounds import INT_MAX
from market.proposals import services as proposals


class ProposalIn(Base):
    title = fields.String(required=True, validate=validate.Length(min=1, max=proposals.MAX_TITLE))
    body = fields.String(required=True, validate=validate.Length(max=proposals.MAX_BODY))
    closes_at = fields.AwareDateTime(required=True, default_timezone=None)
    results_while_open = fields.Boolean(load_default=True)


class CountOut(Schema):
    stance = fields.String(required=True)
    count = fields.Integer(required=True)


class PositionOut(Schema):
    stance = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class ProposalOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    author = fields.String(
        required=True, allow_none=True, metadata={"description": "members in good standing"}
    )
    body = fields.String(required=True, allow_none=True)
    closes_at = fields.DateTime(required=True)
    is_open = fields.Boolean(required=True)
    results_visible = fields.Boolean(required=True)
    counts = fields.List(fields.Nested(CountOut), required=True)
    blocked = fields.Boolean(required=True)
    turnout_percent = fields.Integer(required=True)
    mine = fields.Nested(PositionOut, required=True, allow_none=True)


class ProposalLine(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    author = fields.String(required=True, allow_none=True)
    closes_at = fields.DateTime(required=True)
    is_open = fields.Boolean(required=True)
    flagged = fields.Boolean(required=True, metadata={"description": "closed with a block"})


class PositionIn(Base):
    stance = fields.String(
        required=True, validate=validate.OneOf(["agree", "abstain", "disagree", "block"])
    )
    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=proposals.MAX_REASON)
    )


class CommentIn(Base):
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    parent_id = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=INT_MAX)
    )


class CommentOut(Schema):
    id = fields.Integer(required=True)
    parent_id = fields.Integer(required=True, allow_none=True)
    depth = fields.Integer(required=True)
    author = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown; empty if deleted"})
    created_at = fields.DateTime(required=True)
    edited = fields.Boolean(required=True)
    deleted = fields.Boolean(required=True)


class ThreadOut(Schema):
    visible = fields.Boolean(
        required=True, metadata={"description": "false: only members in good standing read it"}
    )
    count = fields.Integer(required=True)
    comments = fields.List(fields.Nested(CommentOut), required=True)
