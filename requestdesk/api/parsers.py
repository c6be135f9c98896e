"""The API's JSON parser: DRF's, refusing with a 400 what MongoDB cannot store.

A body can be valid JSON and still not fit a BSON document: integers beyond 64 bits, keys
with a NUL character (BSON keys are C strings), unpaired UTF-16 surrogates (not UTF-8) or
nesting deeper than the server allows (100 levels; a document adds its own). Such a body,
or one nested so deep that Python's decoder gives up, used to reach the database driver
and come back as a 500. `bson_problem` names what is wrong, for this parser and for the
serializers' JSON fields alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64
INT64 = range(-(2**63), 2**63)
SURROGATE = re.compile("[\ud800-\udfff]")


def _string_problem(text: str, what: str) -> str | None:
    if SURROGATE.search(text):
        return f"{what} contains an unpaired UTF-16 surrogate."
    return None


def bson_problem(value: object, *, max_depth: int = MAX_DEPTH) -> str | None:
    """Why decoded JSON `value` cannot be stored in MongoDB, or None. Walks without
    recursion, so no input is too deep to be checked."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                return f"Nested deeper than {max_depth} levels."
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        continue
                    if "\x00" in key:
                        return "A key contains a NUL character."
                    problem = _string_problem(key, "A key")
                    if problem:
                        return problem
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            problem = _string_problem(item, "A string")
            if problem:
                return problem
        elif isinstance(item, int) and not isinstance(item, bool) and item not in INT64:
            return "An integer is outside the 64-bit range."
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; too deep or unstorable JSON is a ParseError (400) with the reason."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        problem = bson_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
