"""A BotTester test that waits out Telegram's limits and the desk's timers: wall and CPU.

    .venv/bin/python bench/bench_virtual_clock.py [--real] [--only NAME]

Each scenario is one test as a developer writes it (a tester's start, the exchanges, the wait,
the stop), run once after a warm-up tester (the template database migrated, first imports
paid); printed: wall time, the process's CPU time, and how far the loop's clock moved.

- ``rate limit``: Telegram answers the bot's answer with 429 "retry after 5": the outbox
  waits 5 s and sends it again.
- ``desk timer``: an operator's reply in the topic cannot be copied to the user (Telegram
  answers 500 six times: the outbox tries six times, 0.5 s backoff doubling); the desk's relay
  tries again ``retry_after`` (30 s) later; the test waits for it (``asyncio.sleep(31)``).
- ``model backoff``: the model API answers 429 "Retry-After: 3"; the client waits and
  retries.

``--real``: on the real clock (``BotTester(real_time=True)``; before the virtual clock,
every BotTester ran so).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import inspect
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from aiogram.types import Chat, Message, Update  # noqa: E402

from bot import App  # noqa: E402
from bot.testing import BotTester, ScriptedModel  # noqa: E402

SUPPORT = -1001234567890
REAL = False


def tester(app: App, **kwargs: object) -> BotTester:
    if "real_time" in inspect.signature(BotTester).parameters:
        kwargs["real_time"] = REAL
    return BotTester(app, **kwargs)  # type: ignore[arg-type]


def answering(text: str) -> ScriptedModel:
    model = ScriptedModel()
    model.when("hello").answer(text)
    return model


async def rate_limit() -> None:
    async with tester(App(env_file=None), model=answering("Hi there.")) as t:
        anna = t.user("Anna")
        t.telegram.fail_next("sendMessage", 429, retry_after=5, chat_id=anna.id)
        reply = await anna.says("hello")
    assert reply.text == "Hi there.", reply.text
    assert t.telegram.state.count_429 == 1


async def model_backoff() -> None:
    model = answering("Hi there.")
    async with tester(App(env_file=None), model=model) as t:
        model.fail_next(429, retry_after=3)
        reply = await t.user("Anna").says("hello")
    assert reply.text == "Hi there.", reply.text


async def desk_timer() -> None:
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "DESK_INSIGHTS": "off"}
    async with tester(App(env_file=None), settings=settings) as t:
        anna, olga = t.user("Anna"), t.user("Olga")
        t.telegram.set_member(SUPPORT, olga.id)
        await anna.says("/operator")
        [card] = [c for c in t.sent if c.chat_id == SUPPORT and c.method == "sendMessage"]
        thread = int(card.params["message_thread_id"])
        t.telegram.fail_next("copyMessage", 500, "Internal Server Error", times=6,
                             chat_id=anna.id)
        chat = Chat(id=SUPPORT, type="supergroup", title="Support", is_forum=True)
        message_id = t.telegram.next_message_id(SUPPORT)
        await t.exchange(SUPPORT, Update(update_id=t.next_update_id(), message=Message(
            message_id=message_id, date=dt.datetime.now(dt.UTC), chat=chat,
            from_user=olga.telegram_user(), text="A refund is on its way.",
            message_thread_id=thread, is_topic_message=True)))

        def copied() -> list[object]:
            return [c for c in t.sent if c.chat_id == anna.id and c.method == "copyMessage"
                    and c.params.get("message_id") == message_id]

        assert len(copied()) == 6, "six refusals: the outbox gives up, the relay waits"
        await asyncio.sleep(31)  # the relay's retry_after (30 s)
        await t.settle()
        assert len(copied()) == 7, "copied on the relay's second try"


SCENARIOS: dict[str, Callable[[], Awaitable[None]]] = {
    "rate limit": rate_limit,
    "model backoff": model_backoff,
    "desk timer": desk_timer,
}


async def measured(step: Callable[[], Awaitable[None]]) -> tuple[float, float, float]:
    loop = asyncio.get_running_loop()
    wall, cpu, clock = time.perf_counter(), time.process_time(), loop.time()
    await step()
    return time.perf_counter() - wall, time.process_time() - cpu, loop.time() - clock


async def main(only: str | None) -> None:
    first = time.perf_counter()
    async with tester(App(env_file=None)) as t:
        await t.user("Anna").says("warm up")
    print(f"first tester (template migrated, warm-up exchange): "
          f"{1000 * (time.perf_counter() - first):.0f} ms")
    for name, step in SCENARIOS.items():
        if only and only != name:
            continue
        wall, cpu, clock = await measured(step)
        print(f"{name:<14} wall {wall:7.2f} s  cpu {cpu:6.2f} s  loop clock {clock:7.2f} s")
    print(f"clock: {'real' if REAL else 'virtual (default)'}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="BotTester(real_time=True)")
    parser.add_argument("--only", choices=sorted(SCENARIOS))
    arguments = parser.parse_args()
    REAL = arguments.real
    asyncio.run(main(arguments.only))
