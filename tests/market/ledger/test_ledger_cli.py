from __future__ import annotations

from market import create_app
from market.ledger.services import CLEARING, RESERVE, Move, post
from market.webdb import database
from tests.support import app_config


def test_books_check_and_invariants_cli(live_database: str) -> None:
    app = create_app(app_config(DATABASE_URL=live_database))
    with database(app).transaction() as s:
        post(s, "t:1", "dues", "d", [Move(CLEARING, RESERVE, 50)], "usd")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["books", "check"])
    assert ok.exit_code == 0 and "Books OK" in ok.output
    inv = runner.invoke(args=["check", "invariants"])
    assert inv.exit_code == 0 and "ok   ledger" in inv.output
    with database(app).engine.begin() as conn:
        conn.exec_driver_sql("UPDATE account SET base_cents = 7 WHERE code = 'reserve:ops'")
    bad = runner.invoke(args=["books", "check"])
    assert bad.exit_code == 1 and "reserve:ops" in bad.output
    assert runner.invoke(args=["check", "invariants"]).exit_code == 1
    database(app).engine.dispose()
