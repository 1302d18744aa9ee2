from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from market import create_app
from market.members.models import Member
from market.webdb import database, get_session


def test_sqlite_pragmas_and_begin_immediate(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    engine = database(app).engine
    statements: list[str] = []
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    with database(app).transaction() as s:
        s.execute(text("select 1"))
    assert "BEGIN IMMEDIATE" in statements


def test_error_response_rolls_back_the_request(app: object, session: object) -> None:
    flask_app = app  # a view that writes and then answers 400 must leave nothing behind

    @flask_app.route("/_test/write-then-fail")  # type: ignore[attr-defined]
    def write_then_fail() -> tuple[str, int]:
        s = get_session()
        s.add(Member(email="ghost@example.com", display_name="G", password_hash="x"))
        s.flush()
        return "no", 400

    write_then_fail.is_public = True  # type: ignore[attr-defined]
    response = flask_app.test_client().get("/_test/write-then-fail")  # type: ignore[attr-defined]
    assert response.status_code == 400
    found = session.execute(  # type: ignore[attr-defined]
        text("select count(*) from member where email = 'ghost@example.com'")
    ).scalar()
    assert found == 0
