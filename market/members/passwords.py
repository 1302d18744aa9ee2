"""Argon2id password hashing, at one cost whatever the account.

A login costs the same whether the account exists, has the current parameters or older,
weaker ones (the demo's): so neither the answer nor its timing tells an account apart.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verified against when the email is unknown, so a failed login costs the same either way.
_DUMMY: dict[tuple[int, int], str] = {}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a password check: whether it matched, and a fresh hash if one is due."""

    ok: bool
    new_hash: str | None = None


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg.get("PASSWORD_TIME_COST", 3),
        memory_cost=cfg.get("PASSWORD_MEMORY_KIB", 65536),
    )


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher().hash(password)


def _dummy_verify(hasher: PasswordHasher, password: str) -> None:
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash("not a real password")
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(_DUMMY[key], password)


def _needs_rehash(hasher: PasswordHasher, password_hash: str) -> bool:
    try:
        return hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def check_password(password_hash: str | None, password: str) -> Verdict:
    """Check a password; a weaker stored hash is replaced on success, padded on failure."""
    hasher = _hasher()
    if password_hash is None:
        _dummy_verify(hasher, password)
        return Verdict(False)
    ok = False
    with contextlib.suppress(VerificationError, InvalidHashError):
        ok = hasher.verify(password_hash, password)
    if not _needs_rehash(hasher, password_hash):
        return Verdict(ok)
    # A cheaper hash than today's: spend today's cost too (a new hash, or a dummy check).
    if ok:
        return Verdict(True, hasher.hash(password))
    _dummy_verify(hasher, password)
    return Verdict(False)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same effort when there is no hash."""
    return check_password(password_hash, password).ok
