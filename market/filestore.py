"""Files kept in the database, in chunks: what every host reads, none keeps on its disk.

Audit files, uploaded key files and finished exports live here, so a host with an empty
disk (a new one behind the balancer, a restarted container) serves them at once and no
two hosts can disagree about a file. A file is a row naming it plus chunks of whole lines
(~1 MiB each) read one at a time, so neither writing nor serving holds a whole file in
memory. A chunk may record the key its first line starts with (for files sorted by key),
so a lookup reads one chunk instead of the file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from market.db import Base, UTCDateTime, utcnow
from market.errors import Conflict

CHUNK_BYTES = 1 << 20


class StoredFile(Base):
    """One file: its unique name, type, size in bytes and lines."""

    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(80), default="text/csv")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the file is for, as JSON text (an upload's product and options, an export's kind).
    meta: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredChunk(Base):
    """A run of whole lines of a file, in order (`seq`), with its first line's number."""

    __tablename__ = "stored_file_chunk"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("stored_file.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_line: Mapped[int] = mapped_column(BigInteger)  # 1-based line number in the file
    first_key: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass
class FileWriter:
    """Append whole lines to a new stored file; chunks go to the database as they fill."""

    session: Session
    file_id: int
    seq: int = 0
    lines: int = 0
    size: int = 0
    _parts: list[bytes] | None = None
    _pending: int = 0
    _first_line: int = 1
    _first_key: str = ""
    _queue: queue.Queue[dict[str, Any] | None] | None = None
    _failed: list[BaseException] = field(default_factory=list)

    def write(self, data: bytes, lines: int, key: str = "", cut: bool = True) -> None:
        """Add `data` (holding `lines` whole lines; `key`: what its first line starts with).

        A chunk is cut only before a write (and never before one with `cut=False`, such
        as a closing line that must stay with the rows before it), so the data of one call
        stays in one chunk.
        """
        if self._parts is None:
            self._parts, self._first_key = [], key
        elif cut and self._pending >= CHUNK_BYTES:
            self._flush()
            self._parts, self._first_key = [], key
        self._parts.append(data)
        self._pending += len(data)
        self.lines += lines
        self.size += len(data)

    def _flush(self) -> None:
        if not self._parts:
            return
        chunk = {
            "file_id": self.file_id,
            "seq": self.seq,
            "first_line": self._first_line,
            "first_key": self._first_key,
            "data": b"".join(self._parts),
        }
        if self._failed:
            raise self._failed[0]
        if self._queue is not None:
            self._queue.put(chunk)
        else:
            self.session.connection().execute(insert(StoredChunk), chunk)
        self.seq += 1
        self._first_line = self.lines + 1
        self._parts, self._pending = [], 0

    @contextmanager
    def in_background(self) -> Iterator[FileWriter]:
        """Inside the block, full chunks are inserted by a thread of its own, on this
        session's connection, while the caller makes the next ones (the database stores a
        chunk while Python computes the next). The caller must not use the session inside
        the block; chunks stay in order, at most a few are held, and an insert's error is
        raised here. PostgreSQL only (a SQLite connection stays in its thread).
        """
        conn = self.session.connection()
        waiting: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=3)

        def insert_all() -> None:
            while (chunk := waiting.get()) is not None:
                if self._failed:
                    continue  # drained, so the caller never waits on a full queue
                try:
                    conn.execute(insert(StoredChunk), chunk)
                except BaseException as exc:  # raised again in the caller's thread
                    self._failed.append(exc)

        thread = threading.Thread(target=insert_all, name="filestore-chunks", daemon=True)
        self._queue = waiting
        thread.start()
        try:
            yield self
        finally:
            self._queue = None
            waiting.put(None)
            thread.join()
        if self._failed:
            raise self._failed[0]

    def close(self) -> StoredFile:
        """Write the last chunk and the file's size; the file (flushed, not committed)."""
        self._flush()
        self.session.execute(
            update(StoredFile)
            .where(StoredFile.id == self.file_id)
            .values(size=self.size, lines=self.lines)
            .execution_options(synchronize_session=False)
        )
        stored = self.session.get(StoredFile, self.file_id, populate_existing=True)
        assert stored is not None
        return stored


def create(
    session: Session, name: str, content_type: str = "text/csv", meta: str = "{}"
) -> FileWriter:
    """Start a new file called `name`, replacing any file of that name (in this transaction)."""
    remove(session, name)
    file_id = session.execute(
        insert(StoredFile)
        .values(name=name, content_type=content_type, meta=meta, created_at=utcnow())
        .returning(StoredFile.id)
    ).scalar_one()
    return FileWriter(session, int(file_id))


def rewrite(session: Session, file_id: int) -> FileWriter:
    """Write an existing file's content afresh (its chunks so far are dropped)."""
    session.execute(delete(StoredChunk).where(StoredChunk.file_id == file_id))
    return FileWriter(session, file_id)


def put(
    session: Session, name: str, data: bytes, content_type: str = "text/csv", meta: str = "{}"
) -> StoredFile:
    """Store `data` whole under `name` (cut into chunks at line ends)."""
    writer = create(session, name, content_type, meta)
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + CHUNK_BYTES)
        end = len(data) if end < 0 else end + 1
        piece = data[start:end]
        writer.write(piece, piece.count(b"\n"))
        writer._flush()  # one chunk per piece: a whole upload is not kept twice in memory
        start = end
    return writer.close()


def find(session: Session, name: str) -> StoredFile | None:
    """The stored file of that name, if any."""
    return session.scalar(select(StoredFile).where(StoredFile.name == name))


def ensure(session: Session, name: str, store_missing: Callable[[], None]) -> StoredFile:
    """The stored file `name`; when it is missing, `store_missing()` stores it first (in its
    own transaction, on the primary) and it is read again through `session`, which may be
    a replica's."""
    stored = find(session, name)
    if stored is None:
        store_missing()
        session.expire_all()
        stored = find(session, name)
    if stored is None:  # stored on the primary, not yet on this replica
        raise Conflict("The file is being prepared: try again in a minute.")
    return stored


def remove(session: Session, name: str) -> None:
    """Delete the file of that name and its chunks (nothing if there is none)."""
    file_id = session.scalar(select(StoredFile.id).where(StoredFile.name == name))
    if file_id is not None:
        session.execute(delete(StoredChunk).where(StoredChunk.file_id == file_id))
        session.execute(delete(StoredFile).where(StoredFile.id == file_id))


def chunks(session: Session, file_id: int) -> Iterator[bytes]:
    """The file's bytes, one chunk per query (memory stays at one chunk however big)."""
    count = session.scalar(
        select(func.count()).select_from(StoredChunk).where(StoredChunk.file_id == file_id)
    )
    for seq in range(count or 0):
        data = session.scalar(
            select(StoredChunk.data).where(StoredChunk.file_id == file_id, StoredChunk.seq == seq)
        )
        if data is not None:
            yield bytes(data)


def read_all(session: Session, file_id: int) -> bytes:
    """The whole file (for small files and tests)."""
    return b"".join(chunks(session, file_id))


def chunk_for_key(session: Session, file_id: int, key: str) -> StoredChunk | None:
    """The chunk whose lines would hold `key` in a file sorted by key (the last chunk
    starting at or before it)."""
    return session.scalar(
        select(StoredChunk)
        .where(StoredChunk.file_id == file_id, StoredChunk.first_key <= key)
        .order_by(StoredChunk.seq.desc())
        .limit(1)
    )
