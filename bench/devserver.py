"""`make run`: migrate, load the demo when empty, and serve at http://127.0.0.1:5000.

Unless STRIPE_API_KEY is set (real Stripe, test mode), a localstripe is started beside the
app on port 8420, its webhook pointed at this app, and stopped when the server stops. A
Celery worker and the scheduler run beside it too (on the embedded broker unless
CELERY_BROKER_URL is set) and stop with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack

from bench import fakestripe
from market import create_app, demo, migrate
from market.webdb import database

PORT = 5000
STRIPE_PORT = int(os.environ.get("LOCALSTRIPE_PORT", "8420"))


def _fake_stripe(stack: ExitStack) -> None:
    base = stack.enter_context(fakestripe.running(STRIPE_PORT, log=None))
    fakestripe.register_webhook(
        base,
        "softcoop-dev",
        f"http://127.0.0.1:{PORT}/billing/stripe/webhook",
        fakestripe.DEV_WEBHOOK_SECRET,
    )
    os.environ.update(
        STRIPE_API_BASE=base,
        STRIPE_API_KEY=fakestripe.DEV_API_KEY,
        STRIPE_PUBLISHABLE_KEY=fakestripe.DEV_PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=fakestripe.DEV_WEBHOOK_SECRET,
    )
    print(f"localstripe (fake Stripe) is at {base}; test card 4242 4242 4242 4242", flush=True)


def _background(stack: ExitStack) -> None:
    """Start a real Celery worker and the scheduler; stop them when the app stops."""
    commands = {
        "worker": ["-m", "celery", "-A", "market.jobs.worker", "worker", "--pool", "solo",
                   "--without-gossip", "--without-mingle", "-l", "info"],
        "scheduler": ["-m", "flask", "--app", "market", "jobs", "scheduler"],
    }  # fmt: skip
    for name, args in commands.items():
        proc = subprocess.Popen([sys.executable, *args], env=dict(os.environ))
        stack.callback(_stop, proc)
        print(f"{name} started (pid {proc.pid})", flush=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    """Prepare the local database and serve the development app."""
    os.environ.setdefault("FLASK_DEBUG", "1")
    # SIGTERM (kill, a supervisor) unwinds like Ctrl-C: the fake Stripe, the worker and the
    # scheduler stop with the app instead of living on.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with ExitStack() as stack:
        if not os.environ.get("STRIPE_API_KEY"):
            _fake_stripe(stack)
        app = create_app()
        with app.app_context():
            migrate.upgrade(database(app).engine)
            demo.ensure_loaded(app)
        _background(stack)
        print(f"\nsoftcoop is at http://127.0.0.1:{PORT}  (Ctrl-C to stop)\n", flush=True)
        app.run(host="127.0.0.1", port=PORT, debug=True, use_reloader=False)


if __name__ == "__main__":
    main()
