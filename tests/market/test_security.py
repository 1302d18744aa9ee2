from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from market.members.models import Member
from tests.market.factories import make_member

# Endpoints anyone may open. Everything else must need a login (deny by default).
PUBLIC = {"index", "static", "members.signup", "members.login"}


def test_csrf_missing_or_forged_is_refused(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    data = {"email": "csrf@example.com", "display_name": "C", "password": "long enough pw"}
    assert client.post("/signup", data=data).status_code == 400
    assert client.post("/signup", data={**data, "csrf_token": "forged"}).status_code == 400
    count = session.scalar(select(func.count()).where(Member.email == "csrf@example.com"))
    assert count == 0
    page = client.get("/signup").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    assert client.post("/signup", data={**data, "csrf_token": token.group(1)}).status_code == 302


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for url in ("/", "/login", "/no-such-page"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def _sample_url(app: Flask, rule: Rule) -> str:
    values: dict[str, Any] = {
        arg: 1 if isinstance(conv, NumberConverter) else "x"
        for arg, conv in rule._converters.items()
    }
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_route_denies_by_default(
    app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    """Walk app.url_map as anonymous, member and admin; no unexpected 2xx anywhere."""
    member = make_member(session)
    admin = make_member(session, admin=True)
    anonymous = app.test_client()
    from market.members import tokens

    secrets = {
        "read": tokens.create(session, member, "walk", "read", 7).secret,
        "member": tokens.create(session, member, "walk", "member", 7).secret,
        "admin": tokens.create(session, admin, "walk", "admin", 7).secret,
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = _sample_url(app, rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        is_admin = rule.endpoint.startswith("admin")
        is_public = rule.endpoint in PUBLIC or getattr(
            app.view_functions[rule.endpoint], "is_public", False
        )
        if rule.endpoint.startswith("api"):
            checked += _walk_api_rule(app, rule, url, methods, secrets, admin, login)
            continue
        for method in methods:
            anon = anonymous.open(url, method=method)
            if not is_public:
                assert anon.status_code in (302, 401, 404), (rule, method, anon.status_code)
                if anon.status_code == 302:
                    assert "/login" in anon.headers["Location"]
            if is_admin:
                # Fresh logins each time: walking /logout would otherwise end them.
                got = login(member, app.test_client()).open(url, method=method).status_code
                assert got == 403, (rule, method, got)
                as_admin = login(admin, app.test_client())
                assert as_admin.open(url, method=method).status_code != 403, rule
            checked += 1
    assert checked >= 8


def _walk_api_rule(
    app: Flask,
    rule: Rule,
    url: str,
    methods: list[str],
    secrets: dict[str, str],
    admin: Member,
    login: Callable[..., FlaskClient],
) -> int:
    """An API route: its scope mark decides; cookies never authorise; tokens must reach it."""
    scope = getattr(app.view_functions[rule.endpoint], "api_scope", None)
    assert scope in ("public", "vendor", "read", "member", "admin"), (rule, scope)
    read, as_member, as_admin = secrets["read"], secrets["member"], secrets["admin"]
    for method in methods:
        anon = app.test_client().open(url, method=method)
        cookie = login(admin, app.test_client()).open(url, method=method)
        if scope == "public":
            assert anon.status_code != 401, (rule, method)
            continue

        def call(secret: str, method: str = method) -> int:
            headers = {"Authorization": f"Bearer {secret}"}
            return app.test_client().open(url, method=method, headers=headers).status_code

        if scope == "vendor":
            # Only a deal's private link opens these: no token, no cookie, no admin's token.
            assert anon.status_code == 401 and cookie.status_code == 401, (rule, method)
            assert call(as_admin) == 404, (rule, method)
            continue
        # Deny by default: no token, or only a logged-in admin's session cookie, is 401.
        assert anon.status_code == 401, (rule, method, anon.status_code)
        assert cookie.status_code == 401, (rule, method, cookie.status_code)
        assert anon.mimetype == "application/problem+json"

        writes = method not in ("GET", "HEAD")
        if scope == "admin":
            assert call(as_member) == 403, (rule, method)
        if writes or scope in ("member", "admin"):
            assert call(read) == 403, (rule, method)
        assert call(as_admin) not in (401, 403), (rule, method)
    return len(methods)


def test_public_views_are_the_ones_we_meant(app: Flask) -> None:
    marked = {e for e, v in app.view_functions.items() if getattr(v, "is_public", False)}
    assert {"index", "members.signup", "members.login"} <= marked
