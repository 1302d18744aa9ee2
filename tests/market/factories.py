"""Factories for the market package's tests (members, proposals), built through app code."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import update
from sqlalchemy.orm import Session

from market.db import utcnow
from market.members.models import Member, MemberStatus
from market.proposals import services
from market.proposals.models import Proposal

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


def make_proposal(
    session: Session,
    author: Member | None = None,
    *,
    title: str = "Raise the operations share to 12 %",
    body: str = "To fund **member support**.",
    closes_in: timedelta = timedelta(days=7),
    now: datetime | None = None,
    **options: Any,
) -> Proposal:
    """An open proposal (by a new member in good standing unless an author is given)."""
    now = now or utcnow()
    author = author or make_member(session)
    return services.start_proposal(
        session, author, title, body, now + closes_in, now=now, **options
    )


def close_now(session: Session, proposal: Proposal) -> None:
    """Move the closing time into the past (tests do not wait for the clock)."""
    session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(closes_at=utcnow() - timedelta(seconds=1))
    )
    session.flush()
    session.refresh(proposal)


def login_as(client: Any, member: Member) -> Any:
    """Log a test client in as a member: a real server-side session, no password form."""
    from market.members.sessions import open_session
    from market.webdb import database

    with database(client.application).writer() as db:
        login_id = open_session(db, member.id)
        db.commit()
    with client.session_transaction() as s:
        s["_user_id"] = login_id
        s["_fresh"] = True
    return client


def make_token(session: Session, member: Member, scope: str = "member", days: int = 30) -> str:
    """A personal access token for the API (through the service); its secret."""
    from market.members import tokens

    return tokens.create(session, member, f"test {scope}", scope, days).secret


def bearer(secret: str) -> dict[str, str]:
    """The API's Authorization header for a token."""
    return {"Authorization": f"Bearer {secret}"}
