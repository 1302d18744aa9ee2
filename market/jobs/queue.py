"""Celery, the Flask way (`celery_init_app`): every task runs inside the app's context.

One task per job (`softcoop.<job>`), each taking the id of its `job_run` row. Broker:
CELERY_BROKER_URL (Redis or RabbitMQ), or by default an embedded broker on a SQLite file
(kombu's SQLAlchemy transport) so `make run` needs no server. Results are not kept: the
outcome of a run is its `job_run` row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Celery, Task
from flask import Flask

from market import trace
from market.config import INSTANCE
from market.jobs.definitions import JOBS

log = logging.getLogger(__name__)
# The worker's lines about each run (JSON, like the request log), with the request id.
job_log = logging.getLogger("softcoop.jobs")


def default_broker() -> str:
    """The embedded broker: kombu's SQLAlchemy transport on instance/broker.db."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    return f"sqla+sqlite:///{INSTANCE / 'broker.db'}"


def task_name(job: str) -> str:
    """The Celery task that runs a job."""
    return f"softcoop.{job}"


def celery_init_app(app: Flask) -> Celery:
    """Build the Celery app for a Flask app and register one task per job."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(
        {
            "broker_url": app.config.get("CELERY_BROKER_URL") or default_broker(),
            "task_default_queue": app.config.get("CELERY_QUEUE", "softcoop"),
            "result_backend": None,
            "task_ignore_result": True,
            # A message is acknowledged once its run is recorded: a killed worker's run is
            # delivered again, and the run's lease decides who takes it.
            "task_acks_late": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            "task_always_eager": app.config.get("CELERY_ALWAYS_EAGER", app.testing),
            "worker_hijack_root_logger": False,
        }
    )
    for name in JOBS:
        celery_app.task(name=task_name(name), bind=True)(_run_task)
    app.extensions["celery"] = celery_app
    return celery_app


def _run_task(
    task: Task, run_id: int, now: str | None = None, request_id: str | None = None
) -> str:
    """Run one job run; schedule the next attempt when it failed and may be retried.

    `now` is only sent by a tick that was itself given a moment (a simulation or a test
    travelling the clock); workers otherwise read the clock. `request_id`: the request that
    enqueued the run; every log line written while it runs carries it.
    """
    from datetime import datetime

    from flask import current_app

    from market.jobs.runner import execute

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with trace.bound_request_id(request_id):
        fields = {"job": task.name, "run_id": run_id, "request_id": request_id}
        job_log.info("job started", extra={"fields": fields})
        outcome = execute(app, run_id, datetime.fromisoformat(now) if now else None)
        job_log.info(
            "job %s", outcome.status, extra={"fields": {**fields, "status": outcome.status}}
        )
    if outcome.retry_in is not None:
        task.apply_async(
            args=[run_id], kwargs={"now": now, "request_id": request_id}, countdown=outcome.retry_in
        )
    return outcome.status


def enqueue(app: Flask, job: str, run_id: int, now: datetime | None = None, **options: Any) -> bool:
    """Send a run to the workers; False when the broker cannot be reached (the schedule
    sends it again later, so nothing is lost). From a request, the run carries its id."""
    celery_app: Celery = app.extensions["celery"]
    kwargs: dict[str, str] = {"now": now.isoformat()} if now is not None else {}
    if trace.current_request_id():  # sent from a request: the run's log lines name it
        kwargs["request_id"] = trace.current_request_id() or ""
    try:
        celery_app.tasks[task_name(job)].apply_async(
            args=[run_id], kwargs=kwargs, retry=True, retry_policy={"max_retries": 2}, **options
        )
    except Exception as exc:  # noqa: BLE001  (broker errors vary by transport)
        if celery_app.conf.task_always_eager:
            raise
        log.warning("could not enqueue %s run %s: %s", job, run_id, exc)
        return False
    return True
