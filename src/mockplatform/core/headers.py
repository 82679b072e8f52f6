"""A request's headers as the hot path keeps them: one dict of the server's own bytes.

The stages read only a few headers; so the request builds this dict once, the stages
decode just the
values they use, and the journal keeps the same dict.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import Scope


def header_dict(scope: Scope) -> dict[bytes, bytes]:
    """Names lower-case, as the server gives them; of a repeated header, the first wins."""
    return dict(reversed(scope["headers"]))


def decode_headers(headers: Mapping[bytes, bytes]) -> dict[str, str]:
    """The headers as text (HTTP header bytes are latin-1)."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in headers.items()}
