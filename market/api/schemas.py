"""The API's marshmallow schemas: they validate requests and document the OpenAPI spec.

Money is integer cents with its currency; shares are basis points (10000 = 100 %).
Identifiers are bounded to what an INTEGER column holds (larger ones would be a 500 on
PostgreSQL), text to what the columns hold.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from market.bounds import BIGINT_MAX, INT_MAX
from market.deals import demand, negotiation
from market.proposals import services as proposals

# Ids are INTEGER columns: past INT_MAX PostgreSQL refuses the comparison itself (a 500).
Id = validate.Range(min=1, max=INT_MAX)


class Base(Schema):
    class Meta:
        unknown = EXCLUDE  # query strings carry extra parameters (caches, trackers)


class Problem(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True, metadata={"example": "urn:softcoop:problem:not-found"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Field errors, for validation problems."})


# ------------------------------------------------------------------ public


class CatalogueQuery(Base):
    channel = fields.Integer(validate=Id, metadata={"description": "Only this channel."})
    category = fields.String(validate=validate.Length(max=80))
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Name has"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


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


class CataloguePage(Schema):
    items = fields.List(fields.Nested(ProductOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


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


# ------------------------------------------------------------------ member


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


# ------------------------------------------------------------------ tokens


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    scope = fields.String(required=True)
    hint = fields.String(required=True, metadata={"description": "First characters"})
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(required=True, allow_none=True)


# ------------------------------------------------------------------ admin


class MembersQuery(Base):
    q = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))


class MemberOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    member_class = fields.String(required=True)
    status = fields.String(required=True)
    is_admin = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class MembersPage(Schema):
    items = fields.List(fields.Nested(MemberOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class LedgerQuery(Base):
    kind = fields.String(validate=validate.Length(max=32))
    account = fields.String(validate=validate.Length(max=64))
    cursor = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "`next_cursor` of the previous page; absent for the first"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PostingOut(Schema):
    account = fields.String(required=True)
    amount_cents = fields.Integer(required=True)


class TransactionOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    memo = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    postings = fields.List(fields.Nested(PostingOut), required=True)


class LedgerPage(Schema):
    items = fields.List(fields.Nested(TransactionOut), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "null on the last page"}
    )


# ------------------------------------------------------------------ decisions


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


# ------------------------------------------------------------------ deals


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


# ------------------------------------------------------------------ the public feed, reserve


class FeedQuery(Base):
    month = fields.String(
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
        metadata={"description": "only this month's money (YYYY-MM)"},
    )
    cursor = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "`next_cursor` of the previous page; absent for the first"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


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


class FeedOut(Schema):
    items = fields.List(fields.Nested(FeedRowOut), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "null on the last page"}
    )


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
