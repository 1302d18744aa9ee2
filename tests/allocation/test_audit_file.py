"""The published audit file: reproducible forever, and inert in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from allocation import audit, recount
from allocation.closing import close_and_publish
from allocation.models import Round
from market import csvsafe, filestore
from market.clock import period_of, utcnow
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]
FORMULA = '=HYPERLINK("https://evil.example/","Recount here")'


def _published(session: Session, app: Flask, audit_dir: Path, names: list[str]) -> int:
    period = period_of(utcnow())
    voters = [make_member(session) for _ in range(3)]
    rnd, chans = open_round(session, period=period, channels=names)
    for i, member in enumerate(voters):
        vote(session, member, rnd, {chans[0].id: 2_000 * i + 1_000, chans[1].id: 9_000 - 2_000 * i})
    fund_pool(session, period, 30_000)
    session.commit()
    close_and_publish(database(app), rnd.id)
    return rnd.id


def _download(client: FlaskClient, round_id: int) -> str:
    with client.get(f"/rounds/{round_id}/audit.csv") as response:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.get_data(as_text=True)


def test_renaming_a_channel_never_changes_a_published_audit_file(
    make_app: Callable[..., Flask], session: Session, login: Login, tmp_path: Path
) -> None:
    first_host = make_app()
    round_id = _published(session, first_host, tmp_path / "a", ["Safe Stuff", "Know Things"])
    published = _download(first_host.test_client(), round_id)
    admin = login(make_member(session, admin=True), first_host.test_client())
    channel_id = int(published.split("channel,")[1].split(",")[0])
    renamed = admin.post(
        f"/admin/catalog/channels/{channel_id}",
        data={
            "name": "Safe Stuff Renamed",
            "active": "y",
            "description": "",
            "steward_contact": "",
        },
    )
    assert renamed.status_code == 302
    # A second host (its own process and disk) serves the same stored bytes.
    other_host = make_app()
    again = _download(other_host.test_client(), round_id)
    assert again == published and "Safe Stuff Renamed" not in again
    # Regenerated from what the round recorded, the file is byte for byte the same.
    rnd = session.get(Round, round_id)
    assert rnd is not None
    with session.begin_nested() as scratch:
        assert audit.write_audit(session, rnd) == (rnd.audit_head, 3)
        scratch.rollback()
    path = tmp_path / "again.csv"
    path.write_text(again, newline="")
    result = recount.recount(path)
    assert result.matches and "Safe Stuff" in result.audit.channel_names


def test_audit_file_cells_are_inert_and_the_recount_reads_names_back(
    app: Flask, session: Session, audit_dir: Path
) -> None:
    names = [FORMULA, "-Minus", "'Quoted"]
    round_id = _published(session, app, audit_dir, names)
    body = _download(app.test_client(), round_id)
    cells = [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]
    assert not any(cell[:1] in csvsafe.TRIGGERS for cell in cells)
    path = audit_dir / "download.csv"
    path.write_text(body, newline="")
    result = recount.recount(path)
    assert result.matches
    assert result.audit.channel_names == names
    assert recount.main([str(path)]) == 0


def test_a_round_published_before_files_were_stored_is_stored_once_and_checked(
    app: Flask, session: Session, audit_dir: Path
) -> None:
    round_id = _published(session, app, audit_dir, ["One", "Two"])
    published = _download(app.test_client(), round_id)
    rnd = session.get(Round, round_id)
    assert rnd is not None
    filestore.remove(session, audit.audit_name(rnd))  # as after the upgrade that added the store
    session.commit()
    assert _download(app.test_client(), round_id) == published
    assert audit.stored_audit(session, rnd) is not None
    # A file that cannot be regenerated to the published hash is never served.
    filestore.remove(session, audit.audit_name(rnd))
    rnd.audit_head = "0" * 64
    session.commit()
    response = app.test_client().get(f"/rounds/{round_id}/audit.csv")
    assert response.status_code == 409 and "cannot be rebuilt" in response.get_data(as_text=True)
    assert audit.stored_audit(session, rnd) is None
