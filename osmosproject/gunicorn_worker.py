"""gunicorn's gthread worker, giving a request a thread only once the request has arrived.

gthread hands a connection to a thread as soon as it is readable; the thread then blocks on
the socket until the whole body is in. A client that sends its headers and then one byte of
body every few seconds ("slow loris") holds that thread for as long as it likes, and a few
hundred such clients hold all of them: /healthz stops answering. gunicorn has no setting for
a body timeout.

Here the worker first gathers what the socket holds without blocking, and gives the
connection back to gunicorn's poller until the request is complete (its headers and its
Content-Length or chunked body, up to WEB_BUFFER_BYTES). A slow client then costs a socket
and a buffer, not a thread. A request still arriving WEB_REQUEST_TIMEOUT seconds after its
first byte gets 408; a connection silent for `keepalive` seconds is closed by gunicorn.

It also gives freed memory back to the system (glibc's malloc keeps it otherwise). A 10 MB
ingest body becomes thousands of ~1 KB strings, dicts and rows to store, which glibc places
among longer-lived allocations; once freed, the heap cannot shrink past those, and glibc raises
its mmap threshold to the size of the largest block freed, so the next 10 MB buffers come from
the heap too. Measured: the process kept ~20 MiB more after each such request, run after run
(mallinfo2: bytes in use flat, free bytes held growing; no Python objects left behind). A fixed M_MMAP_THRESHOLD keeps large buffers in mmap
(returned when freed), and malloc_trim after a request that grew the process returns the free
pages inside the heap: the process then levels off after its first large request. After a
small request only growth beyond what a busy process's threads allocate and free anyway is
trimmed: trimming at 8 MiB after any request, one-record requests on 4 threads grew the
process back past the line every ~30 requests, and each trim (2-6 ms, plus faulting the pages
in again) landed on the connection waiting for that thread.

And it freezes what startup built (gc.freeze): Django, DRF and every view module are about
10^5 objects that live as long as the process. The collector's full passes walked them all,
30-90 ms each, a pause for every request of the process at that moment.
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import socket
import sys
import time
from importlib import import_module

from gunicorn.http2 import negotiation
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import _DEFER, ThreadWorker

# Total time a request may take to arrive (headers and body), from its first byte.
REQUEST_TIMEOUT = float(os.environ.get("WEB_REQUEST_TIMEOUT", "30"))
# Requests up to this size arrive in full before they get a thread; the rest of a larger
# body is read by its thread (large bodies from slow links belong behind the proxy).
BUFFER_BYTES = int(os.environ.get("WEB_BUFFER_BYTES", str(1024 * 1024)))
# gunicorn's own header limits refuse more; beyond this the parser gets to say so.
MAX_HEADER_BYTES = 64 * 1024

# Blocks this large or larger are mmapped, and unmapped when freed. Set, it also stops glibc
# from raising the threshold each time such a block is freed. MALLOC_MMAP_THRESHOLD_ wins.
MMAP_THRESHOLD = 1024 * 1024
# A large request (a body of WEB_BUFFER_BYTES or more) that leaves the process this much larger
# than after the last trim gets one; a small request, only past the churn of small requests.
TRIM_AFTER_GROWTH = 8 * 1024 * 1024
TRIM_AFTER_CHURN = 32 * 1024 * 1024
# Small requests grow a process slowly (32 MiB of churn takes thousands of them), so their
# growth is read once in this many; reading /proc/self/statm after each one-record request
# was 3.5% of a worker's time.
SMALL_REQUESTS_PER_CHECK = 100
# gunicorn's heartbeat (a utime on the worker's temporary file, which the arbiter compares
# with `timeout`) ran on every turn of the event loop, 2.8% of a worker serving one-record
# requests; once a second is ample against a timeout of a minute.
HEARTBEAT_SECONDS = 1.0
_M_MMAP_THRESHOLD = -3
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\n\r\n%s"
)


def request_complete(data: bytes) -> bool:
    """Whether `data` holds one whole HTTP/1.1 request (or enough for the parser to judge)."""
    header_end = data.find(b"\r\n\r\n")
    if header_end < 0:
        return len(data) > MAX_HEADER_BYTES
    body_start = header_end + 4
    length, chunked = None, False
    for line in data[:header_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif name == b"content-length":
            if not value.strip().isdigit():
                return True  # the parser refuses it
            length = int(value)
    if chunked:
        return chunked_body_complete(data, body_start)
    return length is None or len(data) - body_start >= length


def chunked_body_complete(data: bytes, position: int) -> bool:
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return False
        size = data[position:line_end].split(b";", 1)[0].strip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size):
            return True  # malformed: the parser refuses it
        if int(size, 16) == 0:
            # The trailer section, empty or not, ends with an empty line.
            return data.startswith(b"\r\n", line_end + 2) or data.find(b"\r\n\r\n", line_end) >= 0
        position = line_end + 2 + int(size, 16) + 2
        if position > len(data):
            return False


def glibc():
    """The C library's malloc controls, or None where they are not glibc's (musl, macOS)."""
    libc = ctypes.CDLL(None)
    if not (hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")):
        return None
    return libc


def warm_django() -> None:
    """Import every URL pattern and view of the Django app served, if it is one, so they are
    frozen with the rest of startup instead of loaded by the first requests."""
    apps = sys.modules.get("django.apps")
    if apps is not None and apps.apps.ready:
        from django.conf import settings

        # The URL conf includes every app's, which import their views.
        import_module(settings.ROOT_URLCONF)


def resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE_SIZE


class BufferingThreadWorker(ThreadWorker):
    def init_process(self):
        self.libc = glibc()
        if self.libc is not None and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            self.libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        self.trimmed_at = resident_bytes() if self.libc is not None else 0
        self.small_requests = 0
        self.heartbeat_at = 0.0
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        warm_django()
        gc.freeze()

    def handle_quit(self, sig, frame):
        """SIGQUIT and SIGINT (gunicorn's stop, Ctrl-C): exit now, without gthread's first step.

        gthread first shuts its thread pool down, which takes the pool's lock. The signal runs
        on the main thread, which also takes that lock in `tpool.submit` while it starts a
        thread; landing there, the handler waited for its own thread, and the worker served
        on until gunicorn killed it 30 s later (1 stop in 8-15 right after startup, when every
        request starts a thread; CPython issue 121649). Exiting is enough: at interpreter exit
        the pool is shut down and requests in flight end first.
        """
        Worker.handle_quit(self, sig, frame)

    def notify(self):
        now = time.monotonic()
        if now - self.heartbeat_at >= HEARTBEAT_SECONDS:
            self.heartbeat_at = now
            super().notify()

    def handle(self, conn):
        keepalive = self.handle_buffered(conn)
        if keepalive is not _DEFER:
            self.give_back_memory(after_large_request=getattr(conn, "large", True))
        return keepalive

    def give_back_memory(self, *, after_large_request: bool) -> None:
        """malloc_trim once a request has left the process TRIM_AFTER_GROWTH larger (a large
        one) or TRIM_AFTER_CHURN larger (any, looked at once in SMALL_REQUESTS_PER_CHECK)."""
        if self.libc is None:
            return
        if not after_large_request:
            self.small_requests += 1
            if self.small_requests < SMALL_REQUESTS_PER_CHECK:
                return
        self.small_requests = 0
        growth = TRIM_AFTER_GROWTH if after_large_request else TRIM_AFTER_CHURN
        if resident_bytes() - self.trimmed_at < growth:
            return
        self.libc.malloc_trim(0)
        self.trimmed_at = resident_bytes()

    def handle_buffered(self, conn):
        if self.cfg.is_ssl or negotiation.prior_knowledge_allowed(self.cfg, conn.client):
            return super().handle(conn)  # bytes we may not read before gunicorn does
        if getattr(conn, "arrived", None) is None:
            conn.arrived = bytearray()
            conn.arriving_since = None
        if conn.parser is not None:
            conn.arrived += conn.parser.unreader.take_buffered()
        closed = self.gather(conn)
        if not conn.arrived:
            return False if closed else _DEFER
        if conn.arriving_since is None:
            conn.arriving_since = time.monotonic()
        if not closed and len(conn.arrived) < BUFFER_BYTES and not request_complete(conn.arrived):
            if time.monotonic() - conn.arriving_since > REQUEST_TIMEOUT:
                self.refuse_late(conn)
                return False
            return _DEFER
        arrived, conn.arrived = bytes(conn.arrived), None
        # The rest of a body this large is read by the request's thread.
        conn.large = len(arrived) >= BUFFER_BYTES
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(arrived)
        conn.data_ready = True
        return super().handle(conn)

    def gather(self, conn) -> bool:
        """Add what the socket holds now to `conn.arrived`; True once the peer has closed."""
        conn.sock.setblocking(False)
        while len(conn.arrived) < BUFFER_BYTES:
            try:
                data = conn.sock.recv(64 * 1024)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return True
            if not data:
                return True
            conn.arrived += data
        return False

    def refuse_late(self, conn) -> None:
        message = b"The request did not arrive within %d seconds.\n" % REQUEST_TIMEOUT
        self.log.info("408: %s took over %d s to send its request", conn.client, REQUEST_TIMEOUT)
        try:
            conn.sock.send(_TIMEOUT_ANSWER % (len(message), message))
            # No lingering to drain the rest: the closing happens on gunicorn's main thread.
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
