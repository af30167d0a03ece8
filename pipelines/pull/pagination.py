"""The pages of an HTTP source: the request of each, and how the next one is found.

One small class per pagination type of the contract, in `PAGINATORS`; `RepeatGuard` stops a
read whose pagination does not move forward. Nothing here sends a request: `pulling.py`
does, page after page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin, urlsplit

import orjson

from connectors import http, jsontext
from connectors.kinds import clean_pagination
from connectors.schema import get_path

EXCERPT_BYTES = 4096


class PullError(Exception):
    """A read that cannot go on; carries the request and response people need to see why."""

    def __init__(
        self, message: str, *, request: PageRequest | None = None, response=None, page=0, attempts=0
    ):
        super().__init__(message)
        self.message = message
        self.request = request
        self.response = response
        self.page = page
        self.attempts = attempts

    def detail(self, secret_headers: set[str]) -> dict:
        detail: dict[str, Any] = {"page": self.page, "attempts": self.attempts}
        if self.request is not None:
            detail["request"] = self.request.describe(secret_headers)
        if self.response is not None:
            detail["response"] = describe_response(self.response)
        return detail


class MaxPagesReached(PullError):
    """The source still had pages after `max_pages`: a guard against paging forever."""


@dataclass
class PageRequest:
    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes | None

    def full_url(self) -> str:
        if not self.params:
            return self.url
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode(self.params)}"

    def identity(self) -> bytes:
        """A digest of what makes the request: the repeat guard keeps one per page read, and a
        source's cursor or next URL may be long (kept whole, a cursor of 1 MB held some 8 MB per
        page read, 1,000 pages allowed)."""
        described = orjson.dumps([self.method, self.url, sorted(self.params.items())])
        return hashlib.blake2b(described + (self.body or b""), digest_size=16).digest()

    def with_params(self, **params: Any) -> PageRequest:
        return PageRequest(
            self.method, self.url, {**self.params, **params}, self.headers, self.body
        )

    def describe(self, secret_headers: set[str]) -> dict:
        """For people (run details, test read): secret headers masked; auth is added later, unseen."""
        body = (self.body or b"")[:EXCERPT_BYTES].decode("utf-8", errors="replace")
        return {
            "method": self.method,
            "url": self.full_url(),
            "headers": http.mask_headers(self.headers, secret_headers),
            "body": body,
        }


def describe_response(response: http.Response) -> dict:
    return {
        "status": response.status,
        "headers": http.mask_headers(response.headers, set()),
        "excerpt": response.excerpt(EXCERPT_BYTES),
        "elapsed_ms": round(response.elapsed_ms, 1),
    }


@dataclass
class Page:
    number: int  # from 1
    request: PageRequest
    response: http.Response
    records: list[Any]
    document: Any  # the parsed JSON when the paginator reads from it, else None


# --- One small class per pagination type ----------------------------------------------------


class Paginator:
    type: ClassVar[str]
    # True when the next page is found in the JSON document (cursor, next URL).
    needs_document: ClassVar[bool] = False

    def __init__(self, config: dict):
        self.config = config

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, page: Page) -> PageRequest | None:
        """The request of the page after `page` (not empty), or None when it was the last."""
        return None


class NoPagination(Paginator):
    type = "none"


class PageNumberPagination(Paginator):
    type = "page"

    def first(self, request: PageRequest) -> PageRequest:
        size = (
            {self.config["size_param"]: self.config["size"]}
            if self.config.get("size_param")
            else {}
        )
        return request.with_params(**{self.config["param"]: self.config["start"]}, **size)

    def next(self, page: Page) -> PageRequest | None:
        if len(page.records) < self.config["size"]:
            return None
        return page.request.with_params(
            **{self.config["param"]: self.config["start"] + page.number}
        )


class OffsetPagination(Paginator):
    type = "offset"

    def first(self, request: PageRequest) -> PageRequest:
        limit = (
            {self.config["limit_param"]: self.config["limit"]}
            if self.config.get("limit_param")
            else {}
        )
        return request.with_params(**{self.config["param"]: 0}, **limit)

    def next(self, page: Page) -> PageRequest | None:
        if len(page.records) < self.config["limit"]:
            return None
        offset = int(page.request.params[self.config["param"]]) + len(page.records)
        return page.request.with_params(**{self.config["param"]: offset})


class CursorPagination(Paginator):
    type = "cursor"
    needs_document = True

    def next(self, page: Page) -> PageRequest | None:
        cursor = get_path(page.document, self.config["cursor_path"])
        if cursor is None or cursor == "":
            return None
        return page.request.with_params(**{self.config["param"]: _text(cursor)})


class NextUrlPagination(Paginator):
    type = "next_url"
    needs_document = True

    def next(self, page: Page) -> PageRequest | None:
        return follow(page, get_path(page.document, self.config["next_url_path"]))


# RFC 8288: `<url>; rel="next"; title="x", <url2>; rel="last"`; rel may hold several types.
# A URL holds no `<` (RFC 3986): with `[^>]*` a header of 60,000 `<` and no `>` took 69 s of
# CPU, every `<` scanning to the end (and a response may carry 100 Link headers of 64 KB).
LINK = re.compile(r'<([^<>]*)>((?:\s*;\s*[^;,=\s]+(?:\s*=\s*(?:"[^"]*"|[^;,\s]*))?)*)')
LINK_PARAM = re.compile(r';\s*([^;,=\s]+)(?:\s*=\s*(?:"([^"]*)"|([^;,\s]*)))?')


def next_link(header: str) -> str | None:
    for link in LINK.finditer(header or ""):
        for param in LINK_PARAM.finditer(link.group(2)):
            rel = param.group(2) if param.group(2) is not None else param.group(3) or ""
            if param.group(1).lower() == "rel" and "next" in rel.lower().split():
                return link.group(1)
    return None


class LinkHeaderPagination(Paginator):
    type = "link_header"

    def next(self, page: Page) -> PageRequest | None:
        return follow(page, next_link(page.response.headers.get("Link", "")))


def follow(page: Page, url: Any) -> PageRequest | None:
    """The request for a next-page URL given by the API, relative ones resolved against the page's."""
    if url is None or url == "":
        return None
    try:
        target = urljoin(page.request.full_url(), _text(url))
        here, there = urlsplit(page.request.url), urlsplit(target)
    except ValueError as exc:
        raise PullError(
            f"Page {page.number} points to a next page that is not a URL ({exc}).",
            request=page.request,
            response=page.response,
            page=page.number,
        ) from None
    # Credentials go with every request: an API must not send them to another host.
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise PullError(
            f"Page {page.number} points to the next page on another host ({there.scheme}://{there.netloc}); "
            "for safety the source's credentials are only sent to its own host.",
            request=page.request,
            response=page.response,
            page=page.number,
        )
    request = page.request
    return PageRequest(request.method, target, {}, request.headers, request.body)


PAGINATORS: dict[str, type[Paginator]] = {
    cls.type: cls
    for cls in (
        NoPagination,
        PageNumberPagination,
        OffsetPagination,
        CursorPagination,
        NextUrlPagination,
        LinkHeaderPagination,
    )
}


def paginator_for(config: dict | None) -> Paginator:
    cleaned = clean_pagination(config)
    return PAGINATORS[cleaned["type"]](cleaned)


class RepeatGuard:
    """Refuses a page that repeats an earlier one: the same request, or the same content.

    An API that ignores the paging parameter would otherwise be read until `max_pages`.
    """

    def __init__(self) -> None:
        self.requests: set[bytes] = set()
        self.contents: set[bytes] = set()

    def check_request(self, request: PageRequest, number: int) -> None:
        identity = request.identity()
        if identity in self.requests:
            raise PullError(
                f"Page {number} repeats the request of an earlier page ({request.full_url()}): "
                "the pagination is not moving forward.",
                request=request,
                page=number,
            )
        self.requests.add(identity)

    def check_content(self, request: PageRequest, response: http.Response, number: int) -> None:
        digest = hashlib.blake2b(response.body, digest_size=16).digest()
        if digest in self.contents:
            raise PullError(
                f"Page {number} has the same content as an earlier page: the API seems to ignore "
                f"the paging parameters ({request.full_url()}).",
                request=request,
                response=response,
                page=number,
            )
        self.contents.add(digest)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else jsontext.dumps(value)
