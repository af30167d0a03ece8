from __future__ import annotations

import tracemalloc

import pytest

from connectors.formats import BodyError, parse_records

CSV = "text/csv"


def error_of(body: bytes, **options) -> BodyError:
    with pytest.raises(BodyError) as caught:
        parse_records(body, CSV, **options)
    return caught.value


def test_it_reads_each_row_as_a_dict_of_strings():
    body = b"email,age\nalice@example.com,31\nbob@example.com,42\n"

    assert parse_records(body, CSV) == [
        {"email": "alice@example.com", "age": "31"},
        {"email": "bob@example.com", "age": "42"},
    ]


def test_it_reads_crlf_line_endings():
    body = b"email,age\r\nalice@example.com,31\r\n"

    assert parse_records(body, CSV) == [{"email": "alice@example.com", "age": "31"}]


def test_it_strips_a_byte_order_mark_from_the_first_column_name():
    body = b"\xef\xbb\xbfemail,age\r\nalice@example.com,31\r\n"

    assert parse_records(body, CSV) == [{"email": "alice@example.com", "age": "31"}]


def test_it_reads_quoted_commas_quotes_and_newlines():
    body = b'name,note\n"Smith, Alice","She said ""hi""\nthen left"\nBob,plain\n'

    assert parse_records(body, CSV) == [
        {"name": "Smith, Alice", "note": 'She said "hi"\nthen left'},
        {"name": "Bob", "note": "plain"},
    ]


def test_it_reads_non_ascii_text():
    assert parse_records("nom\nÉlodie 😀\n".encode(), CSV) == [{"nom": "Élodie 😀"}]


def test_it_keeps_empty_cells_as_empty_strings():
    assert parse_records(b"a,b,c\n,2,\n", CSV) == [{"a": "", "b": "2", "c": ""}]


def test_it_fills_missing_trailing_cells_with_empty_strings():
    assert parse_records(b"a,b,c\n1\n", CSV) == [{"a": "1", "b": "", "c": ""}]


def test_it_skips_blank_lines():
    body = b"\n\na,b\n\n1,2\n\n3,4\n\n"

    assert parse_records(body, CSV) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_it_reads_a_header_without_rows_as_no_records():
    assert parse_records(b"a,b\r\n", CSV) == []


def test_it_accepts_a_last_row_without_newline():
    assert parse_records(b"a\n1", CSV) == [{"a": "1"}]


def test_it_refuses_an_empty_body():
    assert error_of(b"\xef\xbb\xbf\r\n").message == "The body is empty"


def test_it_names_the_row_and_line_of_a_row_with_too_many_values():
    body = b'a,b,c\n1,2,3\n"multi\nline",2,3\n\n4,5,6\n7,8,9,10\n'

    error = error_of(body)

    assert error.status == 400
    assert error.detail == {"row": 4, "line": 7}
    assert error.message == "CSV row 4 (line 7) has 4 values but the header has 3 columns"


def test_it_refuses_a_duplicate_column_name():
    error = error_of(b"email,name,email\nx,y,z\n")

    assert error.status == 400
    assert error.message == "CSV header has 'email' twice (columns 1 and 3)"
    assert error.detail == {"line": 1, "column": 3}


def test_it_refuses_an_empty_column_name():
    error = error_of(b"email,,age\nx,y,z\n")

    assert error.status == 400
    assert error.message == "CSV header column 2 is empty; every column needs a name"


def test_it_refuses_an_unterminated_quoted_field():
    error = error_of(b'a,b\n1,2\n3,"open\n4,5\n')

    assert error.status == 400
    assert error.detail == {"row": 2, "line": 3}
    assert error.message == "CSV row 2 (line 3) is malformed: unexpected end of data"


def test_it_refuses_text_after_a_closing_quote():
    error = error_of(b'a,b\n"1"x,2\n')

    assert error.detail == {"row": 1, "line": 2}


def test_it_names_the_byte_and_line_of_invalid_utf8():
    error = error_of(b"name\nok\nLyon\xe9\n")

    assert error.status == 400
    assert error.detail == {"position": 12, "line": 3}
    assert error.message.startswith("The body is not valid UTF-8 at byte 12 (line 3)")


def test_it_finds_invalid_utf8_far_into_a_large_body():
    body = b"name\n" + b"x\n" * 100_000 + b"\xff\n"

    assert error_of(body).detail == {"position": 200_005, "line": 100_002}


def test_it_accepts_exactly_max_records():
    assert len(parse_records(b"a\n1\n2\n3\n", CSV, max_records=3)) == 3


def test_it_counts_the_whole_batch_when_refusing_too_many_records():
    error = error_of(b'a\n1\n2\n\n3\n"4\n"\n', max_records=3)

    assert error.status == 413
    assert error.message == "The batch has 4 records; at most 3 are accepted per request"


def test_it_accepts_application_csv():
    assert parse_records(b"a\n1\n", "application/csv") == [{"a": "1"}]


def test_it_names_the_line_where_a_multiline_row_starts():
    body = b'a,b\n1,2\n"first\nsecond\nthird",2,3\n'

    assert error_of(body).detail == {"row": 2, "line": 3}


def test_it_parses_without_copying_the_body():
    body = b"id,email,note\n" + b'123456,alice@example.com,"a, b"\n' * 8_000
    tracemalloc.start()
    try:
        records = parse_records(body, CSV)
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(records) > 0
    assert peak - retained < len(body) // 2
