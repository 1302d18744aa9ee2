"""Bulk import of licence keys from CSV, all or nothing per file.

The file is UTF-8 (a byte-order mark is fine), with Windows or Unix line endings; the key
is the first column; a first row reading "key" is a header. Rows are rejected for being
blank, too long, holding control characters, repeating an earlier row, or already being in
stock. By default any rejected row means nothing is imported and every problem is listed;
the admin may instead ask to import the valid rows and skip the rest. A file that is not
valid UTF-8 cannot be read at all and is refused whole. Either way one file is one
transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.models import LicenceKey, Product, ProductKind
from market.errors import Conflict, DomainError, Forbidden
from market.members.models import Member

HEADERS = {"key", "keys", "licence key", "license key", "licence_key", "license_key", "code"}
MAX_KEY = 255
CHUNK = 500


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported, and why."""

    line: int
    reason: str


@dataclass
class KeyCheck:
    """The rows of a file, sorted into importable keys and rejected rows."""

    good: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: how many keys went in, and every row that did not."""

    imported: int
    rejected: list[Rejected]
    rows: int


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DomainError(
            f"The file is not valid UTF-8 (the first bad byte is on line {line}), so it "
            "cannot be read; nothing was imported. Save it as 'CSV UTF-8' and try again."
        ) from None
    if "\x00" in text:
        raise DomainError("That looks like a binary file, not a CSV; nothing was imported.")
    return text


def _problem(value: str) -> str | None:
    if not value:
        return "blank"
    if len(value) > MAX_KEY:
        return f"longer than {MAX_KEY} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains control characters"
    return None


def read_keys(data: bytes) -> KeyCheck:
    """Parse the file's rows (no database): good keys with their line numbers, and rejects."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    check = KeyCheck()
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            value = (row[0] if row else "").strip()
            if line == 1 and value.lower() in HEADERS:
                continue
            problem = _problem(value)
            if problem is None and value in seen:
                problem = f"duplicate of line {seen[value]}"
            if problem:
                check.rejected.append(Rejected(line, problem))
                continue
            seen[value] = line
            check.good.append((line, value))
    except csv.Error as exc:
        raise DomainError(
            f"Line {reader.line_num} cannot be read as CSV ({exc}); nothing was imported."
        ) from None
    return check


def check_keys(session: Session, actor: Member, product: Product, data: bytes) -> KeyCheck:
    """Parse the file and reject keys the product already has (in chunked queries)."""
    if not actor.is_admin:
        raise Forbidden("Only admins can import keys.")
    if product.kind != ProductKind.KEY:
        raise DomainError("Only key-pool products take licence keys.")
    check = read_keys(data)
    in_stock: set[str] = set()
    values = [value for _, value in check.good]
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        in_stock.update(
            session.scalars(
                select(LicenceKey.value).where(
                    LicenceKey.product_id == product.id, LicenceKey.value.in_(chunk)
                )
            )
        )
    if in_stock:
        check.rejected += [Rejected(n, "already in stock") for n, v in check.good if v in in_stock]
        check.good = [(n, v) for n, v in check.good if v not in in_stock]
        check.rejected.sort(key=lambda r: r.line)
    return check


def store_keys(
    session: Session,
    product: Product,
    good: list[tuple[int, str]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert the checked keys in chunks, reporting progress after each chunk."""
    try:
        for start in range(0, len(good), CHUNK):
            chunk = good[start : start + CHUNK]
            session.execute(
                insert(LicenceKey), [{"product_id": product.id, "value": v} for _, v in chunk]
            )
            if progress:
                progress(len(chunk))
        session.flush()
    except IntegrityError:
        # Someone stocked the same keys at the same moment; the caller's transaction is lost.
        raise Conflict(
            "Some of these keys were stocked by someone else at the same moment; nothing was "
            "imported. Try again."
        ) from None
    return len(good)


def import_keys(
    session: Session, actor: Member, product: Product, data: bytes, skip_bad: bool = False
) -> ImportResult:
    """Check and import a CSV of keys; with rejected rows, nothing unless `skip_bad`."""
    check = check_keys(session, actor, product, data)
    rows = len(check.good) + len(check.rejected)
    if check.rejected and not skip_bad:
        return ImportResult(0, check.rejected, rows)
    return ImportResult(store_keys(session, product, check.good), check.rejected, rows)
