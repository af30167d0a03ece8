"""The gunicorn worker hands memory that glibc keeps after a large request back to the system."""

from __future__ import annotations

from osmosproject.gunicorn_worker import BufferingThreadWorker, glibc, resident_bytes

MIB = 1024 * 1024


def worker_at(rss: int) -> BufferingThreadWorker:
    worker = BufferingThreadWorker.__new__(BufferingThreadWorker)
    worker.libc = glibc()
    worker.trimmed_at = rss
    return worker


def fragment_the_heap() -> list[bytes]:
    """Free 40 MiB of 1 KiB blocks (what a parsed body becomes) among blocks that stay: the
    heap cannot shrink past the kept ones, so glibc keeps the freed pages resident."""
    kept, freed = [], []
    for n in range(5000):
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

    worker.give_back_memory()

    assert before - resident_bytes() > 20 * MIB
    assert worker.trimmed_at == resident_bytes()
    assert kept


def test_it_leaves_a_process_that_has_not_grown_alone():
    kept = fragment_the_heap()
    worker = worker_at(resident_bytes())
    before = resident_bytes()

    worker.give_back_memory()

    assert before - resident_bytes() < 4 * MIB
    assert kept
