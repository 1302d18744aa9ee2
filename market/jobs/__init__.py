"""Background jobs: Celery tasks for the co-op's jobs, a schedule safe on many hosts, and
the admin Jobs page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Set up Celery, the `flask jobs` commands and the admin Jobs page."""
    from market.jobs.background import JobsBackground
    from market.jobs.cli import jobs_cli
    from market.jobs.queue import celery_init_app
    from market.jobs.views import admin_bp
    from market.nav import register_nav
    from market.plugins import register_background

    celery_init_app(app)
    register_background(app, JobsBackground())
    app.cli.add_command(jobs_cli)
    app.register_blueprint(admin_bp)
    register_nav(
        app,
        "Jobs",
        "admin_jobs.jobs_page",
        "admin",
        hint="The schedule: each job's last run, outcome, next run and failures; run one now.",
    )
