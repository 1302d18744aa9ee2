"""Deals' schemas: members' wants and group buys, vendors' offers and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.schemas.base import Base, Id
from market.bounds import INT_MAX
from market.deals import demand, negotiation


class WantLineOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    maker = fields.String(required=True)
    channel = fields.String(required=True)
    wants = fields.Integer(required=True)
    mine = fields.Boolean(required=True)


class WantIn(Base):
    title = fields.String(required=True, validate=validate.Length(min=1, max=demand.MAX_TITLE))
    maker = fields.String(load_default="", validate=validate.Length(max=demand.MAX_TITLE))
    description = fields.String(
        load_default="", validate=validate.Length(max=demand.MAX_DESCRIPTION)
    )
    channel_id = fields.Integer(required=True, validate=Id)


class GroupBuyOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    deadline = fields.DateTime(required=True, allow_none=True)
    committed = fields.Integer(required=True)
    needed = fields.Integer(required=True)
    mine = fields.Boolean(required=True)
    open = fields.Boolean(required=True)


class TierSchema(Base):
    from_seats = fields.Integer(required=True, validate=validate.Range(min=1, max=INT_MAX))
    per_seat_cents = fields.Integer(required=True, validate=validate.Range(min=0, max=INT_MAX))


class OfferIn(Base):
    tiers = fields.List(
        fields.Nested(TierSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    min_seats = fields.Integer(required=True, validate=validate.Range(min=0, max=INT_MAX))
    term_months = fields.Integer(required=True, validate=validate.Range(min=1, max=INT_MAX))
    notes = fields.String(load_default="", validate=validate.Length(max=negotiation.MAX_NOTES))


class OfferOut(Schema):
    id = fields.Integer(required=True)
    party = fields.String(required=True, metadata={"enum": ["vendor", "admin"]})
    tiers = fields.List(fields.Nested(TierSchema), required=True)
    min_seats = fields.Integer(required=True)
    term_months = fields.Integer(required=True)
    notes = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class VendorDealOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    product = fields.String(required=True)
    channel = fields.String(required=True)
    seats_wanted = fields.Integer(required=True)
    term_months = fields.Integer(required=True)
    notes = fields.String(required=True)
    offers = fields.List(fields.Nested(OfferOut), required=True)
    can_offer = fields.Boolean(required=True)
    can_accept = fields.Boolean(required=True)
    can_withdraw = fields.Boolean(required=True)


class AnswerIn(Base):
    answer = fields.String(required=True, validate=validate.OneOf(["accept", "reject", "withdraw"]))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
