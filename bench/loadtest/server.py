"""The app under gunicorn, as in production, plus the handle the fault injector needs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.serving import gunicorn_command
from market.config import ROOT


class Gunicorn:
    """`gunicorn -w N market.wsgi:app` on a port; can list and kill its workers."""

    def __init__(
        self,
        port: int,
        env: dict[str, str],
        workers: int = 4,
        log: Path | None = None,
        threads: int = 1,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.workers = workers
        self.threads = threads
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        """Start the master and wait until every worker serves (slow on a loaded machine)."""
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            gunicorn_command(
                "-w", str(self.workers), "--threads", str(self.threads),
                "-b", f"127.0.0.1:{self.port}", "--timeout", "30",
                "--log-level", "warning", "market.wsgi:app",
            ),
            cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=out,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            if len(self.worker_pids()) == self.workers and self._answers():
                return
            time.sleep(0.2)
        self.stop()  # no server left behind when the run gives up on it
        raise RuntimeError(f"gunicorn at {self.url} did not start")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/login", timeout=2):
                return True
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """Pids of the master's children (the workers), read from /proc."""
        if self.proc is None:
            return []
        master = self.proc.pid
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # Field 4 is the parent pid; the command name (field 2) may hold spaces.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry))
        return sorted(pids)

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker, as the OOM killer or a crash would; the master respawns it."""
        with contextlib.suppress(ProcessLookupError):  # it died on its own meanwhile
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Quick stop (SIGINT: the traffic is over, nothing to drain), hard if it hangs."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
