"""Cursors for keyset paging: the (moment, id) of the last row seen, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from market.api.problems import ApiProblem
from market.bounds import ID_MAX


def encode(at: datetime, row_id: int) -> str:
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    """The (moment, id) a cursor names; a 400 problem for anything we did not give out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, row_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not isinstance(row_id, int) or not 0 < row_id <= ID_MAX:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(400, "That cursor is not one we gave out.", "bad-cursor") from None
    return at, row_id
