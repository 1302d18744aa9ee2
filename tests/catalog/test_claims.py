"""Members claim and release licences over HTTP; the reclaim job ends lapsed members' claims."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import claims
from catalog.models import Claim, LicenceKey, Product
from market.db import utcnow
from tests.catalog.factories import make_product
from tests.factories import make_member

Login = Callable[..., FlaskClient]


def live_claims(session: Session, product: Product | None = None) -> int:
    query = select(func.count()).select_from(Claim).where(Claim.released_at.is_(None))
    if product is not None:
        query = query.where(Claim.product_id == product.id)
    return session.scalar(query) or 0


def key_statuses(session: Session, product: Product) -> dict[str, int]:
    rows = session.execute(
        select(LicenceKey.status, func.count())
        .where(LicenceKey.product_id == product.id)
        .group_by(LicenceKey.status)
    ).all()
    return {status: count for status, count in rows}


def test_member_claims_a_key_and_finds_it_under_my_licences(
    client: FlaskClient, session: Session, login: Login
) -> None:
    member = make_member(session)
    product = make_product(session, keys=3, name="Vaultly")
    login(member)
    response = client.post(f"/catalogue/{product.id}/claim")
    assert response.status_code == 303
    response = client.get("/licences")
    page = response.get_data(as_text=True)
    assert "Vaultly" in page
    assert response.headers["Cache-Control"] == "no-store"  # the key is on this page
    held = session.scalar(select(Claim).where(Claim.member_id == member.id))
    assert held is not None and held.licence_key_id is not None
    key = session.get(LicenceKey, held.licence_key_id)
    assert key is not None and key.value in page
    assert key_statuses(session, product) == {"available": 2, "claimed": 1}


def test_keys_never_show_in_lists_or_reprs(
    client: FlaskClient, session: Session, login: Login
) -> None:
    member = make_member(session)
    product = make_product(session, keys=2)
    login(member)
    client.post(f"/catalogue/{product.id}/claim")
    values = list(session.scalars(select(LicenceKey.value)))
    key = session.scalars(select(LicenceKey)).first()
    assert key is not None and key.value not in repr(key)
    for url in ("/catalogue", f"/catalogue/{product.id}"):
        page = client.get(url).get_data(as_text=True)
        assert not any(v in page for v in values), url


def test_seat_and_link_products(client: FlaskClient, session: Session, login: Login) -> None:
    member = make_member(session)
    seats = make_product(session, kind="seat", seats_total=2, name="NewsDesk")
    link = make_product(
        session, kind="link", name="RefBook", redemption_url="https://ref.example.com/r/{token}"
    )
    login(member)
    assert client.post(f"/catalogue/{seats.id}/claim").status_code == 303
    assert client.post(f"/catalogue/{link.id}/claim").status_code == 303
    session.refresh(seats)
    assert seats.seats_used == 1
    page = client.get("/licences").get_data(as_text=True)
    token = session.scalar(select(Claim.link_token).where(Claim.product_id == link.id))
    assert token and f"https://ref.example.com/r/{token}" in page
    assert "NewsDesk" in page


def test_exhausted_product_gives_a_clear_message_and_writes_nothing(
    client: FlaskClient, session: Session, login: Login
) -> None:
    first, second = make_member(session), make_member(session)
    keys = make_product(session, keys=1)
    seats = make_product(session, kind="seat", seats_total=1)
    login(first)
    assert client.post(f"/catalogue/{keys.id}/claim").status_code == 303
    assert client.post(f"/catalogue/{seats.id}/claim").status_code == 303
    login(second)
    for product in (keys, seats):
        response = client.post(f"/catalogue/{product.id}/claim")
        assert response.status_code == 409
        assert "none are left" in response.get_data(as_text=True)
        assert live_claims(session, product) == 1
    session.refresh(seats)
    assert seats.seats_used == 1


def test_claiming_twice_says_you_already_hold_it(
    client: FlaskClient, session: Session, login: Login
) -> None:
    member = make_member(session)
    product = make_product(session, keys=5)
    login(member)
    client.post(f"/catalogue/{product.id}/claim")
    again = client.post(f"/catalogue/{product.id}/claim")
    assert again.status_code == 409
    assert "already hold" in again.get_data(as_text=True)
    assert live_claims(session, product) == 1
    assert key_statuses(session, product)["claimed"] == 1


@pytest.mark.parametrize(
    ("status", "grace_days", "reason"),
    [
        ("lapsed", None, "has lapsed"),
        ("pending", None, "not been confirmed"),
        ("cancelled", None, "cancelled"),
        ("past_due", -1, "grace period has ended"),
    ],
)
def test_member_not_in_good_standing_is_refused_with_the_reason(
    client: FlaskClient,
    session: Session,
    login: Login,
    status: str,
    grace_days: int | None,
    reason: str,
) -> None:
    grace = utcnow() + timedelta(days=grace_days) if grace_days is not None else None
    member = make_member(session, status=status, grace_until=grace)
    product = make_product(session, keys=2)
    login(member)
    response = client.post(f"/catalogue/{product.id}/claim")
    assert response.status_code == 403
    assert reason in response.get_data(as_text=True)
    assert live_claims(session) == 0


def test_past_due_member_within_grace_may_claim(
    client: FlaskClient, session: Session, login: Login
) -> None:
    member = make_member(session, status="past_due", grace_until=utcnow() + timedelta(days=3))
    product = make_product(session, keys=1)
    login(member)
    assert client.post(f"/catalogue/{product.id}/claim").status_code == 303


def test_release_puts_reassignable_keys_back_and_retires_others(
    client: FlaskClient, session: Session, login: Login
) -> None:
    member = make_member(session)
    shared = make_product(session, keys=1, reassignable=True)
    personal = make_product(session, keys=1, reassignable=False)
    seats = make_product(session, kind="seat", seats_total=3)
    login(member)
    for product in (shared, personal, seats):
        client.post(f"/catalogue/{product.id}/claim")
    ids = list(session.scalars(select(Claim.id).where(Claim.member_id == member.id)))
    for claim_id in ids:
        assert client.post(f"/licences/{claim_id}/release").status_code == 303
    assert key_statuses(session, shared) == {"available": 1}
    assert key_statuses(session, personal) == {"retired": 1}
    session.refresh(seats)
    assert seats.seats_used == 0
    assert live_claims(session) == 0
    # Released, the member may claim again.
    assert client.post(f"/catalogue/{shared.id}/claim").status_code == 303


def test_someone_elses_claim_is_not_found(
    client: FlaskClient, session: Session, login: Login
) -> None:
    owner, other = make_member(session), make_member(session)
    product = make_product(session, keys=1)
    login(owner)
    client.post(f"/catalogue/{product.id}/claim")
    claim_id = session.scalar(select(Claim.id).where(Claim.member_id == owner.id))
    login(other)
    assert client.post(f"/licences/{claim_id}/release").status_code == 404
    assert client.post("/licences/999999/release").status_code == 404
    assert live_claims(session) == 1


def test_claim_page_for_unknown_or_inactive_product_is_404(
    client: FlaskClient, session: Session, login: Login
) -> None:
    login(make_member(session))
    hidden = make_product(session, keys=1, active=False)
    assert client.post("/catalogue/999999/claim").status_code == 404
    assert client.post(f"/catalogue/{hidden.id}/claim").status_code == 404
    assert client.get(f"/catalogue/{hidden.id}").status_code == 404


def test_database_refuses_a_second_live_claim(session: Session) -> None:
    """The partial unique indexes hold even if the application's checks are bypassed."""
    member = make_member(session)
    product = make_product(session, keys=2)
    key_id = session.scalar(select(LicenceKey.id).where(LicenceKey.product_id == product.id))
    session.add(Claim(member_id=member.id, product_id=product.id, licence_key_id=key_id))
    session.flush()
    for row in (
        Claim(member_id=member.id, product_id=product.id),
        Claim(member_id=make_member(session).id, product_id=product.id, licence_key_id=key_id),
    ):
        savepoint = session.begin_nested()
        session.add(row)
        with pytest.raises(IntegrityError):
            session.flush()
        savepoint.rollback()


def test_seat_counter_cannot_oversell_in_the_database(session: Session) -> None:
    product = make_product(session, kind="seat", seats_total=1)
    savepoint = session.begin_nested()
    product.seats_used = 2
    with pytest.raises(IntegrityError):
        session.flush()
    savepoint.rollback()


def test_reclaim_ends_lapsed_members_claims_once(
    app: Flask, session: Session, login: Login, client: FlaskClient
) -> None:
    stays = make_member(session)
    in_grace = make_member(session)
    goes = make_member(session)
    shared = make_product(session, keys=3, reassignable=True)
    personal = make_product(session, keys=3, reassignable=False)
    seats = make_product(session, kind="seat", seats_total=5)
    for member in (stays, in_grace, goes):
        for product in (shared, personal, seats):
            claims.claim(session, member, product.id)
    in_grace.start_grace(3)
    goes.status = "lapsed"
    session.flush()
    assert claims.reclaim(session) == 3
    assert claims.reclaim(session) == 0  # idempotent
    assert key_statuses(session, shared) == {"available": 1, "claimed": 2}
    assert key_statuses(session, personal) == {"retired": 1, "claimed": 2}
    session.refresh(seats)
    assert seats.seats_used == 2
    assert live_claims(session) == 6
    reasons = set(session.scalars(select(Claim.end_reason).where(Claim.member_id == goes.id)))
    assert reasons == {"reclaimed"}
    # After grace, the past-due member's claims go too.
    later = utcnow() + timedelta(days=4)
    assert claims.reclaim(session, now=later) == 3


def test_reclaim_cli_is_idempotent(app: Flask, session: Session) -> None:
    member = make_member(session)
    product = make_product(session, keys=1)
    claims.claim(session, member, product.id)
    member.status = "lapsed"
    session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["licences", "reclaim"])
    assert first.exit_code == 0, first.output
    assert "Reclaimed 1 " in first.output
    second = runner.invoke(args=["licences", "reclaim"])
    assert "Reclaimed 0 " in second.output
