"""Strict JSON, read one way by everyone: the mock's intake and control API, the journal's
masking and the judge. No duplicate keys, no NaN/Infinity, no BOM, no lone surrogates, no
infinite floats, no nesting deeper than the parser can take: each a `Malformed` naming why."""

from __future__ import annotations

import json
import math
from typing import Any

JSON_MEDIA_TYPE = "application/json"


def media_type(content_type: str | None) -> str:
    """A Content-Type's media type, the one way it is read: lower-case (RFC 9110 says media
    types are case-insensitive), parameters (`; charset=utf-8`) left out, "" when absent."""
    return (content_type or "").partition(";")[0].strip().lower()


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Malformed(ValueError):
    """A JSON text that is not a usable body: `detail` says why, `field` names where."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


def parse_json(text: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity, no BOM, no lone surrogates, no nesting
    deeper than the parser can take. Raises `Malformed`; the control API reads its bodies so
    too."""
    # The usual body, a flat object, is read by the C scanner alone: it builds the dict
    # itself and keeps the last of repeated keys, so its result stands only if no key came
    # twice. Each key in the text is followed by a colon: when the text holds no more colons
    # than the object has keys, every key was distinct and none sat in a nested object.
    # Anything else (or anything it refuses) is read again by the full decoder, which words
    # what is wrong. This costs a token request a tenth of the full decoder's time.
    try:
        data, end = _SCAN(text, 0)
    except (StopIteration, ValueError, RecursionError):
        pass
    else:
        if end == len(text) and type(data) is dict and text.count(":") == len(data):
            # (`_encodable`'s own test first, one character sought (memchr): the usual
            # body has no escape at all, and needs no frame)
            return data if "\\" not in text else _encodable(data, text)
    return _parse_fully(text)


def _parse_fully(text: str) -> Any:
    """`parse_json` without its shortcut (tests/mockplatform/core/test_json_text.py holds the
    two to each other)."""
    if not text.strip():
        raise Malformed("the body is empty; send a JSON object")
    try:
        if text.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        data = _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise Malformed(f"{exc.key}: appears more than once in the body", exc.key) from None
    except json.JSONDecodeError as exc:
        raise Malformed(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise Malformed(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise Malformed("the body is nested too deeply") from None
    return _encodable(data, text)


def _encodable(data: Any, text: str) -> Any:
    """`data`, read from `text`, unless a string in it cannot be encoded: `Malformed`.

    Every caller decodes the text from UTF-8, so a string that cannot be encoded back can
    only have come from a \\u escape; a body without one (most) needs no walk."""
    where = unencodable_field(data) if "\\u" in text else None
    if where is not None:
        raise Malformed(
            f"{where or 'body'}: holds a lone surrogate (an escape in \\ud800-\\udfff "
            "without its pair), which is not text; send valid Unicode",
            where or None,
        )
    return data


def unencodable_field(data: Any) -> str | None:
    """The dotted path of the first string (value or key) in `data` that UTF-8 cannot encode,
    "" for the top level, or None when all encode. Walked with a stack, not recursion: the
    depth is whatever the parser accepted."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not _encodes(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if not _encodes(key):
                    return path
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}.{index}" if path else str(index), item)
                for index, item in enumerate(value)
            )
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    """`1e999999` is valid JSON, but as a float it is infinite, which no JSON can say back
    (the journal showing the body failed on it)."""
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:20]} is too large a number")
    return number


# Built once: json.loads with hooks would build a new decoder for every request.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_float=_finite_float
)
_SCAN = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite_float).scan_once  # type: ignore[attr-defined]
