"""The throttle's state file: one due time per key, shared by processes, exact under contention."""

from __future__ import annotations

import multiprocessing

import pytest

from connectors import rate_slots
from connectors.rate_slots import SharedSlots

NOW = 1_000_000.0


def test_it_passes_a_burst_then_says_how_long_to_wait(tmp_path):
    slots = SharedSlots(str(tmp_path / "state"))
    # 3 per 60 s: one every 20 s, a burst of 3.
    steps = [slots.step("k", NOW, 20.0, 40.0) for _ in range(4)]
    assert steps[:3] == [0.0, 0.0, 0.0]
    assert steps[3] == pytest.approx(20.0)
    assert slots.step("k", NOW + 20.0, 20.0, 40.0) == 0.0


def test_the_state_outlives_the_process_that_wrote_it(tmp_path):
    path = str(tmp_path / "state")
    assert SharedSlots(path).step("k", NOW, 10.0, 0.0) == 0.0
    assert SharedSlots(path).step("k", NOW, 10.0, 0.0) == pytest.approx(10.0)


def take(path: str, go, passed) -> None:
    slots = SharedSlots(path)
    slots.step("warm-up", NOW, 1.0, 0.0)
    go.wait()
    mine = sum(slots.step("busy", NOW, 1.0, 1999.0) == 0.0 for _ in range(2000))
    with passed.get_lock():
        passed.value += mine


def test_processes_racing_on_one_key_pass_exactly_the_burst(tmp_path):
    path = str(tmp_path / "state")
    go, passed = multiprocessing.Event(), multiprocessing.Value("i", 0)
    workers = [multiprocessing.Process(target=take, args=(path, go, passed)) for _ in range(4)]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(30)
    # A burst of 2,000 (slack 1,999 intervals) from 8,000 tries: a read-then-write store
    # lets more through when two processes read the same due time.
    assert passed.value == 2000


def test_a_slot_whose_time_has_passed_is_taken_by_another_key(tmp_path, monkeypatch):
    monkeypatch.setattr(rate_slots, "SLOTS", 1)
    monkeypatch.setattr(rate_slots, "PROBES", 1)
    slots = SharedSlots(str(tmp_path / "state"))
    assert slots.step("a", NOW, 10.0, 0.0) == 0.0
    # "a" owes 10 s: the only slot is busy, so "b" is let through unthrottled and unrecorded.
    assert slots.step("b", NOW, 10.0, 0.0) == 0.0
    assert slots.step("b", NOW, 10.0, 0.0) == 0.0
    assert slots.step("a", NOW, 10.0, 0.0) == pytest.approx(10.0)
    # Once "a" is paid up, "b" takes the slot and is limited.
    assert slots.step("b", NOW + 10.0, 10.0, 0.0) == 0.0
    assert slots.step("b", NOW + 10.0, 10.0, 0.0) == pytest.approx(10.0)
