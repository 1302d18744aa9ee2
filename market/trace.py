"""The request id a piece of work runs for: set by the request, carried to the jobs it starts.

A context variable (per thread and per task), so the log formatter can stamp every line
written on the request's (or the job's) behalf without passing the id around.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_request_id: ContextVar[str | None] = ContextVar("softcoop_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request (or of the request that started the job) being served now."""
    return _request_id.get()


def set_request_id(value: str | None) -> Token[str | None]:
    """Make `value` the current id; the token undoes it (`reset_request_id`)."""
    return _request_id.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    """Put back the id that was current before `set_request_id`."""
    _request_id.reset(token)


@contextmanager
def bound_request_id(value: str | None) -> Iterator[None]:
    """The current id is `value` inside the block (a job run for a request)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)
