"""Benchmark: a member's own pages with years of history in a large co-op, on PostgreSQL.

    python -m bench.member_pages [--members 100000] [--months 60] [--voters 2000]

A fresh database gets `--members` members in good standing and `--months` monthly rounds,
each opened within its month and closed and published by the real close (so every round
snapshots every member as a voter and the voters' standing splits carry from month to
month). Two members are measured: one who paid and voted every month (the whole history)
and one who joined last month. For each member page (home, vote, Where my dues went, My
receipts, My dues) it counts the statements a request runs for each of them, which must be
equal, and times the long-history member's request in-process (server time, median).
Loading is not timed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
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


@contextmanager
def _counting(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


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


def measure(
    base: str = DEFAULT_POSTGRES,
    members: int = 100_000,  # at least voters + 3
    months: int = 60,
    voters: int = 2_000,
    repeat: int = 25,
) -> dict[str, Any]:
    """Load the history, then count and time every member page; the figures as a dict."""
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
        pages: dict[str, dict[str, Any]] = {}
        for path in PAGES:
            counts = {}
            for who, client in clients.items():
                assert client.get(path).status_code == 200, path  # warm: files, caches
                with _counting(engine) as seen:
                    assert client.get(path).status_code == 200, path
                counts[who] = len(seen)
            times, cpu = [], []
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                clients["old"].get(path)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            pages[path] = {
                "statements": counts,
                "median_ms": statistics.median(times) * 1000,
                "median_cpu_ms": statistics.median(cpu) * 1000,
            }
        return {
            "members": members,
            "months": months,
            "voters": voters,
            "load_seconds": loaded,
            "pages": pages,
        }


def main(argv: list[str] | None = None) -> int:
    """Print one line per page, then the summary line."""
    parser = argparse.ArgumentParser(prog="python -m bench.member_pages", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--voters", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args(argv)
    got = measure(args.database_url, args.members, args.months, args.voters, args.repeat)
    print(
        f"loaded {got['members']:,} members, {got['months']} months in {got['load_seconds']:.0f} s"
    )
    for path, page in got["pages"].items():
        s = page["statements"]
        figures = (
            f"statements {s['old']} (newcomer {s['new']})  median {page['median_ms']:.1f} ms"
            f" (app CPU {page['median_cpu_ms']:.1f} ms)"
        )
        print(f"{path:<22} {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
