"""The request id travels with the jobs a request starts: a real worker's log lines for the
run carry the X-Request-ID of the request that enqueued it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from market.webdb import database
from tests.market.factories import login_as, make_member
from tests.market.jobs import workers


def _job_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(ln) for ln in log.read_text(errors="replace").splitlines()
             if ln.startswith("{")]  # fmt: skip
    return [ln for ln in lines if ln.get("logger") == "softcoop.jobs"]


@pytest.mark.backends("sqlite")  # the embedded broker: no shared server involved
def test_a_job_started_by_a_request_logs_with_its_request_id(
    live_database: str, backend: str, tmp_path: Path
) -> None:
    settings = workers.settings(
        live_database, workers.broker("embedded", tmp_path), uuid.uuid4().hex, tmp_path
    )
    app = workers.app({**settings, "WTF_CSRF_ENABLED": False})  # type: ignore[dict-item]
    with database(app).transaction() as s:
        admin = make_member(s, admin=True)
    client = login_as(app.test_client(), admin)
    log = tmp_path / "solo.log"
    with workers.worker(settings, "solo", tmp_path):
        resp = client.post("/admin/jobs/dues.lapse/run", headers={"X-Request-ID": "req-to-job-7"})
        assert resp.status_code == 302 and resp.headers["X-Request-ID"] == "req-to-job-7"
        workers.wait_for(workers.runs_done(app, "dues.lapse", 1), tmp_path)
        deadline = time.monotonic() + 20  # the last line follows the run's recorded outcome
        while time.monotonic() < deadline and len(_job_lines(log)) < 2:
            time.sleep(0.2)
    lines = _job_lines(log)
    assert [ln["msg"] for ln in lines] == ["job started", "job succeeded"], lines
    assert {ln["request_id"] for ln in lines} == {"req-to-job-7"}
    assert {ln["job"] for ln in lines} == {"softcoop.dues.lapse"}
    database(app).engine.dispose()
