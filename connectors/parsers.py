"""The API's JSON parser: DRF's, refusing documents nested deeper than records may be."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from connectors.jsontext import MAX_JSON_DEPTH, nesting_exceeds

# Room for the request around records of the limit: {"records": [record, ...]}.
MAX_DOCUMENT_DEPTH = MAX_JSON_DEPTH + 2


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(
            f"JSON parse error - the document is nested more than {MAX_DOCUMENT_DEPTH} levels deep"
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # the standard library's reader recurses once per level
            raise too_deep from None
        if nesting_exceeds(data, MAX_DOCUMENT_DEPTH):
            raise too_deep
        return data
