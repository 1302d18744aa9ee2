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
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, not_, select
from sqlalchemy.orm import Session

from allocation.models import Ballot

PAGE_ROWS = 20_000  # ~2 MB of text a page; the reading thread keeps at most AHEAD of them
AHEAD = 2


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


@contextmanager
def read_apart(
    engine: Engine, round_id: int, weights: dict[str, int]
) -> Iterator[Iterator[list[bytes]]]:
    """PostgreSQL: the pages, read by a thread on a connection of its own, AHEAD of the caller.

    Only for ballots that can no longer change (committed before the close's claim): the
    thread reads them in one read-only snapshot of its own. Leaving the block stops the
    thread, even when the caller stopped early; the thread's error is raised in the caller.
    """
    raw = engine.raw_connection()
    ahead: queue.Queue[list[bytes] | BaseException | None] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def offer(item: list[bytes] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            conn: Any = raw.driver_connection  # psycopg's
            conn.rollback()  # a fresh transaction, whatever the pool's checkout did
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for page in _pages(conn, round_id, weights):
                if not offer(page):
                    return
            offer(None)
        except BaseException as exc:  # raised again in the caller's thread
            offer(exc)

    def pages() -> Iterator[list[bytes]]:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=produce, name="audit-rows", daemon=True)
    thread.start()
    try:
        yield pages()
    finally:
        stop.set()
        thread.join()
        raw.close()  # back to the pool, its transaction rolled back


def _weight_sql(weights: dict[str, int]) -> Any:
    """The SQL text of a ballot's weight in thousandths, from its member class."""
    from psycopg import sql

    if not weights:
        return sql.SQL("'1000'")
    return sql.SQL("CASE member_class {} ELSE '1000' END").format(
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(cls), sql.Literal(str(w)))
            for cls, w in sorted(weights.items())
        )
    )


def _pages(conn: Any, round_id: int, weights: dict[str, int]) -> Iterator[list[bytes]]:
    """Pages of rows from a psycopg connection, each page one query (keyset on receipt)."""
    from psycopg import sql

    # The page's rows come from an index-only scan of the round's audit index, in order.
    query = sql.SQL(
        "SELECT convert_to(string_agg(line, E'\\n'), 'UTF8'), max(receipt), count(*) FROM ("
        "SELECT receipt, receipt || ',' || {} || ',' || replace(split, ',', ' ') AS line"
        " FROM ballot WHERE round_id = %(round)s AND is_current AND NOT abstain"
        " AND receipt > %(after)s ORDER BY receipt LIMIT %(rows)s) AS page"
    ).format(_weight_sql(weights))
    after = ""
    with conn.cursor(binary=True) as cursor:
        while True:
            cursor.execute(query, {"round": round_id, "after": after, "rows": PAGE_ROWS})
            data, last, count = cursor.fetchone()
            if not count:
                return
            rows = bytes(data).split(b"\n")
            if len(rows) != count:  # a row whose text is NULL would vanish from the file
                raise ValueError(
                    f"round {round_id}: a page of {count} ballots gave {len(rows)} rows"
                )
            yield rows
            if count < PAGE_ROWS:
                return
            after = last
