"""Benchmark: close and publish rounds of 10k / 100k / 1M ballots × 12 channels on PostgreSQL.

    python -m bench.rounds [--sizes 10000,100000,1000000]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Each size gets a fresh database. Ballots (1-5 channels each, random shares) are generated with
numpy and loaded with COPY; that is not timed. The close is timed end to end (claim, histogram
query, rule, booking, audit file write, books check), with the breakdown.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, make_url, text

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
    from market.ledger.services import CLEARING, Move, pool_code, post

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


def run(admin_url: str, n: int) -> dict[str, float]:
    """Load n ballots into a fresh database and time one close; returns the timings."""
    from allocation.closing import close_and_publish

    name = f"softcoop_bench_rounds_{n}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        db = Database(engine)
        started = time.perf_counter()
        rid = _load(db, n)
        print(f"{n:>9,} ballots loaded in {time.perf_counter() - started:.1f} s (not timed)")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            report = close_and_publish(db, rid, Path(tmp))
            total = time.perf_counter() - started
            size = sum(p.stat().st_size for p in Path(tmp).glob("*.csv"))
        assert report.status == "published" and report.ballots == n
        steps = "  ".join(f"{k} {v:.3f}" for k, v in report.timings.items())
        print(f"{n:>9,} ballots: close+publish {total:.2f} s  [{steps}]  audit {size / 1e6:.0f} MB")
        return {"total": total, **report.timings}
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        run(args.admin_url, n)


if __name__ == "__main__":
    main()
