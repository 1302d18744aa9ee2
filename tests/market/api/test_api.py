"""The JSON API: public reads, members' claims and ballots, admins' ledger, problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Claim
from market.clock import period_of, utcnow
from market.ledger.models import LedgerTransaction
from tests.allocation.factories import fund_pool, open_round, pay_dues
from tests.catalog.factories import make_product
from tests.market.factories import bearer, login_as, make_member, make_proposal, make_token
from tests.market.reserve.factories import make_reserve

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.json
    assert body["type"] == f"urn:softcoop:problem:{slug}" and body["status"] == status
    return body


def test_the_document_is_openapi_3_1_and_rendered_under_the_csp(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json is not None
    assert spec.json["openapi"].startswith("3.1")
    paths = spec.json["paths"]
    assert paths["/api/v1/me/claims"]["post"]["security"] == [{"token": []}]
    assert "security" not in paths["/api/v1/catalogue"]["get"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "POST /api/v1/me/claims" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script" not in page.get_data(as_text=True)


def test_list_pages_keep_their_component_names_and_shapes(client: FlaskClient) -> None:
    components = client.get("/api/v1/openapi.json").json["components"]["schemas"]  # type: ignore[index]
    numbered = {"CataloguePage": "ProductOut", "MembersPage": "MemberOut"}
    by_cursor = {"LedgerPage": "TransactionOut", "FeedOut": "FeedRowOut"}
    for name, item in (numbered | by_cursor).items():
        page = components[name]
        assert page["properties"]["items"]["items"]["$ref"] == f"#/components/schemas/{item}"
        more = ["next_cursor"] if name in by_cursor else ["page", "pages", "total"]
        assert sorted(page["required"]) == sorted(["items", *more]), name
    assert components["FeedOut"]["properties"]["next_cursor"]["type"] == ["string", "null"]


def test_catalogue_filters_and_pages(client: FlaskClient, session: Session) -> None:
    wanted = make_product(session, keys=3, name="Zebra Editor", category="editors")
    make_product(session, keys=1, name="Other", category="tools")
    found = client.get("/api/v1/catalogue", query_string={"q": "zebra"}).json
    assert found is not None
    assert [p["id"] for p in found["items"]] == [wanted.id] and found["items"][0]["left"] == 3
    by_channel = client.get("/api/v1/catalogue", query_string={"channel": wanted.channel_id})
    assert by_channel.json is not None and by_channel.json["total"] == 1
    assert client.get(f"/api/v1/catalogue/{wanted.id}").json["name"] == "Zebra Editor"  # type: ignore[index]
    _problem(client.get("/api/v1/catalogue/999999"), 404, "not-found")
    bad = _problem(client.get("/api/v1/catalogue?page=0"), 422, "validation")
    assert "page" in str(bad["errors"])


def test_claim_and_release_through_the_api(app: Flask, session: Session) -> None:
    member = make_member(session)
    product = make_product(session, keys=2)
    secret = make_token(session, member, "member")
    client = app.test_client()
    made = client.post("/api/v1/me/claims", json={"product_id": product.id}, headers=bearer(secret))
    assert made.status_code == 201 and made.json is not None
    assert made.json["key"].startswith(f"KEY-{product.id}-")
    again = client.post(
        "/api/v1/me/claims", json={"product_id": product.id}, headers=bearer(secret)
    )
    _problem(again, 409, "conflict")
    listed = client.get("/api/v1/me/claims", headers=bearer(secret)).json
    assert listed is not None and [c["claim_id"] for c in listed] == [made.json["claim_id"]]
    gone = client.delete(f"/api/v1/me/claims/{made.json['claim_id']}", headers=bearer(secret))
    assert gone.status_code == 200 and gone.json == {"released": product.name}
    _problem(
        client.delete(f"/api/v1/me/claims/{made.json['claim_id']}", headers=bearer(secret)),
        404,
        "not-found",
    )


def test_a_lapsed_member_is_refused_with_the_pages_reason(app: Flask, session: Session) -> None:
    member = make_member(session, status="lapsed")
    product = make_product(session, keys=1)
    secret = make_token(session, member, "member")
    answer = app.test_client().post(
        "/api/v1/me/claims", json={"product_id": product.id}, headers=bearer(secret)
    )
    body = _problem(answer, 403, "not-allowed")
    assert "dues" in body["detail"].lower() or "lapsed" in body["detail"].lower()
    assert session.scalar(select(func.count()).select_from(Claim)) == 0


def test_a_session_cookie_never_authorises_an_api_write(
    make_app: Callable[..., Flask], session: Session, login: Callable[..., FlaskClient]
) -> None:
    """CSRF: the API is exempt only because it reads tokens, never cookies."""
    app = make_app(WTF_CSRF_ENABLED=True)
    member = make_member(session)
    product = make_product(session, keys=1)
    client = login(member, app.test_client())
    answer = client.post("/api/v1/me/claims", json={"product_id": product.id})
    _problem(answer, 401, "unauthorized")
    assert session.scalar(select(func.count()).select_from(Claim)) == 0
    # And the page still wants its CSRF token.
    assert client.post(f"/catalogue/{product.id}/claim").status_code == 400
    # A token needs no CSRF token (no cookie is involved).
    secret = make_token(session, member, "member")
    made = app.test_client().post(
        "/api/v1/me/claims", json={"product_id": product.id}, headers=bearer(secret)
    )
    assert made.status_code == 201


def test_read_token_reads_but_cannot_write(app: Flask, session: Session) -> None:
    member = make_member(session)
    product = make_product(session, keys=1)
    secret = make_token(session, member, "read")
    client = app.test_client()
    assert client.get("/api/v1/me/claims", headers=bearer(secret)).status_code == 200
    answer = client.post(
        "/api/v1/me/claims", json={"product_id": product.id}, headers=bearer(secret)
    )
    _problem(answer, 403, "insufficient-scope")
    assert session.scalar(select(func.count()).select_from(Claim)) == 0


def test_ballot_read_cast_abstain(app: Flask, session: Session) -> None:
    on_roll = make_member(session)
    rnd, channels = open_round(session, channels=2)
    late = make_member(session)  # joined after the round opened: not on its roll
    voter, secret = make_token(session, on_roll, "member"), make_token(session, late, "member")
    client = app.test_client()
    before = client.get("/api/v1/me/ballot", headers=bearer(secret)).json
    assert before is not None and before["round"]["id"] == rnd.id
    assert before["eligible"] is False and "good standing" in before["reason"]
    shares = [
        {"channel_id": channels[0].id, "bp": 7500},
        {"channel_id": channels[1].id, "bp": 2500},
    ]
    bad = client.put(
        "/api/v1/me/ballot",
        json={"round_id": rnd.id, "shares": shares[:1]},
        headers=bearer(voter),
    )
    assert "100 %" in _problem(bad, 400, "bad-request")["detail"]
    cast = client.put(
        "/api/v1/me/ballot", json={"round_id": rnd.id, "shares": shares}, headers=bearer(voter)
    )
    assert cast.status_code == 200 and cast.json is not None and cast.json["receipt"]
    mine = client.get("/api/v1/me/ballot", headers=bearer(voter)).json
    assert mine is not None
    assert {c["channel_id"]: c["bp"] for c in mine["channels"]} == {
        channels[0].id: 7500,
        channels[1].id: 2500,
    }
    assert mine["receipt"] == cast.json["receipt"]
    receipts = client.get("/api/v1/me/receipts", headers=bearer(voter)).json
    assert receipts is not None and [r["receipt"] for r in receipts] == [cast.json["receipt"]]
    out = client.post("/api/v1/me/ballot/abstain", json={"round_id": rnd.id}, headers=bearer(voter))
    assert out.status_code == 200 and out.json is not None and out.json["abstain"] is True
    # The member who was not on the roll is refused with the page's reason.
    refused = client.put(
        "/api/v1/me/ballot", json={"round_id": rnd.id, "shares": shares}, headers=bearer(secret)
    )
    assert "good standing" in refused.json["detail"]  # type: ignore[index]
    assert refused.status_code in (400, 403)


def test_ledger_pages_by_cursor(app: Flask, session: Session) -> None:
    admin = make_member(session, admin=True)
    period = period_of(utcnow())
    for i in range(7):
        fund_pool(session, period, 100 + i, key=f"test:api:{i}")
    secret = make_token(session, admin, "admin")
    client = app.test_client()
    total = session.scalar(select(func.count()).select_from(LedgerTransaction))
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        query: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/admin/ledger", query_string=query, headers=bearer(secret))
        assert page.status_code == 200 and page.json is not None
        seen += [t["id"] for t in page.json["items"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total
    # A booking made while paging does not shift what comes next (keyset, not offset).
    bad = client.get(
        "/api/v1/admin/ledger", query_string={"cursor": "forged!"}, headers=bearer(secret)
    )
    _problem(bad, 400, "bad-cursor")


def test_unknown_api_paths_and_methods_are_problems(client: FlaskClient) -> None:
    _problem(client.get("/api/v1/nothing-here"), 404, "not-found")
    _problem(client.patch("/api/v1/catalogue"), 405, "method-not-allowed")


def test_admin_imports_keys_opens_and_closes_rounds_and_pays(app: Flask, session: Session) -> None:
    admin = make_member(session, admin=True)
    secret = make_token(session, admin, "admin")
    product = make_product(session, keys=0)
    client = app.test_client()
    csv = "KEY-A\nKEY-B\nKEY-A\n"
    refused = client.post(
        f"/api/v1/admin/products/{product.id}/keys", json={"csv": csv}, headers=bearer(secret)
    )
    assert refused.status_code == 200 and refused.json is not None
    assert refused.json["imported"] == 0 and refused.json["rejected"]  # nothing, as the page
    done = client.post(
        f"/api/v1/admin/products/{product.id}/keys",
        json={"csv": csv, "skip_bad": True},
        headers=bearer(secret),
    ).json
    assert done is not None and done["imported"] == 2
    period = period_of(utcnow())
    opened = client.post("/api/v1/admin/rounds", json={"period": period}, headers=bearer(secret))
    assert opened.status_code == 201, opened.get_data(as_text=True)
    assert opened.json is not None and opened.json["status"] == "open"
    again = client.post("/api/v1/admin/rounds", json={"period": period}, headers=bearer(secret))
    assert again.status_code in (400, 409) and again.mimetype == PROBLEM
    url = f"/api/v1/admin/rounds/{opened.json['id']}/close"
    _problem(client.post(url, json={}, headers=bearer(secret)), 409, "conflict")
    closed = client.post(url, json={"early": True}, headers=bearer(secret))
    assert closed.status_code == 202 and closed.json is not None
    assert closed.json["status"] == "published"  # tests run jobs eagerly
    balances = client.get("/api/v1/admin/payouts", headers=bearer(secret)).json
    assert balances is not None and balances["recent"] == []
    too_much = client.post(
        "/api/v1/admin/payouts",
        json={"channel_id": product.channel_id, "cents": 1, "paid_on": str(utcnow().date()),
              "reference": "ref-1"},
        headers=bearer(secret),
    )  # fmt: skip
    assert "owed" in _problem(too_much, 400, "bad-request")["detail"]


def test_a_period_without_a_calendar_is_refused_not_a_500(app: Flask, session: Session) -> None:
    """Found by schemathesis: year 0000 (and December 9999) crashed opening a round."""
    admin = make_member(session, admin=True)
    secret = make_token(session, admin, "admin")
    client = app.test_client()
    for period in ("0000-01", "9999-12"):
        answer = client.post("/api/v1/admin/rounds", json={"period": period},
                             headers=bearer(secret))  # fmt: skip
        assert "like" in _problem(answer, 400, "bad-request")["detail"]


def test_ids_past_an_integer_column_are_not_found(client: FlaskClient) -> None:
    """Found by schemathesis on PostgreSQL: a channel id past INT_MAX was a 500."""
    _problem(client.get("/api/v1/catalogue", query_string={"channel": 2**31}), 422, "validation")
    _problem(client.get(f"/api/v1/catalogue/{2**40}"), 404, "not-found")


def test_the_public_feed_pages_by_cursor_and_names_nobody(app: Flask, session: Session) -> None:
    member = make_member(session, email="payer@example.com", display_name="Pat Payer")
    period = period_of(utcnow())
    invoice = pay_dues(session, member, period)
    for i in range(4):
        fund_pool(session, period, 100 + i, key=f"test:feed:{i}")
    session.commit()
    client = app.test_client()
    total = session.scalar(select(func.count()).select_from(LedgerTransaction))
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/books/transactions", query_string=query)
        assert page.status_code == 200 and page.json is not None
        body = page.get_data(as_text=True)
        assert invoice not in body and "payer@example.com" not in body and "Pat" not in body
        seen += [t["number"] for t in page.json["items"]]
        assert all(t["moves"] and t["moves"][0]["from"] for t in page.json["items"])
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total
    month = client.get("/api/v1/books/transactions", query_string={"month": period})
    assert {t["month"] for t in month.json["items"]} == {period}  # type: ignore[index]
    bad = client.get("/api/v1/books/transactions", query_string={"month": "13/2026"})
    _problem(bad, 422, "validation")
    forged = client.get("/api/v1/books/transactions", query_string={"cursor": "forged!"})
    _problem(forged, 400, "bad-cursor")


def test_the_reserve_is_public(client: FlaskClient, session: Session) -> None:
    _problem(client.get("/api/v1/reserve"), 404, "not-found")
    make_reserve(session, cents=2_500, target=10_000)
    session.commit()
    got = client.get("/api/v1/reserve")
    assert got.status_code == 200 and got.json is not None
    assert (got.json["balance_cents"], got.json["target_cents"], got.json["percent"]) == (
        2_500,
        10_000,
        25,
    )
    assert [line["cents"] for line in got.json["history"] if line["kind"] == "in"] == [2_500]


def test_comments_through_the_api_are_the_pages_comments(app: Flask, session: Session) -> None:
    member = make_member(session)
    proposal, other = make_proposal(session), make_proposal(session, title="Another one")
    writer, reader = make_token(session, member, "member"), make_token(session, member, "read")
    session.commit()
    client = app.test_client()
    path = f"/api/v1/proposals/{proposal.id}/comments"
    posted = client.post(path, json={"body": "Yes, **gladly**."}, headers=bearer(writer))
    assert posted.status_code == 201 and posted.json is not None
    first = posted.json["comments"][0]
    assert first["body"] == "Yes, **gladly**." and first["author"] == member.display_name
    reply = client.post(
        path, json={"body": "Me too.", "parent_id": first["id"]}, headers=bearer(writer)
    )
    assert [c["depth"] for c in reply.json["comments"]] == [0, 1]  # type: ignore[index]
    # The page shows the same thread.
    page = login_as(app.test_client(), member).get(f"/decisions/{proposal.id}")
    assert "Me too." in page.get_data(as_text=True)
    refused = client.post(path, json={"body": "<script>alert(1)</script>"}, headers=bearer(writer))
    assert refused.status_code == 400 and refused.mimetype == PROBLEM
    elsewhere = client.post(
        f"/api/v1/proposals/{other.id}/comments",
        json={"body": "wrong thread", "parent_id": first["id"]},
        headers=bearer(writer),
    )
    assert elsewhere.status_code == 400
    assert client.post(path, json={"body": "read only"}, headers=bearer(reader)).status_code == 403
    thread = client.get(path, headers=bearer(reader))
    assert thread.json is not None and thread.json["count"] == 2
