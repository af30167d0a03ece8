"""CSV pages neutralise spreadsheet formulas (OWASP CSV injection), unless asked for raw cells."""

from __future__ import annotations

import csv
import io

import pytest

from tests.helpers import make_connector
from tests.mailbox.conftest import put

FIELDS = [
    {"name": "note", "type": "string"},
    {"name": "amount", "type": "number"},
]


@pytest.fixture
def notes(db):
    mailbox = make_connector("mailbox", "Notes", FIELDS)
    mailbox.token = mailbox.rotate_token()
    return mailbox


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode(), newline="")))


@pytest.mark.parametrize(
    ("note", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_it_prefixes_a_quote_to_cells_a_spreadsheet_would_run(notes, poll, note, cell):
    put(notes, {"note": note, "amount": 1})
    response = poll(notes, accept="text/csv")
    assert response.status_code == 200
    assert rows_of(response)[1] == [cell, "1"]


def test_numbers_stay_numbers(notes, poll):
    put(notes, {"note": "-5", "amount": -5}, {"note": "x", "amount": -2.5})
    assert rows_of(poll(notes, accept="text/csv"))[1:] == [["'-5", "-5"], ["x", "-2.5"]]


def test_raw_cells_on_request_for_machine_consumers(notes, poll):
    put(notes, {"note": "=1+1", "amount": -5})
    response = poll(notes, accept="text/csv", csv_formulas="raw")
    assert rows_of(response)[1] == ["=1+1", "-5"]


def test_the_header_row_is_neutralised_too(poll, db):
    mailbox = make_connector("mailbox", "Odd", [{"name": "=HYPERLINK(1)", "type": "string"}])
    mailbox.token = mailbox.rotate_token()
    assert rows_of(poll(mailbox, accept="text/csv"))[0] == ["'=HYPERLINK(1)"]


def test_an_unknown_csv_formulas_value_is_a_400(notes, poll):
    response = poll(notes, accept="text/csv", csv_formulas="sometimes")
    assert response.status_code == 400
    assert response.json()["param"] == "csv_formulas"


def test_json_and_ndjson_are_untouched(notes, poll):
    put(notes, {"note": "=1+1", "amount": 1})
    assert poll(notes).json()["records"][0]["data"]["note"] == "=1+1"
    assert b'"=1+1"' in poll(notes, accept="application/x-ndjson").content
