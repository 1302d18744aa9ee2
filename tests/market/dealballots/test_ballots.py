"""Deal ballots: members approve, Equal Shares chooses, funded deals are bought and booked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import deal_recount
from allocation.recount import AuditFileError
from market import filestore
from market.db import utcnow
from market.dealballots import audit, services
from market.dealballots.closing import close_ballot
from market.dealballots.models import DealBallot, DealBallotCandidate, DealBallotVote
from market.deals.models import Deal, DealEvent
from market.deals.settle import due_for_settling, settle_deal
from market.errors import Conflict, DomainError, Forbidden
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, channel_code, vendor_code
from market.members.models import MemberStatus
from tests.catalog.factories import make_channel
from tests.market.dealballots.factories import accepted_deals, open_ballot
from tests.market.deals.factories import fund_channel
from tests.market.factories import login_as, make_member
from tests.support import count_queries


def _audit_copy(session: Session, ballot: DealBallot, folder: Path) -> Path:
    """The stored audit file, saved where the recount tool can read it."""
    stored = audit.stored_audit(session, ballot)
    assert stored is not None
    path = folder / audit.download_name(ballot)
    path.write_bytes(filestore.read_all(session, stored.id))
    return path


def _csrf_free(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _votes(session: Session, ballot_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(DealBallotVote)
            .where(DealBallotVote.ballot_id == ballot_id)
        )
        or 0
    )


def _setup(session: Session, budget: int = 15_000) -> tuple:  # type: ignore[type-arg]
    admin = make_member(session, admin=True)
    channel = make_channel(session, name="Safe & Private")
    fund_channel(session, channel, budget)
    # 60 seats $54.00, 100 seats $90.00, 150 seats $105.00 (the story's tiers).
    deals = accepted_deals(session, admin, channel, [60, 100, 150])
    return admin, channel, deals


def test_equal_shares_funds_what_members_approve_and_books_it(
    session: Session, tmp_path: Path
) -> None:
    admin, channel, (small, mid, big) = _setup(session)
    ballot = open_ballot(session, channel, [small, mid, big], admin=admin)
    assert ballot.budget_cents == 15_000  # the channel's whole balance by default
    # Ten members want the big one; two want the small one only; one the middle one.
    votes = [[big.id]] * 6 + [[big.id, mid.id]] * 4 + [[small.id]] * 2 + [[mid.id]]
    for approvals in votes:
        services.cast_approvals(session, make_member(session), ballot.id, approvals)
    assert due_for_settling(session) == []  # the ballot decides, not the hourly settle
    report = close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    session.expire_all()
    assert report.status == "published" and report.ballots == len(votes)
    by_deal = {c.deal_id: c for c in services.candidates_of(session, ballot.id)}
    assert [by_deal[d.id].approvals for d in (small, mid, big)] == [2, 5, 10]
    # Equal Shares: the big deal's 10 approvers pay its $105; the 2 small-deal voters'
    # shares ($23.07 each) cannot pay $54; the $45 left is less than either.
    assert report.funded == [big.id]
    assert by_deal[big.id].funded and not by_deal[small.id].funded and not by_deal[mid.id].funded
    assert "Funded" in by_deal[big.id].reason and "Not funded" in by_deal[small.id].reason
    assert session.get(Deal, big.id).status == "active"  # type: ignore[union-attr]
    assert session.get(Deal, small.id).status == "withdrawn"  # type: ignore[union-attr]
    note = session.scalars(select(DealEvent.note).where(DealEvent.deal_id == small.id)).all()
    assert any(f"deal ballot #{ballot.id}" in n for n in note)
    # The books: channel -> vendor, exactly the funded deal's cost.
    assert balance(session, channel_code(channel.id)) == 15_000 - 10_500
    assert balance(session, vendor_code(big.vendor_id)) == 10_500
    assert balance(session, vendor_code(small.vendor_id)) == 0
    booked = session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.key == f"deal:{big.id}:settle")
    )
    assert booked is not None
    # Published: the audit file recounts to the same outcome.
    assert ballot.audit_head
    recount = deal_recount.recount(_audit_copy(session, ballot, tmp_path))
    assert recount.matches and recount.outcome.funded == [str(big.id)]
    assert recount.audit.approvals == {str(small.id): 2, str(mid.id): 5, str(big.id): 10}


def test_a_second_close_does_nothing(session: Session, tmp_path: Path) -> None:
    admin, channel, deals = _setup(session)
    ballot = open_ballot(session, channel, deals, admin=admin)
    services.cast_approvals(session, make_member(session), ballot.id, [deals[0].id])
    first = close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    again = close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    assert first.status == "published" and again.status == "already"
    assert balance(session, channel_code(channel.id)) == 15_000 - 5_400


def test_not_before_its_time_unless_early(session: Session, tmp_path: Path) -> None:
    admin, channel, deals = _setup(session)
    ballot = open_ballot(session, channel, deals, admin=admin)
    with pytest.raises(Conflict):
        close_ballot(session, ballot.id, currency="usd", now=utcnow())


def test_deals_on_a_ballot_are_not_settled_by_hand(session: Session) -> None:
    admin, channel, deals = _setup(session)
    open_ballot(session, channel, deals, admin=admin)
    with pytest.raises(Conflict, match="deal ballot"):
        settle_deal(session, deals[0].id, currency="usd", ratify_above=10**9)


def test_refusals_write_nothing(session: Session) -> None:
    admin, channel, deals = _setup(session)
    other_channel = make_channel(session, name="Elsewhere")
    stranger = accepted_deals(session, admin, other_channel, [60])[0]
    with pytest.raises(DomainError, match="at most what"):
        open_ballot(session, channel, deals, admin=admin, budget_cents=15_001)
    with pytest.raises(DomainError, match=f"#{stranger.id}"):
        open_ballot(session, channel, [*deals, stranger], admin=admin)
    with pytest.raises(Forbidden):
        open_ballot(session, channel, deals, admin=make_member(session))
    ballot = open_ballot(session, channel, deals, admin=admin)
    with pytest.raises(DomainError, match="another ballot"):
        open_ballot(session, channel, deals[:1], admin=admin)
    member = make_member(session)
    with pytest.raises(DomainError, match="not on this ballot"):
        services.cast_approvals(session, member, ballot.id, [deals[0].id, stranger.id])
    lapsed = make_member(session, status=MemberStatus.LAPSED)
    with pytest.raises(Forbidden):
        services.cast_approvals(session, lapsed, ballot.id, [deals[0].id])
    assert _votes(session, ballot.id) == 0
    with pytest.raises(Conflict, match="closed"):
        services.cast_approvals(
            session, member, ballot.id, [deals[0].id], now=ballot.closes_at + timedelta(seconds=1)
        )
    assert _votes(session, ballot.id) == 0


def test_a_member_who_lapsed_before_the_close_is_not_counted(
    session: Session, tmp_path: Path
) -> None:
    admin, channel, deals = _setup(session)
    ballot = open_ballot(session, channel, deals, admin=admin)
    stays, leaves = make_member(session), make_member(session)
    services.cast_approvals(session, stays, ballot.id, [deals[0].id])
    services.cast_approvals(session, leaves, ballot.id, [deals[2].id])
    leaves.status = MemberStatus.LAPSED
    session.flush()
    report = close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    assert report.ballots == 1 and report.funded == [deals[0].id]


def test_changing_approvals_replaces_them_and_none_withdraws(session: Session) -> None:
    admin, channel, deals = _setup(session)
    ballot = open_ballot(session, channel, deals, admin=admin)
    member = make_member(session)
    first = services.cast_approvals(session, member, ballot.id, [deals[0].id])
    assert first is not None
    receipt = first.receipt
    second = services.cast_approvals(session, member, ballot.id, [deals[2].id, deals[1].id])
    assert second is not None and second.receipt != receipt
    assert second.approvals == f"{deals[1].id} {deals[2].id}" and _votes(session, ballot.id) == 1
    assert services.cast_approvals(session, member, ballot.id, []) is None
    assert _votes(session, ballot.id) == 0


def test_tampered_audit_file_fails_the_recount(session: Session, tmp_path: Path) -> None:
    admin, channel, deals = _setup(session)
    ballot = open_ballot(session, channel, deals, admin=admin)
    for _ in range(3):
        services.cast_approvals(session, make_member(session), ballot.id, [deals[0].id])
    close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    assert ballot.audit_head
    path = _audit_copy(session, ballot, tmp_path)
    assert deal_recount.main([str(path)]) == 0
    lines = path.read_text().splitlines()
    row = lines.index("receipt,approvals,chain") + 1  # the first approval row
    receipt, _approvals, chain = lines[row].split(",")
    lines[row] = f"{receipt},{deals[1].id},{chain}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AuditFileError, match="chain breaks"):
        deal_recount.recount(path)
    assert deal_recount.main([str(path)]) == 2


# ------------------------------------------------------------------ pages


def test_pages_from_ballot_to_results(
    make_app,
    session: Session,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    app = _csrf_free(make_app())
    admin, channel, deals = _setup(session)
    admin_web = login_as(app.test_client(), admin)
    closes = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = admin_web.get(f"/admin/deal-ballots/?channel={channel.id}")
    assert page.status_code == 200 and "Deal for 60 seats" in page.get_data(as_text=True)
    form = {
        "title": "Which apps this month",
        "channel_id": str(channel.id),
        "budget": "120",
        "closes_at": closes,
        "deal": [str(d.id) for d in deals],
    }
    too_much = admin_web.post("/admin/deal-ballots/", data={**form, "budget": "150.01"})
    assert too_much.status_code == 400 and "at most what" in too_much.get_data(as_text=True)
    made = admin_web.post("/admin/deal-ballots/", data=form)
    assert made.status_code == 302
    [cand] = session.scalars(
        select(DealBallotCandidate.ballot_id).where(DealBallotCandidate.deal_id == deals[0].id)
    ).all()
    ballot = services.get_ballot(session, cand)
    assert ballot.budget_cents == 12_000
    member_web = login_as(app.test_client(), make_member(session))
    shown = member_web.get(f"/deal-ballots/{ballot.id}").get_data(as_text=True)
    assert "Tick every deal you would use" in shown
    saved = member_web.post(f"/deal-ballots/{ballot.id}/approve", data={"deal": [str(deals[0].id)]})
    assert saved.status_code == 302
    stray = member_web.post(f"/deal-ballots/{ballot.id}/approve", data={"deal": ["999999"]})
    assert stray.status_code == 400 and "not on this ballot" in stray.get_data(as_text=True)
    junk = member_web.post(f"/deal-ballots/{ballot.id}/approve", data={"deal": ["x"]})
    assert junk.status_code == 400
    assert member_web.post("/deal-ballots/999999/approve", data={}).status_code == 404
    closed = admin_web.post(f"/admin/deal-ballots/{ballot.id}/close")
    assert closed.status_code == 302
    late = member_web.post(f"/deal-ballots/{ballot.id}/approve", data={"deal": [str(deals[1].id)]})
    assert late.status_code == 409
    results = app.test_client().get(f"/deal-ballots/{ballot.id}").get_data(as_text=True)
    assert "what the members chose" in results and "Funded" in results
    download = app.test_client().get(f"/deal-ballots/{ballot.id}/audit.csv")
    text = download.get_data(as_text=True)
    download.close()
    assert download.status_code == 200 and text.startswith(deal_recount.MAGIC)
    session.expire_all()
    assert _votes(session, ballot.id) == 1
    # A host with an empty disk serves the file at once: it is in the database. A file that
    # is missing (a ballot published before files lived there) is rebuilt, byte for byte.
    published = session.get(DealBallot, ballot.id)
    assert published is not None and audit.stored_audit(session, published) is not None
    filestore.remove(session, audit.audit_name(published))
    again = app.test_client().get(f"/deal-ballots/{ballot.id}/audit.csv")
    assert again.status_code == 200 and again.get_data(as_text=True) == text
    again.close()
    assert audit.stored_audit(session, published) is not None


def test_a_member_cannot_open_or_close_ballots(
    make_app,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    app = _csrf_free(make_app())
    admin, channel, deals = _setup(session)
    ballot = open_ballot(session, channel, deals, admin=admin)
    web: FlaskClient = login_as(app.test_client(), make_member(session))
    assert web.post(f"/admin/deal-ballots/{ballot.id}/close").status_code in (403, 404)
    assert services.get_ballot(session, ballot.id).status == "open"


def _close_statements(session: Session, deals: int) -> tuple[int, int]:
    """(statements, deals funded) closing a ballot of `deals` cheap deals everyone approves."""
    admin = make_member(session, admin=True)
    channel = make_channel(session, name=f"Channel of {deals}")
    fund_channel(session, channel, 1_000_000)
    chosen = accepted_deals(session, admin, channel, [60] * deals)
    ballot = open_ballot(session, channel, chosen, admin=admin)
    for _ in range(3):
        services.cast_approvals(session, make_member(session), ballot.id, [d.id for d in chosen])
    session.flush()
    engine = session.get_bind().engine
    with count_queries(engine) as statements:
        report = close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    return len(statements), len(report.funded)


def test_the_close_runs_as_many_statements_for_many_funded_deals_as_for_two(
    session: Session, tmp_path: Path
) -> None:
    # Each funded deal once cost a query of its own (an expired deal reloading itself).
    few, funded_few = _close_statements(session, 2)
    many, funded_many = _close_statements(session, 12)
    assert (funded_few, funded_many) == (2, 12)
    assert many == few
