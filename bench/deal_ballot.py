"""Benchmark: close and publish a deal ballot (MES + Add1U) on PostgreSQL.

    python -m bench.deal_ballot [--approvals 100000] [--deals 200]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A fresh database gets one channel, `--deals` accepted deals (one seat product each, costs
spread over two orders of magnitude), a ballot over them with a budget of about a fifth of
their total cost, and members' approvals (1-5 deals each, popularity skewed) loaded with
COPY until `--approvals` approvals are cast; that is not timed. The close is timed end to end
(status flip, read, MES + Add1U and greedy, settling the funded deals through the deal path,
withdrawing the rest, audit file with its hash chain), then the recount reads the file back
and must agree.
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

SEED = 17  # the same approvals on every run


def _copy(conn, table: str, columns: str, rows: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    rows.seek(0)
    cur = conn.connection.dbapi_connection.cursor()
    with cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)


def _ballots(approvals: int, deals: int, rng: np.random.Generator) -> list[list[int]]:
    """Ballots of 1-5 distinct deals (popularity Zipf-like) totalling `approvals`."""
    weight = 1.0 / np.arange(1, deals + 1) ** 0.8
    weight /= weight.sum()
    out: list[list[int]] = []
    left = approvals
    while left > 0:
        k = min(int(rng.integers(1, 6)), left, deals)
        out.append(sorted(int(j) for j in rng.choice(deals, size=k, replace=False, p=weight)))
        left -= k
    return out


def _load(db: Database, approvals: int, deals: int) -> tuple[int, int]:
    """Fill the database; (ballot id, number of ballots)."""
    from market.ledger.accounts import channel_code, pool_code
    from market.ledger.services import Move, post

    rng = np.random.default_rng(SEED)
    now = utcnow()
    costs = [int(c) * 100 for c in rng.integers(20, 2_000, size=deals)]  # $20 to $2,000
    per_seat = 100
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channel (id, name, description, steward_contact, active, created_at)"
                " VALUES (1, 'Bench channel', '', '', true, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO member (id, email, display_name, password_hash, is_admin,"
                " member_class, status, created_at) VALUES (1, 'admin@example.com', 'Admin',"
                " 'x', true, 'consumer', 'active', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO vendor (id, name, website, category, market_share_bp, created_at)"
                " SELECT i, 'Vendor ' || i, '', 'bench', 0, :now FROM generate_series(1, :d) i"
            ),
            {"d": deals, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO product (id, vendor_id, channel_id, name, category, description,"
                " terms, kind, reassignable, seats_total, seats_used, redemption_url,"
                " justification, active, created_at) SELECT i, i, 1, 'Product ' || i, 'bench',"
                " '', '', 'seat', true, 0, 0, '', '', true, :now FROM generate_series(1, :d) i"
            ),
            {"d": deals, "now": now},
        )
        offers, rows, cands = io.StringIO(), io.StringIO(), io.StringIO()
        for i, cost in enumerate(costs, start=1):
            seats = cost // per_seat
            offers.write(f"{i}\t{i}\tvendor\t[[1, {per_seat}]]\t1\t12\t\t{now.isoformat()}\n")
            rows.write(
                f"{i}\tDeal {i}\t{i}\t{i}\t1\t{seats}\t12\t\t\taccepted\tf\t{i}\t1\t1"
                f"\t{now.isoformat()}\t{now.isoformat()}\n"
            )
            cands.write(f"{i}\t1\t{i}\tDeal {i}\t{cost}\t\n")
        _copy(
            conn,
            "deal",
            "id, title, vendor_id, product_id, channel_id, seats_wanted, term_months, notes,"
            " justification, status, group_buy, accepted_offer_id, ballot_id, created_by,"
            " created_at, updated_at",
            rows,
        )
        _copy(
            conn,
            "deal_offer",
            "id, deal_id, party, tiers, min_seats, term_months, notes, created_at",
            offers,
        )
        budget = sum(costs) // 5
        conn.execute(
            text(
                "INSERT INTO deal_ballot (id, title, channel_id, currency, rule, budget_cents,"
                " status, closes_at, created_by, created_at) VALUES (1, 'Bench ballot', 1,"
                " 'usd', 'mes-add1u', :b, 'open', :closes, 1, :now)"
            ),
            {"b": budget, "closes": now + timedelta(days=3), "now": now},
        )
        _copy(
            conn,
            "deal_ballot_candidate",
            "id, ballot_id, deal_id, title, cost_cents, reason",
            cands,
        )
        ballots = _ballots(approvals, deals, rng)
        members, votes = io.StringIO(), io.StringIO()
        stamp = now.isoformat()
        for i, ballot in enumerate(ballots, start=2):
            members.write(f"{i}\tm{i}@example.com\tM{i}\tx\tf\tconsumer\tactive\t{stamp}\n")
            chosen = " ".join(str(j + 1) for j in ballot)
            receipt = hashlib.sha256(f"bench|{i}|{chosen}".encode()).hexdigest()
            votes.write(f"{i}\t1\t{i}\t{chosen}\t{receipt}\tsalt\t{stamp}\t{stamp}\n")
        _copy(
            conn,
            "member",
            "id, email, display_name, password_hash, is_admin, member_class, status, created_at",
            members,
        )
        _copy(
            conn,
            "deal_ballot_vote",
            "id, ballot_id, member_id, approvals, receipt, salt, created_at, updated_at",
            votes,
        )
        for table in ("member", "deal", "deal_offer", "deal_ballot", "deal_ballot_candidate",
                      "deal_ballot_vote", "vendor", "product", "channel"):  # fmt: skip
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    with db.transaction() as session:
        post(
            session,
            "bench:alloc",
            "allocation",
            "bench allocation",
            [Move(pool_code(period_of(now)), channel_code(1), budget)],
            "usd",
        )
    return 1, len(ballots)


def run(admin_url: str, approvals: int, deals: int) -> dict[str, float]:
    """Load a ballot into a fresh database and time one close; returns the timings."""
    from allocation.deal_recount import recount
    from market import filestore
    from market.dealballots import audit
    from market.dealballots.closing import close_ballot
    from market.dealballots.models import DealBallot

    name = f"softcoop_bench_deal_ballot_{approvals}"
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
        bid, ballots = _load(db, approvals, deals)
        print(f"{approvals:,} approvals ({ballots:,} ballots) loaded in "
              f"{time.perf_counter() - started:.1f} s (not timed)")  # fmt: skip
        started, cpu = time.perf_counter(), time.process_time()
        with db.transaction() as session:  # the file is stored in the close's transaction
            report = close_ballot(session, bid, currency="usd", now=utcnow(), early=True)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        with tempfile.TemporaryDirectory() as tmp, db.transaction() as session:
            ballot = session.get(DealBallot, bid)
            assert ballot is not None
            stored = audit.stored_audit(session, ballot)
            assert stored is not None, "the close stored no audit file"
            path = Path(tmp) / "deal-ballot.csv"
            path.write_bytes(filestore.read_all(session, stored.id))
            again = recount(path)
        assert report.status == "published" and report.ballots == ballots
        assert again.matches, "the recount differs from the published outcome"
        steps = "  ".join(f"{k} {v:.3f}" for k, v in report.timings.items())
        print(
            f"{approvals:,} approvals over {deals} deals: close+publish {total:.3f} s "
            f"({cpu:.3f} s CPU in this process)  "
            f"[{steps}]  funded {len(report.funded)}, recount matches"
        )
        return {"total": total, "cpu": cpu, "ballots": ballots, "funded": len(report.funded),
                **report.timings}  # fmt: skip
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=200)
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    run(args.admin_url, args.approvals, args.deals)


if __name__ == "__main__":
    main()
