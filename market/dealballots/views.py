"""Member pages: the deal ballots, approving deals, results and the audit file."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from market import filestore
from market.auth import current_member, public
from market.clock import utcnow
from market.dealballots import audit, services
from market.dealballots.forms import ApproveForm
from market.dealballots.read import results_view
from market.webdb import database, get_session

bp = Blueprint("deal_ballots", __name__, url_prefix="/deal-ballots")


@bp.route("/")
@public
def index() -> ResponseReturnValue:
    return render_template(
        "dealballots/index.html", ballots=services.list_ballots(get_session()), now=utcnow()
    )


@bp.route("/<int:ballot_id>")
@public
def show(ballot_id: int) -> ResponseReturnValue:
    session = get_session()
    ballot = services.get_ballot(session, ballot_id)
    member = current_member() if _logged_in() else None
    mine = services.my_vote(session, member, ballot.id) if member is not None else None
    if ballot.status == "published":
        return render_template(
            "dealballots/results.html", res=results_view(session, ballot), mine=mine
        )
    approved = {int(d) for d in mine.approvals.split()} if mine else set()
    return render_template(
        "dealballots/ballot.html",
        ballot=ballot,
        candidates=services.candidates_of(session, ballot.id),
        approved=approved,
        mine=mine,
        voters=services.voter_count(session, ballot.id),
        may_vote=member is not None and member.in_good_standing(),
        form=ApproveForm(),
        now=utcnow(),
    )


def _logged_in() -> bool:
    from flask_login import current_user

    return bool(current_user.is_authenticated)


@bp.route("/<int:ballot_id>/approve", methods=["POST"])
def approve(ballot_id: int) -> ResponseReturnValue:
    session = get_session()
    if not ApproveForm().validate_on_submit():
        abort(400, "The form was tampered with or expired; reload the page and try again.")
    deal_ids = services.parse_approvals(request.form.getlist("deal"))
    vote = services.cast_approvals(session, current_member(), ballot_id, deal_ids)
    if vote is None:
        flash("You approve none of these deals now.", "info")
    else:
        flash(f"Your approvals are saved. Receipt: {vote.receipt}.", "success")
    return redirect(url_for("deal_ballots.show", ballot_id=ballot_id))


@bp.route("/<int:ballot_id>/audit.csv")
@public
def audit_file(ballot_id: int) -> ResponseReturnValue:
    """The published file, streamed chunk by chunk from the database (any host, at once)."""
    session = get_session()
    ballot = services.get_ballot(session, ballot_id)
    if ballot.status != "published":
        abort(404, "This deal ballot is not published yet.")
    stored = audit.ensure_stored(database(current_app), session, ballot)
    body = stream_with_context(filestore.chunks(session, stored.id))
    return current_app.response_class(
        body,
        mimetype="text/csv",
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f'attachment; filename="{audit.download_name(ballot)}"',
            "ETag": f'"{ballot.audit_head}"',
        },
    )
