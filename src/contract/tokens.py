"""What an access token tells about itself: a JWT's claims, and whether it could be guessed."""

from __future__ import annotations

import base64
import json
import math
import re
import string
from typing import Any

# The least randomness in what varies between tokens.
MIN_TOKEN_BITS = 64
# Varying parts that are numbers this close together are a counter.
COUNTER_SPREAD = 1_000_000
# This many letters or digits at the same place in every token is a shared part.
SHARED_RUN = 3


def decode_jwt(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (signature not checked: we only read what it says), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except ValueError:
        return None
    if not isinstance(header, dict) or "alg" not in header or not isinstance(claims, dict):
        return None
    return claims


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def one_character_changed(token: str) -> str:
    """`token` with the second-to-last character of its random part replaced by another of
    the same kind (a base64 signature's last character may carry bits nobody reads)."""
    position = len(token) - (2 if len(random_part(token)) > 1 else 1)
    old = token[position]
    alphabet = next(
        (
            kind
            for kind in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
            if old in kind
        ),
        string.ascii_lowercase,
    )
    new = alphabet[(alphabet.find(old) + 1) % len(alphabet)]
    return token[:position] + new + token[position + 1 :]


def with_later_expiry(token: str, seconds: int = 3600) -> str | None:
    """A JWT's payload re-encoded with `exp` `seconds` later and the same signature: a token
    only a server that checks no signature would take. None if `token` is no JWT with exp."""
    claims = decode_jwt(token)
    if claims is None or not isinstance(claims.get("exp"), int | float):
        return None
    header, _, signature = token.split(".")
    later = json.dumps({**claims, "exp": int(claims["exp"]) + seconds}, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(later.encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def random_part(token: str) -> str:
    """Where a token's unpredictability must live: a JWT's signature, else the whole token."""
    return token.rsplit(".", 1)[-1] if decode_jwt(token) is not None else token


def predictability(samples: list[str]) -> str | None:
    """Why tokens like `samples` could be guessed from each other, or None.

    What every sample shares at its start is a fixed prefix, allowed. After it:
    - a run of SHARED_RUN or more letters or digits that every sample holds at the same place
      is a shared part (an embedded id, a fixed suffix); a lone shared character (a UUID's
      dashes and version digit) is structure, not a secret, and simply adds no randomness;
    - varying parts that are numbers close together are a counter;
    - the randomness is estimated as (positions that vary) x log2(alphabet), the alphabet
      being the distinct characters seen across the varying parts. That is an upper bound
      for a uniform source, so a token short of MIN_TOKEN_BITS by it is surely too weak.
    """
    prefix = _common_prefix(samples)
    varying = [sample[len(prefix) :] for sample in samples]
    width = min(len(part) for part in varying)
    if width == 0:
        return f"nothing varies after the common prefix {prefix!r}"
    shared = "".join(
        varying[0][i] if len({part[i] for part in varying}) == 1 else "\0" for i in range(width)
    )
    for run in re.findall(f"[A-Za-z0-9]{{{SHARED_RUN},}}", shared):
        return (
            f"after the common prefix {prefix!r}, every token holds {run!r} at the same "
            "place (a shared part)"
        )
    numbers = [_as_number(part) for part in varying]
    if all(number is not None for number in numbers):
        values = sorted(number for number in numbers if number is not None)
        if values[-1] - values[0] < COUNTER_SPREAD:
            return f"what varies after {prefix!r} is a number within {COUNTER_SPREAD:,} (a counter)"
    alphabet = len(set("".join(varying)))
    varies = shared.count("\0")
    bits = varies * math.log2(max(alphabet, 2))
    if bits < MIN_TOKEN_BITS:
        return (
            f"about {bits:.0f} bits of randomness ({varies} varying characters from an alphabet "
            f"of {alphabet}); at least {MIN_TOKEN_BITS} are needed"
        )
    return None


def _common_prefix(samples: list[str]) -> str:
    first, last = min(samples), max(samples)
    length = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )
    return first[:length]


def _as_number(text: str) -> int | None:
    for base in (10, 16):
        try:
            return int(text, base)
        except ValueError:
            continue
    return None
