"""Real server and worker processes on 127.0.0.1, for the crash tests and the benchmarks.

They run the production configuration (gunicorn with osmosproject/gunicorn.conf.py,
`manage.py qcluster`, DEBUG off) against the database given in `DATABASE_URL`. Each is
started in its own session, so `kill()` SIGKILLs the whole process group at once, as a
power cut or the OOM killer would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for a Django connection's settings (a test database included)."""
    if "sqlite" in settings_dict["ENGINE"]:
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return (
        f"postgres://{auth}{settings_dict.get('HOST') or '127.0.0.1'}{port}/{settings_dict['NAME']}"
    )


def private_redis_url(redis_url: str, index: int) -> str:
    """The same Redis with its own database number, so concurrent runs never share a queue."""
    if not redis_url:
        return ""
    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(path=f"/{index}"))


def xdist_index() -> int:
    """0 for the main process or gw0, 1 for gw1, ..."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


# One key for every server and worker of this test process: they read each other's secrets.
FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()


def process_env(db_url: str, redis_url: str = "", **extra: str) -> dict[str, str]:
    """Production settings for a server or a worker, reachable over plain HTTP on 127.0.0.1."""
    env = {
        key: value
        for key, value in os.environ.items()
        # pytest's markers would make the child think it is under test (tasks inline), and
        # DJANGO_* switches set by other tests (DJANGO_ALLOW_ASYNC_UNSAFE) are not production.
        if not key.startswith(("PYTEST_", "TESTING", "Q_SYNC", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="osmosproject.settings",
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        DEBUG="False",
        TESTING="False",
        Q_SYNC="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
        SECURE_SSL_REDIRECT="False",
        # Receivers in tests and benchmarks listen on 127.0.0.1.
        ALLOW_PRIVATE_DESTINATIONS="True",
        ACCESS_LOG="",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Process:
    """A child process in its own session, its output kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args, self.env, self.log_path = args, env, log
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and every child it forked: no cleanup, no goodbye."""
        self._signal_group(signal.SIGKILL)
        self._wait(10)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (a graceful stop), then SIGKILL whatever is still there."""
        self._signal_group(signal.SIGTERM)
        if not self._wait(timeout):
            self.kill()
        else:
            # Children that outlive their parent (they should not) go too.
            self._signal_group(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def _wait(self, timeout: float) -> bool:
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False


class WebServer(Process):
    """gunicorn with the production configuration."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 2, threads: int = 4):
        self.port = free_port()
        env = {
            **env,
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "WEB_THREADS": str(threads),
        }
        args = [str(BIN / "gunicorn"), "-c", "osmosproject/gunicorn.conf.py", "osmosproject.wsgi"]
        super().__init__(args, env, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> WebServer:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"gunicorn exited:\n{self.log()[-3000:]}")
            try:
                # The schema imports every view: later requests find the process warm. Building
                # it takes seconds on a busy 2-core machine.
                requests.get(self.url + "/api/v1/schema/", timeout=30)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()[-3000:]}")


# Starts `manage.py qcluster`, optionally on a clock moved forward: a cluster restarted
# after that much downtime, when every lease and broker lock of the dead one has run out.
QCLUSTER = """
import sys
import time_machine
from datetime import datetime, timedelta, timezone

offset = float(sys.argv[1])
if offset:
    time_machine.travel(datetime.now(timezone.utc) + timedelta(seconds=offset), tick=True).start()
from django.core.management import execute_from_command_line

execute_from_command_line(["manage.py", "qcluster"])
"""


class Workers(Process):
    """A django-q2 cluster (`manage.py qcluster`)."""

    def __init__(
        self, env: dict[str, str], log: Path, *, workers: int = 2, clock_offset: float = 0
    ):
        env = {**env, "Q_WORKERS": str(workers), "Q_LOG_LEVEL": "INFO"}
        super().__init__([sys.executable, "-c", QCLUSTER, str(clock_offset)], env, log)

    def start(self, timeout: float = 30) -> Workers:
        super().start()
        deadline = time.monotonic() + timeout
        while "running" not in self.log():
            if not self.running:
                raise RuntimeError(f"qcluster exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"qcluster did not start within {timeout} s:\n{self.log()[-3000:]}"
                )
            time.sleep(0.1)
        return self


class Receiver(ThreadingHTTPServer):
    """An HTTP destination on 127.0.0.1 that applies each Idempotency-Key once, as careful APIs do.

    A repeat of a key (a retry after a crash) answers 200 again but applies nothing: what
    was applied, and how often a key came back, is what crash and load tests check.
    """

    daemon_threads = True

    def __init__(self, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.delay = delay
        self.lock = threading.Lock()
        self.requests = 0
        self.applied: dict[str, list[dict]] = {}  # idempotency key -> the records applied
        self.repeats: dict[str, int] = {}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"

    def record_ids(self) -> list:
        with self.lock:
            return [record["id"] for records in self.applied.values() for record in records]

    def take(self, key: str, records: list[dict]) -> None:
        with self.lock:
            self.requests += 1
            if key in self.applied:
                self.repeats[key] = self.repeats.get(key, 0) + 1
            else:
                self.applied[key] = records

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.delay:
            time.sleep(self.server.delay)
        self.server.take(
            self.headers["Idempotency-Key"], body if isinstance(body, list) else [body]
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass
