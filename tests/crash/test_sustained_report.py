"""The sustained benchmark's report says what it counted, never a zero it did not count."""

from __future__ import annotations

from bench.sustained import Run, Sample, footprint_table


def sample(rows: int) -> Sample:
    return Sample(0.0, 0, 0, 0, {"web": 100.0}, 10.0, rows, {"web": 1.0})


def report(counts: dict) -> str:
    run = Run("sqlite", 5000, 60, True, counts=counts, samples=[sample(0), sample(0)])
    run.at_load_end = sample(1234)
    return "\n".join(footprint_table("SQLite", run))


def test_it_reports_the_records_appended_when_the_database_was_counted():
    assert "1,500 records appended, 1,234 rows kept" in report({"mailbox_appended": 1500})


def test_a_run_that_did_not_drain_is_not_reported_as_zero_appended():
    text = report({})
    assert "0 records appended" not in text
    assert "records not counted (the run did not drain in time)" in text
