"""The statements of the webhook path, built once per dialect.

Building a statement and computing its cache key on every call cost more CPU than
PostgreSQL spends running it; a statement object built once keeps its cache key, so each
delivery only binds parameters (see the dues benchmark in the README). The webhook also
reads and writes the dues account with Core (`locked_snapshot`, `save`) rather than
through the ORM's loading and unit of work.
"""

from __future__ import annotations

from functools import cache
from typing import cast

from sqlalchemy import Insert, Table, Update, bindparam, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from market.billing.models import DuesAccount, DuesInvoice, StripeEvent
from market.members.models import Member

_DUES = cast(Table, DuesAccount.__table__)
_EVENT = cast(Table, StripeEvent.__table__)
_INVOICE = cast(Table, DuesInvoice.__table__)
_MEMBER = cast(Table, Member.__table__)


def _insert(dialect: str, table: Table):  # type: ignore[no-untyped-def]
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@cache
def event_insert(dialect: str) -> Insert:
    """INSERT a Stripe event unless its id exists, RETURNING the id (None if it did)."""
    stmt = _insert(dialect, _EVENT).on_conflict_do_nothing(index_elements=["id"])
    return stmt.returning(_EVENT.c.id)  # type: ignore[no-any-return]


@cache
def invoice_upsert(dialect: str, paid: bool) -> Insert:
    """INSERT an invoice; if it exists, a payment makes it paid, anything else is ignored."""
    stmt = _insert(dialect, _INVOICE)
    if not paid:
        return stmt.on_conflict_do_nothing(index_elements=["id"])  # type: ignore[no-any-return]
    return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["id"],
        set_={
            "status": "paid",
            "month": stmt.excluded.month,  # the pool it is booked to (see open_pool_month)
            "amount_cents": stmt.excluded.amount_cents,
            "paid_at": stmt.excluded.paid_at,
        },
    )


ACCOUNT_BY_CUSTOMER = select(DuesAccount).where(DuesAccount.customer_id == bindparam("customer_id"))
ACCOUNT_BY_CUSTOMER_LOCKED = ACCOUNT_BY_CUSTOMER.with_for_update()

# Set a member's status and grace, writing (and locking) the row only when they change.
MEMBER_STATUS: Update = (
    update(_MEMBER)
    .where(
        _MEMBER.c.id == bindparam("member_id"),
        (_MEMBER.c.status != bindparam("new_status", type_=_MEMBER.c.status.type))
        | _MEMBER.c.grace_until.is_distinct_from(
            bindparam("new_grace", type_=_MEMBER.c.grace_until.type)
        ),
    )
    .values(
        status=bindparam("new_status", type_=_MEMBER.c.status.type),
        grace_until=bindparam("new_grace", type_=_MEMBER.c.grace_until.type),
    )
)

# What Stripe's news changes on a dues account (billing.services.apply_snapshot etc.).
STATE = (
    "sub_status",
    "status_at",
    "subscription_id",
    "cancel_at_period_end",
    "cancel_requested",
    "current_period_end",
    "snapshot_at",
    "ever_paid",
)
_LOCKED_ROW = select(_DUES).where(_DUES.c.customer_id == bindparam("customer_id")).with_for_update()
_SAVE_STATE = (
    update(_DUES)
    .where(_DUES.c.id == bindparam("account_id"))
    .values({name: bindparam(f"new_{name}", type_=_DUES.c[name].type) for name in STATE})
)


def locked_snapshot(session: Session, customer_id: str) -> DuesAccount | None:
    """The customer's dues account, row locked for update, as a detached object.

    Changes to it are tracked as on a loaded object; `save` writes them with one UPDATE.
    """
    row = session.connection().execute(_LOCKED_ROW, {"customer_id": customer_id}).first()
    if row is None:
        return None
    account = DuesAccount(**row._asdict())
    make_transient_to_detached(account)
    return account


def save(session: Session, account: DuesAccount) -> None:
    """Write a dues account's changed state: by the ORM if it is loaded, else one UPDATE."""
    session.flush()  # pending ORM changes first (a loaded account is written by this)
    state = inspect(account)
    if state.session is None and any(state.attrs[name].history.has_changes() for name in STATE):
        params = {f"new_{name}": getattr(account, name) for name in STATE}
        session.connection().execute(_SAVE_STATE, {"account_id": account.id, **params})
        loaded = session.identity_map.get(identity_key(DuesAccount, account.id))
        if loaded is not None:  # a copy the ORM loaded earlier in this transaction
            session.expire(loaded, list(STATE))
