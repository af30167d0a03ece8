"""`make run` (manage.py devserver): web and workers start together, are healthy, stop together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import requests

from tests.crash.processes import ROOT, free_port, process_env


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=120)


def test_it_serves_with_live_workers_within_seconds_and_stops_both_on_ctrl_c(tmp_path):
    env = process_env(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DEBUG="True",
        DJANGO_SUPERUSER_PASSWORD="not-the-first-run",
    )
    # An admin already exists: not a first run, so nothing is written beside the project's own
    # database (the generated password file, the demo workspace).
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "createsuperuser", "--noinput", "--username", "admin", "--email", "a@b.co")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "devserver", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        health = None
        # Seconds, not the minute the first scheduled sweep can take: each worker that starts
        # queues a sweep (about 3 s here, 40 s without it).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                if health.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        assert health is not None and health.status_code == 200, health and health.text
        assert health.json()["checks"]["workers"]["ok"]
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code in (200, 302)

        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, output[-3000:]
    assert "Stopped the web server and the workers." in output
    # Both children went with it: nothing answers on the port any more.
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        raise AssertionError("the web server outlived devserver")
    except requests.ConnectionError:
        pass
