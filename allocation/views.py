"""Round pages: vote, results, audit file, where my dues went; admin: open, weigh, close."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from allocation import audit, ballots, results, rounds, splits, trail
from allocation.forms import CloseForm, OpenRoundForm, VoteForm, WeightsForm
from allocation.models import Round
from allocation.tally import ballots_by_class
from market import filestore, money_web
from market.auth import admin_blueprint, current_member, public
from market.clock import next_period, utcnow
from market.errors import DomainError
from market.ledger.services import balance, pool_code
from market.plugins import background
from market.webdb import database, get_session, stale_ok

bp = Blueprint("rounds", __name__, url_prefix="/rounds")
admin_bp = admin_blueprint("admin_rounds", __name__, "/rounds")


@bp.route("/")
@public
def index() -> ResponseReturnValue:
    session = get_session()
    listing = [
        (r, results.turnout(r), results.rule_label(r.rule)) for r in rounds.all_rounds(session)
    ]
    return render_template("allocation/index.html", listing=listing)


def _percent(bp_value: int) -> str:
    return f"{Decimal(bp_value) / 100:.2f}".rstrip("0").rstrip(".")


def _vote_page(
    rnd: Round, form: VoteForm, values: dict[int, str] | None, error: str, status: int
) -> ResponseReturnValue:
    session = get_session()
    member = current_member()
    standing = rounds.standing_for(session, rnd, member)
    if values is None:
        current = splits.parse(standing.ballot.split) if standing.ballot else {}
        values = {cid: _percent(bp) for cid, bp in current.items()}
    previous = None
    if standing.ballot is not None and standing.ballot.carried_over:
        previous = rounds.previous_period_label(session, rnd)
    form.round_id.data = str(rnd.id)
    channels = rounds.round_channels(session, rnd.id)
    return render_template(
        "allocation/vote.html",
        rnd=rnd,
        form=form,
        channels=[(c, values.get(c.id, "0")) for c in channels],
        pool_cents=balance(session, pool_code(rnd.period)),
        standing=standing,
        carried_from=previous,
        error=error,
        rule=results.rule_label(rnd.rule),
    ), status


@bp.route("/vote")
def vote() -> ResponseReturnValue:
    rnd = rounds.current_round(get_session())
    if rnd is None:
        return render_template("allocation/no_round.html")
    return _vote_page(rnd, VoteForm(), None, "", 200)


@bp.route("/<int:round_id>/vote", methods=["POST"])
def cast(round_id: int) -> ResponseReturnValue:
    session = get_session()
    rnd = rounds.current_round(session)
    form = VoteForm()
    if rnd is None or rnd.id != round_id:
        abort(409, "This round is not open for voting any more.")
    if not form.validate_on_submit() or form.round_id.data != str(round_id):
        abort(400, "The form was tampered with or expired; reload the page and try again.")
    member = current_member()
    submitted = {
        int(k.removeprefix(ballots.FIELD_PREFIX)): v.strip()
        for k, v in request.form.items()
        if k.startswith(ballots.FIELD_PREFIX) and k.removeprefix(ballots.FIELD_PREFIX).isdigit()
    }
    try:
        if form.action.data == "abstain":
            ballots.abstain(session, member, round_id)
            flash("You abstain in this round; your split no longer stands.", "info")
            return redirect(url_for("rounds.vote"))
        channel_ids = [c.id for c in rounds.round_channels(session, round_id)]
        split = ballots.parse_percentages(request.form, channel_ids)
        done = ballots.cast_ballot(session, member, round_id, split)
    except DomainError as exc:
        session.rollback()
        return _vote_page(rnd, form, submitted, exc.message, exc.status_code)
    flash(
        f"Your split is saved. Receipt: {done.ballot.receipt} (salt {done.salt}, kept on My "
        "receipts). Find your receipt in the audit file once the round closes.",
        "success",
    )
    return redirect(url_for("rounds.vote"))


@bp.route("/<int:round_id>/results")
@public
@stale_ok
def round_results(round_id: int) -> ResponseReturnValue:
    session = get_session()
    rnd = rounds.get_round(session, round_id)
    if rnd.status != "published":
        return render_template("allocation/not_yet.html", rnd=rnd)
    return render_template(
        "allocation/results.html",
        res=results.results_for(session, rnd),
        next_period=next_period(rnd.period),
        weights=rounds.class_weights(session, rnd.id),
        rule_explained=results.rule_explained(rnd.rule),
    )


@bp.route("/<int:round_id>/audit.csv")
@public
@stale_ok
def audit_file(round_id: int) -> ResponseReturnValue:
    """The published file, streamed chunk by chunk from the database (any host, at once)."""
    session = get_session()
    rnd = rounds.get_published_round(session, round_id)
    stored = audit.ensure_stored(database(current_app), session, rnd)
    body = stream_with_context(filestore.chunks(session, stored.id))
    return current_app.response_class(
        body,
        mimetype="text/csv",
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f'attachment; filename="{audit.download_name(rnd)}"',
            "ETag": f'"{rnd.audit_head}"',
        },
    )


@bp.route("/my-dues")
def my_dues() -> ResponseReturnValue:
    currency = current_app.config["CURRENCY"]
    member_trail = trail.member_trail(get_session(), current_member().id, currency)
    # Five years of history is ~500 amounts but a handful of distinct ones ($5.00, $4.50...):
    # each is formatted once for the page, not 500 times at 8 us (a quarter of the render).
    money = lru_cache(maxsize=None)(money_web.money)
    return render_template("allocation/my_dues.html", trail=member_trail, money=money)


# ------------------------------------------------------------------ admin


@admin_bp.route("/", methods=["GET", "POST"])
def admin_index() -> ResponseReturnValue:
    session = get_session()
    form = OpenRoundForm()
    if form.validate_on_submit():
        closes_at = None
        if form.closes_on.data is not None:
            from datetime import UTC, datetime, time

            closes_at = datetime.combine(form.closes_on.data, time(23, 59), tzinfo=UTC)
        try:
            rnd = rounds.open_round(
                session,
                current_member(),
                form.period.data or "",
                form.rule.data or "",
                closes_at,
                current_app.config["CURRENCY"],
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(
                f"The {rnd.period} round is open: {rnd.eligible_count} members may vote.", "success"
            )
            return redirect(url_for("admin_rounds.admin_round", round_id=rnd.id))
    status = 400 if request.method == "POST" else 200
    listing = [(r, results.turnout(r)) for r in rounds.all_rounds(session)]
    return render_template("allocation/admin_index.html", form=form, listing=listing), status


def _admin_round_page(
    rnd: Round, wform: WeightsForm | None = None, status: int = 200
) -> tuple[str, int]:
    session = get_session()
    jobs = background(current_app)
    if wform is None:
        weights = rounds.class_weights(session, rnd.id)
        wform = WeightsForm(
            consumer=Decimal(weights["consumer"]) / 1000,
            worker=Decimal(weights["worker"]) / 1000,
        )
    return render_template(
        "allocation/admin_round.html",
        rnd=rnd,
        wform=wform,
        close_form=CloseForm(),
        pool_cents=balance(session, pool_code(rnd.period)),
        counted=sum(ballots_by_class(session, rnd.id).values()),
        rule=results.rule_label(rnd.rule),
        progress=jobs.close_progress(session, rnd.id, rnd.status),
        phases=jobs.phases,
    ), status


@admin_bp.route("/<int:round_id>")
def admin_round(round_id: int) -> ResponseReturnValue:
    return _admin_round_page(rounds.get_round(get_session(), round_id))


@admin_bp.route("/<int:round_id>/weights", methods=["POST"])
def admin_weights(round_id: int) -> ResponseReturnValue:
    session = get_session()
    rnd = rounds.get_round(session, round_id)
    form = WeightsForm()
    if not form.validate_on_submit():
        return _admin_round_page(rnd, form, 400)
    # Thousandths, exactly: the form refused anything finer, so nothing is rounded here.
    weights = {cls: int(getattr(form, cls).data * 1000) for cls in ("consumer", "worker")}
    try:
        rounds.set_class_weights(session, current_member(), rnd, weights)
    except DomainError as exc:
        session.rollback()
        form.form_errors.append(exc.message)
        return _admin_round_page(rnd, form, exc.status_code)
    flash("Class weights saved.", "success")
    return redirect(url_for("admin_rounds.admin_round", round_id=round_id))


@admin_bp.route("/<int:round_id>/close", methods=["POST"])
def admin_close(round_id: int) -> ResponseReturnValue:
    """Queue the close as a job; before the announced time, ask first (naming the time)."""
    form = CloseForm()
    if not form.validate_on_submit():
        abort(400)
    rnd = rounds.get_round(get_session(), round_id)
    if rnd.status == "published":
        flash(f"The {rnd.period} round is already closed and published.", "info")
        return redirect(url_for("rounds.round_results", round_id=round_id))
    if utcnow() < rnd.closes_at and request.form.get("confirm") != "early":
        return render_template("allocation/confirm_close.html", rnd=rnd, close_form=form)
    background(current_app).start("rounds.close", round_id)
    get_session().expire_all()  # the job ran in its own transactions
    rnd = rounds.get_round(get_session(), round_id)
    if rnd.status == "published":  # a worker (or eager mode) already finished it
        flash(f"Round closed and published: {rnd.ballots_counted} ballots.", "success")
        return redirect(url_for("rounds.round_results", round_id=round_id))
    flash("Closing: the round page follows the close until it is published.", "info")
    return redirect(url_for("admin_rounds.admin_round", round_id=round_id))


@admin_bp.route("/<int:round_id>/close/progress.json")
def admin_close_progress(round_id: int) -> ResponseReturnValue:
    """Where the close job is: phase, percent, done (the progress bar polls this)."""
    session = get_session()
    rnd = rounds.get_round(session, round_id)
    state = background(current_app).close_progress(session, round_id, rnd.status)
    state["results_url"] = url_for("rounds.round_results", round_id=round_id)
    return jsonify(state)
