"""Domain errors: raised by services, with messages fit for a member to read."""

from __future__ import annotations


class DomainError(Exception):
    """A request the co-op refuses, with a reason the member can read."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing does not exist, or this actor may not see it (we do not say which)."""

    status_code = 404


class Forbidden(DomainError):
    """The actor may not do this."""

    status_code = 403


class Conflict(DomainError):
    """The request clashes with the current state (already done, sold out, closed...)."""

    status_code = 409
