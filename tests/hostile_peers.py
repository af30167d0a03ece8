"""Hostile HTTP peers on 127.0.0.1: raw socket servers that answer slowly, partly or never.

`pytest-httpserver` answers whole responses; these misbehave below HTTP, as real attackers and
broken proxies do. Each connection is served by `behaviour(connection, request_head)` in its own
thread; the peer records every request head it read, when each connection opened and closed,
and when its request was in flight: from its head read to its answer sent (see `Exchange.span`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Behaviour = Callable[["Peer", socket.socket, bytes], None]


@dataclass
class Exchange:
    opened: float
    head: bytes = b""
    received: float | None = None
    answered: float | None = None
    closed: float | None = None

    def span(self) -> tuple[float, float]:
        """When the request was in flight: from its head read until its answer began (or the
        connection closed).

        Not the connection's opening and closing: the peer's threads share the GIL with the
        client's, so a busy test process can record a close long after the client read its
        answer and went on to its next request, and two requests that never overlapped would
        seem to."""
        start = self.received if self.received is not None else self.opened
        end = self.answered if self.answered is not None else self.closed
        return start, end if end is not None else 1e18

    def header(self, name: str) -> str:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return ""


@dataclass
class Peer:
    behaviour: Behaviour
    stop: threading.Event = field(default_factory=threading.Event)
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    serving: threading.local = field(default_factory=threading.local)

    def __enter__(self) -> Peer:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()
        with self.lock:
            for client in self.clients:
                client.close()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def overlapping(self, header: str) -> list[str]:
        """Values of `header` carried by two requests in flight at the same time."""
        with self.lock:
            exchanges = list(self.exchanges)
        found = []
        for i, first in enumerate(exchanges):
            for second in exchanges[i + 1 :]:
                value = first.header(header)
                if not value or value != second.header(header):
                    continue
                (first_start, first_end), (second_start, second_end) = first.span(), second.span()
                if second_start < first_end and first_start < second_end:
                    found.append(value)
        return found

    def most_at_once(self) -> int:
        """The largest number of requests in flight at the same time."""
        with self.lock:
            spans = [e.span() for e in self.exchanges]
        # An answer and a new request at the same instant do not overlap: ends sort first.
        events = [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans]
        most = now = 0
        for _, change in sorted(events):
            now += change
            most = max(most, now)
        return most

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        exchange = Exchange(opened=time.monotonic())
        self.serving.exchange = exchange
        with self.lock:
            self.exchanges.append(exchange)
        try:
            exchange.head = read_head(client)
            exchange.received = time.monotonic()
            self.behaviour(self, client, exchange.head)
        except OSError:
            pass
        finally:
            exchange.closed = time.monotonic()
            client.close()

    def answering(self) -> None:
        """Called by a behaviour just before it sends its answer: the request is no longer in
        flight once the client can read it."""
        self.serving.exchange.answered = time.monotonic()

    def pause(self, seconds: float) -> bool:
        """Sleep unless the test is over; False once it is."""
        return not self.stop.wait(seconds)


def read_head(client: socket.socket) -> bytes:
    """The request line and headers (and, read and dropped, a body of Content-Length bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = client.recv(4096)
        if not chunk:
            break
        rest += chunk
    return head


def drip(body_length: int = 1000, every: float = 1.0) -> Behaviour:
    """Announces `body_length` bytes, then sends one byte every `every` seconds."""

    def behaviour(peer: Peer, client: socket.socket, head: bytes) -> None:
        client.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {body_length}\r\n\r\n".encode())
        for _ in range(body_length):
            if not peer.pause(every):
                return
            client.sendall(b"x")

    return behaviour


def drip_headers(every: float = 0.5, count: int = 100) -> Behaviour:
    """Sends its status line, then a header line one byte at a time (`count` bytes)."""

    def behaviour(peer: Peer, client: socket.socket, head: bytes) -> None:
        client.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(count):
            if not peer.pause(every):
                return
            client.sendall(b"X")

    return behaviour


def silent(peer: Peer, client: socket.socket, head: bytes) -> None:
    """Accepts the connection, reads the request, never answers."""
    peer.stop.wait(60)


def headers_then_stall(peer: Peer, client: socket.socket, head: bytes) -> None:
    """Promises a body in its headers, then sends nothing more."""
    client.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
    )
    peer.stop.wait(60)


def answer(status: int, body: bytes, headers: str = "", after: float = 0.0) -> Behaviour:
    """A whole response at once (garbage or not), `after` seconds."""

    def behaviour(peer: Peer, client: socket.socket, head: bytes) -> None:
        if after and not peer.pause(after):
            return
        peer.answering()
        client.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}"
            "Connection: close\r\n\r\n".encode()
            + body
        )

    return behaviour
