"""Benchmark: a member's own pages with years of history in a large co-op, on PostgreSQL.

    python -m bench.member_pages [--members 100000] [--months 60] [--voters 2000] [--passes 3]

A fresh database gets `--members` members in good standing and `--months` monthly rounds,
each opened within its month and closed and published by the real close (so every round
snapshots every member as a voter and the voters' standing splits carry from month to
month). Two members are measured: one who paid and voted every month (the whole history)
and one who joined last month. For each member page (home, vote, Where my dues went, My
receipts, My dues) it counts the statements a warm request runs for each of them, which
must be equal, and times the long-history member's requests in-process through Flask's test
client (server time: `--passes` passes of `--repeat` warm requests a page), each split into
the time inside the database driver's execute (sending, running, receiving the statements)
and the rest (Python: routing, the services, the ORM, templates). Loading is not timed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench.serving import DEFAULT_POSTGRES, throwaway_postgres

WARM = 3
PAGES = ["/", "/rounds/vote", "/rounds/my-dues", "/rounds/my-receipts", "/dues"]
CHANNELS = 4


def _copy(conn: Any, table: str, columns: str, rows: io.StringIO) -> None:
    rows.seek(0)
    cur = conn.connection.dbapi_connection.cursor()
    with cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)


def _crowd(db: Any, members: int, now: Any) -> None:
    """Channels and members in good standing, by SQL (ids 1..members)."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channel (id, name, description, steward_contact, active, created_at) "
                "SELECT i, 'Channel ' || i, '', '', true, :now FROM generate_series(1, :m) i"
            ),
            {"m": CHANNELS, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO member (id, email, display_name, password_hash, is_admin,"
                " member_class, status, created_at) SELECT i, 'm' || i || '@example.com',"
                " 'M' || i, 'x', i = 1, 'consumer', 'active', :now"
                " FROM generate_series(1, :n) i"
            ),
            {"n": members, "now": now},
        )
        for table in ("channel", "member"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


def _first_ballots(db: Any, round_id: int, voters: int, stamp: str) -> None:
    """The crowd's ballots in the first round (they stand, carried over, every month after).

    Members 4.. vote: 1 is the admin, 2 and 3 are the two measured members.
    """
    ballots, shares = io.StringIO(), io.StringIO()
    for i in range(4, voters + 4):
        a, b = 1 + i % CHANNELS, 1 + (i + 1) % CHANNELS
        split = f"{min(a, b)}:5000,{max(a, b)}:5000"
        receipt = hashlib.sha256(f"bench|{round_id}|{i}|{split}".encode()).hexdigest()
        ballots.write(f"{i}\t{round_id}\t{i}\tconsumer\t{split}\tf\tt\tf\t{receipt}\t{stamp}\n")
        for c in (a, b):
            shares.write(f"{i}\t{c}\t{round_id}\tconsumer\t5000\n")
    with db.engine.begin() as conn:
        columns = "id, round_id, member_id, member_class, split, abstain, is_current, "
        _copy(conn, "ballot", columns + "carried_over, receipt, cast_at", ballots)
        _copy(conn, "ballot_share", "ballot_id, channel_id, round_id, member_class, bp", shares)
        conn.execute(text("SELECT setval('ballot_id_seq', (SELECT max(id) FROM ballot))"))


def _load(app: Any, members: int, months: int, voters: int, audit_dir: Path) -> tuple[int, int]:
    """The co-op's history; the ids of the long-history member and of the newcomer."""
    from allocation import ballots, rounds
    from allocation.closing import close_and_publish
    from market.billing.bookings import book_paid_invoice
    from market.billing.services import DuesSettings
    from market.clock import month_end, month_start, period_of, shift_period, utcnow
    from market.ledger.services import CLEARING, Move, pool_code, post
    from market.members.models import Member
    from market.webdb import database

    db = database(app)
    now = utcnow()
    _crowd(db, members, now)
    old_id, new_id = 2, 3  # two of the crowd, measured
    split = {1: 6000, 2: 4000}

    def pay(session: Any, member_id: int, period: str) -> None:
        start = int(month_start(period).timestamp())
        invoice = {
            "id": f"in_bench_{member_id}_{period}",
            "amount_paid": 500,
            "currency": "usd",
            "created": start,
            "lines": {"data": [{"period": {"start": start}}]},
            "status_transitions": {"paid_at": start + 3600},
        }
        book_paid_invoice(session, member_id, invoice, start, DuesSettings())

    for k in range(months, -1, -1):
        period = shift_period(period_of(now), -k)
        opens = min(month_start(period) + timedelta(hours=1), now)
        with db.transaction() as session:
            admin = session.get(Member, 1)
            assert admin is not None
            rnd = rounds.open_round(session, admin, period, currency="usd", now=opens)
            rid = rnd.id
            payers = [old_id] + ([new_id] if k <= 1 else [])
            for member_id in payers:
                pay(session, member_id, period)
            cents = voters * 450
            post(
                session,
                f"bench:{period}",
                "dues",
                "crowd",
                [Move(CLEARING, pool_code(period), cents)],
                "usd",
                period=period,
            )
        if k == months:
            _first_ballots(db, rid, voters, opens.isoformat())
        with db.transaction() as session:
            for member_id in payers:
                member = session.get(Member, member_id)
                assert member is not None
                ballots.cast_ballot(session, member, rid, split, now=opens)
        if k:
            close_and_publish(db, rid, now=month_end(period))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return old_id, new_id


class _Timed:
    """The statements a request runs and the time spent in them (sent, run, fetched)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.seconds = 0.0
        self._started = 0.0

    def before(self, *args: object) -> None:
        self.statements.append(str(args[2]))
        self._started = time.perf_counter()

    def after(self, *_args: object) -> None:
        self.seconds += time.perf_counter() - self._started


@contextmanager
def _watching(engine: Any) -> Iterator[_Timed]:
    timed = _Timed()
    event.listen(engine, "before_cursor_execute", timed.before)
    event.listen(engine, "after_cursor_execute", timed.after)
    try:
        yield timed
    finally:
        event.remove(engine, "before_cursor_execute", timed.before)
        event.remove(engine, "after_cursor_execute", timed.after)


def _client(app: Any, member_id: int) -> Any:
    from market.members.sessions import open_session
    from market.webdb import database

    client = app.test_client()
    with database(app).writer() as db:
        login_id = open_session(db, member_id)
        db.commit()
    with client.session_transaction() as s:
        s["_user_id"] = login_id
        s["_fresh"] = True
    return client


def _statements(engine: Any, clients: dict[str, Any], path: str) -> dict[str, int]:
    """How many statements one warm request for `path` runs, for each member."""
    counts = {}
    for who, client in clients.items():
        for _ in range(WARM):  # files, caches, the connection pool
            assert client.get(path).status_code == 200, path
        with _watching(engine) as timed:
            assert client.get(path).status_code == 200, path
        counts[who] = len(timed.statements)
    return counts


def _time(engine: Any, client: Any, path: str, repeat: int) -> list[tuple[float, float, float]]:
    """`repeat` requests for `path`: (wall, in the database, process CPU) seconds each."""
    got = []
    for _ in range(repeat):
        with _watching(engine) as timed:
            t, c = time.perf_counter(), time.process_time()
            assert client.get(path).status_code == 200, path
            wall, cpu = time.perf_counter() - t, time.process_time() - c
        got.append((wall, timed.seconds, cpu))
    return got


def _figures(requests: list[tuple[float, float, float]], passes: int) -> dict[str, Any]:
    """Medians in ms: wall, in the database, in Python (wall - database), process CPU."""
    per_pass = len(requests) // passes

    def median(i: int, rows: list[tuple[float, float, float]] = requests) -> float:
        return statistics.median(r[i] for r in rows) * 1000

    return {
        "median_ms": median(0),
        "db_ms": median(1),
        "python_ms": statistics.median(r[0] - r[1] for r in requests) * 1000,
        "median_cpu_ms": median(2),
        "pass_ms": [median(0, requests[k * per_pass : (k + 1) * per_pass]) for k in range(passes)],
        "requests": len(requests),
    }


def measure(
    base: str = DEFAULT_POSTGRES,
    members: int = 100_000,  # at least voters + 3
    months: int = 60,
    voters: int = 2_000,
    repeat: int = 25,
    passes: int = 3,
) -> dict[str, Any]:
    """Load the history, then count and time every member page; the figures as a dict.

    Timing is in-process (Flask's test client: no socket, no HTTP parsing), `passes`
    passes over the pages of `repeat` warm requests a page, so a burst of load elsewhere
    on the machine spreads over every page.
    """
    from market import create_app
    from market.webdb import database

    with (
        throwaway_postgres(base, "softcoop_bench_pages_") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings = {"DATABASE_URL": url, "SECRET_KEY": "bench"}
        app = create_app({**settings, "LOG_LEVEL": "WARNING"})
        started = time.perf_counter()
        with app.app_context():
            old, new = _load(app, members, months, voters, Path(tmp))
        loaded = time.perf_counter() - started
        engine = database(app).engine
        clients = {"old": _client(app, old), "new": _client(app, new)}
        counts = {path: _statements(engine, clients, path) for path in PAGES}
        load_before = os.getloadavg()[0]
        requests: dict[str, list[tuple[float, float, float]]] = {path: [] for path in PAGES}
        for _ in range(passes):
            for path in PAGES:
                requests[path] += _time(engine, clients["old"], path, repeat)
        pages = {
            path: {"statements": counts[path], **_figures(requests[path], passes)} for path in PAGES
        }
        return {
            "members": members,
            "months": months,
            "voters": voters,
            "load_seconds": loaded,
            "load_average": (load_before, os.getloadavg()[0]),
            "pages": pages,
        }


def page_line(path: str, page: dict[str, Any]) -> str:
    """One page's figures: statements, median wall, its split, each pass's median."""
    s = page["statements"]
    passes = "/".join(f"{ms:.1f}" for ms in page["pass_ms"])
    return (
        f"{path} {s['old']} st (newcomer {s['new']}) median {page['median_ms']:.1f} ms"
        f" = db {page['db_ms']:.1f} + python {page['python_ms']:.1f}"
        f" (CPU {page['median_cpu_ms']:.1f}; passes {passes})"
    )


def main(argv: list[str] | None = None) -> int:
    """Print one line per page."""
    parser = argparse.ArgumentParser(prog="python -m bench.member_pages", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--voters", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=25, help="requests a page in each pass")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args(argv)
    got = measure(
        args.database_url, args.members, args.months, args.voters, args.repeat, args.passes
    )
    before, after = got["load_average"]
    print(
        f"loaded {got['members']:,} members, {got['months']} months in {got['load_seconds']:.0f} s;"
        f" timed in-process at load average {before:.1f}-{after:.1f}"
    )
    for path, page in got["pages"].items():
        print(page_line(path, page))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
