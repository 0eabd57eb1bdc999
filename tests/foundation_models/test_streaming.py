"""The native NDJSON stream through real HTTP: snapshots, faults, early close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import APITimeoutError, RateLimitError, StreamError
from bot.foundation_models.streaming import LineBuffer, _Watchdog
from bot.foundation_models.transport import NO_RETRY, Timeouts
from bot.foundation_models.types import ChatMessage, CompletionStatus, Role, Snapshot
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import MakeClient

HELLO = [ChatMessage(Role.USER, "hello")]


async def collect(client: FoundationModelsClient, model: str = "yandexgpt-lite") -> list[Snapshot]:
    return [s async for s in client.stream(HELLO, model=model)]


def test_line_buffer_splits_only_on_newline_across_chunks() -> None:
    buffer = LineBuffer()
    line = '{"text": "a\u2028b \u00e9"}'.encode()
    assert buffer.feed(line[:5]) == []
    assert buffer.feed(line[5:11]) == []
    assert buffer.feed(line[11:] + b"\n{") == [line]
    assert buffer.feed(b"}\n\n") == [b"{}", b""]
    assert buffer.flush() == b""


def test_line_buffer_cost_does_not_grow_with_lines_seen() -> None:
    def feed_time(buffer: LineBuffer, line: bytes, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            buffer.feed(line)
        return time.perf_counter() - started

    line = b"x" * 2000 + b"\n"
    early = LineBuffer()
    feed_time(early, line, 10)
    late = LineBuffer()
    feed_time(late, line, 20000)
    # The same 200 lines cost about the same after 20 000 lines as at the start: measured in
    # interleaved pairs and compared by their fastest, so a burst of load elsewhere on the
    # machine weighs on both sides (a cost that grew with the lines seen would be ~100x).
    pairs = [(feed_time(early, line, 200), feed_time(late, line, 200)) for _ in range(7)]
    assert min(t for _, t in pairs) < 5 * min(t for t, _ in pairs) + 0.002


@pytest.mark.slow
async def test_stream_yields_cumulative_snapshots_ending_final(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.queue_reply("one two three four five six", chunks=3, interval=0.01)
    snaps = await collect(client)
    assert [s.text for s in snaps] == [
        "one two", "one two three four", "one two three four five six"
    ]
    assert [s.status for s in snaps][-1] is CompletionStatus.FINAL
    assert not any(s.is_final for s in snaps[:-1])
    assert snaps[-1].usage.completion_tokens == 6
    body = fm.requests[-1].json
    assert body["completionOptions"]["stream"] is True
    assert body["modelUri"] == "gpt://b1gtestfolder/yandexgpt-lite/latest"


async def test_revised_prefix_and_trailing_replacement_char(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.queue_reply("", chunks=["Hello wrld", "Hello world \ufffd", "Hello world 🙂"])
    snaps = await collect(client)
    assert [s.text for s in snaps] == ["Hello wrld", "Hello world ", "Hello world 🙂"]


async def test_stream_without_final_status_is_an_error(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.queue_reply("a b c d", chunks=4, fault="cut", fault_after=2)
    seen: list[str] = []

    async def consume() -> None:
        async for snap in client.stream(HELLO, model="yandexgpt"):
            seen.append(snap.text)

    with pytest.raises(StreamError) as info:
        await consume()
    assert seen == ["a", "a b"]
    assert info.value.partial_text == "a b"


async def test_malformed_line_is_a_stream_error(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.queue_reply("a b c d", chunks=4, fault="malformed", fault_after=1)
    with pytest.raises(StreamError, match="malformed") as info:
        await collect(client)
    assert info.value.partial_text == "a"


async def test_error_line_is_mapped_and_keeps_partial_text(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.queue_reply("a b c d", chunks=4, fault="error_line", fault_after=2, error_grpc=8)
    with pytest.raises(RateLimitError) as info:
        await collect(client)
    assert info.value.partial_text == "a b"
    assert info.value.grpc_code == 8


async def test_dropped_connection_is_a_stream_error_and_not_retried(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    fm.queue_reply("a b c d", chunks=4, fault="drop", fault_after=1)
    with pytest.raises(StreamError) as info:
        await collect(client)
    assert info.value.partial_text == "a"
    assert fm.paths().count("/foundationModels/v1/completion") == 1


@pytest.mark.slow
async def test_idle_and_first_byte_timeouts(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(timeouts=Timeouts(connect=1, first_byte=0.3, idle=0.1), retry=NO_RETRY)
    fm.queue_reply("a b c d", chunks=4, fault="stall", fault_after=2, stall=0.5)
    with pytest.raises(APITimeoutError) as info:
        await collect(client)
    assert info.value.phase == "idle"
    assert info.value.partial_text == "a b"
    fm.queue_reply("a b", chunks=2, fault="stall", fault_after=0, stall=0.5)
    with pytest.raises(APITimeoutError) as info:
        await collect(client)
    assert info.value.phase == "first_byte"
    fm.queue_reply("a b", fault="stall", stall=0.5)
    with pytest.raises(APITimeoutError) as info:
        await client.complete(HELLO, model="yandexgpt")
    assert info.value.phase == "first_byte"


async def test_closing_early_closes_the_response_and_frees_the_slot(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(max_concurrent_generations=1)
    fm.queue_reply(" ".join(f"w{i}" for i in range(60)), chunks=60, interval=0.05)
    generator = cast(AsyncGenerator[Snapshot, None], client.stream(HELLO, model="yandexgpt"))
    async with aclosing(generator) as stream:
        async for snap in stream:
            if snap.text.count("w") >= 2:
                break
    # the server notices the closed connection on its next write, long before its last line
    await asyncio.wait_for(fm.stream_closed.wait(), 30)
    assert fm.stream_disconnects == 1
    assert fm.stream_lines_written < 60
    # the single concurrency slot is free again
    answer = await asyncio.wait_for(client.complete(HELLO, model="yandexgpt"), 1)
    assert answer.text == "Echo: hello"


@pytest.mark.slow
@given(
    lines=st.lists(
        st.text(
            # lone surrogates cannot be UTF-8 encoded, so they never reach the wire
            alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)),
            max_size=30,
        ),
        max_size=8,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_line_buffer_any_split_gives_the_same_lines(lines: list[str], cuts: list[int]) -> None:
    data = b"".join(line.encode() + b"\n" for line in lines)
    buffer = LineBuffer()
    out: list[bytes] = []
    start = 0
    for cut in sorted(c for c in cuts if c <= len(data)):
        out += buffer.feed(data[start:cut])
        start = cut
    out += buffer.feed(data[start:])
    assert out == [line.encode() for line in lines]
    assert buffer.flush() == b""


async def test_lines_split_anywhere_over_tcp(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    """Recorded platypus stream, written 7 bytes at a time (lines and UTF-8 cut mid-way)."""
    import json

    from tests.conftest import FIXTURES

    exchange = json.loads(
        (FIXTURES / "rest/test_completions/test_run_stream.json").read_bytes()
    )["exchanges"][0]
    lines = [dict(line) for line in exchange["ndjson"]]
    lines[0]["result"]["alternatives"][0]["message"]["text"] += " утконос \u2028 🦆"
    data = b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)
    fm.queue_raw("/foundationModels/v1/completion",
                 parts=[data[i : i + 7] for i in range(0, len(data), 7)])
    snaps = await collect(client)
    assert len(snaps) == 21
    assert snaps[0].text.endswith(" утконос \u2028 🦆")
    assert snaps[-1].text == lines[-1]["result"]["alternatives"][0]["message"]["text"]


async def test_consecutive_streams_reuse_one_connection(
    fm: FakeFoundationModels, client: FoundationModelsClient
) -> None:
    # The body is read to its end after the final line, so httpx keeps the connection.
    for _ in range(4):
        snaps = await collect(client)
        assert snaps[-1].status is CompletionStatus.FINAL
    peers = {r.peer for r in fm.requests if r.path.endswith("/completion")}
    assert len(peers) == 1, peers


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_idle_timeout_does_not_count_time_spent_by_the_consumer(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    """The timeout covers waiting for the network, never the consumer's own pauses, even
    when the first-byte timeout (armed first) is longer than the idle one."""
    # The first-byte timeout outlasts the server's stall below: if that timer (or a deadline
    # set before the consumer's pause) were the one running, the stall would end first and the
    # stream would end without a final line (a StreamError) instead of an idle timeout.
    client = make_client(timeouts=Timeouts(connect=1, first_byte=60.0, idle=0.15), retry=NO_RETRY)
    fm.queue_reply("a b c d", chunks=4, interval=0.05)
    texts = []
    async with aclosing(client.stream(HELLO, model="yandexgpt")) as stream:
        async for snap in stream:
            texts.append(snap.text)
            await asyncio.sleep(0.3)  # twice the idle timeout, between reads
    assert texts == ["a", "a b", "a b c", "a b c d"]
    # ...and a stall after such a pause is still caught, after `idle`, not `first_byte`
    fm.queue_reply("a b c d", chunks=4, fault="stall", fault_after=2, stall=2.0)
    seen = []

    async def consume_slowly() -> None:
        async with aclosing(client.stream(HELLO, model="yandexgpt")) as stream:
            async for snap in stream:
                seen.append(snap.text)
                await asyncio.sleep(0.3)

    with pytest.raises(APITimeoutError) as info:
        await consume_slowly()
    assert info.value.phase == "idle"
    assert info.value.partial_text == "a b"
    assert seen == ["a", "a b"]


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_cancelling_a_read_is_a_cancellation_not_a_timeout(
    fm: FakeFoundationModels, make_client: MakeClient
) -> None:
    client = make_client(timeouts=Timeouts(connect=1, first_byte=1.0, idle=0.2), retry=NO_RETRY)
    fm.queue_reply("a b c d", chunks=4, fault="stall", fault_after=1, stall=2.0)
    first = asyncio.Event()

    async def consume() -> None:
        async with aclosing(client.stream(HELLO, model="yandexgpt")) as stream:
            async for _ in stream:
                first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the watchdog is gone with the stream: the client streams on normally
    assert [s.text for s in await collect(client)] == ["Echo:", "Echo: hello"]


@pytest.mark.parametrize("outside", [False, True])
@pytest.mark.slow
async def test_watchdog_owns_only_its_own_cancellation(outside: bool) -> None:
    """The stream's timeout turns its own cancel into a timeout; a cancel from outside that
    lands in the same loop iteration is not swallowed (as with `asyncio.timeout`)."""
    loop = asyncio.get_running_loop()

    async def read() -> tuple[bool, int]:
        watchdog = _Watchdog()
        watchdog.start(0.05)
        task = asyncio.current_task()
        assert task is not None
        if outside:
            loop.call_at(watchdog.deadline, task.cancel)
        try:
            await asyncio.sleep(1)  # a read that never ends
        except asyncio.CancelledError:
            watchdog.waiting = False
            return watchdog.timed_out(), task.cancelling()
        finally:
            watchdog.close()
        return False, task.cancelling()

    timed_out, cancelling = await asyncio.create_task(read())
    assert timed_out is not outside
    assert cancelling == (1 if outside else 0)
