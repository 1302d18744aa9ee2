"""Benchmark: close and publish rounds of 10k / 100k / 1M ballots × 12 channels on PostgreSQL.

    python -m bench.rounds [--sizes 10000,100000,1000000] [--runs 5]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Each size gets a fresh database (or `--database-url`, emptied first). Ballots (1-5 channels
each, random shares) are generated with numpy and loaded with COPY; that is not timed. The
close runs in a process of its own, timed end to end (claim, histogram query, rule, booking,
audit file into the database, books check) with the breakdown and its peak memory; beside it,
on the same database in the same run, the floor: one `COPY (SELECT … FROM ballot …) TO
STDOUT` of the same rows (timed before and after the close; the faster counts). With
`--runs N` each size is loaded once and closed N times, on copies of the loaded database,
and the median ratio is printed: the floor moves by half between two reads on a busy
machine, so one run's ratio says little.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, make_url, select, text

from market import migrate
from market.clock import period_of, utcnow
from market.db import Database, make_engine

CHANNELS = 12
SEED = 2026  # a seed, not a year: the same ballots on every run


def _splits(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random ballots in basis points: each names 1-5 channels, rows sum to 10,000."""
    k = rng.integers(1, 6, size=n)
    ranks = np.argsort(rng.random((n, CHANNELS)), axis=1).argsort(axis=1)
    raw = rng.exponential(size=(n, CHANNELS)) * (ranks < k[:, None])
    bp = np.floor(raw / raw.sum(axis=1, keepdims=True) * 10_000).astype(np.int64)
    first = np.argmin(ranks, axis=1)  # give the rounding leftover to the top-ranked channel
    bp[np.arange(n), first] += 10_000 - bp.sum(axis=1)
    return bp


def _copy(conn, table: str, columns: str, rows: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    rows.seek(0)
    cur = conn.connection.dbapi_connection.cursor()
    with cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)


def _load(db: Database, n: int, seed: int = SEED) -> int:
    rng = np.random.default_rng(seed)
    now = utcnow()
    period = period_of(now)  # the round is for the month it opens in
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
                " 'M' || i, 'x', false,"
                " CASE WHEN i % 20 = 0 THEN 'worker' ELSE 'consumer' END, 'active', :now"
                " FROM generate_series(1, :n) i"
            ),
            {"n": n, "now": now},
        )
        rid = conn.execute(
            text(
                "INSERT INTO round (period, rule, status, currency, opens_at, closes_at,"
                " eligible_count, created_at) VALUES (:p, 'independent_markets', 'open', 'usd',"
                " :now, :closes, :n, :now) RETURNING id"
            ),
            {"p": period, "now": now, "closes": now + timedelta(days=3), "n": n},
        ).scalar_one()
        conn.execute(
            text("INSERT INTO round_channel SELECT :r, i FROM generate_series(1, :m) i"),
            {"r": rid, "m": CHANNELS},
        )
        conn.execute(
            text("INSERT INTO round_voter SELECT :r, id, member_class FROM member"), {"r": rid}
        )
        conn.execute(
            text(
                "INSERT INTO round_class_weight VALUES (:r, 'consumer', 1000), (:r, 'worker', 2000)"
            ),
            {"r": rid},
        )
        bp = _splits(n, rng)
        ballots, shares = io.StringIO(), io.StringIO()
        stamp = now.isoformat()
        for i in range(n):
            row = bp[i]
            nz = np.flatnonzero(row)
            split = ",".join(f"{j + 1}:{row[j]}" for j in nz)
            cls = "worker" if (i + 1) % 20 == 0 else "consumer"
            receipt = hashlib.sha256(f"bench|{rid}|{i + 1}|{split}".encode()).hexdigest()
            ballots.write(f"{i + 1}\t{rid}\t{i + 1}\t{cls}\t{split}\tf\tt\tf\t{receipt}\t{stamp}\n")
            for j in nz:
                shares.write(f"{i + 1}\t{j + 1}\t{rid}\t{cls}\t{row[j]}\n")
        _copy(
            conn,
            "ballot",
            "id, round_id, member_id, member_class, split, abstain, "
            "is_current, carried_over, receipt, cast_at",
            ballots,
        )
        _copy(conn, "ballot_share", "ballot_id, channel_id, round_id, member_class, bp", shares)
        for table in ("channel", "member", "ballot"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        # The load's dirty pages written out now, not by whichever read comes first (a
        # million ballots fill shared_buffers many times over): a round's ballots were
        # written days before its close.
        conn.execute(text("CHECKPOINT"))
    from market.ledger.accounts import CLEARING, pool_code
    from market.ledger.services import Move, post

    with db.transaction() as session:
        post(
            session,
            "bench:dues",
            "dues",
            "bench dues",
            [Move(CLEARING, pool_code(period), n * 450)],
            "usd",
        )
    return int(rid)


FLOOR_SQL = (
    "COPY (SELECT receipt, member_class, split FROM ballot"
    " WHERE round_id = {rid} AND is_current AND NOT abstain) TO STDOUT"
)


def copy_floor(url: str, rid: int) -> tuple[float, int]:
    """The floor: one COPY of the round's counted ballots to this client; (seconds, bytes)."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        size = 0
        with cur.copy(FLOOR_SQL.format(rid=int(rid))) as copy:
            for data in copy:
                size += len(data)
        return time.perf_counter() - started, size


def close_in_child(url: str, rid: int) -> dict[str, float]:
    """Close the round in a process of its own, so its peak memory is the close's alone."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.rounds", "--close", url, str(rid)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would carry the parent's peak
    over fork and exec, and the parent held the generated ballots)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _close_here(url: str, rid: int) -> None:
    """The child's side: close and publish, then print timings and peak memory as JSON."""
    from allocation.closing import close_and_publish
    from market.filestore import StoredFile

    engine = make_engine(url)
    db = Database(engine)
    started = time.perf_counter()
    report = close_and_publish(db, rid)
    total = time.perf_counter() - started
    with db.transaction() as session:
        size = session.scalar(
            select(StoredFile.size).where(StoredFile.name == f"audit/round-{rid}.csv")
        )
    assert report.status == "published"
    peak_mb = _peak_mb()
    print(
        json.dumps(
            {"total": total, "ballots": report.ballots, "size": size or 0, "peak_mb": peak_mb}
            | report.timings
        )
    )


def _fresh(admin_url: str, n: int, database_url: str | None) -> tuple[str, Callable[[], None]]:
    """A database to load: `database_url` emptied, or a new one dropped afterwards."""
    if database_url:
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return database_url, lambda: None
    name = f"softcoop_bench_rounds_{n}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def run(admin_url: str, n: int, database_url: str | None = None, runs: int = 1) -> dict[str, float]:
    """Load n ballots, then time the COPY floor, the close (its own process) and the floor
    again, all on the same database; returns the figures (of the median run).

    `runs` > 1: the loaded database becomes a template, and each run closes a fresh copy
    of it (`CREATE DATABASE … TEMPLATE`), so the runs close the very same round.
    """
    url, drop = _fresh(admin_url, n, database_url)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        db = Database(engine)
        started = time.perf_counter()
        rid = _load(db, n)
        print(f"{n:>9,} ballots loaded in {time.perf_counter() - started:.1f} s (not timed)")
        if runs <= 1:
            return _measure(url, rid, n)
        engine.dispose()  # a template has no one connected
        results = []
        for _ in range(runs):
            with _copy_of(admin_url, url) as copy:
                results.append(_measure(copy, rid, n))
        ratios = sorted(r["total"] / r["floor"] for r in results)
        median = statistics.median(ratios)
        print(
            f"{n:>9,} ballots, {runs} runs on copies: close+publish median "
            f"{statistics.median(r['total'] for r in results):.2f} s, ratios "
            f"{', '.join(f'{x:.2f}' for x in ratios)}; median ratio {median:.2f}"
        )
        return min(results, key=lambda r: abs(r["total"] / r["floor"] - median))
    finally:
        engine.dispose()
        drop()


@contextmanager
def _copy_of(admin_url: str, url: str) -> Iterator[str]:
    """A new database copied from the one at `url` (dropped afterwards)."""
    template = make_url(url).database
    name = f"{template}_copy"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _measure(url: str, rid: int, n: int) -> dict[str, float]:
    """The floor, the close and the floor again on one loaded database; prints the line."""
    copy_floor(url, rid)  # warm the cache for both sides alike
    before, floor_bytes = copy_floor(url, rid)
    got = close_in_child(url, rid)
    after, _ = copy_floor(url, rid)
    floor = min(before, after)
    assert got["ballots"] == n
    steps = "  ".join(
        f"{k} {v:.3f}" for k, v in got.items() if k not in ("total", "ballots", "size", "peak_mb")
    )
    print(
        f"{n:>9,} ballots: close+publish {got['total']:.2f} s  [{steps}]  "
        f"audit {got['size'] / 1e6:.0f} MB; COPY floor {floor:.2f} s "
        f"({before:.2f} / {after:.2f}, {floor_bytes / 1e6:.0f} MB); "
        f"ratio {got['total'] / floor:.2f}; peak memory {got['peak_mb']:.0f} MB",
        flush=True,
    )
    return {**got, "floor": floor}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument(
        "--database-url",
        help="use (and empty!) this database instead of creating one per size",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="close this many copies of each loaded database and report the median ratio",
    )
    parser.add_argument("--close", nargs=2, metavar=("URL", "ROUND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.close:
        _close_here(args.close[0], int(args.close[1]))
        return
    for n in (int(s) for s in args.sizes.split(",")):
        run(args.admin_url, n, args.database_url, args.runs)


if __name__ == "__main__":
    main()
