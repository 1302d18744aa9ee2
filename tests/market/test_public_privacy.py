"""No public page or download names a member: walk them all over the demo and look.

Anonymous, the test follows every link from the front door (Books, the transactions feed and
its CSV, results, audit files, the catalogue...) plus every public route, and fails if any
member's email, name, id-bearing Stripe id (invoice, customer, subscription) or member id in
an id's clothing appears in one.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market import demo
from market.billing.models import DuesAccount, DuesInvoice
from market.members.models import Member
from tests.market.factories import login_as

LIMIT = 400  # pages at most: every kind of page is reached long before (paging repeats)
SKIP = ("/login", "/logout", "/signup", "/static/")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]


def _secrets(session: Session) -> dict[str, str]:
    """Each string that would identify a member, with what it is."""
    found: dict[str, str] = {}
    for member_id, email, name in session.execute(
        select(Member.id, Member.email, Member.display_name)
    ):
        found[email.lower()] = f"email of member {member_id}"
        if len(name) >= 4:
            found[name.lower()] = f"name of member {member_id}"
        for shape in (f"member:{member_id}", f"member_id={member_id}", f"member_{member_id}"):
            found[shape] = f"id of member {member_id}"
    for (invoice_id,) in session.execute(select(DuesInvoice.id)):
        found[invoice_id.lower()] = "a Stripe invoice id"
    for customer, subscription in session.execute(
        select(DuesAccount.customer_id, DuesAccount.subscription_id)
    ):
        for value in (customer, subscription):
            if value:
                found[value.lower()] = "a Stripe customer or subscription id"
    return found


TOKEN = re.compile(r"[\w@.+:=-]+")


def _found(body: str, secrets: dict[str, str]) -> list[tuple[str, str]]:
    """The secrets in a body: ids and emails as whole tokens, names as whole words."""
    text = body.lower()
    tokens = set(TOKEN.findall(text))
    tokens |= {t.strip(".:-=") for t in tokens}
    hits = [(s, w) for s, w in secrets.items() if " " not in s and s in tokens]
    words = [s for s in secrets if " " in s]
    if words:
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
        hits += [(m, secrets[m]) for m in set(pattern.findall(text))]
    return hits


def _public_routes(app: Flask) -> list[str]:
    """Every public GET route that takes no argument."""
    paths = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        public = getattr(view, "is_public", False) and "GET" in (rule.methods or ())
        if public and not rule.arguments and not rule.rule.startswith(SKIP):
            paths.append(rule.rule)
    return paths


def _walk(client: FlaskClient, start: list[str]) -> dict[str, str]:
    """Every page reachable from `start` by links, path -> body (as text)."""
    seen: dict[str, str] = {}
    queue = deque(start)
    while queue and len(seen) < LIMIT:
        path = queue.popleft()
        if path in seen:
            continue
        response = client.get(path)
        assert response.status_code < 500, path
        body = response.get_data(as_text=True)
        response.close()  # a file download (the audit CSV) holds its file open until then
        seen[path] = body
        if response.status_code != 200 or "html" not in (response.mimetype or ""):
            continue
        parser = _Links()
        parser.feed(body)
        for href in parser.links:
            url = urlsplit(urljoin("http://localhost" + path, href))
            if url.netloc != "localhost" or url.path.startswith(SKIP):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target not in seen:
                queue.append(target)
    return seen


def test_no_public_page_or_csv_names_a_member(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    with app.app_context():
        demo.load(app)
    secrets = _secrets(session)
    assert any("in_demo_" in s for s in secrets)  # the demo's invoice ids name members
    pages = _walk(client, ["/", *_public_routes(app)])
    kinds = {re.sub(r"\d+", "N", p.split("?")[0]) for p in pages}
    for expected in (
        "/books",
        "/books/transactions",
        "/books/transactions.csv",
        "/rounds/N/results",
        "/rounds/N/audit.csv",
    ):
        assert any(k.startswith(expected) for k in kinds), (expected, sorted(kinds))
    leaks = [
        f"{path}: {what} ({secret!r})"
        for path, body in pages.items()
        for secret, what in _found(body, secrets)
    ]
    assert leaks == [], "\n".join(leaks[:30])
    # The check bites: the admin ledger's CSV (not public) does hold the invoice ids.
    admin = session.scalars(select(Member).where(Member.is_admin)).first()
    assert admin is not None
    body = login_as(client, admin).get("/admin/ledger/export.csv").get_data(as_text=True)
    assert any(what == "a Stripe invoice id" for _, what in _found(body, secrets))
