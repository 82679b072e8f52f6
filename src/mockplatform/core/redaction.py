"""Text fit to leave the process: secrets masked, log fields unable to forge a line.

The journal's entries (the control API), the per-request log line and uvicorn's own lines
all go through here: the API key in `Authorization` and any credential-carrying header (the
admin token too), credential-carrying query parameters, and access tokens in bodies of any
shape (at any depth, and in text that is not JSON) are masked; control characters in a log
field are escaped, so a `%0A` in a path cannot print a line of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mockplatform.core.credentials import TOKEN_PREFIX, mask_secret
from mockplatform.core.json_text import Malformed, parse_json

SECRET_FIELDS = ("accessToken",)
MAX_LOGGED_CHARS = 300
# A header or query parameter whose name says it carries a credential is shown masked.
_CREDENTIAL_NAME = re.compile(r"key|token|secret|passw|auth|cookie|session|signature", re.I)
# An access token wherever it appears in text (a body that is not JSON, a query string).
_TOKEN_TEXT = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-]+")
# A secret field's value in text that is not JSON (cut short, malformed).
_FIELD_TEXT = re.compile('"(' + "|".join(SECRET_FIELDS) + r')"(\s*:\s*")([^"]*)')


def printable(text: str, limit: int | None = MAX_LOGGED_CHARS) -> str:
    """`text` as one safe line of a log or a terminal: control characters (a `%0A` in a path
    becomes a newline, an escape sequence in a body) escaped, so nothing a client or a
    platform sends can print a line of its own; cut to `limit` characters where given."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if limit is None or len(text) <= limit else text[:limit] + "..."


def mask_authorization(value: str) -> str:
    scheme, _, credential = value.partition(" ")
    return f"{scheme} {mask_secret(credential.strip())}" if credential else mask_secret(value)


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    """Every header whose name says it carries a credential, masked (the admin token too)."""
    for name, value in headers.items():
        headers[name] = mask_header(name, value)
    return headers


def mask_header(name: str, value: str) -> str:
    """The header's value, masked if its (lower-case) name says it carries a credential:
    Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, X-Mock-Admin-Token..."""
    if name == "authorization":
        return mask_authorization(value)
    return mask_secret(value) if _CREDENTIAL_NAME.search(name) else value


def mask_query(query: str) -> str:
    """`key=…` and every other credential-named parameter masked; tokens anywhere masked."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and _CREDENTIAL_NAME.search(name):
            value = mask_secret(value)
        parts.append(f"{name}{equals}{value}")
    return mask_text("&".join(parts))


def mask_text(text: str) -> str:
    """Any access token in `text` masked, whatever surrounds it, and any secret field's value."""
    text = _FIELD_TEXT.sub(lambda m: f'"{m[1]}"{m[2]}{mask_secret(m[3])}', text)
    return _TOKEN_TEXT.sub(lambda match: mask_secret(match.group()), text)


# What may stand beside a credential in a text: anything but the characters keys are made of.
KEY_EDGE_BEFORE = r"(?<![A-Za-z0-9_\-])"
KEY_EDGE_AFTER = r"(?![A-Za-z0-9_\-])"


def values_pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every value, longest first (so no stand-in is masked again), each
    matched as a whole token (not inside a longer run of key characters): a short key is
    masked without scrambling the words that happen to contain it."""
    ordered = sorted({value for value in values if value}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(re.escape(value) for value in ordered)
    return re.compile(f"{KEY_EDGE_BEFORE}(?:{alternatives}){KEY_EDGE_AFTER}")


def mask_values(text: str, replacements: dict[str, str]) -> str:
    """Masking by value, the one way: each known secret in `text` replaced by its stand-in
    (`mask_secret`'s form in the proxy, a shell variable in the harness's reports)."""
    # Only the secrets the text holds make the pattern (most texts hold none).
    pattern = values_pattern(value for value in replacements if value in text)
    return text if pattern is None else pattern.sub(lambda m: replacements[m.group()], text)


def mask_body(body: bytes) -> Any:
    """The body as JSON where it parses (secrets masked at any depth), else as text with any
    token in it masked; never the raw secret, never text that cannot be encoded."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace")
    try:
        data = parse_json(text)
    except Malformed:
        return mask_text(text)
    stack = [data]
    while stack:  # a stack, not recursion: the body may nest as deep as the parser allows
        value = stack.pop()
        if isinstance(value, dict):
            for name, item in value.items():
                if name in SECRET_FIELDS and isinstance(item, str):
                    value[name] = mask_secret(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                elif isinstance(item, str):
                    value[name] = mask_text(item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict | list):
                    stack.append(item)
                elif isinstance(item, str):
                    value[index] = mask_text(item)
    return data
