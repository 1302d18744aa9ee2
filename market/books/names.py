"""Accounts by name: what every page and CSV calls a ledger account.

The ledger stores codes (`channel:3`); a channel or vendor can be renamed, so the name is
read when shown, never frozen in the account row. Two statements for any number of codes.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.ledger.services import CLEARING, PAID_OUT, RESERVE

FIXED = {
    CLEARING: "Dues received by card",
    RESERVE: "Operations reserve",
    PAID_OUT: "Paid out",
}


def _ids(codes: Iterable[str], prefix: str) -> list[int]:
    rest = (c.removeprefix(prefix) for c in codes if c.startswith(prefix))
    return [int(r) for r in rest if r.isdigit()]


def account_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """A readable name for each account code: "Pool YYYY-MM", "<channel> — owed"."""
    from catalog.models import Channel, Vendor

    codes = set(codes)
    channels: dict[int, str] = {}
    vendors: dict[int, str] = {}
    if ids := _ids(codes, "channel:"):
        channels = dict(
            session.execute(select(Channel.id, Channel.name).where(Channel.id.in_(ids))).all()
        )
    if ids := _ids(codes, "vendor:"):
        vendors = dict(
            session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(ids))).all()
        )
    return {code: name_of(code, channels, vendors) for code in codes}


def name_of(code: str, channels: dict[int, str], vendors: dict[int, str]) -> str:
    """One account's name, given the channels' and vendors' names."""
    if code in FIXED:
        return FIXED[code]
    prefix, _, rest = code.partition(":")
    number = int(rest) if rest.isdigit() else -1
    if prefix == "pool":
        return f"Pool {rest}"
    if prefix == "channel":
        return f"{channels.get(number, 'A removed channel')} — owed"
    if prefix == "vendor":
        return f"{vendors.get(number, 'A removed vendor')} — owed (vendor)"
    return code
