"""What of a question is searched: all of it, up to a bound that keeps its embedding within
the model's input limit, whatever the question's length.

Yandex's embedding models take at most 2,000 input tokens and refuse more with a 400
("number of input tokens must be no more than 2000, got 2095": a 3,400-character paste in
Russian; ../shared/reference/foundation-models-api.md §5.1,
https://yandex.cloud/en/docs/ai-studio/concepts/embeddings). The bound is counted in UTF-8
bytes, which needs no tokenizer and holds for any text: a token of a SentencePiece model
covers one byte at least (a character it does not know is split into byte pieces), so a text
of N bytes is at most N tokens and the model's few special ones. A longer question (a long
paste, or several messages joined) is searched by its start and its end, where people put
what they ask; the model still reads the whole of it.
"""

from __future__ import annotations

EMBEDDING_INPUT_TOKENS = 2000
# Below the limit with room for the special tokens: 1,800 bytes are 1,800 ASCII characters,
# or 900 Cyrillic ones, and a search needs far fewer.
QUERY_BYTES = 1800
HEAD_SHARE = 0.6  # of the bound, for the question's start (the end gets the rest)
GAP = "\n…\n"
WORD_REACH = 40  # bytes a cut may step back to end on a word boundary


def search_text(question: str, limit: int = QUERY_BYTES) -> str:
    """`question` when it is within `limit` UTF-8 bytes; else its start and its end, cut on
    word boundaries, within `limit` bytes together."""
    data = question.encode()
    if len(data) <= limit:
        return question
    room = limit - len(GAP.encode())
    head_bytes = int(room * HEAD_SHARE)
    head = data[:head_bytes].decode(errors="ignore")
    tail = data[len(data) - (room - head_bytes):].decode(errors="ignore")
    space = head.rfind(" ", len(head) - WORD_REACH)
    head = head[:space] if space > 0 else head
    space = tail.find(" ", 0, WORD_REACH)
    tail = tail[space + 1:] if space >= 0 else tail
    return f"{head.rstrip()}{GAP}{tail.lstrip()}"
