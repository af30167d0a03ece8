"""`make run` serves through `manage.py runserver`: chunked ingest bodies are read there too."""

from __future__ import annotations

import socket
import threading

import pytest
import requests
from django.core.management import get_commands, load_command_class
from django.core.servers.basehttp import WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections

from tests.helpers import make_connector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dev_server():
    """The server `manage.py runserver` (and so `make run`) starts, on a free port."""
    command = load_command_class(get_commands()["runserver"], "runserver")
    server = command.server_cls(("127.0.0.1", 0), WSGIRequestHandler)
    django_app = get_wsgi_application()

    def app(environ, start_response):
        try:
            return django_app(environ, start_response)
        finally:
            # This thread's connection would outlive the test and keep PostgreSQL from
            # dropping the test database.
            connections.close_all()

    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def orders():
    connector = make_connector(
        "ingest_endpoint", "Orders", [{"name": "order_id", "type": "integer", "required": True}]
    )
    return connector, connector.rotate_token()


def chunks(*parts: bytes):
    # A generator body: requests sends it with Transfer-Encoding: chunked, one chunk a part.
    yield from parts


def test_it_accepts_a_chunked_ingest_body(dev_server, orders):
    connector, token = orders
    response = requests.post(
        f"{dev_server}/api/v1/ingest/{connector.slug}/",
        data=chunks(b'[{"order_id": 1},', b' {"order_id": 2}]'),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2


def test_it_keeps_the_connection_usable_after_a_chunked_body(dev_server, orders):
    connector, token = orders
    with requests.Session() as session:
        for n in range(3):
            response = session.post(
                f"{dev_server}/api/v1/ingest/{connector.slug}/",
                data=chunks(b"order_id\n", f"{n}\n".encode()),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
                timeout=10,
            )
            assert response.status_code == 202, response.text


def test_it_answers_400_to_a_malformed_chunked_body(dev_server, orders):
    connector, token = orders
    host, port = dev_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /api/v1/ingest/{connector.slug}/ HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".encode()
        )
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 400"), answer
