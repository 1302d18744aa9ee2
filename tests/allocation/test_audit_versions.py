"""The audit file's two versions: version 2 (written now) chains blocks of rows, version 1
(rounds published before it) chains every row; the recount, the stand-alone tool, the
receipt lookup and the regeneration of a missing file read and keep both."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from allocation import audit, receipts, recount, verify_tool
from allocation.closing import close_and_publish
from allocation.models import Ballot, Round
from market import filestore
from market.webdb import database
from tests.allocation.factories import audit_copy, fund_pool, open_round, vote
from tests.market.factories import make_member

TOOL = Path(verify_tool.__file__)
Login = Callable[..., FlaskClient]


def _published(session: Session, app: Flask, voters: int = 10) -> Round:
    members = [make_member(session) for _ in range(voters)]
    rnd, chans = open_round(session, channels=3)
    for i, member in enumerate(members):
        vote(session, member, rnd, {chans[i % 3].id: 6_000, chans[(i + 1) % 3].id: 4_000})
    fund_pool(session, rnd.period, 50_001)
    session.commit()
    close_and_publish(database(app), rnd.id)
    session.expire_all()
    fresh = session.get(Round, rnd.id)
    assert fresh is not None and fresh.audit_head
    return fresh


def _tool(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-S", "-I", str(TOOL), str(path)], capture_output=True, text=True
    )


def _body(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return lines[lines.index("receipt,weight_milli,split") + 1 : -1]


def test_version_2_chains_blocks_of_rows(
    session: Session, app: Flask, audit_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "BLOCK_ROWS", 3)
    rnd = _published(session, app, voters=10)
    path = audit_copy(session, rnd.id, audit_dir)
    lines = path.read_text().splitlines()
    assert lines[0] == "softcoop-audit,2"
    body = _body(path)
    # 10 rows in blocks of 3, 3, 3 and 1, each block followed by its hash, chained.
    assert [i for i, line in enumerate(body) if line.startswith("block,")] == [3, 7, 11, 13]
    prev = recount.chain_start(lines[: lines.index("receipt,weight_milli,split") + 1])
    block: list[str] = []
    for line in body:
        if line.startswith("block,"):
            prev = recount.chain_block(prev, block)
            assert line == f"block,{prev}"
            block = []
        else:
            block.append(line)
    assert lines[-1] == f"end,{prev}" and prev == rnd.audit_head
    assert recount.recount(path).matches
    run = _tool(path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "10 ballots" in run.stdout and "hash chain: intact" in run.stdout


@pytest.mark.parametrize(
    "damage, error",
    [
        ("weight", "chain breaks at this block"),
        ("split", "chain breaks at this block"),  # the chain is checked before the rows
        ("drop row", "chain breaks at this block"),
        ("drop block line", "chain breaks at this block"),
        ("cut short", "after the last block"),
        ("empty block", "block with no rows"),
    ],
)
def test_a_damaged_version_2_file_is_refused_by_recount_and_tool(
    session: Session,
    app: Flask,
    audit_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
    error: str,
) -> None:
    monkeypatch.setattr(audit, "BLOCK_ROWS", 3)
    rnd = _published(session, app, voters=7)
    path = audit_copy(session, rnd.id, audit_dir)
    lines = path.read_text().splitlines()
    first = lines.index("receipt,weight_milli,split") + 1
    if damage == "weight":  # one ballot made to count five times
        receipt, _weight, split = lines[first + 1].split(",")
        lines[first + 1] = f"{receipt},5000,{split}"
    elif damage == "split":  # the whole of a ballot to a channel not on it
        receipt, weight, _split = lines[first].split(",")
        lines[first] = f"{receipt},{weight},999999:10000"
    elif damage == "drop row":
        del lines[first + 4]
    elif damage == "drop block line":  # two blocks read as one
        del lines[first + 3]
    elif damage == "cut short":  # the last block's line and the end gone
        lines = lines[:-2] + [f"end,{rnd.audit_head}"]
    else:
        lines.insert(first + 4, lines[first + 3])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(recount.AuditFileError, match=error):
        recount.recount(path)
    run = _tool(path)
    assert run.returncode == 2 and error.split()[-1] in run.stderr, run.stderr


def _republish_as_version_1(session: Session, rnd: Round) -> bytes:
    """Make the round one published before version 2: its stored file and head of then."""
    filestore.remove(session, audit.audit_name(rnd))
    rnd.audit_head, _rows = audit.write_audit(session, rnd, version="1")
    session.commit()
    stored = audit.stored_audit(session, rnd)
    assert stored is not None
    return filestore.read_all(session, stored.id)


def test_a_round_published_in_version_1_keeps_its_file(
    session: Session, app: Flask, audit_dir: Path, login: Login
) -> None:
    rnd = _published(session, app, voters=6)
    published = _republish_as_version_1(session, rnd)
    lines = published.decode().splitlines()
    assert lines[0] == "softcoop-audit,1" and "receipt,weight_milli,split,chain" in lines
    # Lost from the store (as after the upgrade that added it): rebuilt in version 1.
    filestore.remove(session, audit.audit_name(rnd))
    session.commit()
    with app.test_client().get(f"/rounds/{rnd.id}/audit.csv") as response:
        assert response.status_code == 200 and response.get_data() == published
    path = audit_copy(session, rnd.id, audit_dir)
    assert path.read_bytes() == published
    result = recount.recount(path)
    assert result.matches and result.audit.version == "1"
    run = _tool(path)
    assert run.returncode == 0 and "6 ballots" in run.stdout, run.stdout + run.stderr
    ballot = session.query(Ballot).filter_by(round_id=rnd.id, is_current=True).first()
    assert ballot is not None and ballot.receipt
    found = receipts.find_receipt(database(app), session, rnd, ballot.receipt)
    assert found is not None and found.block == "" and found.line.count(",") == 3
    page = login(make_member(session)).get(f"/rounds/{rnd.id}/receipt?r={ballot.receipt}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and found.line in text and "chain hash." in text


def test_an_unknown_version_is_refused(session: Session, app: Flask, audit_dir: Path) -> None:
    rnd = _published(session, app, voters=2)
    path = audit_copy(session, rnd.id, audit_dir)
    path.write_text(path.read_text().replace("softcoop-audit,2", "softcoop-audit,9", 1))
    with pytest.raises(recount.AuditFileError, match="unsupported audit file version"):
        recount.recount(path)
    run = _tool(path)
    assert run.returncode == 2 and "version" in run.stderr


def test_the_find_page_names_the_rows_block(
    session: Session, app: Flask, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "BLOCK_ROWS", 2)
    rnd = _published(session, app, voters=5)
    ballot = session.query(Ballot).filter_by(round_id=rnd.id, is_current=True).first()
    assert ballot is not None and ballot.receipt
    found = receipts.find_receipt(database(app), session, rnd, ballot.receipt)
    assert found is not None and len(found.block) == 64
    page = login(make_member(session)).get(f"/rounds/{rnd.id}/receipt?r={ballot.receipt}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and found.line in text and found.block in text
