"""Class weights: an admin cannot void a round with them, nor lose precision silently."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from allocation.models import Round
from allocation.rounds import class_weights
from market.clock import period_of, utcnow
from tests.allocation.factories import open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _round_with_voters(
    session: Session, login: Login, classes: list[str]
) -> tuple[int, FlaskClient]:
    for member_class in classes:
        make_member(session, member_class=member_class)
    admin = make_member(session, admin=True, member_class="worker")
    rnd, _ = open_round(session, admin, period=period_of(utcnow()))
    return rnd.id, login(admin)


def _post(client: FlaskClient, round_id: int, consumer: str, worker: str) -> tuple[int, str]:
    response = client.post(
        f"/admin/rounds/{round_id}/weights", data={"consumer": consumer, "worker": worker}
    )
    return response.status_code, response.get_data(as_text=True)


def test_weights_that_leave_no_ballot_counting_are_refused(
    client: FlaskClient, session: Session, login: Login
) -> None:
    round_id, admin = _round_with_voters(session, login, ["consumer"] * 3)
    status, page = _post(admin, round_id, "0", "0")
    assert status == 400 and "no ballot would count" in page
    assert class_weights(session, round_id) == {"consumer": 1000, "worker": 1000}


def test_a_weight_only_on_a_class_too_small_to_matter_is_still_allowed(
    client: FlaskClient, session: Session, login: Login
) -> None:
    # The admin (a worker) is an eligible voter: a worker-only weight leaves one ballot.
    round_id, admin = _round_with_voters(session, login, ["consumer"] * 3)
    status, _ = _post(admin, round_id, "0", "1")
    assert status == 302
    assert class_weights(session, round_id) == {"consumer": 0, "worker": 1000}
    # Swapping both at once never passes through "every weight 0".
    assert _post(admin, round_id, "1.5", "0")[0] == 302
    assert class_weights(session, round_id) == {"consumer": 1500, "worker": 0}


def test_zero_for_the_only_class_with_voters_is_refused(
    client: FlaskClient, session: Session, login: Login
) -> None:
    for _ in range(3):
        make_member(session, member_class="consumer")
    admin = make_member(session, admin=True, status="pending")  # not a voter itself
    rnd, _ = open_round(session, admin, period=period_of(utcnow()))
    status, page = _post(login(admin), rnd.id, "0", "2")
    assert status == 400 and "consumer: 3 members" in page
    assert class_weights(session, rnd.id) == {"consumer": 1000, "worker": 1000}


@pytest.mark.parametrize("value", ["0.0001", "1.2345", "0.0005"])
def test_weights_finer_than_stored_are_refused(
    client: FlaskClient, session: Session, login: Login, value: str
) -> None:
    round_id, admin = _round_with_voters(session, login, ["consumer", "worker"])
    status, page = _post(admin, round_id, value, "1")
    assert status == 400 and "finer than that" in page
    assert class_weights(session, round_id)["consumer"] == 1000


@pytest.mark.parametrize(
    "value", ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "1e999999999", "abc", ""]
)
def test_non_numbers_are_a_form_error_not_a_500(
    client: FlaskClient, session: Session, login: Login, value: str
) -> None:
    round_id, admin = _round_with_voters(session, login, ["consumer", "worker"])
    status, page = _post(admin, round_id, value, "1")
    assert status == 400 and "Class weights" in page
    assert class_weights(session, round_id) == {"consumer": 1000, "worker": 1000}


def test_exact_thousandths_are_saved(client: FlaskClient, session: Session, login: Login) -> None:
    round_id, admin = _round_with_voters(session, login, ["consumer", "worker"])
    assert _post(admin, round_id, "0.125", "2.500")[0] == 302
    assert class_weights(session, round_id) == {"consumer": 125, "worker": 2500}


def test_closing_refuses_while_the_weights_count_none_of_the_ballots_cast(
    client: FlaskClient, session: Session, login: Login
) -> None:
    consumers = [make_member(session, member_class="consumer") for _ in range(3)]
    make_member(session, member_class="worker")  # eligible, but does not vote
    admin = make_member(session, admin=True, status="pending")
    rnd, chans = open_round(session, admin, period=period_of(utcnow()))
    for member in consumers:
        vote(session, member, rnd, {chans[0].id: 10_000})
    admin_client = login(admin)
    assert _post(admin_client, rnd.id, "0", "1")[0] == 302  # allowed: workers may still vote
    session.commit()
    closing = admin_client.post(
        f"/admin/rounds/{rnd.id}/close", data={"confirm": "early"}, follow_redirects=True
    )
    assert "all by classes weighted 0" in closing.get_data(as_text=True)
    session.expire_all()
    assert session.get(Round, rnd.id).status == "open"  # type: ignore[union-attr]
