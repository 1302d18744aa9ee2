"""Ranges of whole numbers the database stores: ids and counts from outside are checked here.

A number past a column's range must be refused as bad input (400/404), never reach the
database (where SQLite raises OverflowError and PostgreSQL "out of range": a 500).
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import ImmutableMultiDict
from wtforms import IntegerField
from wtforms.validators import ValidationError

BIGINT_MAX = 2**63 - 1  # amounts in cents (BIGINT columns)
INT_MAX = 2**31 - 1  # counts stored in INTEGER columns
# Every id column is an INTEGER (int4 on PostgreSQL, which refuses a larger parameter with
# "integer out of range"): ids and whole numbers from URLs and query strings stay inside it.
ID_MAX = INT_MAX


def bounded_int(raw: Any) -> int:
    """int(raw), refusing (ValueError) anything an id column (INTEGER) cannot hold."""
    value = int(raw)
    if not -ID_MAX <= value <= ID_MAX:
        raise ValueError("out of range")
    return value


class BoundedArgs(ImmutableMultiDict):  # type: ignore[type-arg]
    """Query strings and forms whose .get(..., type=int) ignores numbers out of range."""

    def get(  # type: ignore[override]
        self,
        key: Any,
        default: Any = None,
        type: Any = None,  # noqa: A002
    ) -> Any:
        return super().get(key, default, bounded_int if type is int else type)


class CountField(IntegerField):
    """A whole-number form field that refuses numbers an INTEGER column cannot hold."""

    data: int | None

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and not -INT_MAX <= self.data <= INT_MAX:
            self.data = None
            raise ValidationError("That number is far too large.")
