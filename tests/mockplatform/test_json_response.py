"""The hot path's JSON response writes exactly what Starlette's would."""

from __future__ import annotations

import json
import math

import pytest
from starlette.responses import JSONResponse

from mockplatform.json_response import FastJSONResponse, encode_string


@pytest.mark.parametrize(
    "content",
    [
        {"accessToken": "rt_test_x", "callId": "call_1", "agentName": "Support"},
        {"error": "Agent not found", "detail": "नमस्ते … \u2028", "n": [1, 2.5, None, True]},
        [],
        "text",
    ],
)
def test_same_bytes_and_headers_as_starlette(content: object) -> None:
    fast, starlette = FastJSONResponse(content, status_code=201), JSONResponse(content, 201)
    assert fast.status_code == starlette.status_code == 201
    assert fast.body == starlette.body
    assert fast.raw_headers == starlette.raw_headers


def test_refuses_nan_as_starlette_does() -> None:
    with pytest.raises(ValueError):
        FastJSONResponse({"n": math.nan})


def test_written_out_json_gets_the_same_headers_as_starlettes() -> None:
    text = '{"accessToken":"rt_test_x","agentName":"नमस्ते"}'
    fast, starlette = FastJSONResponse(None, 201, encoded=text), JSONResponse(json.loads(text), 201)
    assert fast.status_code == 201
    assert fast.body == starlette.body
    assert fast.raw_headers == starlette.raw_headers


@pytest.mark.parametrize("text", ["plain", 'a "quote" and \\', "नमस्ते \u2028", "\x00\x1f\n"])
def test_encode_string_writes_a_string_as_the_encoder_does(text: str) -> None:
    assert encode_string(text) == json.dumps(text, ensure_ascii=False)
