"""A member's schemas: who I am, my dues, my claims, my ballot and my receipts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from market.api.schemas.base import Base, Id
from market.api.schemas.public import RoundOut


class MeOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    member_class = fields.String(required=True)
    status = fields.String(required=True)
    in_good_standing = fields.Boolean(required=True)
    is_admin = fields.Boolean(required=True)
    scope = fields.String(required=True, metadata={"description": "This token's scope now"})


class InvoiceOut(Schema):
    id = fields.String(required=True)
    month = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True)
    paid_at = fields.DateTime(required=True, allow_none=True)


class DuesOut(Schema):
    status = fields.String(required=True)
    grace_until = fields.DateTime(required=True, allow_none=True)
    monthly_fee_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    subscription = fields.String(required=True, metadata={"description": "Stripe's status"})
    cancel_at_period_end = fields.Boolean(required=True)
    next_charge_at = fields.DateTime(required=True, allow_none=True)
    card_last4 = fields.String(required=True, allow_none=True)
    invoices = fields.List(fields.Nested(InvoiceOut), required=True)


class ClaimIn(Base):
    product_id = fields.Integer(required=True, validate=Id)


class ClaimOut(Schema):
    claim_id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    product_name = fields.String(required=True)
    vendor_name = fields.String(required=True)
    kind = fields.String(required=True)
    key = fields.String(required=True, allow_none=True)
    link = fields.String(required=True, allow_none=True)
    claimed_at = fields.DateTime(required=True)
    reassignable = fields.Boolean(required=True)


class Released(Schema):
    released = fields.String(required=True, metadata={"description": "The product's name"})


class ShareIn(Base):
    channel_id = fields.Integer(required=True, validate=Id)
    bp = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))


class BallotIn(Base):
    round_id = fields.Integer(required=True, validate=Id)
    shares = fields.List(
        fields.Nested(ShareIn),
        required=True,
        validate=validate.Length(max=200),
        metadata={"description": "Basis points by channel; they must add up to 10000."},
    )


class AbstainIn(Base):
    round_id = fields.Integer(required=True, validate=Id)


class ShareOut(Schema):
    channel_id = fields.Integer(required=True)
    name = fields.String(required=True)
    bp = fields.Integer(required=True)


class BallotOut(Schema):
    round = fields.Nested(RoundOut, required=True, allow_none=True)
    eligible = fields.Boolean(required=True)
    reason = fields.String(required=True, metadata={"description": "Why not, if not eligible"})
    abstain = fields.Boolean(required=True)
    carried_over = fields.Boolean(required=True)
    receipt = fields.String(required=True, allow_none=True)
    cast_at = fields.DateTime(required=True, allow_none=True)
    channels = fields.List(fields.Nested(ShareOut), required=True)


class CastOut(Schema):
    receipt = fields.String(required=True)
    salt = fields.String(required=True)
    cast_at = fields.DateTime(required=True)


class ReceiptOut(Schema):
    round_id = fields.Integer(required=True)
    period = fields.String(required=True)
    receipt = fields.String(required=True)
    salt = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    audit_line = fields.Integer(required=True, allow_none=True)


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    scope = fields.String(required=True)
    hint = fields.String(required=True, metadata={"description": "First characters"})
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(required=True, allow_none=True)
