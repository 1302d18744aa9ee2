"""App-wide web plumbing: home page, security headers, error pages, template helpers."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from flask import Flask, Request, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from market import money_web
from market.api import PREFIX as API_PREFIX
from market.api import problems
from market.auth import admin_blueprint, public
from market.bounds import ID_MAX, BoundedArgs
from market.errors import DomainError
from market.extensions import login_manager
from market.members import sessions
from market.members.models import Member
from market.nav import nav_links, register_nav
from market.webdb import get_session

admin_home_bp = admin_blueprint("admin_home", __name__, "")


@admin_home_bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("admin_home.html", links=admin_links())


@public
def index() -> ResponseReturnValue:
    from flask_login import current_user

    from market.auth import current_member
    from market.home import cards_for

    session = get_session()
    member = current_member() if current_user.is_authenticated else None
    cards = cards_for(current_app, session, member) if member else []
    return render_template("index.html", cards=cards, facts=front_facts(session))


def front_facts(session: Session) -> dict[str, Any]:
    """What the front door says: the fee, the shelf in numbers, this month's pool, members."""
    from allocation.models import RULE_LABELS, Round, RoundStatus, Rule
    from catalog.models import Channel, ChannelKind, Product
    from market.clock import period_of, utcnow
    from market.ledger.services import balance, pool_code
    from market.reserve.services import progress as reserve_progress

    # The pool being voted on (the open round's month), else the current month's.
    open_round = session.execute(
        select(Round.rule, Round.period)
        .where(Round.status == RoundStatus.OPEN)
        .order_by(Round.period.desc())
        .limit(1)
    ).first()
    rule, period = open_round if open_round else (None, period_of(utcnow()))
    bundles = Channel.active, Channel.kind == ChannelKind.BUNDLE.value
    shelf = session.execute(  # one round trip for the three counts
        select(
            select(func.count()).where(Product.active).scalar_subquery(),
            select(func.count(func.distinct(Product.vendor_id))).scalar_subquery(),
            select(func.count()).select_from(Channel).where(*bundles).scalar_subquery(),
        )
    ).one()
    return {
        "fee_cents": current_app.config["MONTHLY_FEE_CENTS"],
        "products": int(shelf[0] or 0),
        "vendors": int(shelf[1] or 0),
        "channels": int(shelf[2] or 0),
        "members": members_in_good_standing(session),
        "pool_cents": balance(session, pool_code(period)),
        "period": period,
        "rule": RULE_LABELS[Rule(rule or Rule.INDEPENDENT_MARKETS.value)],
        "reserve": reserve_progress(session),
    }


# Counting the members in good standing reads every member's row: 20 ms at 100,000 members
# (several times that on a busy server) on every view of the front door, where a figure a
# minute old says the same. Each process counts again once it is older than this.
MEMBER_COUNT_SECONDS = 60.0


def members_in_good_standing(session: Session) -> int:
    """How many members are in good standing: counted at most once a minute per app."""
    from market.members.models import MemberStatus

    now = time.monotonic()
    counted: tuple[float, int] | None = current_app.extensions.get("softcoop.member_count")
    if counted is not None and now - counted[0] < MEMBER_COUNT_SECONDS:
        return counted[1]
    good = (MemberStatus.ACTIVE.value, MemberStatus.PAST_DUE.value)
    members = int(session.scalar(select(func.count()).where(Member.status.in_(good))) or 0)
    current_app.extensions["softcoop.member_count"] = (now, members)
    return members


@lru_cache(maxsize=8)
def _csp(extra: str) -> str:
    csp = (
        "default-src 'self'; "
        f"script-src 'self' {extra}; "
        f"frame-src 'self' {extra}; "
        f"connect-src 'self' {extra}; "
        "img-src 'self' data:; style-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    return " ".join(csp.split())


def _security_headers(response: Response) -> Response:
    csp = _csp(current_app.config.get("CSP_EXTRA_SOURCES", ""))  # built once per setting
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


class IdConverter(IntegerConverter):
    """The default `int` in URLs: ids an id column can hold; anything larger is not found."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


class BoundedRequest(Request):
    """Requests whose args and form read numbers past an id column's range as absent."""

    parameter_storage_class = BoundedArgs


def _refuse_nul() -> None:
    """No database stores a NUL character in text (PostgreSQL raises): refuse it up front."""
    values = [*request.args.values(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400, "Your request contained a character we cannot store. Please remove it.")


def _error_page(code: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("error.html", code=code, title=title, message=message), code


def _for_api() -> bool:
    """Whether this request is the JSON API's (its errors are problem+json, not pages)."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    if _for_api():
        return problems.from_http(exc)
    if isinstance(exc, CSRFError):
        return _error_page(
            400,
            "Form expired",
            "The form was missing its security token or "
            "it expired. Go back, reload the page and try again.",
        )
    code = exc.code or 500
    return _error_page(code, exc.name, exc.description or "")


def _handle_domain(exc: DomainError) -> ResponseReturnValue:
    if _for_api():
        return problems.from_domain(exc)
    return _error_page(exc.status_code, "Not possible", exc.message)


def _load_member(login_id: str) -> Member | None:
    # The id is a server-side session's token: an ended session logs nobody in.
    return sessions.member_for(get_session(), login_id)


def _template_helpers() -> dict[str, Any]:
    return {"endpoint": request.endpoint or ""}


def init_app(app: Flask) -> None:
    """Register the core blueprint, headers, error pages and login loading."""
    # Before any route is added: every <int:...> then refuses ids past the BIGINT range.
    converters: dict[str, type[BaseConverter]] = app.url_map.converters
    converters["int"] = IdConverter
    # And request.args/form.get(..., type=int) treat numbers out of range as absent.
    app.request_class = BoundedRequest
    app.before_request(_refuse_nul)
    app.add_url_rule("/", "index", index)
    from market.members import account_views  # noqa: F401  (its routes are on members_bp)
    from market.members.views import admin_bp
    from market.members.views import bp as members_bp

    app.register_blueprint(members_bp)
    app.register_blueprint(admin_bp)
    from market import personal
    from market.members import account

    personal.register(app, "profile", account.export_profile, account.erase_profile)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(DomainError, _handle_domain)
    app.context_processor(_template_helpers)
    money_web.init_app(app)
    app.context_processor(_nav_items)
    register_nav(
        app,
        "Members",
        "admin_members.member_list",
        "admin",
        hint="Search members, set their class, promote or demote admins.",
    )
    app.register_blueprint(admin_home_bp)
    login_manager.user_loader(_load_member)
    login_manager.login_view = "members.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"


def admin_links() -> list[dict[str, str]]:
    """The admin sections, for the admin home page."""
    from flask import url_for

    return [
        {"label": link.label, "url": url_for(link.endpoint), "hint": link.hint}
        for link in nav_links(current_app)
        if link.audience == "admin"
    ]


def _nav_items() -> dict[str, Any]:
    from flask import url_for
    from flask_login import current_user

    here = request.endpoint or ""
    entries = [
        (link.label, link.endpoint)
        for link in nav_links(current_app)
        if link.audience == "all" or (link.audience == "member" and current_user.is_authenticated)
    ]
    if current_user.is_authenticated and current_user.is_admin:
        entries.append(("Admin", "admin_home.home"))
    # Highlight the exact page; failing that, the first link into the same blueprint.
    exact = any(endpoint == here for _, endpoint in entries)
    items, lit = [], False
    for label, endpoint in entries:
        same_bp = endpoint.split(".")[0] == here.split(".")[0]
        active = endpoint == here if exact else (same_bp and not lit)
        if here.startswith("admin") and endpoint == "admin_home.home":
            active = True
        lit = lit or active
        items.append({"label": label, "url": url_for(endpoint), "active": active})
    return {"nav_items": items}
