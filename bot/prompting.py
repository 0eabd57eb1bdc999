"""Build the message list for a model from a conversation's history within a token budget.

Pure functions: no I/O, no storage. The accounting is conservative on purpose: the budget is
`context_size - reply_reserve`, and every message costs its stored token count plus
`MESSAGE_OVERHEAD` (role markers, newlines), and the prompt as a whole `PROMPT_OVERHEAD`
(`<s>`, the assistant prefix, `[SEP]`: see the recorded `tokenizeCompletion` fixture, where
"ping" alone costs 15 tokens).

Walking back from the newest history item, turns (a user message with the assistant answer
that follows it) are taken whole until the next older turn would not fit. The system prompt and
the new message are never dropped; anything too large for the room left is cut in the middle
with a visible marker. The newest history turn, if it alone is too large, is kept in cut form
rather than lost, since the new message most likely refers to it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.foundation_models.types import ChatMessage, Role

PROMPT_OVERHEAD = 16
MESSAGE_OVERHEAD = 6
CUT_MARKER = "\n…[cut]…\n"
MIN_AVAILABLE = 256
# Below this many tokens of room a cut of the newest history turn is not worth sending.
MIN_CUT_ROOM = 64
DEFAULT_CONTEXT_SIZE = 8_000

# Context windows (prompt + answer) by model name
# (https://yandex.cloud/en/docs/ai-studio/concepts/generation/models). Unknown models get
# DEFAULT_CONTEXT_SIZE (the older generations' 8 000).
CONTEXT_SIZES: Mapping[str, int] = {
    "yandexgpt-lite": 32_000,
    "yandexgpt": 32_000,
    "yandexgpt-32k": 32_000,
    "llama-lite": 8_192,
    "llama": 8_192,
    "qwen3-235b-a22b-fp8": 256_000,
    "gpt-oss-120b": 128_000,
    "gpt-oss-20b": 128_000,
    "gemma-3-27b-it": 128_000,
}


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One stored message as the prompt builder sees it.

    `tokens` is the stored count (None: estimate it); `author` is the speaker's display name,
    used for user messages in group chats. `exchange` (answers only): the tool calls and their
    results that came before the answer's text, oldest first; they go into a prompt whole with
    the answer, or not at all (a call without its result is never sent)."""

    role: Role
    text: str
    tokens: int | None = None
    author: str | None = None
    exchange: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True, slots=True)
class PromptResult:
    messages: list[ChatMessage]
    trimmed: bool  # older turns were left out (or the newest one was cut)
    tokens: int = 0  # the builder's (conservative) count of the whole prompt
    cut: bool = False  # some message was cut with CUT_MARKER


def estimate_tokens(text: str) -> int:
    """A conservative token count for when the tokenizer is unavailable.

    ASCII costs one token per 2.5 characters, other BMP characters (Cyrillic included) one per
    1.5, characters outside the BMP (emoji) 2 each. Real tokenizers do about 4 ASCII and 3-4
    Cyrillic characters per token, so this overestimates. Subadditive: the estimate of a
    concatenation never exceeds the sum of the parts' estimates."""
    # Counted by the codecs (C speed) rather than a Python loop over characters.
    ascii_count = len(text.encode("ascii", "ignore"))
    astral = len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)
    bmp = len(text) - ascii_count - astral
    # Integer arithmetic (in thirtieths) so that the result is exact and subadditive.
    return math.ceil((ascii_count * 12 + bmp * 20 + astral * 60) / 30)


def model_base_name(model: str) -> str:
    """`gpt://folder/yandexgpt-lite/rc` -> `yandexgpt-lite`; `yandexgpt/latest` -> `yandexgpt`;
    `yandexgpt-lite/latest@tuned` -> `yandexgpt-lite`."""
    name = model
    if "://" in name:
        name = name.split("://", 1)[1]
        name = name.split("/", 1)[1] if "/" in name else name  # drop the folder
    return name.split("/", 1)[0].split("@", 1)[0]


def context_size_for(model: str, overrides: Mapping[str, int] | None = None) -> int:
    """The model's context window; `overrides` is looked up by the exact name, then the base."""
    base = model_base_name(model)
    for key in (model, base):
        if overrides and key in overrides:
            return overrides[key]
    return CONTEXT_SIZES.get(base, DEFAULT_CONTEXT_SIZE)


def cut_text(text: str, tokens: int, budget: int) -> tuple[str, int]:
    """Cut `text` (costing `tokens`) in the middle to cost at most `budget`; returns the new
    text and its cost. The cost of a cut text is the larger of the share of `tokens` its UTF-8
    bytes represent and its estimate, plus the marker's estimate."""
    if tokens <= budget:
        return text, tokens
    total_bytes = max(1, len(text.encode("utf-8", "surrogatepass")))
    marker_cost = estimate_tokens(CUT_MARKER)

    def cost(keep: int) -> int:
        kept = _keep(text, keep)
        share = math.ceil(tokens * len(kept.encode("utf-8", "surrogatepass")) / total_bytes)
        return max(share, estimate_tokens(kept)) + marker_cost

    low, high = 0, len(text)  # invariant: cost(low) fits or low == 0
    while low < high:
        mid = (low + high + 1) // 2
        if cost(mid) <= budget:
            low = mid
        else:
            high = mid - 1
    kept = _keep(text, low)
    return kept[: len(kept) - low // 3] + CUT_MARKER + kept[len(kept) - low // 3 :], cost(low)


def _keep(text: str, keep: int) -> str:
    """The `keep` characters a middle cut keeps: two thirds from the head, a third from the
    tail (concatenated, without the marker)."""
    tail = keep // 3
    return text[: keep - tail] + (text[len(text) - tail :] if tail else "")


def exchange_cost(messages: Sequence[ChatMessage]) -> int:
    """The estimated cost of tool-call and tool-result messages (names, arguments, results)."""
    total = 0
    for message in messages:
        parts = [message.text]
        parts.extend(f"{c.name}{json.dumps(c.arguments, ensure_ascii=False)}"
                     for c in message.tool_calls)
        parts.extend(f"{r.name}{r.content}" for r in message.tool_results)
        total += estimate_tokens("".join(parts)) + MESSAGE_OVERHEAD
    return total


def _render(item: HistoryItem, is_group: bool) -> tuple[str, int]:
    """The message text as the model sees it and its cost without MESSAGE_OVERHEAD."""
    tokens = item.tokens if item.tokens is not None else estimate_tokens(item.text)
    if is_group and item.role is Role.USER and item.author:
        prefix = f"{item.author}: "
        return prefix + item.text, tokens + estimate_tokens(prefix)
    return item.text, tokens


def _turns_backwards(history: Sequence[HistoryItem]) -> Iterator[list[HistoryItem]]:
    """Turns newest first: an assistant message goes with the user message right before it;
    anything else stands alone. Lazy, so a prompt costs the window, not the whole history."""
    i = len(history) - 1
    while i >= 0:
        item = history[i]
        if item.role is Role.ASSISTANT and i > 0 and history[i - 1].role is Role.USER:
            yield [history[i - 1], item]
            i -= 2
        else:
            yield [item]
            i -= 1


def build_prompt(
    system_prompt: str,
    history: Sequence[HistoryItem],
    new_message: HistoryItem | str,
    context_size: int,
    reply_reserve: int,
    is_group: bool = False,
    *,
    system_tokens: int | None = None,
) -> PromptResult:
    """Messages for the model: [system] + as many whole recent turns as fit + the new message.

    `history` is oldest first and holds only what may go into a prompt (the caller leaves out
    cancelled/failed answers). Raises ValueError only when the configuration leaves less than
    MIN_AVAILABLE tokens (`context_size - reply_reserve`)."""
    available = context_size - reply_reserve
    if available < MIN_AVAILABLE:
        raise ValueError(
            f"context size {context_size} minus reply reserve {reply_reserve} leaves fewer "
            f"than {MIN_AVAILABLE} tokens for the prompt"
        )
    if isinstance(new_message, str):
        new_message = HistoryItem(Role.USER, new_message)
    room = available - PROMPT_OVERHEAD
    cut = False

    sys_text, sys_cost = "", 0
    if system_prompt:
        tokens = system_tokens if system_tokens is not None else estimate_tokens(system_prompt)
        sys_text, sys_cost = system_prompt, tokens + MESSAGE_OVERHEAD
    new_text, new_tokens = _render(new_message, is_group)
    new_cost = new_tokens + MESSAGE_OVERHEAD
    if sys_cost + new_cost > room:
        cut = True
        if sys_cost:
            # The system prompt keeps what the new message leaves, but never less than half.
            sys_room = min(sys_cost, max(room - new_cost, room // 2))
            sys_text, sys_tokens = cut_text(
                sys_text, sys_cost - MESSAGE_OVERHEAD, sys_room - MESSAGE_OVERHEAD
            )
            sys_cost = sys_tokens + MESSAGE_OVERHEAD
        new_text, new_tokens = cut_text(new_text, new_tokens, room - sys_cost - MESSAGE_OVERHEAD)
        new_cost = new_tokens + MESSAGE_OVERHEAD

    budget = room - sys_cost - new_cost
    taken: list[ChatMessage] = []  # newest first
    used = 0
    trimmed = False
    for index, turn in enumerate(_turns_backwards(history)):
        rendered = [_render(item, is_group) for item in turn]
        turn_cost = sum(tokens + MESSAGE_OVERHEAD for _, tokens in rendered)
        turn_cost += sum(exchange_cost(item.exchange) for item in turn if item.exchange)
        if used + turn_cost <= budget:
            for item, (text, _) in zip(reversed(turn), reversed(rendered), strict=True):
                taken.append(ChatMessage(item.role, text))
                taken.extend(reversed(item.exchange))  # `taken` is newest first
            used += turn_cost
            continue
        trimmed = True
        left = budget - used
        if index == 0 and left >= MIN_CUT_ROOM * len(turn):
            cut = True
            parts, used = _cut_turn(turn, rendered, left)
            taken.extend(reversed(parts))
        break

    messages: list[ChatMessage] = []
    if sys_text:
        messages.append(ChatMessage(Role.SYSTEM, sys_text))
    messages.extend(reversed(taken))
    messages.append(ChatMessage(Role.USER, new_text))
    total = PROMPT_OVERHEAD + sys_cost + used + new_cost
    return PromptResult(messages=messages, trimmed=trimmed, tokens=total, cut=cut)


def _cut_turn(
    turn: list[HistoryItem], rendered: list[tuple[str, int]], room: int
) -> tuple[list[ChatMessage], int]:
    """Cut every message of a too-large turn so the turn costs at most `room`: the user message
    keeps up to half, the answer gets the rest. Returns the messages (oldest first) and cost."""
    parts: list[ChatMessage] = []
    used = 0
    for position, (item, (text, tokens)) in enumerate(zip(turn, rendered, strict=True)):
        is_last = position == len(turn) - 1
        share = room - used if is_last else min(tokens + MESSAGE_OVERHEAD, room // 2)
        new_text, new_tokens = cut_text(text, tokens, share - MESSAGE_OVERHEAD)
        parts.append(ChatMessage(item.role, new_text))
        used += new_tokens + MESSAGE_OVERHEAD
    return parts, used


# Third-party text (a tool's result, a message a guest query replies to) reaches the model
# between these two lines. The text cannot forge either (its own look-alikes are neutralised),
# so what follows the end line is never the third party's.
DATA_START = "[data returned by {source}]"
DATA_END = "[end of the data returned by {source}]"
_DATA_MARKER = re.compile(r"\[(?=\s*(?:end\s+of\s+the\s+data|data\s+returned\s+by)\b)",
                          re.IGNORECASE)


def visible(text: str) -> str:
    """`text` without control or invisible characters (zero-width, bidi controls, the tags
    block; tabs and newlines kept)."""
    return "".join(
        char for char in text
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cs", "Cn")
    )


def as_data(source: str, text: str) -> str:
    """`text` for the model as data from `source` ("the tool order_status"): cleaned of
    invisible and direction-changing characters, between the start and end lines, with any
    look-alike of them inside it neutralised so it cannot close itself early."""
    text = _DATA_MARKER.sub("(", visible(text))
    return f"{DATA_START.format(source=source)}\n{text}\n{DATA_END.format(source=source)}"
