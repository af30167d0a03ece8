"""The far side of the sustained run, in a process of its own: the HTTP destination (a
receiver on 127.0.0.1) and the mailbox consumer, counting every record id they get, so
their work never delays the senders' clocks in the benchmark process."""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson


class Seen:
    """How often each record id arrived, one byte per id (millions of records, a few MB)."""

    def __init__(self, size: int):
        self.counts = bytearray(size)
        self.unique = self.repeats = self.foreign = 0
        self.lock = threading.Lock()

    def add(self, ids: list[int]) -> None:
        with self.lock:
            for n in ids:
                if not 0 <= n < len(self.counts):
                    self.foreign += 1
                elif self.counts[n]:
                    self.repeats += 1
                    self.counts[n] = min(255, self.counts[n] + 1)
                else:
                    self.counts[n] = 1
                    self.unique += 1


class LeanReceiver(ThreadingHTTPServer):
    """The HTTP destination: applies each Idempotency-Key once and counts record ids."""

    daemon_threads = True

    def __init__(self, size: int):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen = Seen(size)
        self.keys: set[str] = set()
        self.requests = self.key_repeats = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        records = body if isinstance(body, list) else [body]
        key = self.headers["Idempotency-Key"]
        server = self.server
        with server.seen.lock:
            server.requests += 1
            repeat = key in server.keys
            server.keys.add(key)
            server.key_repeats += repeat
        if not repeat:
            server.seen.add([r["id"] for r in records])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Consumer:
    """Long-polls the mailbox 1,000 records at a time and acknowledges at most once a second."""

    def __init__(self, port: int, slug: str, token: str, size: int):
        self.port, self.slug, self.token = port, slug, token
        self.seen = Seen(size)
        self.polls = self.acks = 0
        self.statuses: dict[int, int] = {}
        self.problems: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        after, acked, last_ack = "", "", time.monotonic()
        while not self.stop.is_set():
            query = f"?limit=1000&wait=1{f'&after={after}' if after else ''}"
            try:
                conn.request("GET", f"/api/v1/mailbox/{self.slug}/{query}", headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.problems.append(f"mailbox poll failed: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            self.polls += 1
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            if response.status != 200:
                self.problems.append(f"mailbox poll answered {response.status}: {data[:300]!r}")
                time.sleep(0.5)
                continue
            page = orjson.loads(data)
            self.seen.add(
                [
                    (orjson.loads(r["data"]) if isinstance(r["data"], str) else r["data"])["id"]
                    for r in page["records"]
                ]
            )
            after = page["next"]
            # A consumer that acknowledges every page doubles its requests; once a second
            # is what the purge needs (records acknowledged since its last run).
            if after != acked and (not page["has_more"] or time.monotonic() - last_ack > 1):
                conn.request(
                    "POST",
                    f"/api/v1/mailbox/{self.slug}/ack/",
                    orjson.dumps({"cursor": after}),
                    {**headers, "Content-Type": "application/json"},
                )
                ack = conn.getresponse()
                ack.read()
                self.acks += 1
                self.statuses[ack.status] = self.statuses.get(ack.status, 0) + 1
                if ack.status >= 300:
                    self.problems.append(f"mailbox ack answered {ack.status}")
                acked, last_ack = after, time.monotonic()
        conn.close()


def peer_process(pipe, size: int) -> None:
    """The receiver and the consumer; answers `counts` and `stop` on the pipe."""
    receiver = LeanReceiver(size)
    pipe.send(f"http://127.0.0.1:{receiver.server_address[1]}/hooks")
    consumer = None
    while True:
        message = pipe.recv()
        if message[0] == "consume":
            consumer = Consumer(*message[1:], size)
            threading.Thread(target=consumer.run, daemon=True).start()
            pipe.send(True)
            continue
        if message[0] == "stop" and consumer:
            consumer.stop.set()
        pipe.send(
            {
                "delivered": receiver.seen.unique,
                "delivered_repeats": receiver.seen.repeats + receiver.seen.foreign,
                "deliveries": receiver.requests,
                "key_repeats": receiver.key_repeats,
                "consumed": consumer.seen.unique if consumer else 0,
                "consumed_repeats": consumer.seen.repeats + consumer.seen.foreign
                if consumer
                else 0,
                "polls": consumer.polls if consumer else 0,
                "acks": consumer.acks if consumer else 0,
                "consumer_statuses": consumer.statuses if consumer else {},
                "consumer_problems": consumer.problems[:5] if consumer else [],
            }
        )
        if message[0] == "stop":
            receiver.shutdown()
            return


class Peer:
    """The process holding the receiver and the consumer, seen from the benchmark."""

    def __init__(self, size: int):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=peer_process, args=(child, size), daemon=True)
        self.process.start()
        # A child that died at start (under spawn, a main module without a __main__ guard
        # runs again in it) would leave recv() waiting for ever.
        if not self.pipe.poll(60):
            self.process.kill()
            raise RuntimeError("the receiver + consumer process did not start")
        self.url = self.pipe.recv()
        self.lock = threading.Lock()

    def ask(self, *message) -> dict:
        with self.lock:
            self.pipe.send(message)
            return self.pipe.recv()

    def close(self) -> dict:
        counts = self.ask("stop")
        self.process.join(10)
        return counts
