"""The gunicorn worker hands memory that glibc keeps after a large request back to the system."""

from __future__ import annotations

import gc

from osmosproject.gunicorn_worker import (
    SMALL_REQUESTS_PER_CHECK,
    BufferingThreadWorker,
    glibc,
    resident_bytes,
)

MIB = 1024 * 1024


def worker_at(rss: int) -> BufferingThreadWorker:
    worker = BufferingThreadWorker.__new__(BufferingThreadWorker)
    worker.libc = glibc()
    worker.trimmed_at = rss
    worker.small_requests = 0
    return worker


def fragment_the_heap(mib: int = 40) -> list[bytes]:
    """Free `mib` MiB of 1 KiB blocks (what a parsed body becomes) among blocks that stay: the
    heap cannot shrink past the kept ones, so glibc keeps the freed pages resident."""
    kept, freed = [], []
    for n in range(mib * 125):
        freed += [bytes([n % 251]) * 1024 for _ in range(8)]
        kept.append(bytes([n % 251]) * 1000)
    for block in freed:
        block[0]  # touch it: resident
    del freed
    return kept


def test_it_trims_once_a_request_has_grown_the_process():
    worker = worker_at(resident_bytes())
    kept = fragment_the_heap()
    before = resident_bytes()

    worker.give_back_memory(after_large_request=True)

    assert before - resident_bytes() > 20 * MIB
    # Where it trimmed to (a page or two may fault in meanwhile: other threads of the test run).
    assert abs(worker.trimmed_at - resident_bytes()) < MIB
    assert kept


def test_it_leaves_a_process_that_has_not_grown_alone():
    kept = fragment_the_heap()
    worker = worker_at(resident_bytes())
    before = resident_bytes()

    worker.give_back_memory(after_large_request=True)

    assert before - resident_bytes() < 4 * MIB
    assert kept


def test_it_leaves_the_churn_of_small_requests_alone():
    # One-record requests on a few threads grow and shrink the heap by several MiB; trimming
    # that cost 2-6 ms every few dozen requests, on the connection waiting for the thread.
    glibc().malloc_trim(0)  # what earlier tests freed would hide the growth
    worker = worker_at(resident_bytes())
    worker.small_requests = SMALL_REQUESTS_PER_CHECK - 1  # this one looks
    kept = fragment_the_heap(mib=24)
    before = resident_bytes()

    worker.give_back_memory(after_large_request=False)

    assert before - resident_bytes() < 4 * MIB
    assert kept


def test_small_requests_look_at_the_growth_once_in_a_hundred():
    # Reading /proc/self/statm after every one-record request was 3.5% of a worker's time.
    glibc().malloc_trim(0)  # what earlier tests freed would hide the growth
    worker = worker_at(resident_bytes())
    kept = fragment_the_heap(mib=48)  # beyond what small requests' churn may leave
    before = resident_bytes()

    for _ in range(SMALL_REQUESTS_PER_CHECK - 1):
        worker.give_back_memory(after_large_request=False)
    assert before - resident_bytes() < 4 * MIB

    worker.give_back_memory(after_large_request=False)
    assert before - resident_bytes() > 20 * MIB
    assert kept


def test_the_worker_freezes_what_startup_built():
    # Full collections walked every startup object (30-90 ms, a pause for every request).
    from types import SimpleNamespace

    from osmosproject.wsgi import application

    worker = BufferingThreadWorker.__new__(BufferingThreadWorker)
    worker.app = SimpleNamespace(wsgi=lambda: application)
    gc.unfreeze()
    try:
        worker.load_wsgi()
        assert worker.wsgi is application
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
