"""The one outbound HTTP chokepoint: every request the product makes to the outside goes through `send`.

What it guarantees:
- a shared `requests` session per process (connection reuse) and a mandatory `timeout` that
  bounds the whole exchange in wall time (name lookup, connect, send, headers, body), not each
  read: see `connectors.deadlines`; redirects never followed (a 3xx comes back as a `Response`;
  `classify` calls it a failure); response bodies read with a size cap;
- the SSRF guard: unless `settings.ALLOW_PRIVATE_DESTINATIONS`, loopback, private, link-local,
  shared (CGNAT), multicast, reserved addresses and the cloud metadata endpoints are refused, on
  the address actually connected to (so DNS rebinding cannot slip past a check made earlier);
- one typed error, `TransportError`, for everything that goes wrong; HTTP statuses are not
  errors here, `classify` / `raise_for_status` turn them into one when the caller wants.

Nothing else in the project imports `requests`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from connectors import deadlines, jsontext
from connectors.secrets import MASK

logger = logging.getLogger("connectors.http")

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# An excerpt is redacted with this much more of the body than it shows, so that a secret
# across the cut is masked whole rather than shown in part.
REDACTION_MARGIN = 8192
USER_AGENT = "SuperConnector/1.0"

# Masked in logs and displays even when the user did not flag them as secret.
ALWAYS_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"}
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 9110 section 5: a field name is a token; a field value is visible ASCII, obs-text
# (0x80-0xFF), spaces and tabs. NUL, CR, LF and the other controls are refused: some servers
# and proxies split headers on them (request smuggling, header injection).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_NOT_IN_FIELD_VALUE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")


class TransportError(Exception):
    """Anything that went wrong with an outbound request; `retryable` tells the caller what to do."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.response = response

    def redact(self, redact: Callable[[str], str]) -> None:
        """Pass the message (and the response's excerpt) through a connector's redaction."""
        self.message = redact(self.message)
        self.args = (self.message,)
        if self.response is not None:
            self.response.redact = redact
        # The cause is the library's exception, whose text holds the URL, query string included.
        self.__cause__ = None
        self.__suppress_context__ = True


class DeadlineExceeded(TransportError):
    """The exchange did not end within its timeout (however slowly the peer was answering)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class InvalidDestination(TransportError, ValueError):
    """The URL itself is unusable (scheme, host, port): retrying will not help."""

    reason = ""


class UnsafeDestination(TransportError):
    """Refused by the SSRF guard."""


class UnresolvableHost(TransportError):
    """The host name does not resolve (now): a typo, or a name that will exist later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


# --- The SSRF guard -----------------------------------------------------------------------------

# Names of cloud metadata services, refused before any lookup (they resolve to link-local
# addresses on the cloud, but to anything at all elsewhere).
METADATA_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, Oracle, OpenStack
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why the guard refuses this address ("a private address"), or None when it is public."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal_reason(embedded)
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address in _SHARED_ADDRESS_SPACE:
        return "a shared (CGNAT) address"
    if address.is_multicast:
        return "a multicast address"
    if address == _BROADCAST:
        return "the broadcast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:
        return "a non-public address"
    return None


def _refuse(what: str) -> UnsafeDestination:
    return UnsafeDestination(f"{what}; set ALLOW_PRIVATE_DESTINATIONS to allow it")


def resolve(
    host: str, port: int, *, refuse_private: bool, within: float | None = None
) -> list[str]:
    """Resolve `host` once and return its addresses, refusing them all if any one is not public.

    Every address is checked, not just the first: the connection may fall back to any of them.
    `within` bounds the lookup in seconds (DeadlineExceeded after it).
    """
    name = host.strip("[]").rstrip(".").lower()
    if refuse_private and name in METADATA_HOSTNAMES:
        raise _refuse(f"{host} is a cloud metadata host name")
    try:
        infos = _getaddrinfo(name, port, within)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} does not resolve ({exc})") from exc
    except TimeoutError:
        raise DeadlineExceeded(f"timed out: {host} did not resolve within {within:g} s") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if refuse_private:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 zone
            reason = refusal_reason(address)
            if reason is None:
                continue
            if text == name:
                raise _refuse(f"{host.strip('[]')} is {reason}")
            raise _refuse(f"{host} resolves to {address}, {reason}")
    return addresses


def _getaddrinfo(name: str, port: int, within: float | None) -> list:
    def lookup() -> list:
        return socket.getaddrinfo(name, port, socket.AF_UNSPEC, socket.SOCK_STREAM)

    try:
        ipaddress.ip_address(name.split("%", 1)[0])
        literal = True
    except ValueError:
        literal = False
    if within is None or literal:
        return lookup()
    # getaddrinfo has no timeout of its own (the resolver's can add up to many seconds): it runs
    # in a thread that is left behind, to end on its own, when it takes too long.
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["infos"] = lookup()
        except (OSError, UnicodeError) as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="http-resolve", daemon=True)
    thread.start()
    thread.join(max(within, 0.001))
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


# Why the guard lives in the connection's `_new_conn`: that is the single place where urllib3
# turns a host name into a socket, for the first request and for every reconnect of a pooled
# connection. Resolving, checking and connecting there, to exactly the addresses just checked,
# leaves no second lookup for DNS rebinding to exploit. TLS is wrapped afterwards by
# `HTTPSConnection.connect()` with `self.host`, so SNI and certificate verification still use the
# original host name, and the Host header, pool keys and `Response.url` are untouched. The
# alternative (rewriting the URL to the IP and restoring Host / server_hostname / assert_hostname)
# touches all of those and is easy to get subtly wrong.
class _PinnedConnectionMixin:
    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        exchange = deadlines.current()
        addresses = resolve(
            self.host,
            self.port,
            refuse_private=not settings.ALLOW_PRIVATE_DESTINATIONS,
            within=exchange.remaining() if exchange else None,
        )
        error: OSError | None = None
        for address in addresses:
            timeout = exchange.bound(self.timeout) if exchange else self.timeout
            try:
                sock = create_connection(
                    (address, self.port),
                    timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                error = exc
                continue
            if exchange:
                exchange.attach(sock)  # before TLS: the handshake is cut at the deadline too
            return sock
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error

    # A connection from the pool is attached to the exchange here; a new one in `_new_conn`.
    def request(self, *args: Any, **kwargs: Any) -> None:
        exchange = deadlines.current()
        if exchange:
            if self.sock is not None:
                exchange.attach(self.sock)
            self.timeout = exchange.bound(self.timeout)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        exchange = deadlines.current()
        if exchange:
            self.timeout = exchange.bound(self.timeout)
        return super().getresponse()  # type: ignore[misc]


class PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # A new dict: urllib3's default one is a module global shared by every PoolManager.
        self.poolmanager.pool_classes_by_scheme = {
            "http": PinnedHTTPConnectionPool,
            "https": PinnedHTTPSConnectionPool,
        }


def _new_session() -> requests.Session:
    session = requests.Session()
    # No environment proxies (a proxy would be the address connected to, defeating the guard) and
    # no ~/.netrc credentials added to customers' URLs.
    session.trust_env = False
    # One session serves every connector: a cookie set by one customer's API must not be sent
    # on another's request to the same host.
    session.cookies = RequestsCookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = USER_AGENT
    adapter = PinnedAdapter(pool_connections=50, pool_maxsize=20, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# One session per guard setting, so that a pooled connection opened while private destinations
# were allowed is never reused once they are not (the check runs when a connection is opened).
_sessions: dict[bool, requests.Session] = {}
_sessions_lock = threading.Lock()


def _session(allow_private: bool) -> requests.Session:
    with _sessions_lock:
        if allow_private not in _sessions:
            _sessions[allow_private] = _new_session()
        return _sessions[allow_private]


def _forget_sessions_after_fork() -> None:
    # Workers are forked; sharing the parent's pooled sockets would interleave two processes'
    # requests on one connection.
    global _sessions_lock
    _sessions.clear()
    _sessions_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_sessions_after_fork)


# --- Destinations -------------------------------------------------------------------------------


def destination(url: str) -> tuple[str, int]:
    """The (host, port) a URL points to; InvalidDestination unless it is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise _invalid(url, f"not a valid URL: {exc}", " is ") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _invalid(url, "the URL must start with http:// or https://")
    if not host:
        raise _invalid(url, "the URL has no host")
    if port == 0:
        raise _invalid(url, "the port must be a number from 1 to 65535")
    return host, port or (443 if scheme == "https" else 80)


def _invalid(url: str, reason: str, joiner: str = ": ") -> InvalidDestination:
    error = InvalidDestination(f"{url!r}{joiner}{reason}")
    error.reason = reason  # without the URL, which may carry credentials
    return error


def check_destination(url: str) -> None:
    """Check a URL when a connector is saved: InvalidDestination, UnsafeDestination or UnresolvableHost.

    UnresolvableHost may be accepted with a warning: the name may exist by the time it is called.
    """
    host, port = destination(url)
    if settings.ALLOW_PRIVATE_DESTINATIONS:
        return  # every address is allowed: no need to look the name up
    resolve(host, port, refuse_private=True)


def header_problem(name: str, value: str) -> str | None:
    """Why a header cannot be sent (naming it, never showing its value, which may be secret)."""
    if not HEADER_NAME.fullmatch(name):
        return f"{name!r} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
    bad = _NOT_IN_FIELD_VALUE.search(value)
    if bad:
        kind = "control character" if bad.group() < "\x80" else "character"
        return (
            f"the header {name} contains a {kind} (U+{ord(bad.group()):04X}) that HTTP does not "
            "allow in a header value"
        )
    return None


def mask_headers(headers: Mapping[str, str], secret_names: set[str]) -> dict[str, str]:
    """A copy fit for display and logs: flagged headers and credentials-bearing ones masked."""
    hidden = ALWAYS_SECRET_HEADERS | {name.lower() for name in secret_names}
    return {name: MASK if name.lower() in hidden else value for name, value in headers.items()}


# --- Responses ----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float
    url: str  # the URL requested, query parameters included
    # The redaction of the connector that sent the request, applied to what people are shown.
    redact: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    truncated: bool = False  # the body is only its first `max_bytes` (see `send`)

    def __post_init__(self) -> None:
        self.headers = CaseInsensitiveDict(self.headers)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def excerpt(self, limit: int = 4096) -> str:
        """The body as text for people (attempt logs, error messages), cut at `limit` bytes."""
        if self.redact is None:
            text = self.body[:limit].decode("utf-8", errors="replace")
        else:
            window = self.body[: limit + REDACTION_MARGIN].decode("utf-8", errors="replace")
            text = self.redact(window)[:limit]
        if self.truncated:
            text += f"… [truncated, more than {len(self.body)} bytes in all]"
        elif len(self.body) > limit:
            text += f"… [truncated, {len(self.body)} bytes in all]"
        # PostgreSQL's text and jsonb hold no NUL: a peer's garbage must not fail the write
        # of the very record (an attempt, a run's detail) that reports it.
        return text.replace("\x00", "\ufffd")

    def json(self) -> Any:
        """The body parsed as JSON; raises jsontext.JSONDecodeError (a ValueError) when it is not."""
        return jsontext.loads(self.body)

    def retry_after_seconds(self, cap: float = 3600.0) -> float | None:
        """`Retry-After` (delta-seconds or an HTTP-date) in seconds, at most `cap`; None if absent."""
        value = self.headers.get("Retry-After", "").strip()
        if not value:
            return None
        if value.isascii() and value.isdigit():
            seconds = float(value)
        else:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - time.time()
        return min(max(seconds, 0.0), cap)


def classify(response: Response) -> Literal["ok", "retry", "fail"]:
    """2xx ok; 408, 429 and 5xx worth retrying; anything else (3xx included) a failure."""
    if response.ok:
        return "ok"
    if response.status in (408, 429) or 500 <= response.status < 600:
        return "retry"
    return "fail"


def raise_for_status(response: Response) -> None:
    verdict = classify(response)
    if verdict == "ok":
        return
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "unknown status"
    message = f"HTTP {response.status} {reason}"
    if 300 <= response.status < 400:
        location = response.headers.get("Location", "")
        message += f" to {location} (redirects are not followed)" if location else ""
    raise TransportError(
        message,
        retryable=verdict == "retry",
        status=response.status,
        retry_after=response.retry_after_seconds(),
        response=response,
    )


# --- Sending ------------------------------------------------------------------------------------


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    params: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    truncate: bool = False,
) -> Response:
    """Send one request and return the response, whatever its status; TransportError otherwise.

    `timeout` bounds the whole exchange in wall time, however slowly the peer answers (inside
    `budget`, the exchange also ends with the budget). A body longer than `max_bytes` is an
    error, or with `truncate` cut there (`Response.truncated`) when only its start matters.
    """
    host, _ = destination(url)
    for name, value in (headers or {}).items():
        problem = header_problem(name, value)
        if problem:
            raise TransportError(f"request not sent: {problem}")
    method = method.upper()
    started = time.monotonic()
    outcome = "error"
    try:
        with deadlines.Exchange(timeout) as exchange:
            response = _send(method, url, headers, body, params, exchange, max_bytes, truncate)
        outcome = str(response.status)
        response.elapsed_ms = (time.monotonic() - started) * 1000
        return response
    finally:
        # Host only: paths and query strings may carry credentials.
        logger.debug(
            "method=%s host=%s status=%s ms=%.1f",
            method,
            host,
            outcome,
            (time.monotonic() - started) * 1000,
        )


budget = deadlines.budget


def _too_late(exchange: deadlines.Exchange) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"timed out: the destination took longer than {exchange.seconds:g} s to answer"
    )


def _send(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    params: Mapping[str, Any] | None,
    exchange: deadlines.Exchange,
    max_bytes: int,
    truncate: bool,
) -> Response:
    if exchange.expired():
        raise _too_late(exchange)  # the budget was spent before this exchange began
    session = _session(settings.ALLOW_PRIVATE_DESTINATIONS)
    try:
        raw = session.request(
            method,
            url,
            headers=dict(headers or {}),
            data=body,
            params=dict(params or {}),
            timeout=(exchange.bound(None), exchange.bound(None)),
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        if isinstance(exc, requests.Timeout) or exchange.expired():
            raise _too_late(exchange) from exc
        if isinstance(exc, requests.ConnectionError):
            raise TransportError(f"connection failed: {exc}", retryable=True) from exc
        raise TransportError(f"request not sent: {exc}") from exc
    except ValueError as exc:
        raise TransportError(f"request not sent: {exc}") from exc
    with raw:
        content, truncated = _read_body(raw, exchange, max_bytes, truncate)
        return Response(
            status=raw.status_code,
            headers=dict(raw.headers),
            body=content,
            elapsed_ms=0.0,
            url=raw.url,
            truncated=truncated,
        )


def _read_body(
    raw: requests.Response, exchange: deadlines.Exchange, max_bytes: int, truncate: bool
) -> tuple[bytes, bool]:
    """The body, and whether it was cut at `max_bytes`. The watchdog cuts a peer still sending
    at the deadline; the check after each chunk catches one that ends just past it."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in raw.iter_content(chunk_size=64 * 1024):
            if exchange.expired():
                raise _too_late(exchange)
            if size + len(chunk) > max_bytes:
                if truncate:
                    chunks.append(chunk[: max_bytes - size])
                    return b"".join(chunks), True
                raise TransportError(f"response body larger than {max_bytes} bytes")
            size += len(chunk)
            chunks.append(chunk)
    except requests.RequestException as exc:
        if exchange.expired():
            raise _too_late(exchange) from exc
        raise TransportError(f"response body not read: {exc}", retryable=True) from exc
    if exchange.cut:
        raise _too_late(exchange)  # cut mid-body: what was read is not the whole body
    return b"".join(chunks), False
