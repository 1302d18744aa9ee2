"""Decisions pages: list, start a proposal, take a position, results, outcome."""

from __future__ import annotations

from datetime import UTC, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from market.auth import current_member
from market.db import utcnow
from market.discussions.services import Subject
from market.discussions.views import thread_context
from market.errors import DomainError
from market.extensions import throttle
from market.proposals import results as read
from market.proposals import services
from market.proposals.forms import STANCE_LABELS, OutcomeForm, PositionForm, ProposalForm
from market.proposals.models import Proposal
from market.webdb import get_session

bp = Blueprint("proposals", __name__, url_prefix="/decisions")


def _load(proposal_id: int) -> Proposal:
    try:
        return services.get_proposal_for_member(get_session(), current_member(), proposal_id)
    except DomainError as exc:
        abort(exc.status_code)


def _names() -> bool:
    return services.can_read_deliberation(current_member())


@bp.route("/")
def proposal_list() -> ResponseReturnValue:
    open_, closed = read.list_proposals(get_session())
    return render_template("proposals/list.html", open_=open_, closed=closed, names=_names())


@bp.route("/new", methods=["GET", "POST"])
@throttle(
    "PROPOSAL_RATE_LIMIT",
    "You have started a lot of proposals lately. Try again later.",
    shared=True,  # one budget with the API's POST /api/v1/proposals
)
def new() -> ResponseReturnValue:
    form = ProposalForm()
    if request.method == "GET":
        soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
        form.closes_at.data = soon.replace(tzinfo=None)
    elif form.validate_on_submit():
        assert form.closes_at.data is not None
        try:
            proposal = services.start_proposal(
                get_session(),
                current_member(),
                form.title.data or "",
                form.body.data or "",
                form.closes_at.data.replace(tzinfo=UTC),  # the form says times are UTC
                results_while_open=form.results.data == "open",
                anonymous=bool(form.anonymous.data),
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Your proposal is open for positions.", "success")
            return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    status = 400 if request.method == "POST" else 200
    return render_template("proposals/new.html", form=form), status


def _detail(
    proposal: Proposal, form: PositionForm | None = None, status: int = 200
) -> tuple[str, int]:
    session = get_session()
    member = current_member()
    now = utcnow()
    mine = read.my_position(session, proposal, member)
    names = services.can_read_deliberation(member, now)
    if form is None:
        form = PositionForm(data={"stance": mine.stance, "reason": mine.reason} if mine else None)
    page = render_template(
        "proposals/detail.html",
        proposal=proposal,
        author=proposal_author(proposal) if names else None,
        names=names,
        results=read.results(session, proposal, now, names=names),
        mine=mine,
        my_history=read.history(session, proposal, member),
        form=form,
        can_vote=proposal.is_open(now) and member.in_good_standing(now),
        can_write_outcome=not proposal.is_open(now)
        and proposal.outcome is None
        and services.can_write_outcome(member, proposal),
        labels=STANCE_LABELS,
        block_explained=services.BLOCK_EXPLAINED,
        **thread_context("proposal", proposal.id),
    )
    return page, status


def proposal_subject(session: Session, proposal_id: int) -> Subject | None:
    """A proposal as the subject of its discussion thread."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        return None
    return Subject("proposal", proposal.id, proposal.title, f"/decisions/{proposal.id}")


def proposal_author(proposal: Proposal) -> str:
    """The author's display name."""
    from market.members.models import Member

    author = get_session().get(Member, proposal.author_id)
    return author.display_name if author else "a former member"


@bp.route("/<int:proposal_id>")
def detail(proposal_id: int) -> ResponseReturnValue:
    return _detail(_load(proposal_id))


@bp.route("/<int:proposal_id>/position", methods=["POST"])
def position(proposal_id: int) -> ResponseReturnValue:
    proposal = _load(proposal_id)
    form = PositionForm()
    if form.validate_on_submit():
        try:
            services.take_position(
                get_session(),
                current_member(),
                proposal,
                form.stance.data or "",
                form.reason.data,
            )
        except services.BlockNeedsReason as exc:
            form.reason.errors = [*form.reason.errors, exc.message]
            return _detail(proposal, form, exc.status_code)
        except DomainError as exc:
            form.form_errors.append(exc.message)
            return _detail(proposal, form, exc.status_code)
        flash(f"Your position is saved: {STANCE_LABELS[form.stance.data or '']}.", "success")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return _detail(proposal, form, 400)


@bp.route("/<int:proposal_id>/history")
def history(proposal_id: int) -> ResponseReturnValue:
    proposal = _load(proposal_id)
    session = get_session()
    names = _names()
    visible = read.results(session, proposal).visible
    # An anonymous poll's history would say who took which position: counts only.
    changes = (
        read.history(session, proposal) if visible and names and not proposal.anonymous else []
    )
    return render_template(
        "proposals/history.html",
        proposal=proposal,
        visible=visible,
        names=names,
        changes=changes,
        labels=STANCE_LABELS,
        anonymous=proposal.anonymous,
    ), 200 if names else 403


@bp.route("/<int:proposal_id>/outcome", methods=["GET", "POST"])
def outcome(proposal_id: int) -> ResponseReturnValue:
    proposal = _load(proposal_id)
    if not services.can_write_outcome(current_member(), proposal):
        abort(403)
    form = OutcomeForm()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            services.write_outcome(
                get_session(), current_member(), proposal, form.statement.data or ""
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            flash("The outcome is published and the members are notified.", "success")
            return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    blocked = read.has_standing_block(get_session(), proposal)
    page = render_template(
        "proposals/outcome.html",
        proposal=proposal,
        form=form,
        blocked=blocked,
        is_open=proposal.is_open(utcnow()),
    )
    return page, status
