"""100 chats stream a 4,000-token answer at once through one Outbox: no 429, exact finals.

The test runs on looptime's virtual clock: the pacing is exact and the same on a busy machine
(no wall-clock window to miss), and 28 s of scaled Telegram time take a few seconds. The kit's
fake Telegram enforces Telegram's limits scaled 10x down (private 1/100 ms, group
1/300 ms, bot 30 per 100 ms) and answers 429 on any violation; the outbox runs with the same
scale. The model streams cumulative snapshots of 40 tokens every 20 ms (2 s per answer).
"""

from __future__ import annotations

import asyncio

import pytest
from aiogram.methods import EditMessageText, SendMessage, SendMessageDraft

from bot.telegram.outbox import StreamHandle
from bot.telegram.render import utf16_len
from tests.telegram.test_outbox import expected, setup, shown

pytestmark = pytest.mark.looptime

SECTION = (
    "## Step {n}\n\n"
    "Here is what happens in step {n}: the **input** is read, `parse()` runs and the result "
    "goes to [the docs](https://example.com/{n}). Привет, мир! 😀 Some more words follow "
    "so that the paragraph reads like a real answer from a model.\n\n"
    "```python\ndef step_{n}(x: int) -> int:\n    return x * {n}\n```\n\n"
    "1. first point of {n}\n2. second point with *emphasis*\n\n"
)


def answer(chat: int) -> str:
    """About 4,000 tokens (~16,000 characters) of typical model Markdown."""
    text = f"Answer for chat {chat}.\n\n"
    n = 0
    while len(text) < 16_000:
        text += SECTION.format(n=n)
        n += 1
    return text.strip()


def chunks(text: str, size: int = 160) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def stream_one(handle: StreamHandle, final: str) -> list[int]:
    text = ""
    for chunk in chunks(final):
        text += chunk
        handle.update(text)  # Yandex sends cumulative snapshots
        await asyncio.sleep(0.02)
    return await handle.finish(final)


# A hang guard sized to the work, not a bound on speed: the test renders 1,200 frames of up to
# 16,000 characters of Markdown (17 CPU-s on a quiet machine); beside a busy loop, the other
# worker and the build step it gets a fraction of a core, and the 120 s default cut it short
# (a busy-loop run, 2026-11-27). Nothing in it waits on the wall clock (looptime).
@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_hundred_chats_stream_without_a_single_429() -> None:
    chats = [1000 + i for i in range(50)] + [-1000 - i for i in range(50)]
    outbox, telegram = setup(scale=0.1, chats=chats)
    finals = {chat: answer(chat) for chat in chats}
    handles = {
        chat: outbox.stream(chat, "private" if chat > 0 else "supergroup", draft=True)
        for chat in chats
    }
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(*(stream_one(handles[c], finals[c]) for c in chats))
    elapsed = loop.time() - started  # virtual: what the machine is doing does not move it

    floods = [r for r in telegram.sent if r.status == 429]
    assert telegram.flood.refused == []
    assert floods == []
    for chat, ids in zip(chats, results, strict=True):
        want = expected(finals[chat])
        assert len(want) >= 4  # really split: 16k characters
        assert all(utf16_len(text) <= 4096 for text, _ in want)
        assert shown(telegram, chat) == want, chat
        assert len(ids) == len(want)
    private_calls = telegram.calls(SendMessageDraft)
    assert {c.chat_id for c in private_calls} == {c for c in chats if c > 0}
    edits = telegram.calls(EditMessageText)
    assert all(c.chat_id < 0 for c in edits)
    sends = telegram.calls(SendMessage)
    assert len(sends) == sum(len(r) for r in results)
    # Nothing starved: every chat's last message is out within twice the model's own
    # streaming time (2 s; 2.8 s measured), on the virtual clock the whole test runs on.
    streaming = len(chunks(finals[chats[0]])) * 0.02
    assert elapsed < 2 * streaming
