"""Fixtures: infrastructure only (databases, apps, clients, servers, browsers)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from market import create_app
from market.ledger.services import check_books
from market.members.models import Member
from market.webdb import database
from tests import support
from tests.market.factories import login_as
from tests.travel import Journey

SCRUBBED = support.scrub_environment()  # before any app reads the environment
JOURNEY = pytest.StashKey[Journey]()
BACKENDS = ["sqlite"] + (["postgresql"] if support.postgres_url() else [])


def pytest_configure(config: pytest.Config) -> None:
    """Travel to TEST_TODAY (or a random moment) before any app is built."""
    try:
        journey = Journey(os.environ)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    journey.start()
    config.stash[JOURNEY] = journey


def pytest_unconfigure(config: pytest.Config) -> None:
    journey = config.stash.get(JOURNEY, None)
    if journey is not None:
        journey.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[JOURNEY].header()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = support.engine_for(backend, tmp_path_factory.mktemp(backend))
    yield engine
    engine.dispose()


@pytest.fixture
def make_app(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Callable[..., Flask]]:
    """Build apps whose every write is rolled back at the end of the test.

    Before the rollback, the books are checked (every test that touches money is audited).
    Other invariants are checked where a test builds its state through the services (tests
    that write rows directly, to set up one case, may leave states the services never would).
    """
    conn = engine.connect()
    outer = conn.begin()
    made: list[Flask] = []

    def build(**config: Any) -> Flask:
        cfg = support.app_config(WTF_CSRF_ENABLED=False, DB_CONNECTION=conn)
        cfg.update(config)
        app = support.built(create_app, cfg)
        made.append(app)
        return app

    yield build
    if outer.is_active and request.node.get_closest_marker("tampers_books") is None:
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            problems = check_books(s)
            assert problems == [], "books check failed after the test"
    outer.rollback()
    conn.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test's transaction, for factories and for checking results.

    No app context is held open across the test: requests must each get their own `g`.
    """
    s = database(app).writer()
    yield s
    s.close()


@pytest.fixture
def login(client: FlaskClient) -> Callable[[Member], FlaskClient]:
    """Log the test client in as a member (without going through the password form)."""

    def do(member: Member, c: FlaskClient | None = None) -> FlaskClient:
        return login_as(c or client, member)  # type: ignore[no-any-return]

    return do


@pytest.fixture
def live_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database that real servers (threads or processes) can share."""
    with support.fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def live_server(live_database: str) -> Iterator[support.LiveServer]:
    with support.threaded_server(live_database) as server:
        yield server


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[str]:
    """One localstripe per test session (started lazily, by the tests that need it)."""
    try:
        server = support.localstripe()
        url = server.__enter__()
    except (OSError, RuntimeError) as exc:
        support.skip_or_fail(f"localstripe could not start: {exc}")
    yield url
    server.__exit__(None, None, None)


@pytest.fixture
def localstripe(localstripe_server: str) -> str:
    """The session's localstripe, emptied for this test; its URL is the STRIPE_API_BASE."""
    from bench import fakestripe

    fakestripe.reset(localstripe_server)
    return localstripe_server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(support.CHROMIUM).exists():
        support.skip_or_fail(f"{support.CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=support.CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# Tests that start servers, browsers or load the whole demo: `make test-fast` leaves them out
# (`-m "not slow"`); `make test` and CI run everything. Marked here by what they use, so a new
# test of that kind is slow without anyone remembering to mark it.
SLOW_FIXTURES = {"live_database", "live_server", "browser", "page"}
SLOW_MODULES = {"test_load_short.py", "test_demo_catalog.py", "test_deals_demo.py",
                "test_proposals_demo.py", "test_demo.py", "test_public_privacy.py",
                "test_readyz_down.py", "test_drill_short.py"}  # fmt: skip


def _off_its_backends(item: pytest.Item) -> bool:
    """A test marked `backends(...)` collected for another backend (left out, not skipped)."""
    marker = item.get_closest_marker("backends")
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("backend") if callspec else None
    return marker is not None and backend is not None and backend not in marker.args


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out tests on backends they are not for; mark the slow tests (SLOW_FIXTURES…)."""
    off = [item for item in items if _off_its_backends(item)]
    if off:
        config.hook.pytest_deselected(items=off)
        items[:] = [item for item in items if item not in off]
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        slow_module = item.path.name in SLOW_MODULES or "e2e" in item.path.parts
        # Reference comparisons on whole real elections (pabutools takes minutes on some).
        if fixtures & SLOW_FIXTURES or slow_module or "real_files" in item.name:
            item.add_marker(pytest.mark.slow)
