"""Receipts that last: listed with their salt, found in the file, checkable with one plain file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import audit, receipts, recount, splits
from allocation.closing import close_and_publish
from allocation.models import Ballot, Round
from market import filestore
from market.filestore import StoredChunk
from market.webdb import database
from tests.allocation.factories import audit_copy, fund_pool, open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _closed(
    session: Session, app: Flask, audit_dir: Path, voters: int = 12, rule: str = "mean"
) -> tuple[Round, list, list[Ballot]]:
    members = [make_member(session) for _ in range(voters)]
    rnd, chans = open_round(session, rule=rule)
    cast = []
    for i, m in enumerate(members):
        bp = 1000 + 500 * (i % 7)
        cast.append(vote(session, m, rnd, {chans[0].id: bp, chans[1].id: 10_000 - bp}).ballot)
    fund_pool(session, rnd.period, 10_001)
    session.commit()
    close_and_publish(database(app), rnd.id)
    session.expire_all()  # the close ran in its own transactions
    return rnd, members, cast


def test_my_receipts_lists_receipt_salt_and_its_line_in_the_file(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    rnd, members, cast = _closed(session, app, audit_dir)
    ballot = cast[3]
    assert ballot.receipt and ballot.salt
    page = login(members[3]).get("/rounds/my-receipts").get_data(as_text=True)
    assert ballot.receipt in page and ballot.salt in page
    # The salt shown lets the member recompute their receipt.
    assert splits.receipt(rnd.id, ballot.id, ballot.split, ballot.salt) == ballot.receipt
    path = audit_copy(session, rnd.id, audit_dir)
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith(ballot.receipt))
    link = f"/rounds/{rnd.id}/receipt?r={ballot.receipt}"
    assert f'href="{link}">see its line</a>' in page
    found = login(members[3]).get(link)
    text = found.get_data(as_text=True)
    assert found.status_code == 200 and lines[number - 1] in text
    assert f"line {number} of the" in text


@pytest.mark.parametrize("chunk", [1 << 20, 300])
def test_every_receipt_is_found_on_its_own_line(
    session: Session, app: Flask, audit_dir: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # Small chunks: the file spans many, and each lookup reads only the one holding it.
    monkeypatch.setattr(filestore, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(audit, "BLOCK_BYTES", chunk // 2)
    monkeypatch.setattr(audit, "BLOCK_ROWS", 3)  # blocks of 3 rows: a chunk holds a few
    rnd, _, cast = _closed(session, app, audit_dir, voters=40)
    stored = audit.stored_audit(session, rnd)
    assert stored is not None
    chunks = session.scalar(
        select(func.count()).select_from(StoredChunk).where(StoredChunk.file_id == stored.id)
    )
    assert (chunks or 0) > (1 if chunk < 1000 else 0)
    path = audit_copy(session, rnd.id, audit_dir)
    lines = path.read_text().splitlines()
    assert stored.lines == len(lines) and stored.size == path.stat().st_size
    assert recount.recount(path).matches
    for ballot in cast:
        found = receipts.find_receipt(database(app), session, rnd, ballot.receipt or "")
        assert found is not None and found.line_number is not None
        assert lines[found.line_number - 1] == found.line
        assert found.line.startswith(ballot.receipt or "")
        # The row's block: its hash is on the first block line after the row.
        after = lines[found.line_number :]
        assert found.block and f"block,{found.block}" == next(
            line for line in after if line.startswith("block,")
        )
    assert receipts.find_receipt(database(app), session, rnd, "0" * 64) is None
    assert receipts.find_receipt(database(app), session, rnd, "f" * 64) is None


def test_find_receipt_says_what_is_wrong(
    session: Session, app: Flask, client: FlaskClient, audit_dir: Path
) -> None:
    rnd, _, _ = _closed(session, app, audit_dir, voters=2)
    bad = client.get(f"/rounds/{rnd.id}/receipt?r=not-a-receipt")
    assert bad.status_code == 400 and "64 characters" in bad.get_data(as_text=True)
    missing = client.get(f"/rounds/{rnd.id}/receipt?r={'a' * 64}").get_data(as_text=True)
    assert "not in the" in missing and "audit file" in missing


def test_results_page_states_rule_weights_and_offers_find_my_receipt(
    session: Session, app: Flask, client: FlaskClient, audit_dir: Path
) -> None:
    rnd, _, _ = _closed(session, app, audit_dir, voters=2)
    page = client.get(f"/rounds/{rnd.id}/results").get_data(as_text=True)
    assert "weighted average" in page and "consumer ballots count 1" in page
    assert "Find my receipt" in page and "softcoop_verify.py" in page


def test_the_downloaded_tool_checks_file_and_receipt_without_numpy(
    session: Session, app: Flask, client: FlaskClient, audit_dir: Path, tmp_path: Path
) -> None:
    rnd, _, cast = _closed(session, app, audit_dir)
    tool = tmp_path / "softcoop_verify.py"
    tool.write_bytes(client.get("/rounds/softcoop_verify.py").data)
    audit = audit_copy(session, rnd.id, audit_dir)
    ballot = cast[0]
    assert ballot.receipt and ballot.salt
    args = [str(audit), "--receipt", ballot.receipt, "--ballot", str(ballot.id)]
    args += ["--split", ballot.split, "--salt", ballot.salt]
    # -S -I: no site-packages (so no numpy), no project on the path: a bare Python.
    run = subprocess.run(
        [sys.executable, "-S", "-I", str(tool), *args], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "hash chain: intact" in run.stdout and "MATCH" in run.stdout
    assert "it is yours" in run.stdout
    tampered = tmp_path / "tampered.csv"
    text = audit.read_text()
    row = f",{ballot.split.replace(',', ' ')}\n"
    assert row in text
    tampered.write_text(text.replace(row, ",1:10000\n", 1))
    run = subprocess.run(
        [sys.executable, "-S", "-I", str(tool), str(tampered)], capture_output=True, text=True
    )
    assert run.returncode == 2 and "chain breaks" in run.stderr


def test_find_receipt_names_the_block_that_covers_the_row(
    session: Session, app: Flask, login: Login, audit_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "BLOCK_ROWS", 3)  # 7 rows: blocks of 3, 3 and 1
    rnd, members, cast = _closed(session, app, audit_dir, voters=7)
    assert rnd.audit_head
    shown = {}
    for member, ballot in zip(members, cast, strict=True):
        found = receipts.find_receipt(database(app), session, rnd, ballot.receipt or "")
        assert found is not None and found.block
        text = (
            login(member).get(f"/rounds/{rnd.id}/receipt?r={ballot.receipt}").get_data(as_text=True)
        )
        last = found.block == rnd.audit_head
        shown[found.block] = last
        assert ("in the file's last block of rows" in text) == last
        assert (f'block of rows whose hash is <code class="hash">{found.block}' in text) != last
        assert f'final hash{" " if last else " is "}<code class="hash">{rnd.audit_head}' in text
    assert sorted(shown.values()) == [False, False, True]  # three blocks, one of them last
