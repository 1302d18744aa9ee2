"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py market.wsgi:app`.

Every value can be overridden from the environment (names below) or the command line.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: the app is CPU- and database-bound. gunicorn's rule of thumb, from cores.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("WEB_THREADS", "1"))
# A request that takes longer is a bug (long work runs as a job): kill the worker, log it.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))  # SIGTERM: finish requests
keepalive = 5  # behind a load balancer that reuses connections
# Recycle workers now and then (slow leaks), at staggered moments so they never all restart.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("WEB_MAX_REQUESTS_JITTER", "200"))
# The app writes one JSON line per request (market/ops.py); gunicorn's access log would repeat it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# Each worker builds its own app and connection pool (nothing is shared across a fork).
preload_app = False
# The balancer's address may set X-Forwarded-*; the app's TRUSTED_PROXIES decides what to trust.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
