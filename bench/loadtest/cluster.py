"""A private, throw-away PostgreSQL cluster that the fault injector may restart.

The machine's shared PostgreSQL serves other people's tests; restarting it would break
them. So the load run initialises its own cluster in a temporary directory, on a free
port, with trust authentication, and removes it at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench.serving import free_port


def _bindir() -> Path:
    """Where initdb and pg_ctl live (Debian keeps them off PATH)."""
    found = shutil.which("pg_ctl")
    if found:  # often a symlink into the version's bin directory, which has the rest
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    return Path(candidates[-1]).parent


class PrivatePostgres:
    """initdb + pg_ctl in a temp dir; `restart()` is the fault, `remove()` cleans up."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bindir = self.binaries()
        self.root = Path(tempfile.mkdtemp(prefix="softcoop-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        # initdb refuses to run as root: run the server as the `postgres` user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")

    @staticmethod
    def binaries() -> Path:
        """The directory of initdb and pg_ctl; RuntimeError when PostgreSQL is not installed."""
        return _bindir()

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [*self.as_user, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", *extra, action,
        )  # fmt: skip

    def start(self) -> str:
        """Initialise and start the cluster; return a URL of a fresh database in it."""
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        self._pg_ctl("start")
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE softcoop")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/softcoop"

    def admin_dsn(self) -> str:
        """libpq DSN of the maintenance database."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def restart(self) -> None:
        """Fast restart: every connection is cut, the server stops and starts again."""
        self._pg_ctl("restart", "-m", "fast")

    def is_ready(self) -> bool:
        """True when the server accepts connections."""
        try:
            with psycopg.connect(self.admin_dsn(), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def remove(self) -> None:
        """Stop the server (if running) and delete its files."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._pg_ctl("stop", "-m", "immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(1)
        shutil.rmtree(self.root, ignore_errors=True)
