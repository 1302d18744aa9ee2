"""The co-op's accounts: their codes, created on first use, and their balances."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import DomainError
from market.ledger.models import Account

CLEARING = "clearing:stripe"
RESERVE = "reserve:ops"
PAID_OUT = "paid:out"
# What members voted into the acquisition reserve; it leaves only by a passed decision.
ACQUISITION = "reserve:acquisition"

_NAMES = {
    CLEARING: "Stripe clearing",
    RESERVE: "Operations reserve",
    PAID_OUT: "Paid out",
    ACQUISITION: "Acquisition reserve",
}
_KINDS = {CLEARING: "clearing", RESERVE: "reserve", PAID_OUT: "paid", ACQUISITION: "acquisition"}


def pool_code(month: str) -> str:
    """The pool account of a month, pool_code('YYYY-MM')."""
    return f"pool:{month}"


def channel_code(channel_id: int) -> str:
    """What the co-op owes a channel."""
    return f"channel:{channel_id}"


def vendor_code(vendor_id: int) -> str:
    """What the co-op owes a vendor."""
    return f"vendor:{vendor_id}"


def describe(code: str) -> tuple[str, str]:
    """The default name and kind of the account with this code."""
    if code in _NAMES:
        return _NAMES[code], _KINDS[code]
    prefix, _, rest = code.partition(":")
    names = {
        "pool": f"Pool {rest}",
        "channel": f"Channel #{rest} payable",
        "vendor": f"Vendor #{rest} payable",
    }
    if prefix not in names or not rest:
        raise ValueError(f"unknown account code {code!r}")
    return names[prefix], prefix


def dialect_insert(dialect: str):  # type: ignore[no-untyped-def]
    """The dialect's INSERT (with ON CONFLICT)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return dialect_insert(session.get_bind().dialect.name)


def get_account(session: Session, code: str, currency: str, name: str | None = None) -> Account:
    """The account with this code, created on first use (safe when two requests race)."""
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        default_name, kind = describe(code)
        stmt = (
            _insert(session)(Account)
            .values(
                code=code,
                name=name or default_name,
                kind=kind,
                currency=currency.lower(),
                base_cents=0,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )
        session.execute(stmt)
        account = session.scalars(select(Account).where(Account.code == code)).one()
    if account.currency != currency.lower():
        raise DomainError(f"account {code} is in {account.currency}, not {currency}")
    return account


def balance(session: Session, code: str) -> int:
    """An account's balance in cents (0 if it does not exist yet)."""
    return session.scalar(select(Account.balance_cents).where(Account.code == code)) or 0
