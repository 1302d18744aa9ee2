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


def login_as(client: Any, member: Member) -> Any:
    """Log a test client in as a member: a real server-side session, no password form."""
    from market.db import database
    from market.members.sessions import open_session

    with database(client.application).writer() as db:
        login_id = open_session(db, member.id)
        db.commit()
    with client.session_transaction() as s:
        s["_user_id"] = login_id
        s["_fresh"] = True
    return client
