"""WSGI entry point for gunicorn: `gunicorn market.wsgi:app`."""

from __future__ import annotations

from market import create_app

app = create_app()
