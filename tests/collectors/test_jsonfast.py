"""The fast JSON path accepts and produces exactly what the standard library would, only faster."""

from __future__ import annotations

import json

import pytest

from collectors.agent import jsonfast


@pytest.mark.parametrize("value", [
    {"message": "Đăng nhập thất bại", "n": 1, "ok": True, "none": None},
    {"lone": "\ud800 half a pair"},
    {"big": 2**70},
    {1: "an integer key"},
    [[[[["deep"]]]]],
])
def test_what_it_writes_reads_back_as_the_standard_library_would(value: object) -> None:
    encoded = jsonfast.dumps(value)

    assert isinstance(encoded, bytes)
    assert jsonfast.loads(encoded) == json.loads(json.dumps(value))


def test_it_reads_what_orjson_refuses_but_json_accepts() -> None:
    assert jsonfast.loads(b'{"a": NaN, "s": "\\ud800"}')["s"] == "\ud800"
    assert jsonfast.loads(b"[" * 300 + b"]" * 300) == json.loads("[" * 300 + "]" * 300)


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe{}", b""])
def test_invalid_input_raises_a_value_error_like_json(data: bytes) -> None:
    with pytest.raises(ValueError):
        jsonfast.loads(data)
