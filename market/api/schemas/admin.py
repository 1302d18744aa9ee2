"""Admins' schemas: members, the ledger, licence keys, rounds and payouts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.schemas.base import Base, CursorQuery, Id, PageQuery, paged
from market.bounds import BIGINT_MAX


class MembersQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=100))


class MemberOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    member_class = fields.String(required=True)
    status = fields.String(required=True)
    is_admin = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


MembersPage = paged("MembersPage", MemberOut)


class LedgerQuery(CursorQuery):
    kind = fields.String(validate=validate.Length(max=32))
    account = fields.String(validate=validate.Length(max=64))


class PostingOut(Schema):
    account = fields.String(required=True)
    amount_cents = fields.Integer(required=True)


class TransactionOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    memo = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    postings = fields.List(fields.Nested(PostingOut), required=True)


LedgerPage = paged("LedgerPage", TransactionOut, cursor=True)


class KeysIn(Base):
    csv = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4_000_000),
        metadata={"description": "The CSV file's text: one licence key a row"},
    )
    skip_bad = fields.Boolean(load_default=False)


class RejectedOut(Schema):
    line = fields.Integer(required=True)
    reason = fields.String(required=True)


class ImportOut(Schema):
    imported = fields.Integer(required=True)
    rows = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedOut), required=True)


class RoundIn(Base):
    period = fields.String(
        required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
        metadata={"description": "YYYY-MM"},
    )  # fmt: skip
    rule = fields.String(
        load_default="independent_markets",
        validate=validate.OneOf(["independent_markets", "consensus", "mean"]),
    )
    closes_at = fields.AwareDateTime(load_default=None, allow_none=True)


class CloseIn(Base):
    early = fields.Boolean(
        load_default=False, metadata={"description": "Close before the announced time"}
    )


class PayoutIn(Base):
    channel_id = fields.Integer(required=True, validate=Id)
    cents = fields.Integer(required=True, validate=validate.Range(min=1, max=BIGINT_MAX))
    paid_on = fields.Date(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=64))


class PayoutOut(Schema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    paid_on = fields.Date(required=True)
    reference = fields.String(required=True)


class BalanceOut(Schema):
    channel_id = fields.Integer(required=True)
    name = fields.String(required=True)
    allocated_cents = fields.Integer(required=True)
    paid_cents = fields.Integer(required=True)
    owed_cents = fields.Integer(required=True)


class PayoutsOut(Schema):
    balances = fields.List(fields.Nested(BalanceOut), required=True)
    recent = fields.List(fields.Nested(PayoutOut), required=True)
