"""Deliberations are for members in good standing; others see titles and counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.proposals import services
from market.proposals.models import Proposal
from tests.market.factories import close_now, make_member, make_proposal

Login = Callable[..., FlaskClient]
REASON = "The reserve already covers a year of support costs"
BODY = "Secret plan: fund **member support** from the reserve"


def _deliberation(session: Session) -> tuple[Proposal, list[str]]:
    author = make_member(session, display_name="Ada Author")
    proposal = make_proposal(session, author, title="Raise the share", body=BODY)
    voters = [make_member(session, display_name=f"Voter Number{i}") for i in range(3)]
    services.take_position(session, voters[0], proposal, "agree", "Sounds right to me")
    services.take_position(session, voters[1], proposal, "block", REASON)
    make_member(session, display_name="Silent Sam")  # has not voted
    close_now(session, proposal)
    services.write_outcome(session, author, proposal, "Outcome: we talk again next month")
    return proposal, ["Ada Author", "Voter Number0", "Voter Number1", "Silent Sam"]


def _pages(client: FlaskClient, proposal: Proposal) -> dict[str, tuple[int, str]]:
    urls = {
        "list": "/decisions/",
        "detail": f"/decisions/{proposal.id}",
        "history": f"/decisions/{proposal.id}/history",
    }
    out = {}
    for name, url in urls.items():
        response = client.get(url)
        out[name] = (response.status_code, response.get_data(as_text=True))
    return out


@pytest.mark.parametrize("status", ["pending", "lapsed", "cancelled"])
def test_members_not_in_good_standing_see_titles_and_counts_only(
    client: FlaskClient, session: Session, login: Login, status: str
) -> None:
    proposal, names = _deliberation(session)
    login(make_member(session, status=status, display_name="New Signup"))
    pages = _pages(client, proposal)
    assert pages["list"][0] == 200 and "Raise the share" in pages["list"][1]
    status_code, detail = pages["detail"]
    assert status_code == 200 and "Raise the share" in detail
    assert "Members in good standing read the proposal" in detail
    assert 'stance-block">Block</span></td><td class="num">1' in detail  # counts stay
    assert pages["history"][0] == 403
    for _name, (_code, body) in pages.items():
        for secret in [*names, REASON, "Sounds right", "Secret plan", "we talk again"]:
            assert secret not in body, (_name, secret)


def test_members_in_good_standing_read_the_whole_deliberation(
    client: FlaskClient, session: Session, login: Login
) -> None:
    proposal, names = _deliberation(session)
    login(make_member(session))
    pages = _pages(client, proposal)
    assert all(code == 200 for code, _ in pages.values())
    detail = pages["detail"][1]
    for text in [*names, REASON, "Secret plan", "we talk again"]:
        assert text in detail, text
    assert REASON in pages["history"][1] and "Ada Author" in pages["list"][1]
