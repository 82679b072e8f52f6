"""Who counts as local: the loopback caller, a local page's origin, a local Host name.

The control API changes what the mock believes, so it answers the developer's own machine
only. A loopback address alone is not enough: any web page the developer visits can send
a "simple" request to `http://127.0.0.1:8000/_mock/reset` (its `Origin` gives it away), and
a page whose DNS name is rebound to 127.0.0.1 reaches the mock as "same origin" (its `Host`
gives it away). The CORS middleware reads `LOCAL_ORIGINS` too, so a local page may call.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
_LOCAL_ORIGIN = re.compile(f"^{LOCAL_ORIGINS}$")


def is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def is_local_host(host: str) -> bool:
    """A `Host` no DNS rebinding can produce: `localhost` (and `*.localhost`, which browsers
    resolve to loopback themselves), or an IP address literal."""
    name = _host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_allowed_origin(origin: str, host: str) -> bool:
    """A local page's origin, or the mock's own (the page it serves, at the `Host` asked for)."""
    if _LOCAL_ORIGIN.match(origin):
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower() != ""


def _host_name(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host
