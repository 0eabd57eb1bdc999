"""The prompt builder: examples, then properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.foundation_models.types import ChatMessage, Role
from bot.prompting import (
    CUT_MARKER,
    MESSAGE_OVERHEAD,
    PROMPT_OVERHEAD,
    HistoryItem,
    build_prompt,
    context_size_for,
    cut_text,
    estimate_tokens,
    model_base_name,
)


def item(
    role: Role, text: str, tokens: int | None = None, author: str | None = None
) -> HistoryItem:
    return HistoryItem(role, text, tokens if tokens is not None else estimate_tokens(text), author)


def test_everything_fits_in_order() -> None:
    history = [item(Role.USER, "hi"), item(Role.ASSISTANT, "hello"), item(Role.USER, "q")]
    result = build_prompt("be brief", history, "new", 32_000, 2_000)
    assert result.messages == [
        ChatMessage(Role.SYSTEM, "be brief"),
        ChatMessage(Role.USER, "hi"),
        ChatMessage(Role.ASSISTANT, "hello"),
        ChatMessage(Role.USER, "q"),
        ChatMessage(Role.USER, "new"),
    ]
    assert not result.trimmed
    assert not result.cut


def test_empty_system_prompt_is_left_out() -> None:
    result = build_prompt("", [], "new", 8_000, 1_000)
    assert result.messages == [ChatMessage(Role.USER, "new")]


def test_old_turns_are_dropped_whole_and_reported() -> None:
    history = []
    for n in range(50):
        history += [item(Role.USER, f"u{n}", 100), item(Role.ASSISTANT, f"a{n}", 100)]
    # Room for history: 1000 - 16 - (5 + 6) - (2 + 6) = 965 -> four turns of 212.
    result = build_prompt("sys", history, "new", 2_000, 1_000, system_tokens=5)
    texts = [m.text for m in result.messages]
    assert texts == ["sys", "u46", "a46", "u47", "a47", "u48", "a48", "u49", "a49", "new"]
    assert result.trimmed
    assert result.tokens <= 1_000


def test_pair_is_never_split() -> None:
    # The newest turn fits only without its user half: the whole turn goes (it is cut, not split).
    history = [item(Role.USER, "u", 300), item(Role.ASSISTANT, "a", 300)]
    result = build_prompt("", history, "new", 1_000, 500)
    roles = [m.role for m in result.messages]
    assert roles == [Role.USER, Role.ASSISTANT, Role.USER]
    assert result.trimmed
    assert result.tokens <= 500


def test_group_messages_carry_author_names() -> None:
    history = [item(Role.USER, "hi", author="Anna"), item(Role.ASSISTANT, "hello")]
    new = item(Role.USER, "and me?", author="Boris")
    result = build_prompt("", history, new, 8_000, 1_000, is_group=True)
    assert [m.text for m in result.messages] == ["Anna: hi", "hello", "Boris: and me?"]
    private = build_prompt("", history, new, 8_000, 1_000, is_group=False)
    assert [m.text for m in private.messages] == ["hi", "hello", "and me?"]


def test_huge_new_message_is_cut_with_marker() -> None:
    text = "начало " + "слово " * 20_000 + " конец"
    result = build_prompt("system", [item(Role.USER, "old")], text, 8_192, 1_000)
    last = result.messages[-1]
    assert CUT_MARKER in last.text
    assert last.text.startswith("начало")
    assert last.text.endswith("конец")
    assert result.messages[0] == ChatMessage(Role.SYSTEM, "system")
    assert result.cut
    assert result.tokens <= 8_192 - 1_000


def test_huge_system_prompt_and_new_message_share_the_room() -> None:
    result = build_prompt("s" * 100_000, [], "n" * 100_000, 4_000, 1_000)
    system, new = result.messages
    assert CUT_MARKER in system.text
    assert CUT_MARKER in new.text
    assert result.tokens <= 3_000


def test_misconfiguration_raises() -> None:
    with pytest.raises(ValueError, match="reply reserve"):
        build_prompt("", [], "x", 1_000, 900)


def test_estimate_is_conservative_for_the_recorded_tokenizer() -> None:
    # The recorded tokenizeCompletion: "ping" -> 1 token of text; "Ассистент" -> 3 tokens.
    assert estimate_tokens("ping") >= 1
    assert estimate_tokens("Ассистент") >= 3
    assert estimate_tokens("") == 0
    assert estimate_tokens("😀") == 2


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("yandexgpt-lite", 32_000),
        ("yandexgpt/latest", 32_000),
        ("gpt://b1g/yandexgpt-lite/rc", 32_000),
        ("gpt://b1g/llama/latest", 8_192),
        ("llama-lite/latest", 8_192),
        ("gpt://b1g/qwen3-235b-a22b-fp8/latest", 256_000),
        ("gpt-oss-20b/latest", 128_000),
        ("gpt://b1g/yandexgpt-lite/latest@tuned123", 32_000),
        ("something-new", 8_000),
    ],
)
def test_context_sizes(model: str, expected: int) -> None:
    assert context_size_for(model) == expected


def test_context_size_overrides() -> None:
    assert context_size_for("yandexgpt/rc", {"yandexgpt": 16_000}) == 16_000
    assert context_size_for("Qwen/Qwen3-8B", {"Qwen/Qwen3-8B": 40_000}) == 40_000
    assert model_base_name("gpt://f/yandexgpt/rc") == "yandexgpt"


# --- properties ---------------------------------------------------------------------------

ALPHABET = st.sampled_from(list("abc xyz.,\n") + list("привет мир") + ["😀", "漢", "\ud800"])
texts = st.text(ALPHABET, max_size=400)


@st.composite
def histories(draw: st.DrawFn) -> list[HistoryItem]:
    roles = draw(st.lists(st.sampled_from([Role.USER, Role.ASSISTANT]), max_size=30))
    authors = st.sampled_from([None, "Anna", "Борис Иванов"])
    return [item(role, draw(texts), author=draw(authors)) for role in roles]


@settings(max_examples=300, deadline=None)
@given(
    system=st.text(ALPHABET, max_size=3_000),
    history=histories(),
    new=st.text(ALPHABET, max_size=3_000),
    context=st.integers(400, 3_000),
    is_group=st.booleans(),
)
@pytest.mark.slow
def test_properties(
    system: str, history: list[HistoryItem], new: str, context: int, is_group: bool
) -> None:
    reserve = 100
    available = context - reserve
    result = build_prompt(
        system, history, item(Role.USER, new, author="Me"), context, reserve, is_group
    )
    messages = result.messages

    # Fits: by the builder's own count, and recounted from the texts it returns.
    assert result.tokens <= available
    recount = PROMPT_OVERHEAD + sum(estimate_tokens(m.text) + MESSAGE_OVERHEAD for m in messages)
    assert recount <= available

    # The system prompt and the new message are always there (maybe cut).
    if system:
        assert messages[0].role is Role.SYSTEM
        assert messages[0].text == system or CUT_MARKER in messages[0].text
        messages = messages[1:]
    assert messages[-1].role is Role.USER
    middle = messages[:-1]

    rendered = [
        ChatMessage(
            h.role,
            f"{h.author}: {h.text}" if is_group and h.author and h.role is Role.USER else h.text,
        )
        for h in history
    ]
    kept = len(middle)
    suffix = rendered[len(rendered) - kept :] if kept else []
    # In order: the history part is the newest `kept` messages (the oldest of them maybe cut).
    assert [m.role for m in middle] == [m.role for m in suffix]
    for got, want in zip(middle, suffix, strict=True):
        assert got.text == want.text or CUT_MARKER in got.text
    assert result.trimmed == (kept < len(history) or any(CUT_MARKER in m.text for m in middle))
    # Pairs whole: the kept part never starts with an answer whose question was left out.
    if 0 < kept < len(history):
        first_kept = len(history) - kept
        assert not (
            history[first_kept].role is Role.ASSISTANT
            and history[first_kept - 1].role is Role.USER
        )
    # The newest turn is included whenever it fits on its own.
    if history and not result.cut:
        last = history[-1]
        newest_turn = [last]
        if last.role is Role.ASSISTANT and len(history) > 1 and history[-2].role is Role.USER:
            newest_turn = [history[-2], last]
        turn_cost = sum(
            estimate_tokens(m.text) + MESSAGE_OVERHEAD
            for m in rendered[len(rendered) - len(newest_turn) :]
        )
        if turn_cost + result.tokens <= available:
            assert kept >= len(newest_turn)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(text=st.text(ALPHABET, min_size=1, max_size=2_000), budget=st.integers(6, 500))
def test_cut_text_fits(text: str, budget: int) -> None:
    tokens = estimate_tokens(text)
    out, cost = cut_text(text, tokens, budget)
    assert cost <= budget
    if tokens <= budget:
        assert out == text
    else:
        assert CUT_MARKER in out
        assert estimate_tokens(out) <= cost
