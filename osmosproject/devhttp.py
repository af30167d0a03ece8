"""Django's development server, reading `Transfer-Encoding: chunked` request bodies.

`manage.py runserver` (and so `make run`) hands the application a stream limited to
Content-Length, which a chunked body does not have: ingest would see an empty body where
gunicorn passes the de-chunked bytes. This server de-chunks (RFC 9112 section 7.1) and
marks `wsgi.input_terminated`, as gunicorn does.
"""

from __future__ import annotations

import io
import re
from wsgiref import simple_server

from django.core.exceptions import BadRequest
from django.core.servers import basehttp

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_MAX_LINE = 8190


class ChunkedBody(io.RawIOBase):
    """The de-chunked bytes of a chunked body; the trailer section is read and dropped."""

    def __init__(self, rfile) -> None:
        self.rfile = rfile
        self.left = 0
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.done or len(buffer) == 0:
            return 0
        if self.left == 0:
            self.left = self._chunk_size()
            if self.left == 0:
                self._skip_trailers()
                self.done = True
                return 0
        data = self.rfile.read(min(len(buffer), self.left))
        if not data:
            raise BadRequest("The chunked request body ended before its last chunk.")
        buffer[: len(data)] = data
        self.left -= len(data)
        if self.left == 0 and self._line() != b"":
            raise BadRequest("A chunk of the request body is longer than its size says.")
        return len(data)

    def _line(self) -> bytes:
        line = self.rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE or not line.endswith(b"\n"):
            raise BadRequest("The chunked request body has an unterminated line.")
        return line.rstrip(b"\r\n")

    def _chunk_size(self) -> int:
        size = self._line().split(b";", 1)[0].strip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size):
            raise BadRequest("The chunked request body has an invalid chunk size.")
        return int(size, 16)

    def _skip_trailers(self) -> None:
        while self._line():
            pass


def is_chunked(environ: dict) -> bool:
    codings = environ.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return codings[-1].strip() == "chunked"


class ServerHandler(basehttp.ServerHandler):
    def __init__(self, stdin, stdout, stderr, environ, **kwargs):
        if not is_chunked(environ):
            super().__init__(stdin, stdout, stderr, environ, **kwargs)
            return
        # Django's handler would wrap stdin in a stream limited to Content-Length (none: 0).
        environ["wsgi.input_terminated"] = True
        body = io.BufferedReader(ChunkedBody(stdin))
        simple_server.ServerHandler.__init__(self, body, stdout, stderr, environ, **kwargs)

    def close(self):
        try:
            super().close()  # reads what the application left of the body
        except BadRequest:
            # Where the next request starts is unknown: no keep-alive.
            self.request_handler.close_connection = True
            simple_server.ServerHandler.close(self)


class WSGIRequestHandler(basehttp.WSGIRequestHandler):
    def handle_one_request(self):
        """Django's, with the de-chunking ServerHandler."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        handler.run(self.server.get_app())


class WSGIServer(basehttp.WSGIServer):
    def __init__(self, server_address, handler_class=None, *args, **kwargs):
        super().__init__(server_address, WSGIRequestHandler, *args, **kwargs)
