"""Public reads' schemas: the catalogue, channels, the Books, rounds and results, the feed."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.schemas.base import CursorQuery, Id, PageQuery, paged


class CatalogueQuery(PageQuery):
    channel = fields.Integer(validate=Id, metadata={"description": "Only this channel."})
    category = fields.String(validate=validate.Length(max=80))
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Name has"})


class ProductOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    terms = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["key", "seat", "link"]})
    reassignable = fields.Boolean(required=True)
    vendor = fields.String(required=True)
    vendor_id = fields.Integer(required=True)
    channel = fields.String(required=True)
    channel_id = fields.Integer(required=True)
    left = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: no stock to run out"}
    )
    total = fields.Integer(required=True, allow_none=True)
    leader = fields.Boolean(required=True, metadata={"description": "Vendor leads its market"})


CataloguePage = paged("CataloguePage", ProductOut)


class ChannelOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)


class MonthOut(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    collected_cents = fields.Integer(required=True)
    members_paying = fields.Integer(required=True)
    pool_cents = fields.Integer(required=True)
    reserve_cents = fields.Integer(required=True)
    allocated_cents = fields.Integer(required=True)
    paid_out_cents = fields.Integer(required=True)
    unallocated_cents = fields.Integer(required=True)


class ChannelAccountOut(Schema):
    name = fields.String(required=True)
    allocated_cents = fields.Integer(required=True)
    spent_on_deals_cents = fields.Integer(required=True)
    paid_out_cents = fields.Integer(required=True)
    owed_cents = fields.Integer(required=True)


class BooksOut(Schema):
    currency = fields.String(required=True)
    months = fields.List(fields.Nested(MonthOut), required=True)
    totals = fields.Nested(MonthOut, required=True)
    channels = fields.List(fields.Nested(ChannelAccountOut), required=True)


class RoundOut(Schema):
    id = fields.Integer(required=True)
    period = fields.String(required=True, metadata={"description": "YYYY-MM"})
    rule = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "closing", "published"]})
    currency = fields.String(required=True)
    opens_at = fields.DateTime(required=True)
    closes_at = fields.DateTime(required=True)
    eligible = fields.Integer(required=True)
    ballots_counted = fields.Integer(required=True, allow_none=True)
    pool_cents = fields.Integer(required=True, allow_none=True)
    audit_head = fields.String(required=True, allow_none=True)


class ResultRowOut(Schema):
    channel_id = fields.Integer(required=True)
    name = fields.String(required=True)
    share_pct = fields.String(required=True)
    cents = fields.Integer(required=True)
    mean_pct = fields.String(required=True)
    mean_cents = fields.Integer(required=True)


class ResultsOut(Schema):
    round = fields.Nested(RoundOut, required=True)
    rule_label = fields.String(required=True)
    turnout_pct = fields.String(required=True)
    weights_milli = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    rows = fields.List(fields.Nested(ResultRowOut), required=True)


class FeedQuery(CursorQuery):
    month = fields.String(
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
        metadata={"description": "only this month's money (YYYY-MM)"},
    )


class MoveOut(Schema):
    source = fields.String(required=True, data_key="from")
    destination = fields.String(required=True, data_key="to")
    cents = fields.Integer(required=True)


class FeedRowOut(Schema):
    number = fields.Integer(required=True)
    day = fields.Date(required=True)
    month = fields.String(required=True)
    kind = fields.String(required=True)
    currency = fields.String(required=True)
    cents = fields.Integer(required=True)
    moves = fields.List(fields.Nested(MoveOut), required=True)


FeedOut = paged("FeedOut", FeedRowOut, cursor=True)


class ReserveLineOut(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    text = fields.String(required=True)
    cents = fields.Integer(required=True)
    balance_after = fields.Integer(required=True, allow_none=True)
    proposal_id = fields.Integer(required=True, allow_none=True)


class ReserveOut(Schema):
    balance_cents = fields.Integer(required=True)
    target_cents = fields.Integer(required=True)
    purpose = fields.String(required=True)
    on_ballot = fields.Boolean(required=True)
    percent = fields.Integer(required=True)
    history = fields.List(fields.Nested(ReserveLineOut), required=True)
