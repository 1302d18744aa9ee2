"""Admin API operations (a token with the admin scope, of a member who is still an admin)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from flask_smorest import Blueprint

from market.api import schemas
from market.api.problems import ApiProblem
from market.auth import api_scope
from market.books import reports
from market.ledger.models import LedgerTransaction
from market.members import services as members
from market.webdb import get_session

bp = Blueprint(
    "api_admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Admins, through a token with the admin scope.",
)


@bp.route("/members")
@api_scope("admin")
@bp.arguments(schemas.MembersQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.MembersPage)
def member_list(q: str = "", page: int = 1) -> dict[str, Any]:
    """Members whose email or name contains `q`, newest first, 50 a page."""
    found = members.search_members(get_session(), q, page)
    return {
        "items": [
            {
                "id": m.id,
                "email": m.email,
                "display_name": m.display_name,
                "member_class": m.member_class,
                "status": m.status,
                "is_admin": m.is_admin,
                "created_at": m.created_at,
            }
            for m in found.members
        ],
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
    }


def encode_cursor(txn: LedgerTransaction) -> str:
    raw = json.dumps([txn.occurred_at.isoformat(), txn.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, id) a cursor names; a 400 problem for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, txn_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not isinstance(txn_id, int) or not 0 < txn_id < 2**63:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(400, "That cursor is not one we gave out.", "bad-cursor") from None
    return at, txn_id


@bp.route("/ledger")
@api_scope("admin")
@bp.arguments(schemas.LedgerQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.LedgerPage)
def ledger(
    kind: str = "", account: str = "", cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The ledger, newest first, paged by cursor: pass `next_cursor` to get the next page."""
    after = decode_cursor(cursor) if cursor else None
    flt = reports.LedgerFilter(kind=kind, account=account)
    rows = reports.transactions_after(get_session(), flt, after, limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": [
            {
                "id": t.id,
                "kind": t.kind,
                "memo": t.memo,
                "occurred_at": t.occurred_at,
                "postings": [
                    {"account": p.account.code, "amount_cents": p.amount_cents} for p in t.postings
                ],
            }
            for t in page
        ],
        "next_cursor": encode_cursor(page[-1]) if more and page else None,
    }
