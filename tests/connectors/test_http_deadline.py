"""`timeout` bounds the whole exchange in wall time, whatever the peer does; hostile peers are
raw socket servers on 127.0.0.1 (tests/hostile_peers.py)."""

from __future__ import annotations

import time

import pytest

from connectors import http
from tests.hostile_peers import (
    Peer,
    answer,
    drip,
    drip_headers,
    headers_then_stall,
    silent,
)

# What the deadline may overrun by: closing the socket, a busy CI machine.
MARGIN = 1.0


@pytest.fixture(autouse=True)
def allow_private(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def timed_send(url: str, timeout: float, **kwargs) -> tuple[http.TransportError, float]:
    started = time.monotonic()
    with pytest.raises(http.TransportError) as caught:
        http.send("POST", url, body=b"{}", timeout=timeout, **kwargs)
    return caught.value, time.monotonic() - started


def test_it_ends_a_body_dripped_one_byte_per_second_at_the_deadline():
    with Peer(drip(body_length=1000, every=0.2)) as peer:
        error, took = timed_send(peer.url(), timeout=2)

    assert took < 2 + MARGIN
    assert error.message == "timed out: the destination took longer than 2 s to answer"
    assert error.retryable is True


def test_it_ends_headers_dripped_one_byte_at_a_time_at_the_deadline():
    with Peer(drip_headers(every=0.2)) as peer:
        error, took = timed_send(peer.url(), timeout=1.5)

    assert took < 1.5 + MARGIN
    assert "took longer than 1.5 s" in error.message
    assert error.retryable is True


def test_it_ends_an_exchange_with_a_peer_that_never_answers():
    with Peer(silent) as peer:
        error, took = timed_send(peer.url(), timeout=1)

    assert took < 1 + MARGIN
    assert "took longer than 1 s" in error.message
    assert error.retryable is True


def test_it_ends_an_exchange_whose_body_never_comes():
    with Peer(headers_then_stall) as peer:
        error, took = timed_send(peer.url(), timeout=1)

    assert took < 1 + MARGIN
    assert "took longer than 1 s" in error.message
    assert error.retryable is True


def test_it_counts_the_time_before_the_body_against_the_same_deadline():
    # Headers after 0.8 s, then a byte every 0.3 s: each read is quick, the whole is not.
    def late_then_drip(peer, client, head):
        peer.pause(0.8)
        drip(body_length=20, every=0.3)(peer, client, head)

    with Peer(late_then_drip) as peer:
        error, took = timed_send(peer.url(), timeout=1.5)

    assert took < 1.5 + MARGIN
    assert "took longer than 1.5 s" in error.message


def test_it_keeps_the_connection_pool_usable_after_a_deadline():
    with Peer(headers_then_stall) as stalling:
        timed_send(stalling.url(), timeout=0.5)
    with Peer(answer(200, b"fine")) as healthy:
        assert http.send("GET", healthy.url(), timeout=2).body == b"fine"


def test_it_returns_garbage_as_it_came():
    with Peer(answer(200, b"\x00\xffnot json{")) as peer:
        response = http.send("GET", peer.url(), timeout=2)

    assert response.status == 200
    with pytest.raises(ValueError):
        response.json()


def test_it_does_not_follow_a_redirect_to_a_slow_peer():
    with Peer(silent) as trap:
        redirect = answer(302, b"", f"Location: {trap.url('/trap')}\r\n")
        with Peer(redirect) as peer:
            response = http.send("GET", peer.url(), timeout=1)

    assert response.status == 302
    assert trap.exchanges == []


def test_it_keeps_only_the_first_bytes_of_a_body_when_asked():
    with Peer(answer(200, b"x" * 100_000)) as peer:
        response = http.send("GET", peer.url(), timeout=2, max_bytes=1000, truncate=True)

    assert response.body == b"x" * 1000
    assert response.truncated is True
