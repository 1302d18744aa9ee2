"""Benchmarks: `python -m bench.claims` (see README, "Benchmarks").

1. Claims through gunicorn (4 workers) on a throwaway PostgreSQL database, 50 concurrent
   clients, side by side with a bare endpoint on the same stack that does one indexed
   insert (the ceiling). Reports throughput, p50/p99 latency and the ratio.
2. The catalogue page with 10,000 products: server time per page (median) and queries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import event, insert, text

from bench import ceiling
from bench.http import Recorder, client, latency_ms, send
from bench.serving import gunicorn, signed_login, throwaway_postgres
from catalog.models import Channel, LicenceKey, Product, Vendor
from market import create_app
from market.db import make_engine
from market.members.models import Member
from market.webdb import database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-only-secret"
BASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_database(base: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database plus the ceiling's table; dropped afterwards."""
    with throwaway_postgres(base, prefix="softcoop_bench_") as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            # The ceiling's table: one serial key, one secondary index, nothing else.
            conn.execute(
                text(
                    "CREATE TABLE bench_ping (id BIGSERIAL PRIMARY KEY, member_id INT NOT NULL, "
                    "created_at TIMESTAMPTZ NOT NULL)"
                )
            )
            conn.execute(text("CREATE INDEX ix_bench_ping_member ON bench_ping (member_id)"))
        engine.dispose()
        yield url


def _shelf(session: Any, products: int, keys_each: int, name: str = "Bench") -> list[int]:
    """`products` key products with `keys_each` keys each; returns their ids in order."""
    channel = Channel(name=f"{name} channel")
    vendor = Vendor(name=f"{name} vendor", category="bench", market_share_bp=300)
    session.add_all([channel, vendor])
    session.flush()
    rows = [
        {
            "vendor_id": vendor.id,
            "channel_id": channel.id,
            "name": f"{name} {i:05d}",
            "category": f"cat{i % 20}",
            "kind": "key",
            "seats_total": 0,
            "seats_used": 0,
        }
        for i in range(products)
    ]
    ids = list(session.scalars(insert(Product).returning(Product.id), rows))
    if keys_each:
        session.execute(
            insert(LicenceKey),
            [{"product_id": p, "value": f"B-{p}-{k}"} for p in ids for k in range(keys_each)],
        )
    return ids


def _members(session: Any, count: int) -> list[int]:
    rows = [
        {
            "email": f"bench{i}@example.com",
            "display_name": f"Bench {i}",
            "password_hash": "unused",
            "status": "active",
        }
        for i in range(count)
    ]
    return list(session.scalars(insert(Member).returning(Member.id), rows))


@contextmanager
def bench_server(url: str, workers: int) -> Iterator[str]:
    """gunicorn serving the app with the bench endpoints switched on."""
    with gunicorn(url, workers, {"SECRET_KEY": SECRET}, app=ceiling.APP) as base:
        yield base


async def _member(
    http: ClientSession, rec: Recorder, paths: list[str], cookie: str, token: str
) -> None:
    """One signed-in member posting forms one after the other (each expects a redirect)."""
    for path in paths:
        await send(
            http,
            rec,
            "post",
            "POST",
            path,
            data={"csrf_token": token},
            headers={"Cookie": f"session={cookie}"},
            expect=(303,),
        )


async def _phase(base: str, plans: list[tuple[list[str], str, str]]) -> dict[str, float]:
    rec = Recorder()
    async with client(base, limit=len(plans), cookies=False) as http:
        start = rec.now()
        await asyncio.gather(*(_member(http, rec, *plan) for plan in plans))
        elapsed = rec.now() - start
    latency = latency_ms(rec.samples)
    return {
        "requests": len(rec.samples),
        "ok": sum(s.ok for s in rec.samples),
        "rps": len(rec.samples) / elapsed,
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
    }


def bench_claims(base_url: str, clients: int, rounds: int, per_round: int) -> dict[str, Any]:
    """Claims vs the bare insert, alternating phases on one server; returns the figures."""
    with throwaway_database(base_url) as url:
        app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": url})
        with database(app).transaction() as session:
            products = _shelf(session, rounds * per_round, keys_each=clients)
            members = _members(session, clients)
        logins = [signed_login(app, m) for m in members]
        claims: list[dict[str, float]] = []
        bare: list[dict[str, float]] = []
        with bench_server(url, workers=4) as base:
            warm = [["/_bench/insert"] * 5 for _ in logins]
            asyncio.run(_phase(base, [(w, *cred) for w, cred in zip(warm, logins, strict=True)]))
            for r in range(rounds):
                chunk = products[r * per_round : (r + 1) * per_round]
                paths = [f"/catalogue/{p}/claim" for p in chunk]
                claims.append(asyncio.run(_phase(base, [(paths, *c) for c in logins])))
                inserts = ["/_bench/insert"] * per_round
                bare.append(asyncio.run(_phase(base, [(inserts, *c) for c in logins])))
        database(app).engine.dispose()
    return {"claims": _combine(claims), "bare": _combine(bare)}


def _combine(phases: list[dict[str, float]]) -> dict[str, float]:
    """Totals over phases: summed counts, request-weighted throughput, worst p50/p99."""
    requests = sum(p["requests"] for p in phases)
    seconds = sum(p["requests"] / p["rps"] for p in phases)
    return {
        "requests": requests,
        "ok": sum(p["ok"] for p in phases),
        "rps": requests / seconds,
        "p50_ms": statistics.median(p["p50_ms"] for p in phases),
        "p99_ms": max(p["p99_ms"] for p in phases),
    }


def bench_catalogue(base_url: str, products: int, samples: int) -> list[tuple[str, float, int]]:
    """Server time (median of `samples`) and query count for catalogue pages."""
    with throwaway_database(base_url) as url:
        app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": url, "TESTING": True})
        with database(app).transaction() as session:
            _shelf(session, products, keys_each=2, name="Shelf")
        engine = database(app).engine
        client = app.test_client()
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        last = -(-products // 20)
        pages = [
            "/catalogue",
            f"/catalogue?page={last // 2}",
            f"/catalogue?page={last}",
            "/catalogue?category=cat7",
            "/catalogue?q=shelf+0042",
        ]
        out = []
        for path in pages:
            client.get(path)  # warm
            times = []
            for _ in range(samples):
                statements.clear()
                start = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append(time.perf_counter() - start)
            out.append((path, 1000 * statistics.median(times), len(statements)))
        engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks and print a small report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", BASE_URL))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=20, help="claims per client per round")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=25)
    args = parser.parse_args(argv)
    result = bench_claims(args.database, args.clients, args.rounds, args.per_round)
    print(f"Claims vs bare insert: gunicorn -w 4, PostgreSQL, {args.clients} concurrent clients")
    for label in ("claims", "bare"):
        r = result[label]
        print(
            f"  {label:6} {r['requests']:5.0f} requests ({r['ok']:.0f} ok)  {r['rps']:7.1f} req/s"
            f"  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms"
        )
    print(f"  ratio claims/bare throughput: {result['claims']['rps'] / result['bare']['rps']:.2f}")
    print(f"Catalogue pages with {args.products} products (server time, median of {args.samples})")
    for path, ms, queries in bench_catalogue(args.database, args.products, args.samples):
        print(f"  {path:32} {ms:6.1f} ms  {queries} queries")


if __name__ == "__main__":
    main()
