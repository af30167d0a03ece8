"""`make serve`: gunicorn and the workers stop once and cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.crash.processes import ROOT, free_port, process_env

pytestmark = pytest.mark.slow

VENV = Path(sys.executable).parent.parent


def start_make_serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = process_env(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PORT=str(port),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        STATIC_ROOT=str(tmp_path / "static"),
        SESSION_COOKIE_SECURE="False",
        CSRF_COOKIE_SECURE="False",
        WEB_CONCURRENCY="2",
    )
    env.pop("MAKEFLAGS", None)
    return subprocess.Popen(
        # The installed virtualenv, never reinstalled here (-o: its stamp counts as up to date).
        ["make", "--no-print-directory", "serve", f"VENV={VENV}", "-o", f"{VENV}/.runtime"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        # Its own process group, like a shell job: the test signals the whole group.
        start_new_session=True,
    )


def wait_healthy(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass  # still starting
        time.sleep(0.5)
    raise AssertionError("make serve did not become healthy")


def group_members(pgid: int) -> list[str]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid or int(fields[3]) == pgid:  # process group or session
            members.append(stat.parent.name)
    return members


@pytest.mark.parametrize(
    ("sig", "send"),
    [
        # Ctrl-C in a terminal: SIGINT to every process of the foreground job.
        (signal.SIGINT, lambda server: os.killpg(server.pid, signal.SIGINT)),
        # systemd, docker stop, kill: SIGTERM to the main process.
        (signal.SIGTERM, lambda server: server.send_signal(signal.SIGTERM)),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_it_stops_web_and_workers_once_and_cleanly(tmp_path, sig, send):
    port = free_port()
    server = start_make_serve(tmp_path, port)
    try:
        wait_healthy(port, server)
        send(server)
        stopped = time.monotonic()
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            # Everything the processes wrote, to show which one held on.
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
            pytest.fail(f"not stopped within 30 s:\n{output[-6000:]}")
        took = time.monotonic() - stopped
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        if server.poll() is None:
            server.wait()
    # make passes the signal on, waits for `manage.py serve`, then dies of the same signal:
    # -2 here is what a shell shows as 130 after Ctrl-C.
    assert server.returncode in (0, 128 + sig, -sig), output[-3000:]
    assert "Stopped the web server and the workers." in output, output[-3000:]
    assert took < 15, output[-3000:]
    for trouble in ("RecursionError", "Segmentation", "Traceback"):
        assert trouble not in output, output[-3000:]
    # Nothing is left running: not the web server, not a worker.
    time.sleep(0.5)
    assert group_members(server.pid) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
