"""A JSON body parser that refuses bodies nested too deeply, with a 400 instead of a 500.

Python's json module raises RecursionError (not ValueError, which DRF's parser turns into a
400) for input nested about a thousand levels deep, and anything that later walks or encodes a
value nested a few hundred levels deep (DRF's JSONField, Django's JSONField, the content hash)
can hit the same limit deeper in the stack. No request of this API needs more than a few levels.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
JSON_TOO_DEEP = "JSON parse error - nested more than {limit} levels deep."


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` deep (no recursion)."""
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth >= limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(JSON_TOO_DEEP.format(limit=MAX_JSON_DEPTH)) from error
        if json_depth_exceeds(data):
            raise ParseError(JSON_TOO_DEEP.format(limit=MAX_JSON_DEPTH))
        return data
