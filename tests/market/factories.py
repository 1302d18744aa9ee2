"""Factories that build rows for tests through the same code the app uses."""

from __future__ import annotations

import itertools
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from market.members.models import Member, MemberStatus

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    # Hashing is deliberately slow; tests share one hash per password.
    if password not in _HASHES:
        _HASHES[password] = PasswordHasher(time_cost=1, memory_cost=8192).hash(password)
    return _HASHES[password]


def make_member(
    session: Session,
    *,
    admin: bool = False,
    status: str = MemberStatus.ACTIVE,
    password: str = PASSWORD,
    **fields: Any,
) -> Member:
    """A member in good standing unless told otherwise."""
    n = next(_seq)
    member = Member(
        email=fields.pop("email", f"member{n}@example.com"),
        display_name=fields.pop("display_name", f"Member {n}"),
        password_hash=_hash(password),
        is_admin=admin,
        status=str(status),
        **fields,
    )
    session.add(member)
    session.flush()
    return member
