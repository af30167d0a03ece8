from __future__ import annotations

import csv
import io

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.formats import BodyError, parse_records, parse_response_records

# A byte order mark opening the first column name cannot be told from the file's own BOM.
cell_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\ufeff"))
column_names = st.lists(cell_text.filter(str.strip), min_size=1, max_size=6, unique=True)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=6,
)
json_records = st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5)

content_types = st.sampled_from(
    ["application/json", "application/x-ndjson", "text/csv", "application/jsonl"]
)


@st.composite
def csv_tables(draw):
    names = draw(column_names)
    row = st.fixed_dictionaries({name: cell_text for name in names})
    return names, draw(st.lists(row, max_size=8))


# With "\n" line endings the csv module leaves a lone "\r" unquoted, which no reader can tell from
# a line ending; quoting every cell keeps such a file readable.
line_endings = st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)])


@settings(deadline=None)
@given(csv_tables(), line_endings, st.booleans())
def test_it_reads_back_any_table_written_by_the_csv_module(table, line_ending, with_bom):
    names, rows = table
    terminator, quoting = line_ending
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=names, lineterminator=terminator, quoting=quoting)
    writer.writeheader()
    writer.writerows(rows)
    body = (b"\xef\xbb\xbf" if with_bom else b"") + text.getvalue().encode()

    assert parse_records(body, "text/csv") == rows


@settings(deadline=None)
@given(json_records)
def test_it_reads_back_any_json_array_of_objects(records):
    assert parse_records(orjson.dumps(records), "application/json") == records


@settings(deadline=None)
@given(json_records)
def test_it_reads_back_any_records_wrapper(records):
    body = orjson.dumps({"records": records})

    assert parse_records(body, "application/json") == records


@settings(deadline=None)
@given(json_records.filter(bool), st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
def test_it_reads_back_any_ndjson(records, separator):
    body = separator.join(orjson.dumps(record) for record in records)

    assert parse_records(body, "application/x-ndjson") == records


@settings(deadline=None)
@given(st.binary(max_size=300), content_types, st.none() | st.integers(0, 5))
def test_it_raises_only_body_errors_on_arbitrary_bytes(body, content_type, max_records):
    try:
        records = parse_records(body, content_type, max_records=max_records)
    except BodyError as error:
        assert error.status in (400, 413)
        assert error.message
    else:
        assert all(type(record) is dict for record in records)


@settings(deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from([None, "text/plain", "application/json", "text/csv", "application/x-ndjson"]),
    st.sampled_from(["", "data", "data.items", "data[*].attributes"]),
)
def test_it_raises_only_body_errors_on_arbitrary_responses(body, content_type, records_path):
    try:
        records = parse_response_records(body, content_type, records_path)
    except BodyError as error:
        assert error.message
    else:
        assert all(type(record) is dict for record in records)


@settings(deadline=None)
@given(st.text(max_size=200), content_types)
def test_it_raises_only_body_errors_on_arbitrary_text(text, content_type):
    try:
        parse_records(text.encode(), content_type)
    except BodyError as error:
        assert error.status in (400, 413)
