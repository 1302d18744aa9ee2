"""The audit file's ballot rows, read from the database in pages of receipt order.

A row is the text the file prints before its chain hash: `receipt,weight_milli,split`, the
split's "channel:bp" pairs separated by spaces. On PostgreSQL the database writes the text
and hands over a page of PAGE_ROWS rows as one value: one round trip and one object per
page, where a COPY costs Python a call and an object per row (half the close's Python
time at a million ballots). On SQLite, SQLAlchemy streams the rows in pages of the same
size. Either way a page is a list of rows as bytes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, not_, select
from sqlalchemy.orm import Session

from allocation import tally
from allocation.models import Ballot

PAGE_ROWS = 20_000  # ~2 MB of text a page
AHEAD = 2  # pages a Reader holds by default


def read(session: Session, round_id: int, weights: dict[str, int]) -> Iterator[list[bytes]]:
    """The round's counted ballots as pages of rows, read in the session's transaction."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        yield from _pages(conn.connection.dbapi_connection, round_id, weights)
        return
    result = conn.execute(
        select(Ballot.receipt, Ballot.member_class, Ballot.split)
        .where(Ballot.round_id == round_id, Ballot.is_current, not_(Ballot.abstain))
        .order_by(Ballot.receipt)
        .execution_options(stream_results=True, yield_per=PAGE_ROWS)
    )
    for part in result.partitions():
        yield [
            f"{receipt},{weights.get(cls, 1000)},{split.replace(',', ' ')}".encode()
            for receipt, cls, split in part
        ]


class Reader:
    """PostgreSQL: a round's counted ballots read by a thread on a connection of its own:
    first the census the tally needs (`census()`), then the audit file's pages, up to
    `ahead` of them before the caller takes them (`pages()`).

    Only for ballots that can no longer change (committed before the close's claim): the
    thread reads them in one read-only snapshot of its own, so it may start before the file
    can be written. The close starts it before the tally, whose outcome the file's header
    needs: the database reads the rows on one core while it tallies on the other, and the
    census is off the tally's path. `close()` stops the thread, even when the caller
    stopped early; the thread's error is raised in the caller.
    """

    def __init__(
        self, engine: Engine, round_id: int, weights: dict[str, int], ahead: int = AHEAD
    ) -> None:
        self.weights = dict(weights)
        self._engine = engine
        self._ahead: queue.Queue[list[bytes] | BaseException | None] = queue.Queue(maxsize=ahead)
        self._census: Future[tuple[dict[str, int], datetime | None]] = Future()
        self._stop = threading.Event()
        self._round_id = round_id
        self._thread = threading.Thread(target=self._produce, name="audit-rows", daemon=True)
        self._thread.start()

    def _offer(self, item: list[bytes] | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            with self._engine.connect() as conn:  # its transaction is rolled back at the end
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # One core is the tally's: no parallel workers here, and no JIT for a few
                # big statements.
                conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
                conn.exec_driver_sql("SET LOCAL jit = off")
                self._census.set_result(tally.census(conn, self._round_id))
                raw = conn.connection.dbapi_connection  # psycopg's, in the same snapshot
                for page in _pages(raw, self._round_id, self.weights):
                    if not self._offer(page):
                        return
            self._offer(None)
        except BaseException as exc:  # raised again in the caller's thread
            if not self._census.done():
                self._census.set_exception(exc)
            self._offer(exc)

    def census(self) -> tuple[dict[str, int], datetime | None]:
        """`tally.census` of the round, once the thread has it."""
        return self._census.result()

    def pages(self) -> Iterator[list[bytes]]:
        """The pages in receipt order, each once (a second call gets what is left)."""
        while (item := self._ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop reading and give the connection back."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _weight_sql(weights: dict[str, int]) -> Any:
    """The SQL text of a ballot's weight in thousandths between two ';' (see `_pages`)."""
    from psycopg import sql

    if not weights:
        return sql.SQL("';1000;'")
    return sql.SQL("CASE member_class {} ELSE ';1000;' END").format(
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(cls), sql.Literal(f";{w};"))
            for cls, w in sorted(weights.items())
        )
    )


# The database sends `receipt;weight;split`, two concatenations a row (four and a replace()
# cost it 0.2 s more at a million rows), and one pass in C makes the page
# `receipt,weight,split` with spaces in the split: receipts are hex, splits digits, ':', ','.
_TO_ROW = bytes.maketrans(b",;", b" ,")


def _pages(conn: Any, round_id: int, weights: dict[str, int]) -> Iterator[list[bytes]]:
    """Pages of rows from a psycopg connection."""
    for text in _texts(conn, round_id, weights):
        yield text.translate(_TO_ROW).split(b"\n")


def _texts(conn: Any, round_id: int, weights: dict[str, int]) -> Iterator[bytes]:
    """Each page's rows as one text, `receipt;weight;split`, newline between rows (one
    query a page, keyset on receipt); a row whose text came out NULL is refused, not
    silently left out."""
    from psycopg import sql

    # The page's rows come from an index-only scan of the round's audit index, in order.
    query = sql.SQL(
        "SELECT convert_to(string_agg(line, E'\\n'), 'UTF8'), max(receipt), count(*),"
        " count(line) FROM (SELECT receipt,"
        " receipt || {} || split AS line"
        " FROM ballot WHERE round_id = %(round)s AND is_current AND NOT abstain"
        " AND receipt > %(after)s ORDER BY receipt LIMIT %(rows)s) AS page"
    ).format(_weight_sql(weights))
    after = ""
    with conn.cursor(binary=True) as cursor:
        while True:
            cursor.execute(query, {"round": round_id, "after": after, "rows": PAGE_ROWS})
            data, last, count, lines = cursor.fetchone()
            if not count:
                return
            if lines != count:
                raise ValueError(f"round {round_id}: {count - lines} ballots have no text")
            yield bytes(data)
            if count < PAGE_ROWS:
                return
            after = last
