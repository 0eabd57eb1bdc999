"""Wire payloads of the fake Foundation Models server, written by hand (nothing from `bot`).

Shapes follow https://yandex.cloud/en/docs/ai-studio/ and the recorded responses in
tests/fixtures: completion results (int64 as
strings), both error body forms, operations, tokens, embeddings, classifier predictions,
OpenAI-compatible chunks, and a tiny valid JPEG.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
from typing import Any

REFUSAL = (
    "it is not possible to generate an image from this request "
    "because it may violate the terms of use"
)
_GRPC_BY_HTTP = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 501: 12, 503: 14, 504: 4}
_REASON = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


def error_body(status: int, message: str, *, form: str = "object") -> dict[str, Any]:
    """`object`: {"error": {grpcCode, httpCode, ...}}; `string`: {"error": "...", "code": ...}."""
    grpc = _GRPC_BY_HTTP.get(status, 2)
    if form == "string":
        return {"error": message, "code": grpc, "message": message, "details": []}
    return {
        "error": {
            "grpcCode": grpc,
            "httpCode": status,
            "message": message,
            "httpStatus": _REASON.get(status, "Error"),
            "details": [],
        }
    }


def word_count(text: str) -> int:
    return len(text.split())


# The embedding models take at most 2,000 input tokens
# (https://yandex.cloud/en/docs/ai-studio/concepts/limits); past that Yandex answers 400
# "number of input tokens must be no more than 2000, got 2095" (issue 78: a 3,400-character
# paste in Russian).
EMBEDDING_MAX_TOKENS = 2000


def embedding_tokens(text: str) -> int:
    """What the embedding models count for `text`, about: one token per 4 ASCII characters
    and per 1.4 other characters (Cyrillic), fitted to the refusal above (a 3,400-character
    Russian paste, spaces and punctuation included, counts about 2,100)."""
    ascii_count = len(text.encode("ascii", "ignore"))
    return round(ascii_count / 4 + (len(text) - ascii_count) / 1.4)


def completion_result(
    text: str, status: str, *, input_tokens: int, completion_tokens: int | None = None
) -> dict[str, Any]:
    """A CompletionResponse message (no `result` wrapper)."""
    done = word_count(text) if completion_tokens is None else completion_tokens
    return {
        "alternatives": [{"message": {"role": "assistant", "text": text}, "status": status}],
        "usage": {
            "inputTextTokens": str(input_tokens),
            "completionTokens": str(done),
            "totalTokens": str(input_tokens + done),
            "completionTokensDetails": {"reasoningTokens": "0"},
        },
        "modelVersion": "23.10.2024",
    }


# Hidden reasoning (REASONING=on): its size and, where a wire streams it apart, its text.
REASONING_TOKENS = 12
REASONING_TEXT = "Let me think about this step by step (hidden reasoning)."


def add_reasoning(result: dict[str, Any], options: dict[str, Any]) -> None:
    """With `reasoningOptions.mode = ENABLED_HIDDEN`, the tokens the model spent thinking, in
    `completionTokens` and its `completionTokensDetails.reasoningTokens` (text never shown)."""
    if (options.get("reasoningOptions") or {}).get("mode") != "ENABLED_HIDDEN":
        return
    usage = result["usage"]
    for key in ("completionTokens", "totalTokens"):
        usage[key] = str(int(usage[key]) + REASONING_TOKENS)
    usage["completionTokensDetails"] = {"reasoningTokens": str(REASONING_TOKENS)}


def ndjson_line(obj: dict[str, Any]) -> bytes:
    # ensure_ascii=False: the real service sends raw UTF-8 text.
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def split_cumulative(text: str, chunks: int) -> list[str]:
    """Cumulative prefixes of `text` at word boundaries, `chunks` of them (last = text)."""
    words = text.split(" ")
    chunks = max(1, min(chunks, len(words)))
    out: list[str] = []
    for i in range(1, chunks + 1):
        out.append(" ".join(words[: max(1, round(len(words) * i / chunks))]))
    out[-1] = text
    return out


def operation(
    op_id: str, *, done: bool, description: str = "", response: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": op_id, "description": description, "createdAt": "2026-01-01T00:00:00Z",
        "createdBy": "ajefakefakefake", "modifiedAt": "2026-01-01T00:00:01Z", "done": done,
        "metadata": None,
    }
    if response is not None:
        body["response"] = response
    if error is not None:
        body["error"] = error
    return body


def tokens_of(texts: list[str]) -> list[dict[str, Any]]:
    tokens: list[dict[str, Any]] = [{"id": "1", "text": "<s>", "special": True}]
    for text in texts:
        for word in text.split():
            tokens.append({"id": str(int(hashlib.md5(word.encode()).hexdigest()[:5], 16)),
                           "text": "\u2581" + word})
        tokens.append({"id": "3", "text": "[NL]", "special": True})
    return tokens


# --- embeddings (issue 16) ---------------------------------------------------------------------
# Like a real embedding model in the way retrieval depends on: texts that share words (after
# Snowball stemming) or word pieces are close, unrelated texts are nearly orthogonal. Each
# stemmed word and each character trigram of it is hashed to a signed coordinate of 256
# dimensions (feature hashing), then the vector is normalised. Nothing here knows any fixture.
_EMB_STOPWORDS = frozenset("""
a an and are as at be been but by can could do does did for from has have how i if in is it its
me my of on or our please so than that the their them then there these they this to us was we
were what when where which who why will with would you your about should any all also just into
out up get got am not no yes
а без бы был была были было быть в вам вас весь во вот все всё вы где да для до его ее её если
есть еще ещё же за и из или им их к как ко когда кто ли либо мне мой можно мы на над не него нет
ни но ну о об однако он она они оно от очень по под при про с со так также там те тем то того
тоже той только том ту ты у уже чем что чтобы это этот эта эти я мой моя мои наш ваш ваша свой
сколько какой какая какие меня
""".split())  # noqa: SIM905


_STEMMERS: dict[str, Any] = {}


def _emb_features(text: str) -> list[tuple[str, float]]:
    import re

    import Stemmer

    if not _STEMMERS:
        _STEMMERS.update(ru=Stemmer.Stemmer("russian"), en=Stemmer.Stemmer("english"))
    russian, english = _STEMMERS["ru"], _STEMMERS["en"]
    features: list[tuple[str, float]] = []
    for word in re.findall(r"[^\W_]+", text.lower().replace("ё", "е")):
        if word in _EMB_STOPWORDS:
            continue
        stem = (russian if re.search(r"[а-я]", word) else english).stemWord(word)
        features.append(("w:" + stem, 1.0))
        padded = f"<{stem}>"
        features.extend(("c:" + padded[i:i + 3], 0.4) for i in range(len(padded) - 2))
    return features


def quote_first_source(system: str) -> str | None:
    """A grounded answer as a model would give it: the first sentence of source [1], cited."""
    start = system.find("\n[1] ")
    if start < 0:
        return None
    lines = system[start + 1:].split("\n")
    body = " ".join(lines[1:3]).strip() if len(lines) > 1 else ""
    sentence = body.split(". ")[0].rstrip(".")
    return f"{sentence}. [1]" if sentence else None


_DOCUMENT = re.compile(r'<document file="([^"]*)"(?: where="([^"]*)")?>\n(.*?)\n</document>', re.S)


def quote_document(system: str, question: str) -> str | None:
    """An answer from documents sent in chat as a model would give it: the first sentence of
    the excerpt sharing most words with the question, and where it is ("(file, p. 2)")."""
    asked = set(re.findall(r"\w{3,}", question.lower()))
    best: tuple[int, str, str, str] | None = None
    for file, where, body in _DOCUMENT.findall(system):
        shared = len(asked & set(re.findall(r"\w{3,}", body.lower())))
        if best is None or shared > best[0]:
            best = (shared, file, where, body)
    if best is None:
        return None
    _, file, where, body = best
    sentence = " ".join(body.split()).split(". ")[0].rstrip(".")
    place = where.rsplit(" > ", 1)[-1] if where else ""
    return f"{sentence} ({file}, {place})." if place else f"{sentence} ({file})."


def embedding_of(text: str, dim: int = 256) -> list[float]:
    values = [0.0] * dim
    for feature, weight in _emb_features(text):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % dim
        values[index] += weight if digest[4] & 1 else -weight
    norm = sum(v * v for v in values) ** 0.5
    if norm == 0:  # no content words: a fixed direction, far from every document
        values[0], norm = 1.0, 1.0
    return [v / norm for v in values]


def tiny_jpeg(gray: int = 128) -> bytes:
    """A valid 8x8 grayscale baseline JPEG of one flat shade (about 140 bytes; Pillow
    decodes it to exactly `gray`).

    All-ones quantisation; one-code Huffman tables: DC category 0 -> "0", AC EOB -> "0".
    The DC value encodes `gray` (category bits written by hand), so the image is flat.
    """
    dc = (gray - 128) * 8  # DC coefficient of a flat block with quantiser 1
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    category = abs(dc).bit_length()
    dht_dc = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + b"\x01" + b"\x00" * 15 + bytes(
        [category]
    )
    dht_ac = b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    bits = "0"  # the only DC code
    if category:
        value = dc if dc > 0 else dc + (1 << category) - 1
        bits += format(value, f"0{category}b")
    bits += "0"  # EOB
    bits += "1" * (-len(bits) % 8)
    data = bytearray(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    data = bytearray(data.replace(b"\xff", b"\xff\x00"))
    return b"\xff\xd8" + dqt + sof + dht_dc + dht_ac + sos + bytes(data) + b"\xff\xd9"


def image_response(image: bytes) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/yandex.cloud.ai.foundation_models.v1.image_generation."
        "ImageGenerationResponse",
        "image": base64.b64encode(image).decode(),
        "modelVersion": "",
    }


def openai_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if finish is not None:
        choice["finish_reason"] = finish
    body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1758047016,
            "model": model, "choices": [choice]}
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def openai_completion(model: str, text: str, finish: str, prompt_tokens: int) -> dict[str, Any]:
    done = word_count(text)
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1758047016,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + done,
                  "completion_tokens": done},
    }


def as_doubles(value: Any) -> Any:
    """Numbers as a protobuf Struct gives them back: every one a double (`5` -> `5.0`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {key: as_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_doubles(item) for item in value]
    return value


def tool_call_result(
    calls: list[dict[str, Any]], *, input_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """A native result whose message is a `toolCallList` (status TOOL_CALLS, no text)."""
    return {
        "alternatives": [{
            "message": {"role": "assistant", "toolCallList": {"toolCalls": [
                {"functionCall": {"name": call["name"],
                                  "arguments": as_doubles(call.get("arguments", {}))}}
                for call in calls
            ]}},
            "status": "ALTERNATIVE_STATUS_TOOL_CALLS",
        }],
        "usage": {
            "inputTextTokens": str(input_tokens),
            "completionTokens": str(completion_tokens),
            "totalTokens": str(input_tokens + completion_tokens),
            "completionTokensDetails": {},
        },
        "modelVersion": "23.10.2024",
    }


def openai_tool_deltas(calls: list[dict[str, Any]], style: str) -> list[dict[str, Any]]:
    """The `delta`s that carry `calls`: whole (YandexGPT: id = name, one chunk for all) or in
    fragments (Qwen: a first fragment with a real id and empty arguments, then argument
    pieces with `""` for id, type and name)."""
    if style == "whole":
        return [{"tool_calls": [
            {"index": i, "id": call.get("id") or call["name"], "type": "function",
             "function": {"name": call["name"],
                          "arguments": json.dumps(call.get("arguments", {}),
                                                  ensure_ascii=False)}}
            for i, call in enumerate(calls)
        ]}]
    deltas: list[dict[str, Any]] = []
    for i, call in enumerate(calls):
        call_id = call.get("id") or "chatcmpl-tool-" + hashlib.md5(
            f"{i}:{call['name']}:{json.dumps(call.get('arguments'))}".encode()
        ).hexdigest()
        deltas.append({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                       "function": {"name": call["name"], "arguments": ""}}]})
        text = json.dumps(call.get("arguments", {}), ensure_ascii=False)
        for start in range(0, len(text), 5):
            deltas.append({"tool_calls": [{"index": i, "id": "", "type": "",
                                           "function": {"name": "",
                                                        "arguments": text[start:start + 5]}}]})
    return deltas
