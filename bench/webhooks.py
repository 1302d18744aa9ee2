"""Benchmark: signed webhook ingestion on PostgreSQL behind gunicorn (4 workers).

    .venv/bin/python -m bench.webhooks [--events 5000] [--concurrency 32]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a fresh database, migrates it, adds one member (a Stripe customer) per event,
starts gunicorn, fires distinct signed `invoice.paid` events from an asyncio client,
prints events/s and latency percentiles, checks the books, and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

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
    """The app under gunicorn with `workers` sync workers, knowing the webhook secret."""
    with gunicorn(url, workers, {"SECRET_KEY": "bench", "STRIPE_WEBHOOK_SECRET": SECRET}) as base:
        time.sleep(1.0)  # let every worker finish importing
        yield base


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    warmup = 200
    with throwaway_postgres(args.database_url, prefix="softcoop_bench_") as url:
        seed(url, args.events + warmup)
        events = [signed_event(i) for i in range(args.events + warmup)]
        with webhook_server(url, args.workers) as base:
            hook = base + "/billing/stripe/webhook"
            asyncio.run(fire(hook, events[:warmup], args.concurrency))
            start = time.perf_counter()
            samples = asyncio.run(fire(hook, events[warmup:], args.concurrency))
            elapsed = time.perf_counter() - start
        engine = make_engine(url)
        with Session(engine) as session:
            booked = session.scalar(select(func.count()).select_from(LedgerTransaction))
            problems = check_books(session)
        engine.dispose()
    ms = latency_ms(samples)
    print(
        f"{args.events} signed invoice.paid events, {args.concurrency} in flight, "
        f"gunicorn -w {args.workers}, PostgreSQL"
    )
    print(f"throughput: {args.events / elapsed:.0f} events/s ({elapsed:.2f} s)")
    print(
        f"latency ms: p50 {ms['p50_ms']:.1f}  p95 {ms['p95_ms']:.1f}  "
        f"p99 {ms['p99_ms']:.1f}  max {ms['max_ms']:.1f}"
    )
    print(
        f"ledger transactions: {booked} (expected {args.events + warmup}); "
        f"books check: {'OK' if not problems else problems[:3]}"
    )


if __name__ == "__main__":
    main()
