"""The one test that waits the seed's own token lifetime (60 s) in real time.

Everywhere else a spec with a 2 s lifetime, or the mock's clock, proves expiry; this one
checks the shipped spec's lifetime on the mock as it starts by default, with no clock moved:
a token redeems just before its lifetime is up and is refused just after. Marked `realtime`:
CI runs it (`make test`); `pytest -m "not realtime"` leaves it out of a quick local run.
"""

from __future__ import annotations

import time

import httpx
import pytest

from mockplatform import create_app
from mockplatform.core.spec import Spec
from mockplatform.testing import serve_in_thread
from tests.mockplatform.processes import issue_token, redeem

MARGIN = 1.5  # seconds either side of the lifetime


@pytest.mark.realtime
def test_the_seeds_lifetime_holds_in_real_time(spec: Spec) -> None:
    lifetime = spec.token_lifetime_seconds
    with serve_in_thread(create_app(spec=spec)) as url, httpx.Client(timeout=10) as client:
        early, late = issue_token(client, url), issue_token(client, url)
        issued = time.monotonic()
        time.sleep(lifetime - MARGIN)
        assert redeem(client, url, early["accessToken"]).status_code == 201
        time.sleep(max(0.0, issued + lifetime + MARGIN - time.monotonic()))
        refused = redeem(client, url, late["accessToken"])
        assert refused.status_code == 401
        expired = spec.error_body("redeemWidgetToken", 401, example="expired")
        assert refused.json()["error"] == expired["error"]
