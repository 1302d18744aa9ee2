"""Out-of-range input never gives a 500: every route, every role, absurd values everywhere."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from market.clock import period_of, utcnow
from market.members.models import Member
from tests.allocation.factories import open_round
from tests.catalog.factories import make_product, make_vendor
from tests.market.deals.factories import make_deal, make_want_request
from tests.market.factories import login_as, make_member, make_proposal

# Past an INTEGER id column (PostgreSQL's int4), past a BIGINT, absurd, negative.
HUGE_IDS = ["2758543777", "9223372036854775808", "100000000000000000000", "-1"]
BAD_VALUES = [
    "2758543777",
    "9223372036854775808",
    "-9223372036854775809",
    str(10**20),
    "NaN",
    "1.005",
    "9999-12-31",
    "9999-12-31T23:59",
    "x" * 3000,
    "nul\x00byte",
]
UNLIMITED = {
    key: "1000000 per minute"
    for key in (
        "LOGIN_RATE_LIMIT",
        "LOGIN_ACCOUNT_RATE_LIMIT",
        "SIGNUP_RATE_LIMIT",
        "PASSWORD_RATE_LIMIT",
        "WANT_RATE_LIMIT",
        "PROPOSAL_RATE_LIMIT",
    )
}
# Names every form might carry, with those the pages show (dynamic fields included).
QUERY_NAMES = {"page", "start", "end", "month", "period", "q", "channel", "status", "kind"}


def _form_field_names() -> set[str]:
    names: set[str] = set()
    stack: list[type] = [FlaskForm]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        names.update(n for n, v in vars(cls).items() if isinstance(v, UnboundField))
    return names


def _world(session: Session) -> dict[str, Any]:
    """A little of everything, so routes with real ids reach their forms."""
    admin = make_member(session, admin=True)
    member = make_member(session)
    rnd, channels = open_round(session, admin, period=period_of(utcnow()))
    vendor = make_vendor(session)
    product = make_product(session, vendor=vendor, channel=channels[0])
    deal, token = make_deal(session, admin=admin, channel=channels[0], stage="offered")
    request = make_want_request(session, channels[0])
    proposal = make_proposal(session, member)
    ids = {
        "member_id": member.id,
        "channel_id": channels[0].id,
        "vendor_id": vendor.id,
        "product_id": product.id,
        "deal_id": deal.id,
        "request_id": request.id,
        "proposal_id": proposal.id,
        "round_id": rnd.id,
    }
    return {"admin": admin, "member": member, "ids": ids, "token": token or "x"}


def _url(rule: Rule, values: Callable[[str, Any], str]) -> str:
    url = rule.rule
    for name, converter in rule._converters.items():  # type: ignore[attr-defined]
        url = re.sub(rf"<[^>]*\b{name}>", values(name, converter), url)
    return url


def _clients(app: Flask, world: dict[str, Any]) -> Iterator[tuple[str, Callable[[], FlaskClient]]]:
    admin: Member = world["admin"]
    member: Member = world["member"]
    yield "anonymous", app.test_client
    yield "member", lambda: login_as(app.test_client(), member)
    yield "admin", lambda: login_as(app.test_client(), admin)


def _status(client: FlaskClient, url: str, method: str, **kwargs: Any) -> int | str:
    """The status, or the exception a 500 would have hidden (tests propagate them)."""
    try:
        return client.open(url, method=method, **kwargs).status_code
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"


def _bad(status: int | str) -> bool:
    return isinstance(status, str) or status >= 500


def _routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.fixture
def walk_app(make_app: Callable[..., Flask]) -> Flask:
    # Stripe at a closed local port: the dues routes fail fast, as when Stripe is down.
    return make_app(**UNLIMITED, STRIPE_API_BASE="http://127.0.0.1:9")


def test_ids_out_of_range_in_any_url_are_not_found(walk_app: Flask, session: Session) -> None:
    world = _world(session)
    failures = []
    for role, client_for in _clients(walk_app, world):
        for rule, method in _routes(walk_app):
            if not rule._converters:  # type: ignore[attr-defined]
                continue
            for huge in HUGE_IDS:
                url = _url(rule, lambda _n, _c, huge=huge: huge)  # type: ignore[misc]
                status = _status(client_for(), url, method)
                if _bad(status):
                    failures.append((role, method, url[:80], status))
    assert failures == []


def test_absurd_values_in_every_field_and_filter_never_give_a_500(
    walk_app: Flask, session: Session
) -> None:
    world = _world(session)

    def real(name: str, _converter: Any) -> str:
        return world["token"] if name == "token" else str(world["ids"].get(name, 1))

    names = _form_field_names() | QUERY_NAMES
    for _role, client_for in _clients(walk_app, world):
        for rule, method in _routes(walk_app):
            if method == "GET":
                page = client_for().get(_url(rule, real)).get_data(as_text=True)
                names |= set(re.findall(r'name="([\w\-]+)"', page))
    failures = []
    for role, client_for in _clients(walk_app, world):
        for rule, method in _routes(walk_app):
            url = _url(rule, real)
            client = client_for()
            for value in BAD_VALUES:
                fields = dict.fromkeys(names, value)
                if method == "GET":
                    status = _status(client, url + "?" + urlencode(fields), "GET")
                else:
                    status = _status(client, url, method, data=fields)
                if _bad(status):
                    failures.append((role, method, url, repr(value[:12]), status))
    assert failures == [], "\n".join(map(str, sorted(set(failures))))


def _plausible(kind: str) -> str:
    """A good value for an empty input, so only the field under test is wrong."""
    soon = utcnow() + timedelta(days=10)
    return {
        "number": "3",
        "datetime-local": soon.strftime("%Y-%m-%dT%H:%M"),
        "date": soon.strftime("%Y-%m-%d"),
        "email": "someone@example.com",
        "password": "a long enough password",
    }.get(kind, "Something")


class _Forms(HTMLParser):
    """The POST forms of a page: their action and each field's value as the page fills it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append((a.get("action", ""), {}))
        elif not self.forms or "name" not in a and tag != "option":
            return
        elif tag == "input" and a.get("type") not in ("checkbox", "radio", "file", "submit"):
            self.forms[-1][1][a["name"]] = a.get("value") or _plausible(a.get("type", "text"))
        elif tag == "input" and a.get("type") == "checkbox" or "checked" in a:  # every box ticked
            self.forms[-1][1][a["name"]] = a.get("value", "y")
        elif tag == "textarea":
            self.forms[-1][1][a["name"]] = "text"
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and self._select not in self.forms[-1][1]:
            self.forms[-1][1][self._select] = a.get("value", "")


ONE_FIELD_VALUES = [str(10**20), "9223372036854775808", "9999-12-31T23:59"]


def test_one_absurd_field_in_an_otherwise_good_form_never_gives_a_500(
    walk_app: Flask, session: Session
) -> None:
    """Like min_members=10**20 in a deal that is otherwise fine."""
    world = _world(session)

    def real(name: str, _converter: Any) -> str:
        return world["token"] if name == "token" else str(world["ids"].get(name, 1))

    failures, tried = [], 0
    for role, client_for in list(_clients(walk_app, world))[1:]:
        for rule, method in _routes(walk_app):
            if method != "GET" or rule.endpoint.startswith("members."):
                continue
            url = _url(rule, real)
            parser = _Forms()
            parser.feed(client_for().get(url).get_data(as_text=True))
            for action, fields in parser.forms:
                for name in fields:
                    for value in ONE_FIELD_VALUES:
                        data = {**fields, name: value}
                        status = _status(client_for(), action or url, "POST", data=data)
                        tried += 1
                        if _bad(status):
                            failures.append((role, action or url, name, value[:12], status))
    assert tried > 100
    assert failures == [], "\n".join(map(str, sorted(set(failures))))
