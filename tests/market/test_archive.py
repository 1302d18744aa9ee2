"""`flask coop export` / `import`: the demo co-op survives a move, byte for byte.

The demo is exported from SQLite, imported into a fresh database of each backend (SQLite to
PostgreSQL), exported again from there and imported back into SQLite: every table's rows,
every account balance, every published hash and the public pages are the same everywhere.
A damaged archive is refused whole and leaves the database empty.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from allocation.models import Round
from catalog.models import LicenceKey
from market import archive, create_app, demo
from market.clock import utcnow
from market.ledger.models import Account
from market.members.models import Member
from market.webdb import database
from tests import support

PAGES = ["/", "/catalogue", "/books", "/rounds/", "/login"]


def _app(url: str) -> Flask:
    """An app on `url` (its audit files are in its own database's file store)."""
    return create_app(support.app_config(DATABASE_URL=url, WTF_CSRF_ENABLED=False))


def _engine(app: Flask) -> Engine:
    return database(app).engine


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo co-op on SQLite, exported once (keys in plain: the test compares them)."""
    tmp = tmp_path_factory.mktemp("archive")
    with support.fresh_database("sqlite", tmp) as url:
        app = _app(url)
        with app.app_context():
            demo.load(app, now=utcnow())
        path = tmp / "demo.zip"
        archive.export(_engine(app), path, keys="plain")
        _engine(app).dispose()
        yield path


def _balances(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {a.code: a.balance_cents for a in s.scalars(select(Account))}


def _hashes(engine: Engine) -> dict[int, str | None]:
    with Session(engine) as s:
        return {r.id: r.audit_head for r in s.scalars(select(Round))}


def _page_text(app: Flask) -> dict[str, str]:
    client = app.test_client()
    texts = {}
    published = [rid for rid, head in _hashes(_engine(app)).items() if head]
    for path in PAGES + [
        f"/rounds/{r}/{page}" for r in published for page in ("results", "audit.csv")
    ]:
        page = client.get(path)
        assert page.status_code == 200, path
        texts[path] = re.sub(r'name="csrf_token"[^>]*>', "", page.get_data(as_text=True))
        page.close()  # the audit file is sent as a file
    return texts


def _tables(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "manifest.json"}


def test_the_demo_round_trips_between_backends(
    backend: str, demo_archive: Path, tmp_path: Path
) -> None:
    with support.fresh_database(backend, tmp_path) as there_url:
        there = _app(there_url)
        done = archive.import_(_engine(there), demo_archive)
        assert done.rows > 1000 and done.rounds == 3
        again = tmp_path / "again.zip"
        archive.export(_engine(there), again, keys="plain")
        with support.fresh_database("sqlite", tmp_path) as back_url:
            back = _app(back_url)
            archive.import_(_engine(back), again)
            assert _tables(again) == _tables(demo_archive)  # every row of every table
            for other in (there, back):
                assert _balances(_engine(other)) == _balances(_engine(back))
                assert _hashes(_engine(other)) == _hashes(_engine(back))
                assert len([h for h in _hashes(_engine(other)).values() if h]) == 3
            assert _page_text(there) == _page_text(back)
            _engine(back).dispose()
        # New rows after an import get fresh ids (PostgreSQL's sequences were moved on).
        with database(there).transaction() as s:
            newest = s.scalar(select(func.max(Member.id))) or 0
            added = Member(
                email="after-import@example.com",
                display_name="After Import",
                password_hash="-",
                member_class="consumer",
                status="pending",
                created_at=utcnow(),
            )
            s.add(added)
            s.flush()
            assert added.id > newest
        _engine(there).dispose()


def _damaged(source: Path, target: Path, how: str) -> Path:
    data = source.read_bytes()
    if how == "truncated":
        target.write_bytes(data[: len(data) // 2])
        return target
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if how == "edited" and item.filename == "tables/account.jsonl":
                body = body.replace(b'"base_cents": 0', b'"base_cents": 1', 1)
            if how == "extra" and item.filename == "manifest.json":
                zout.writestr("tables/smuggled.jsonl", b"{}\n")
            zout.writestr(item, body)
    return target


@pytest.mark.parametrize("how", ["truncated", "edited", "extra"])
@pytest.mark.backends("sqlite")
def test_a_damaged_archive_is_refused_whole(demo_archive: Path, tmp_path: Path, how: str) -> None:
    bad = _damaged(demo_archive, tmp_path / f"{how}.zip", how)
    with support.fresh_database("sqlite", tmp_path) as url:
        app = _app(url)
        with pytest.raises(archive.ArchiveError):
            archive.import_(_engine(app), bad)
        with Session(_engine(app)) as s:
            assert s.scalar(select(func.count()).select_from(Member)) == 0
        _engine(app).dispose()


@pytest.mark.backends("sqlite")
def test_import_refuses_a_database_that_is_not_empty(demo_archive: Path, tmp_path: Path) -> None:
    with support.fresh_database("sqlite", tmp_path) as url:
        app = _app(url)
        archive.import_(_engine(app), demo_archive)
        with pytest.raises(archive.ArchiveError, match="not empty"):
            archive.import_(_engine(app), demo_archive)
        _engine(app).dispose()


@pytest.mark.backends("sqlite")
def test_licence_keys_are_omitted_or_sealed(demo_archive: Path, tmp_path: Path) -> None:
    with support.fresh_database("sqlite", tmp_path) as url:
        source = _app(url)
        archive.import_(_engine(source), demo_archive)
        with Session(_engine(source)) as s:
            keys = {k.id: (k.value, k.status) for k in s.scalars(select(LicenceKey))}
        assert keys

        omitted, sealed = tmp_path / "omitted.zip", tmp_path / "sealed.zip"
        archive.export(_engine(source), omitted)  # the default leaves the values out
        archive.export(_engine(source), sealed, keys="encrypt", passphrase="correct horse")
        for path in (omitted, sealed):
            raw = b"".join(_tables(path).values())
            assert not any(value.encode() in raw for value, _ in keys.values())

        with support.fresh_database("sqlite", tmp_path) as url2:
            app = _app(url2)
            archive.import_(_engine(app), omitted)
            with Session(_engine(app)) as s:
                got = {k.id: (k.value, k.status) for k in s.scalars(select(LicenceKey))}
            assert all(v.startswith(archive.OMITTED) for v, _ in got.values())
            assert "available" not in {status for _, status in got.values()}
            _engine(app).dispose()

        with support.fresh_database("sqlite", tmp_path) as url3:
            app = _app(url3)
            with pytest.raises(archive.ArchiveError, match="passphrase"):
                archive.import_(_engine(app), sealed, passphrase="wrong")
            with Session(_engine(app)) as s:
                assert s.scalar(select(func.count()).select_from(Member)) == 0
            archive.import_(_engine(app), sealed, passphrase="correct horse")
            with Session(_engine(app)) as s:
                assert {k.id: (k.value, k.status) for k in s.scalars(select(LicenceKey))} == keys
            _engine(app).dispose()
        _engine(source).dispose()


@pytest.mark.backends("sqlite")
def test_the_cli_exports_and_imports(demo_archive: Path, tmp_path: Path) -> None:
    with support.fresh_database("sqlite", tmp_path) as url:
        app = _app(url)
        runner = app.test_cli_runner()
        out = runner.invoke(args=["coop", "import", str(demo_archive)])
        assert out.exit_code == 0, out.output
        assert "3 published rounds reproduce their hashes" in out.output
        again = runner.invoke(args=["coop", "import", str(demo_archive)])
        assert again.exit_code != 0 and "Nothing was imported" in again.output
        path = tmp_path / "cli.zip"
        out = runner.invoke(args=["coop", "export", str(path), "--keys", "omit"])
        assert out.exit_code == 0 and path.exists(), out.output
        _engine(app).dispose()
