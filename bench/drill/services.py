"""The drill's private services: a streaming replica, pgbouncer, Redis and haproxy.

Each runs from a temporary directory on a free loopback port and is removed afterwards, so
the drill can stop and restart them without touching the machine's shared servers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench.loadtest.cluster import PrivatePostgres
from bench.serving import free_port


def _need(binary: str, package: str) -> str:
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists()
                                     else None)  # fmt: skip
    if not found:
        raise RuntimeError(f"{binary} is missing: apt-get install {package}")
    return found


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Daemon:
    """A foreground process we start, stop (SIGTERM, then SIGKILL) and start again."""

    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.root = Path(tempfile.mkdtemp(prefix=f"softcoop-{name}-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line (subclasses)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start and wait until the port answers."""
        with open(self.root / f"{self.name}.log", "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, cwd=self.root)
        _wait_port(self.port)

    def stop(self) -> None:
        """Stop the process (no-op when it is not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> float:
        """Stop and start again; the seconds it was away."""
        began = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - began

    def remove(self) -> None:
        """Stop and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis(Daemon):
    """redis-server keeping nothing on disk."""

    def __init__(self) -> None:
        super().__init__("redis", free_port())
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """redis-server on loopback, no persistence."""
        return [_need("redis-server", "redis-server"), "--bind", "127.0.0.1", "--port",
                str(self.port), "--save", "", "--appendonly", "no"]  # fmt: skip


class Pgbouncer(Daemon):
    """pgbouncer in session mode in front of the primary (advisory locks need sessions)."""

    def __init__(self, primary: PrivatePostgres, pool_size: int = 40) -> None:
        super().__init__("pgbouncer", free_port())
        self.primary = primary
        (self.root / "userlist.txt").write_text('"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"softcoop = host=127.0.0.1 port={primary.port} dbname=softcoop\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.root}\n"
            "auth_type = trust\nauth_file = userlist.txt\n"
            f"pool_mode = session\ndefault_pool_size = {pool_size}\nmax_client_conn = 400\n"
            "server_reset_query = DISCARD ALL\n"
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/softcoop"
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            shutil.chown(self.root, "postgres")

    def command(self) -> list[str]:
        """pgbouncer in the foreground, as the postgres user when we are root."""
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return [*as_user, _need("pgbouncer", "pgbouncer"), str(self.root / "pgbouncer.ini")]


class Replica:
    """A hot standby streaming from the primary (pg_basebackup -R), on its own port."""

    def __init__(self, primary: PrivatePostgres) -> None:
        self.primary = primary
        self.node = PrivatePostgres()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.node.port}/softcoop"

    def start(self) -> None:
        """Copy the primary and start streaming from it."""
        self.node._run(
            str(self.node.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p",
            str(self.primary.port), "-U", "postgres", "-D", str(self.node.data), "-R",
            "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.node._pg_ctl("start")

    def stop(self) -> None:
        """Stop the standby (the drill's fault)."""
        self.node._pg_ctl("stop", "-m", "fast")

    def resume(self) -> None:
        """Start it again; it catches up from the primary's WAL."""
        self.node._pg_ctl("start")

    def lag_bytes(self) -> int | None:
        """How far the replica's replay is behind the primary (None when not streaming)."""
        with psycopg.connect(self.primary.admin_dsn()) as conn:
            row = conn.execute(
                "SELECT pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication"
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def remove(self) -> None:
        """Stop and delete."""
        self.node.remove()


class Haproxy(Daemon):
    """Round robin over the app hosts, health-checked on /healthz, retrying a dead host.

    The checks are tuned for a busy machine: a host is marked down after 4 failed checks
    (each may take up to 8 s: a loaded host answers late, not never), while a dead one is
    found sooner anyway because its refused connections are retried on another host
    (`retries` + `redispatch`). Checked every 2 s, every 1 s while changing state. Server
    connections are not kept alive between requests (`http-server-close`).
    """

    def __init__(self, backends: list[int]) -> None:
        super().__init__("haproxy", free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(
            f"    server app{i} 127.0.0.1:{port} check inter 2s fastinter 1s downinter 1s"
            " fall 4 rise 2"
            for i, port in enumerate(backends)
        )
        (self.root / "haproxy.cfg").write_text(
            "global\n    maxconn 2000\n"
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n"
            "    timeout server 60s\n    timeout queue 30s\n    timeout check 8s\n"
            "    retries 3\n    option redispatch\n"
            "    option forwardfor\n"
            f"frontend web\n    bind 127.0.0.1:{self.port}\n    default_backend app\n"
            "backend app\n    balance roundrobin\n    option httpchk GET /healthz\n"
            # A fresh connection to the host per request: an idle one reused just as gunicorn
            # (keep-alive 2 s) closes it is the likely cause of disconnects outside faults.
            "    option http-server-close\n"
            f"{servers}\n"
        )

    def command(self) -> list[str]:
        """haproxy in the foreground (-db) with our config."""
        return [_need("haproxy", "haproxy"), "-db", "-f", str(self.root / "haproxy.cfg")]
