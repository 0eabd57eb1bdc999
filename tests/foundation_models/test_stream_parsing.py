"""The quick reading of stream lines agrees with the pydantic model on every line it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.foundation_models.chunks import quick_snapshot, snapshot_of
from bot.foundation_models.types import CompletionStatus, Snapshot, Usage
from bot.foundation_models.wire import StreamLine
from tests.conftest import FIXTURES


def reference(raw: bytes) -> Snapshot | str:
    """What the full model makes of a line: a snapshot, "malformed" or "error"."""
    try:
        line = StreamLine.model_validate_json(raw)
    except ValidationError:
        return "malformed"
    if line.error is not None or line.result is None:
        return "error"
    return snapshot_of(line.result)


def line(text: Any = "Привет", status: Any = "ALTERNATIVE_STATUS_PARTIAL",
         usage: Any = None, **result: Any) -> dict[str, Any]:
    usage = usage if usage is not None else {
        "inputTextTokens": "26", "completionTokens": "11", "totalTokens": "37",
    }
    return {"result": {
        "alternatives": [{"message": {"role": "assistant", "text": text}, "status": status}],
        "usage": usage, "modelVersion": "07.03.2024", **result,
    }}


def encode(value: Any, ascii_only: bool = False) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode()


def test_recorded_stream_lines_take_the_quick_path_and_agree() -> None:
    exchange = json.loads(
        (FIXTURES / "rest/test_completions/test_run_stream.json").read_bytes()
    )["exchanges"][0]
    for recorded in exchange["ndjson"]:
        for raw in (encode(recorded), encode(recorded, ascii_only=True)):
            quick = quick_snapshot(raw)
            assert quick is not None
            assert quick == reference(raw)
    final = quick_snapshot(encode(exchange["ndjson"][-1]))
    assert final is not None
    assert final.status is CompletionStatus.FINAL
    assert final.usage == Usage(26, 317, 343, 0)


def test_trailing_replacement_char_is_stripped_from_partial_lines_only() -> None:
    partial = quick_snapshot(encode(line("утко\ufffd\ufffd")))
    final = quick_snapshot(encode(line("утко\ufffd", status="ALTERNATIVE_STATUS_FINAL")))
    assert partial is not None
    assert partial.text == "утко"
    assert final is not None
    assert final.text == "утко\ufffd"


EDGE_LINES: list[bytes] = [
    encode(line(usage={"inputTextTokens": "0123", "completionTokens": 5, "totalTokens": "8",
                       "completionTokensDetails": {"reasoningTokens": "3"}})),
    encode(line(usage={"completionTokensDetails": {}})),
    encode(line(usage={"completionTokensDetails": None})),
    *(encode(line(usage={"totalTokens": odd})) for odd in
      ("+12", " 12", "1_000", "12.0", "١٢", "-1", "", "x", None, True, 1.5, -3, 2**70)),
    encode(line(text=None)),
    encode(line(text=7)),
    encode(line(status=None)),
    encode(line(status="SOMETHING_NEW")),
    encode(line(status="ALTERNATIVE_STATUS_CONTENT_FILTER")),
    encode(line(model_version="snake")),
    encode(line(extra="ignored")),
    encode({"result": {"alternatives": [], "usage": {}}}),
    encode({"result": {}}),
    encode({"result": None}),
    encode({"result": {"alternatives": [{"message": {"text": "a"}, "status": "x"}] * 2}}),
    encode({"result": {"alternatives": [
        {"message": {"text": "a"}, "status": "ALTERNATIVE_STATUS_FINAL"}, {"message": 5}]}}),
    encode({"result": {"alternatives": [{"message": {
        "toolCallList": {"toolCalls": [{"functionCall": {"name": "f", "arguments": {}}}]}},
        "status": "ALTERNATIVE_STATUS_TOOL_CALLS"}]}}),
    encode({"result": {"alternatives": [{"message": {"text": "a", "role": None},
                                         "status": "x"}]}}),
    encode({"error": {"grpcCode": 8, "httpCode": 429, "message": "quota"}}),
    encode({"error": "text", "code": 3}),
    encode(line(), ascii_only=True).replace(b"\\u041f", b"\\ud800"),  # a lone surrogate
    encode(line()).replace(b"{", b"\xef\xbb\xbf{", 1),  # a byte-order mark
    encode(line()) + b"\r",
    encode(line()) + b" x",
    encode(line())[:-3],
    encode(line()).replace(b'"26"', b"NaN"),
    b"\xff" + encode(line()),
    b"[]",
    b"null",
    b"not json",
]


def test_edge_lines_agree_with_the_model_or_fall_back() -> None:
    for raw in EDGE_LINES:
        quick = quick_snapshot(raw)
        if quick is not None:
            assert quick == reference(raw), raw
    # the usual spellings do take the quick path
    assert quick_snapshot(EDGE_LINES[0]) == Snapshot(
        "Привет", CompletionStatus.PARTIAL, Usage(123, 5, 8, 3), "07.03.2024"
    )
    assert quick_snapshot(EDGE_LINES[1]) is not None
    assert quick_snapshot(EDGE_LINES[2]) is not None


usual_counts = st.one_of(st.integers(min_value=0, max_value=2**64),
                         st.integers(min_value=0, max_value=2**64).map(str))
odd_counts = st.one_of(
    st.integers(min_value=-5, max_value=-1),
    st.sampled_from(["", " 1", "1.0", "+1", "1_0", "x", "07", "-1"]),
    st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
)
# Mostly usual lines (so both paths are exercised), some with odd values or fields.
counts = st.one_of(usual_counts, usual_counts, usual_counts, odd_counts)
usual_text = st.text(max_size=40)
texts = st.one_of(usual_text, usual_text, usual_text, usual_text, st.none(), st.integers())
keys = st.sampled_from(["text", "role", "status", "message", "usage", "modelVersion",
                        "model_version", "totalTokens", "total_tokens", "other"])


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    usage = draw(st.dictionaries(
        st.sampled_from(["inputTextTokens", "completionTokens", "totalTokens"] * 3
                        + ["input_text_tokens", "unknown"]), counts, max_size=4))
    if draw(st.booleans()):
        usage["completionTokensDetails"] = draw(st.one_of(
            st.none(), st.dictionaries(st.just("reasoningTokens"), counts, max_size=1)))
    value = line(draw(texts), draw(st.sampled_from(
        ["ALTERNATIVE_STATUS_PARTIAL", "ALTERNATIVE_STATUS_FINAL", "ALTERNATIVE_STATUS_X", ""]
    )), usage)
    alternative = value["result"]["alternatives"][0]
    places = [value, value["result"], alternative, alternative["message"]]
    for _ in range(max(0, draw(st.integers(-2, 2)))):  # an odd field somewhere
        where = draw(st.sampled_from([p for p in places if isinstance(p, dict)]))
        where[draw(keys)] = draw(st.one_of(texts, counts))
    return encode(value, ascii_only=draw(st.booleans()))


@pytest.mark.slow
@settings(max_examples=400)
@given(raw=lines())
def test_any_line_agrees_with_the_model_or_falls_back(raw: bytes) -> None:
    quick = quick_snapshot(raw)
    if quick is not None:
        assert quick == reference(raw)
