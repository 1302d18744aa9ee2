"""A claim's statements, pinned: on PostgreSQL the usual claim is one statement besides the
login's member row, as the bare insert it is measured against (README, "Licence claims")."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from catalog.models import Claim
from tests.catalog.factories import make_product
from tests.market.factories import make_member
from tests.support import count_queries

# The member (login), then the claim: on PostgreSQL one statement that checks the product,
# prefers the member's old key, locks a free one, inserts the claim and marks the key.
# SQLite takes the general path (the product, the last claim, held?, then the claim).
USUAL_CLAIM = {"postgresql": 2, "sqlite": 6}


def test_statements_per_claim(
    client: FlaskClient, session: Session, engine: Engine, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session)
    warm, product = make_product(session, keys=2, name="Warm"), make_product(session, keys=2)
    login(member)
    assert client.post(f"/catalogue/{warm.id}/claim").status_code == 303
    with count_queries(engine) as statements:
        response = client.post(f"/catalogue/{product.id}/claim")
    assert response.status_code == 303
    assert len(statements) == USUAL_CLAIM[engine.dialect.name], statements
    session.expire_all()
    made = session.get(Claim, int(response.headers["Location"].rsplit("-", 1)[1]))
    assert made is not None and made.product_id == product.id and made.licence_key_id


def test_a_refused_claim_still_says_why(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    # The one-statement claim makes nothing here; the general path gives the reason.
    member = make_member(session)
    product = make_product(session, keys=1, name="Lonely")
    login(member)
    assert client.post(f"/catalogue/{product.id}/claim").status_code == 303
    again = client.post(f"/catalogue/{product.id}/claim")
    assert "already hold" in again.get_data(as_text=True)
    other = make_member(session, email="other@example.com")
    login(other)
    sold_out = client.post(f"/catalogue/{product.id}/claim")
    assert "none are left" in sold_out.get_data(as_text=True)
    assert client.post("/catalogue/999999/claim").status_code == 404
