"""The whole co-op in one file, and back: `flask coop export FILE` / `flask coop import FILE`.

An archive is a zip holding `manifest.json` (format, schema revision, what was exported, and
the SHA-256 and row count of every other member), one JSON-lines file per table (rows in
primary-key order, so the same database always gives the same bytes) and every published
round's audit file. Import runs on an empty database at the same schema revision, checks
every checksum and count before it writes a row, inserts in foreign-key order in one
transaction, and then proves the result: every published round's audit file is regenerated
from the imported rows and must reproduce the published hash. A corrupted, truncated or
foreign archive is refused whole.

Licence keys are secret, so `keys` chooses: "omit" (the default: rows kept, values replaced,
available keys retired so nobody can claim a placeholder), "encrypt" (values sealed with a
passphrase: scrypt + Fernet) or "plain". Login sessions are never exported.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Table, func, select, text
from sqlalchemy.orm import Session

import allocation.models  # noqa: F401  (every table registered)
import catalog.models  # noqa: F401
import market.models  # noqa: F401
from allocation import audit
from allocation.models import Round
from market import filestore
from market.clock import utcnow
from market.db import Base
from market.errors import DomainError

FORMAT = "softcoop-archive"
VERSION = 1
# Logins do not travel; stored files are audit files (in the archive as files of their own,
# rebuilt and proved on import), uploads and exports (transient).
SKIPPED = frozenset({"member_session", "stored_file", "stored_file_chunk"})
KEY_TABLE, KEY_COLUMN = "licence_key", "value"
KEY_CHOICES = ("omit", "encrypt", "plain")
OMITTED = "omitted-from-export-"


class ArchiveError(DomainError):
    """The archive cannot be written or read as asked; nothing was changed."""


@dataclass(frozen=True)
class Summary:
    tables: int
    rows: int
    rounds: int
    keys: str


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED]


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# Values as JSON: tagged where JSON has no type of its own, so a round trip is exact.
def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$dt":
            return datetime.fromisoformat(raw)
        if tag == "$d":
            return date.fromisoformat(raw)
        if tag == "$b":
            return base64.b64decode(raw)
        if tag == "$n":
            return Decimal(raw)
    return value


def _fernet(passphrase: str, salt: bytes) -> Any:
    from cryptography.fernet import Fernet

    key = hashlib.scrypt(passphrase.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return Fernet(base64.urlsafe_b64encode(key))


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session that sees one moment of the database for all its statements."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:  # a deferred transaction in WAL mode reads one snapshot, and locks nobody out
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        with Session(bind=conn) as session, session.begin():
            yield session


def _rows(session: Session, table: Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = session.execute(select(table).order_by(*order).execution_options(yield_per=5000))
    for row in result.mappings():
        yield dict(row)


def export(
    engine: Engine, path: Path, keys: str = "omit", passphrase: str | None = None
) -> Summary:
    """Write the whole co-op to `path` (replaced atomically); returns what was written."""
    if keys not in KEY_CHOICES:
        raise ArchiveError(f"keys must be one of {', '.join(KEY_CHOICES)}")
    if keys == "encrypt" and not passphrase:
        raise ArchiveError("encrypting the licence keys needs a passphrase")
    salt = hashlib.sha256(utcnow().isoformat().encode() + path.name.encode()).digest()[:16]
    seal = _fernet(passphrase or "", salt) if keys == "encrypt" else None
    members: dict[str, dict[str, Any]] = {}
    tmp = path.with_name(path.name + ".part")
    total = rounds = 0
    with _snapshot(engine) as session, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for table in _tables():
            buf, count = io.BytesIO(), 0
            for row in _rows(session, table):
                if table.name == KEY_TABLE:
                    value = row[KEY_COLUMN]
                    if seal is not None:
                        row[KEY_COLUMN] = seal.encrypt(value.encode()).decode()
                    elif keys == "omit":
                        row[KEY_COLUMN] = None
                line = json.dumps({k: _encode(v) for k, v in row.items()}, sort_keys=True)
                buf.write(line.encode() + b"\n")
                count += 1
            name = f"tables/{table.name}.jsonl"
            members[name] = _member(zf, name, buf.getvalue(), count)
            total += count
        for rnd in session.scalars(select(Round).where(Round.audit_head.is_not(None))):
            data = _audit_bytes(session, rnd)
            name = f"audit/round-{rnd.id}.csv"
            members[name] = {**_member(zf, name, data, None), "head": rnd.audit_head}
            rounds += 1
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "revision": _revision(engine),
            "exported_at": utcnow().isoformat(),
            "keys": keys,
            "salt": base64.b64encode(salt).decode() if seal is not None else None,
            "members": members,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    tmp.replace(path)
    return Summary(len(_tables()), total, rounds, keys)


def _audit_bytes(session: Session, rnd: Round) -> bytes:
    """A published round's audit file: as stored, or (published before files were stored)
    regenerated to its published hash."""
    stored = audit.stored_audit(session, rnd)
    if stored is not None:
        return filestore.read_all(session, stored.id)
    for version, safe in audit.FORMS:
        data, head = audit.render_audit(session, rnd, safe, version)
        if head == rnd.audit_head:
            return data
    raise ArchiveError(f"round {rnd.id} no longer reproduces its hash")


def _member(zf: zipfile.ZipFile, name: str, data: bytes, rows: int | None) -> dict[str, Any]:
    zf.writestr(name, data)
    return {"sha256": hashlib.sha256(data).hexdigest(), "rows": rows, "bytes": len(data)}


def _read_checked(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every member's bytes, each checked against the manifest."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise ArchiveError("this is not a softcoop archive of a version we can read")
            listed = manifest["members"]
            present = set(zf.namelist()) - {"manifest.json"}
            if present != set(listed):
                raise ArchiveError("the archive's files do not match its manifest")
            data = {name: zf.read(name) for name in listed}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise ArchiveError(f"the archive is damaged or incomplete ({exc})") from exc
    for name, meta in listed.items():
        if hashlib.sha256(data[name]).hexdigest() != meta["sha256"]:
            raise ArchiveError(f"{name} does not match its checksum: the archive is damaged")
        if meta["rows"] is not None and data[name].count(b"\n") != meta["rows"]:
            raise ArchiveError(f"{name} has the wrong number of rows")
    return manifest, data


def keys_of(path: Path) -> str:
    """How the archive holds its licence keys ("omit", "encrypt" or "plain")."""
    manifest, _data = _read_checked(path)
    return str(manifest["keys"])


def _lines(raw: bytes) -> Iterable[dict[str, Any]]:
    for line in raw.splitlines():
        yield {k: _decode(v) for k, v in json.loads(line).items()}


def import_(engine: Engine, path: Path, passphrase: str | None = None) -> Summary:
    """Rebuild the co-op of `path` in the (migrated, empty) database of `engine`."""
    manifest, data = _read_checked(path)
    if manifest["revision"] != _revision(engine):
        raise ArchiveError(
            f"the archive is at schema {manifest['revision']}, this database at "
            f"{_revision(engine)}: migrate one to match the other first"
        )
    keys = manifest["keys"]
    if keys == "encrypt" and not passphrase:
        raise ArchiveError("the licence keys in this archive are encrypted: give the passphrase")
    seal = (
        _fernet(passphrase or "", base64.b64decode(manifest["salt"])) if keys == "encrypt" else None
    )
    tables = _tables()
    expected = {f"tables/{t.name}.jsonl" for t in tables}
    if expected != {n for n in data if n.startswith("tables/")}:
        raise ArchiveError("the archive's tables are not this database's tables")
    total = 0
    with Session(engine) as session, session.begin():
        for table in tables:
            if session.scalar(select(func.count()).select_from(table)):
                raise ArchiveError(f"the database is not empty (table {table.name} has rows)")
        for table in tables:
            rows = list(_lines(data[f"tables/{table.name}.jsonl"]))
            if table.name == KEY_TABLE:
                rows = [_restore_key(row, seal) for row in rows]
            for start in range(0, len(rows), 5000):
                session.execute(table.insert(), rows[start : start + 5000])
            total += len(rows)
        if engine.dialect.name == "postgresql":
            _reset_sequences(session, tables)
        rounds = _prove_audits(session, manifest, data)
    return Summary(len(tables), total, rounds, keys)


def _restore_key(row: dict[str, Any], seal: Any) -> dict[str, Any]:
    from cryptography.fernet import InvalidToken

    if seal is not None:
        try:
            row[KEY_COLUMN] = seal.decrypt(row[KEY_COLUMN].encode()).decode()
        except InvalidToken as exc:
            raise ArchiveError("wrong passphrase for the archive's licence keys") from exc
    elif row[KEY_COLUMN] is None:
        row[KEY_COLUMN] = f"{OMITTED}{row['id']}"
        if row["status"] == "available":
            row["status"] = "retired"  # a placeholder must never be handed to a member
    return row


def _reset_sequences(session: Session, tables: list[Table]) -> None:
    """Serial keys continue after the imported rows (PostgreSQL counts them apart)."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        column = pk[0].name
        seq = session.scalar(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column}
        )
        if seq:
            top = session.scalar(select(func.max(pk[0])))
            session.execute(text("SELECT setval(:s, :v, false)"), {"s": seq, "v": (top or 0) + 1})


def _prove_audits(session: Session, manifest: dict[str, Any], data: dict[str, bytes]) -> int:
    """Each published round's audit file, rebuilt from the imported rows, is the archived one."""
    audits = {n: m for n, m in manifest["members"].items() if n.startswith("audit/")}
    published = list(session.scalars(select(Round).where(Round.audit_head.is_not(None))))
    if len(published) != len(audits):
        raise ArchiveError("the archive's audit files do not match its published rounds")
    for rnd in published:
        meta = audits.get(f"audit/round-{rnd.id}.csv")
        if meta is None or meta["head"] != rnd.audit_head:
            raise ArchiveError(f"round {rnd.id}'s audit file is missing or not its own")
        # Rebuilt from the imported rows into this database's file store (the files do not
        # travel as table rows), and proved against the archived bytes.
        for version, safe in audit.FORMS:
            with session.begin_nested() as attempt:
                head, _rows = audit.write_audit(session, rnd, safe, version=version)
                if head == rnd.audit_head:
                    break
                attempt.rollback()
        else:
            raise ArchiveError(f"round {rnd.id} no longer reproduces its hash")
        stored = audit.stored_audit(session, rnd)
        assert stored is not None
        if filestore.read_all(session, stored.id) != data[f"audit/round-{rnd.id}.csv"]:
            raise ArchiveError(f"round {rnd.id}'s audit file differs from the archive")
    return len(published)
