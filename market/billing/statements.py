"""The statements of the webhook path, built once per dialect.

Building a statement and computing its cache key on every call cost more CPU than
PostgreSQL spends running it; a statement object built once keeps its cache key, so each
delivery only binds parameters (see the dues benchmark in the README). The webhook also
reads and writes the dues account with Core (`locked_snapshot`, `save_and_sync`) rather
than through the ORM's loading and unit of work.

Round trips cost more than either under load, so on PostgreSQL a paid event is three
statements: the event row with the account's lock (`record_and_lock`); the account's
state, the member's status and the invoice with its pool's month (`paid_invoice_upsert`
with `carried_state`); and the booking (`market.ledger.one_statement`). A test pins the
count. Those three go straight to the driver's cursor (`market.driver.OnDriver`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import cast

from sqlalchemy import (
    Insert,
    Select,
    String,
    Table,
    Update,
    bindparam,
    case,
    exists,
    inspect,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from market.billing.models import DuesAccount, DuesInvoice, StripeEvent
from market.driver import OnDriver
from market.ledger.models import Account, LedgerTransaction, Posting
from market.members.models import Member

# The ledger kinds by which a round shares out (or carries over) a month's pool.
POOL_OUTFLOWS = ("allocation", "carry")

_DUES = cast(Table, DuesAccount.__table__)
_EVENT = cast(Table, StripeEvent.__table__)
_INVOICE = cast(Table, DuesInvoice.__table__)
_MEMBER = cast(Table, Member.__table__)
_ACCOUNT = cast(Table, Account.__table__)
_TXN = cast(Table, LedgerTransaction.__table__)
_POSTING = cast(Table, Posting.__table__)


def _insert(dialect: str, table: Table):  # type: ignore[no-untyped-def]
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@cache
def event_insert(dialect: str) -> Insert:
    """INSERT a Stripe event unless its id exists, RETURNING the id (None if it did)."""
    stmt = _insert(dialect, _EVENT).on_conflict_do_nothing(index_elements=["id"])
    return stmt.returning(_EVENT.c.id)  # type: ignore[no-any-return]


EVENT_FIELDS = (
    "id",
    "type",
    "created",
    "customer_id",
    "payload",
    "status",
    "note",
    "received_at",
    "processed_at",
)


def _event_then_account() -> Select:  # type: ignore[type-arg]
    """PostgreSQL: record the event, then lock its customer's account, in one round trip.

    Returns one row: the event's id if it was inserted (NULL if it existed), then the
    account's columns (NULLs if the event existed or the customer is unknown). The account
    is locked only once the insert went in: a delivery that waits on a concurrent one's
    insert of the same id holds no lock meanwhile, so the two cannot deadlock.
    """
    values = {name: bindparam(name, type_=_EVENT.c[name].type) for name in EVENT_FIELDS}
    ins = (
        postgresql.insert(_EVENT)
        .values(values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(_EVENT.c.id)
        .cte("ins")
    )
    acc = (
        select(_DUES)
        .where(_DUES.c.customer_id == bindparam("customer_id"), exists(select(ins.c.id)))
        .with_for_update()
        .cte("acc")
    )
    one = select(literal(1).label("one")).subquery("one")
    inserted = select(ins.c.id).scalar_subquery().label("inserted")
    return select(inserted, *acc.c).select_from(one.outerjoin(acc, true()))


EVENT_THEN_ACCOUNT = OnDriver(_event_then_account())


@cache
def failed_invoice_insert(dialect: str) -> Insert:
    """INSERT a failed invoice unless it exists (a payment already recorded is final)."""
    return _insert(dialect, _INVOICE).on_conflict_do_nothing(  # type: ignore[no-any-return]
        index_elements=["id"]
    )


def pool_closed(pool: object):  # type: ignore[no-untyped-def]
    """Whether the pool account `pool` (a code or a bind) was shared out by a round."""
    return exists(
        select(_POSTING.c.id)
        .join(_TXN, _TXN.c.id == _POSTING.c.txn_id)
        .join(_ACCOUNT, _ACCOUNT.c.id == _POSTING.c.account_id)
        .where(
            _ACCOUNT.c.code == pool,
            # Literals: an IN of binds is expanded afresh on every execution, and a bound 0
            # would hide the index of outflows (its predicate) from a prepared statement.
            _POSTING.c.amount_cents < literal_column("0"),
            _TXN.c.kind.in_([literal_column(f"'{kind}'") for kind in POOL_OUTFLOWS]),
        )
    )


POOL_CLOSED = select(pool_closed(bindparam("pool", type_=String)))
# Point an invoice at another month's pool (after `paid_invoice_upsert` found none open).
INVOICE_MONTH = (
    update(_INVOICE)
    .where(_INVOICE.c.id == bindparam("invoice_id"))
    .values(month=bindparam("new_month", type_=_INVOICE.c.month.type))
)


@cache
def paid_invoice_upsert(dialect: str, with_state: bool = False) -> OnDriver:
    """Record a paid invoice, RETURNING the month whose pool it feeds: one round trip.

    An invoice already paid keeps its month. Otherwise the month is :m0 (the one it pays
    for) if that pool is still open, else :m1 (the next) if that one is, else '' and the
    caller walks on (`billing.bookings.open_pool_month`). :p0 and :p1 are their pools.
    `with_state` (PostgreSQL): the statement also writes a dues account's state and its
    member's status (the parameters of `carried_state`). The binds are named after no
    column: a data-modifying CTE would take such a parameter as one more column to set.
    """
    cols = _INVOICE.c
    month = case(
        (~pool_closed(bindparam("p0", type_=String)), bindparam("m0", type_=String)),
        (~pool_closed(bindparam("p1", type_=String)), bindparam("m1", type_=String)),
        else_=literal(""),
    )
    row = select(
        bindparam("invoice_id", type_=cols.id.type),
        bindparam("payer", type_=cols.member_id.type),
        bindparam("cents", type_=cols.amount_cents.type),
        bindparam("invoice_currency", type_=cols.currency.type),
        month,
        literal("paid"),
        bindparam("when_paid", type_=cols.paid_at.type),
        bindparam("recorded_at", type_=cols.created_at.type),
    ).where(true())  # SQLite reads ON CONFLICT after a bare SELECT as a join clause
    names = ["id", "member_id", "amount_cents", "currency", "month", "status"]
    stmt = _insert(dialect, _INVOICE).from_select([*names, "paid_at", "created_at"], row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "status": "paid",
            # 'paid' is final, and so is the pool it was booked to.
            "month": case((cols.status == "paid", cols.month), else_=stmt.excluded.month),
            "amount_cents": stmt.excluded.amount_cents,
            "paid_at": stmt.excluded.paid_at,
        },
    )
    if with_state:
        stmt = stmt.add_cte(_SAVE_STATE.cte("saved")).add_cte(MEMBER_STATUS.cte("synced"))
    return OnDriver(stmt.returning(cols.month))


ACCOUNT_BY_CUSTOMER = select(DuesAccount).where(DuesAccount.customer_id == bindparam("customer_id"))
ACCOUNT_BY_CUSTOMER_LOCKED = ACCOUNT_BY_CUSTOMER.with_for_update()

# Set the status and grace of member :the_member (a name no column of dues_account has, as
# the combined statement below binds it too), writing (and locking) the row only on change.
MEMBER_STATUS: Update = (
    update(_MEMBER)
    .where(
        _MEMBER.c.id == bindparam("the_member"),
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


# PostgreSQL: a detached account's state and its member's status in one statement.
_SAVE_AND_SYNC: Update = MEMBER_STATUS.add_cte(_SAVE_STATE.cte("saved"))


def locked_snapshot(session: Session, customer_id: str) -> DuesAccount | None:
    """The customer's dues account, row locked for update, as a detached object.

    Changes to it are tracked as on a loaded object; `save` writes them with one UPDATE.
    """
    row = session.connection().execute(_LOCKED_ROW, {"customer_id": customer_id}).first()
    if row is None:
        return None
    return _detached(row._asdict())


def record_and_lock(session: Session, params: dict[str, object]) -> tuple[bool, DuesAccount | None]:
    """PostgreSQL: insert an event (`EVENT_FIELDS`) and lock its customer's account.

    Returns whether the event was new and, if so, the account (as `locked_snapshot`).
    """
    fields = EVENT_THEN_ACCOUNT.row(session.connection(), params)
    assert fields is not None, "the statement returns one row"
    inserted = fields.pop("inserted") is not None
    if not inserted or fields["id"] is None:
        return inserted, None
    return inserted, _detached(fields)


def _detached(fields: dict[str, object]) -> DuesAccount:
    """A detached DuesAccount holding a row's columns as if the ORM had loaded them: its
    values are the committed ones, so a change made afterwards is tracked against them
    (the constructor would record each column as a change, at a cost per attribute)."""
    configure_mappers()  # as a constructor would (at once, once they are configured)
    account: DuesAccount = DuesAccount.__mapper__.class_manager.new_instance()
    account.__dict__.update(fields)
    make_transient_to_detached(account)
    return account


def carried_state(
    session: Session, account: DuesAccount, status: str, grace_until: datetime | None
) -> dict[str, object] | None:
    """On PostgreSQL, a detached account's changed state and its member's status as the
    parameters with which `paid_invoice_upsert(..., with_state=True)` writes them too;
    None when they cannot ride along (write them with `save_and_sync`)."""
    state = inspect(account)
    if session.get_bind().dialect.name != "postgresql" or state.session is not None:
        return None
    if not any(state.attrs[name].history.has_changes() for name in STATE):
        return None
    session.flush()  # pending ORM changes go first, as in save_and_sync
    loaded = session.identity_map.get(identity_key(DuesAccount, account.id))
    if loaded is not None:  # a copy the ORM loaded earlier in this transaction
        session.expire(loaded, list(STATE))
    params: dict[str, object] = {f"new_{name}": getattr(account, name) for name in STATE}
    params.update(
        account_id=account.id,
        the_member=account.member_id,
        new_status=status,
        new_grace=grace_until,
    )
    return params


def save_and_sync(
    session: Session, account: DuesAccount, status: str, grace_until: datetime | None
) -> bool:
    """Write a dues account's changed state and its member's status; True if the member's
    row changed.

    A loaded account is written by the ORM's flush; a detached one (`locked_snapshot`) by
    one UPDATE, which on PostgreSQL also carries the member's (one round trip for both).
    """
    session.flush()  # pending ORM changes first (a loaded account is written by this)
    state = inspect(account)
    member = {"the_member": account.member_id, "new_status": status, "new_grace": grace_until}
    conn = session.connection()
    if state.session is None and any(state.attrs[name].history.has_changes() for name in STATE):
        params = {f"new_{name}": getattr(account, name) for name in STATE}
        params["account_id"] = account.id
        loaded = session.identity_map.get(identity_key(DuesAccount, account.id))
        if loaded is not None:  # a copy the ORM loaded earlier in this transaction
            session.expire(loaded, list(STATE))
        if conn.dialect.name == "postgresql":
            return bool(conn.execute(_SAVE_AND_SYNC, {**params, **member}).rowcount)
        conn.execute(_SAVE_STATE, params)
    return bool(conn.execute(MEMBER_STATUS, member).rowcount)
