"""gunicorn with the shipped configuration keeps answering while slow clients drip bodies."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.crash.processes import ROOT, free_port, process_env

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 200
DRIP_EVERY = 2.0


@pytest.fixture
def web(tmp_path):
    env = process_env(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # Two processes of 8 threads: 16 threads, far fewer than the slow clients.
        WEB_CONCURRENCY="2",
        WEB_REQUEST_TIMEOUT="10",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    env["BIND"] = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "osmosproject/gunicorn.conf.py",
            "osmosproject.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            time.sleep(0.3)
        yield port, env
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def open_slow_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST /api/v1/ingest/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n["
    )
    return sock


def drip(sockets: list[socket.socket], stop: threading.Event) -> None:
    while not stop.wait(DRIP_EVERY):
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.send(b" ")


def answer_of(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    with contextlib.suppress(OSError):
        return sock.recv(4096)
    return b""


def test_it_answers_healthz_while_200_clients_drip_their_bodies(web):
    port, _ = web
    sockets = [open_slow_client(port) for _ in range(SLOW_CLIENTS)]
    stop = threading.Event()
    dripper = threading.Thread(target=drip, args=(sockets, stop), daemon=True)
    dripper.start()
    try:
        slowest = 0.0
        until = time.monotonic() + 20
        while time.monotonic() < until:
            started = time.monotonic()
            response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            took = time.monotonic() - started
            slowest = max(slowest, took)
            assert response.status_code in (200, 503)  # 503: no worker runs here
            time.sleep(0.5)
        assert slowest < 1.5, f"/healthz took {slowest:.1f} s"
        # WEB_REQUEST_TIMEOUT=10: a request still arriving after 10 s is refused with 408.
        answers = [answer_of(sock) for sock in sockets]
        assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), {
            answer[:40] for answer in answers
        }
    finally:
        stop.set()
        dripper.join()
        for sock in sockets:
            sock.close()


def make_ingest_endpoint(env: dict) -> str:
    script = (
        "from tests.helpers import make_connector; "
        "c = make_connector('ingest_endpoint', 'Orders', [{'name': 'n', 'type': 'integer'}]); "
        "print(c.rotate_token())"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.split()[-1]


def test_bodies_of_every_shape_still_arrive(web):
    port, env = web
    token = make_ingest_endpoint(env)
    url = f"http://127.0.0.1:{port}/api/v1/ingest/orders/"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    big = "".join(f'{{"n": {n}, "pad": "{"x" * 200}"}}\n' for n in range(6000)).encode()
    assert len(big) > 1024 * 1024  # beyond WEB_BUFFER_BYTES: the rest is read by the thread
    with requests.Session() as session:  # one kept-alive connection for all of them
        for body in (b'{"n": 1}\n', (part for part in (b'{"n": 1}\n', b'{"n": 2}\n')), big):
            response = session.post(url, data=body, headers=headers, timeout=30)
            assert response.status_code == 202, response.text
