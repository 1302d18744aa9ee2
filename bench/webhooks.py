"""Benchmark: signed webhook ingestion on PostgreSQL behind gunicorn (4 workers).

    .venv/bin/python -m bench.webhooks [--events 2000] [--repeats 3] [--concurrency 32]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a fresh database, migrates it, adds one member (a Stripe customer) per event,
starts gunicorn, fires distinct signed `invoice.paid` events from an asyncio client, in
alternating batches at the real endpoint and at a bare one on the same stack that verifies
the signature and inserts one row (`bench/ceiling.py`); prints events/s (medians), latency
percentiles and the ratio, checks the books, and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from bench import ceiling
from bench.http import Recorder, Sample, client, latency_ms, send
from bench.serving import gunicorn, throwaway_postgres
from market.billing.models import DuesAccount
from market.clock import month_start, period_of
from market.db import make_engine, utcnow
from market.ledger.models import LedgerTransaction
from market.ledger.services import check_books
from market.members.models import Member

SECRET = "whsec_bench"
# The invoices pay this month's dues (their period starts on its first day).
MONTH_START = int(month_start(period_of(utcnow())).timestamp())


def seed(url: str, count: int) -> None:
    """One pending member with a Stripe customer per event (bulk rows: this is setup)."""
    engine = make_engine(url)
    now = utcnow()
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Member),
            [
                {
                    "email": f"bench{i}@example.com",
                    "display_name": f"Bench {i}",
                    "password_hash": "-",
                    "is_admin": False,
                    "member_class": "consumer",
                    "status": "pending",
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
        ids = session.scalars(select(Member.id).order_by(Member.id)).all()
        session.execute(
            insert(DuesAccount),
            [
                {
                    "member_id": member_id,
                    "customer_id": f"cus_bench_{i}",
                    "sub_status": "none",
                    "status_at": 0,
                    "cancel_at_period_end": False,
                    "cancel_requested": False,
                    "snapshot_at": 0,
                    "ever_paid": False,
                    "created_at": now,
                }
                for i, member_id in enumerate(ids)
            ],
        )
    engine.dispose()


def signed_event(i: int) -> tuple[bytes, str]:
    """A distinct invoice.paid event and its Stripe-Signature header."""
    event: dict[str, Any] = {
        "id": f"evt_bench_{i}",
        "type": "invoice.paid",
        "created": MONTH_START + i,
        "data": {
            "object": {
                "id": f"in_bench_{i}",
                "customer": f"cus_bench_{i}",
                "subscription": f"sub_bench_{i}",
                "currency": "usd",
                "amount_paid": 500,
                "created": MONTH_START,
                "period_start": MONTH_START,
            }
        },
    }
    payload = json.dumps(event).encode()
    ts = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={ts},v1={mac}"


async def fire(url: str, events: list[tuple[bytes, str]], concurrency: int) -> list[Sample]:
    """Post every event with at most `concurrency` in flight; one sample per delivery."""
    rec = Recorder()
    queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
    for item in events:
        queue.put_nowait(item)

    async def worker(http: ClientSession) -> None:
        while not queue.empty():
            payload, signature = queue.get_nowait()
            headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
            await send(http, rec, "webhook", "POST", url, data=payload, headers=headers)

    async with client(limit=concurrency) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    failures = [s for s in rec.samples if not s.ok]
    if failures:
        raise SystemExit(f"{len(failures)} deliveries failed, e.g. {failures[0].error}")
    return rec.samples


@contextmanager
def webhook_server(url: str, workers: int) -> Iterator[str]:
    """The app and its bare ceiling under gunicorn with `workers` sync workers."""
    # Request log lines off (both endpoints alike): the figures, not 10,000 lines, are the output.
    env = {"SECRET_KEY": "bench", "STRIPE_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
    with gunicorn(url, workers, env, app=ceiling.APP) as base:
        time.sleep(1.0)  # let every worker finish importing
        yield base


def _bare_table(url: str) -> None:
    """The bare endpoint's table: the event id as its key, as the real event table has."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_hook (event_id TEXT PRIMARY KEY, "
                "created_at TIMESTAMPTZ NOT NULL)"
            )
        )
    engine.dispose()


def measure(
    base_url: str, events: int, concurrency: int, workers: int, repeats: int = 3
) -> dict[str, Any]:
    """Ours and the bare endpoint, in alternating batches on one server; medians of each.

    Each batch posts `events` distinct events (the real endpoint books each one; the bare one
    stores its id), so both always do fresh work. Returns events/s, latency and the books.
    The ratio is the median over the batches of ours / bare in the same batch: the two run
    back to back, so a slow moment of the machine slows both (the speed of each moves by
    half within a minute here; the ratio of one pair, by a tenth).
    """
    warmup = 200
    total = warmup + events * repeats
    with throwaway_postgres(base_url, prefix="softcoop_bench_") as url:
        seed(url, total)
        _bare_table(url)
        signed = [signed_event(i) for i in range(total)]
        runs: dict[str, list[float]] = {"ours": [], "bare": []}
        samples: dict[str, list[Sample]] = {"ours": [], "bare": []}
        with webhook_server(url, workers) as base:
            paths = {"ours": base + "/billing/stripe/webhook", "bare": base + "/_bench/webhook"}
            for path in paths.values():
                asyncio.run(fire(path, signed[:warmup], concurrency))
            for r in range(repeats):
                batch = signed[warmup + r * events : warmup + (r + 1) * events]
                for name in ("ours", "bare") if r % 2 == 0 else ("bare", "ours"):
                    start = time.perf_counter()
                    samples[name] += asyncio.run(fire(paths[name], batch, concurrency))
                    runs[name].append(events / (time.perf_counter() - start))
        engine = make_engine(url)
        with Session(engine) as session:
            booked = session.scalar(select(func.count()).select_from(LedgerTransaction))
            problems = check_books(session)
        engine.dispose()
    result: dict[str, Any] = {"booked": booked, "expected": total, "problems": problems}
    for name in runs:
        result[name] = {
            "eps": statistics.median(runs[name]),
            "runs": runs[name],
            **latency_ms(samples[name]),
        }
    pairs = [o / b for o, b in zip(runs["ours"], runs["bare"], strict=True)]
    result["pairs"] = pairs
    result["ratio"] = statistics.median(pairs)
    return result


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="per batch")
    parser.add_argument("--repeats", type=int, default=3, help="batches of each endpoint")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    got = measure(args.database_url, args.events, args.concurrency, args.workers, args.repeats)
    print(
        f"{args.repeats} x {args.events} signed invoice.paid events per endpoint, "
        f"{args.concurrency} in flight, gunicorn -w {args.workers}, PostgreSQL"
    )
    for name, label in (("ours", "ours (verify, record, book)"), ("bare", "bare (verify, insert)")):
        r = got[name]
        runs = ", ".join(f"{x:.0f}" for x in r["runs"])
        print(
            f"{label}: {r['eps']:.0f} events/s median ({runs}); latency ms p50 "
            f"{r['p50_ms']:.1f} p99 {r['p99_ms']:.1f}"
        )
    pairs = ", ".join(f"{x:.2f}" for x in got["pairs"])
    print(f"ratio ours / bare: {got['ratio']:.2f} median of the batches ({pairs}) (target >= 0.6)")
    print(
        f"ledger transactions: {got['booked']} (expected {got['expected']}); "
        f"books check: {'OK' if not got['problems'] else got['problems'][:3]}"
    )


if __name__ == "__main__":
    main()
