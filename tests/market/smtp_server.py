"""A small real SMTP server for the tests: EHLO, STARTTLS, implicit TLS, AUTH, refusals.

It speaks enough of RFC 5321 for smtplib (and any client) and keeps what it accepted.
Addresses containing "bounce" are refused at RCPT (a bad address); with `password` set,
mail is accepted only after AUTH PLAIN or AUTH LOGIN with that user and password.
"""

from __future__ import annotations

import base64
import socketserver
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any


@dataclass
class Received:
    """One message the server accepted."""

    sender: str
    recipients: list[str]
    data: bytes
    tls: bool
    user: str | None

    @property
    def message(self) -> Message:
        """The parsed message."""
        return message_from_bytes(self.data)


@dataclass
class SmtpConfig:
    """How the server behaves."""

    user: str = ""
    password: str = ""
    tls_context: ssl.SSLContext | None = None  # STARTTLS offered when set
    implicit_tls: bool = False  # SMTPS: TLS from the first byte
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        cfg = self.server.cfg
        if cfg.implicit_tls:
            assert cfg.tls_context is not None
            self.request = cfg.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()
        self.tls = cfg.implicit_tls
        self.user: str | None = None
        self._reset()

    def finish(self) -> None:
        super().finish()
        if isinstance(self.request, ssl.SSLSocket):  # the server closes only the plain one
            self.request.close()

    def _reset(self) -> None:
        self.sender: str | None = None
        self.recipients: list[str] = []

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def _starttls(self) -> None:
        cfg = self.server.cfg
        assert cfg.tls_context is not None
        self.send("220 Ready to start TLS")
        self.request = cfg.tls_context.wrap_socket(self.request, server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb")
        self.tls = True
        self._reset()

    def _auth(self, args: str) -> None:
        cfg = self.server.cfg
        parts = args.split()
        mechanism = parts[0].upper() if parts else ""
        if mechanism == "PLAIN":
            raw = parts[1] if len(parts) > 1 else self._ask("")
            _, user, password = base64.b64decode(raw).decode().split("\0")
        elif mechanism == "LOGIN":
            user = base64.b64decode(self._ask("VXNlcm5hbWU6")).decode()
            password = base64.b64decode(self._ask("UGFzc3dvcmQ6")).decode()
        else:
            self.send("504 Unrecognised authentication type")
            return
        if (user, password) == (cfg.user, cfg.password):
            self.user = user
            self.send("235 Authentication successful")
        else:
            self.send("535 Authentication credentials invalid")

    def _ask(self, prompt: str) -> str:
        self.send(f"334 {prompt}")
        return self.rfile.readline().decode().strip()

    def _data(self) -> None:
        self.send("354 End data with <CR><LF>.<CR><LF>")
        lines = []
        while True:
            line = self.rfile.readline()
            if line in (b".\r\n", b".\n", b""):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        cfg = self.server.cfg
        with cfg.lock:
            cfg.received.append(
                Received(self.sender or "", list(self.recipients), b"".join(lines), self.tls,
                         self.user)
            )  # fmt: skip
        self._reset()
        self.send("250 OK: queued")

    def handle(self) -> None:
        cfg = self.server.cfg
        self.send("220 localhost test SMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            verb, _, args = raw.decode(errors="replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                extras = ["250-localhost", "250-8BITMIME"]
                if cfg.tls_context is not None and not self.tls:
                    extras.append("250-STARTTLS")
                if cfg.password and (self.tls or cfg.tls_context is None):
                    extras.append("250-AUTH PLAIN LOGIN")
                self.send("\r\n".join([*extras, "250 SMTPUTF8"]))
            elif verb == "HELO":
                self.send("250 localhost")
            elif verb == "STARTTLS" and cfg.tls_context is not None and not self.tls:
                self._starttls()
            elif verb == "AUTH":
                self._auth(args)
            elif verb == "MAIL":
                if cfg.password and self.user is None:
                    self.send("530 Authentication required")
                    continue
                self.sender = args.partition(":")[2].strip().strip("<>").split(">")[0]
                self.send("250 OK")
            elif verb == "RCPT":
                address = args.partition(":")[2].strip().split()[0].strip("<>")
                if "bounce" in address:
                    self.send(f"550 No such user: {address}")
                else:
                    self.recipients.append(address)
                    self.send("250 OK")
            elif verb == "DATA":
                if not self.recipients:
                    self.send("554 No valid recipients")
                else:
                    self._data()
            elif verb == "RSET":
                self._reset()
                self.send("250 OK")
            elif verb == "NOOP":
                self.send("250 OK")
            elif verb == "QUIT":
                self.send("221 Bye")
                return
            else:
                self.send("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        super().__init__(("127.0.0.1", 0), _Handler)


class SmtpServer:
    """Run the server on a free local port in a thread (a context manager)."""

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self._server = _Server(cfg)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def received(self) -> list[Received]:
        """What has been accepted so far."""
        with self.cfg.lock:
            return list(self.cfg.received)

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def self_signed(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (made with the openssl tool) and a server context."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context
