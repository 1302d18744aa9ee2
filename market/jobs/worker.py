"""The Celery app for `celery -A market.jobs.worker worker` (built from the Flask app)."""

from __future__ import annotations

from market import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
