"""Admin Jobs page: every job's last run, outcome, duration, next run, failures, "run now"."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from market.auth import admin_blueprint
from market.clock import utcnow
from market.jobs import schedule, status
from market.jobs.definitions import JOBS
from market.jobs.queue import enqueue
from market.webdb import get_session

admin_bp = admin_blueprint("admin_jobs", __name__, "/jobs")


class RunNowForm(FlaskForm):
    """Just CSRF: a "run now" button."""


@admin_bp.route("/")
def jobs_page() -> ResponseReturnValue:
    now = utcnow()
    return render_template(
        "jobs/admin_jobs.html",
        lines=status.job_lines(get_session(), now),
        form=RunNowForm(),
        now=now,
    )


def start_run(job: str, target: int | None = None) -> int:
    """Queue a run in this request, commit it, then send it to the workers; its id."""
    session = get_session()
    run_id = schedule.request_run(session, job, target, utcnow()).id
    # Committed before it is sent: a worker must find the row (and on SQLite it must not
    # wait behind this request's write lock).
    session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not enqueue(app, job, run_id):
        flash("The job queue cannot be reached now; the schedule sends the run later.", "error")
    return run_id


@admin_bp.route("/<job>/run", methods=["POST"])
def run_now(job: str) -> ResponseReturnValue:
    if job not in JOBS:
        abort(404)
    if not RunNowForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    run_id = start_run(job)
    flash(f"“{JOBS[job].label}” is queued (run {run_id}).", "success")
    return redirect(url_for("admin_jobs.jobs_page"))
