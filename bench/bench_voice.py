"""A voice reply's bot-side time for a 1,000-character answer (target p95 <= 50 ms).

    .venv/bin/python bench/bench_voice.py [--replies 60] [--chars 1000]

What the bot does after the text answer is out, with the real code (VoiceReplies): the pending
row stored with the answer, the budget read, the Markdown made speakable and cut into parts,
the SpeechKit request (form-encoded, over loopback HTTP), the OggOpus answer checked (joined
when there are several parts), sendVoice uploaded through the Outbox to the fake Bot API (its
own process) and the voice message noted, the row finished and the usage counted (SQLite).
SpeechKit is a stand-in process (bench/tts_standin.py) answering at once with a prepared
OggOpus file about as long and large as SpeechKit's (70 ms of speech per character, real
encoder output): its own handling time is printed and subtracted, so the figure is the time
beyond SpeechKit's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bot.conversation import TurnResult
from bot.features.voice.policy import VoiceConfig, VoiceMode, VoicePolicy
from bot.features.voice.replies import VoiceReplies
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.speech_synthesis import SpeechSynthesizer
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.models import (
    Chat,
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
)
from bot.telegram.answer_parts import Asked
from bot.telegram.outbox import Outbox, Pacing
from bot.telegram.startup import make_bot
from bot.telegram.texts import Translator
from tests.e2e.processes import TG_TOKEN, FakeProcess, start_telegram_process

CHAT = 4242
PARAGRAPH = ("Чтобы **сбросить пароль**, откройте [настройки](https://example.com/settings), "
             "выберите пункт «Безопасность» и нажмите «Сбросить». Письмо придёт через минуту. ")


def answer_text(chars: int) -> str:
    text = ""
    while len(text) < chars:
        text += PARAGRAPH
    return text[:chars]


async def answers(db: Database, count: int, text: str) -> list[int]:
    async with db.sessionmaker() as session:
        session.add(Chat(id=CHAT, type="private"))
        conversation = Conversation(chat_id=CHAT)
        session.add(conversation)
        await session.flush()
        rows = [Message(conversation_id=conversation.id, role=MessageRole.ASSISTANT,
                        status=MessageStatus.COMPLETE, text=text) for _ in range(count)]
        session.add_all(rows)
        await session.commit()
        return [row.id for row in rows]


async def main(replies: int, chars: int) -> None:
    tg = await start_telegram_process(flood=False)
    tts = await FakeProcess.start("bench.tts_standin")
    http = aiohttp.ClientSession()
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    try:
        async with http.post(f"{tg.url}/_control/user_message",
                             json={"chat_id": CHAT, "text": "hi"}) as resp:
            resp.raise_for_status()
        await migrate(url)
        db = Database(url)
        text = answer_text(chars)
        ids = await answers(db, replies + 5, text)
        bot = make_bot(TG_TOKEN, tg.url)
        outbox = Outbox(
            bot,
            Pacing(
                private_interval=0.001, group_interval=0.001, global_rate=10_000.0,
                typing_interval=0.001, draft_keepalive=20.0, retry_after_scale=0.001,
            ),
        )
        synthesizer = SpeechSynthesizer(base_url=tts.url, auth=ApiKeyAuth("bench"))
        voice = VoiceReplies(
            synthesizer=synthesizer, sessionmaker=db.sessionmaker, outbox=outbox,
            config=VoiceConfig(policy=VoicePolicy(VoiceMode.ALWAYS), voice="alena",
                               chars_per_day=10**9),
        )
        t = Translator.for_code("ru")
        times: list[float] = []
        cpu: list[float] = []
        for n, answer_id in enumerate(ids):
            result = TurnResult(message_id=answer_id, text=text, status=MessageStatus.COMPLETE,
                                usage=None, trimmed_history=False, error=None)
            ask = Asked(user_id=CHAT, language="ru", question_id=1, spoken=True)
            started, cpu_started = time.perf_counter(), time.process_time()
            await voice.after_answer(ask, CHAT, True, result, t)
            if n >= 5:  # the first ones warm aiogram's models and the connections up
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
        async with http.get(f"{tts.url}/_stats") as resp:
            handled = (await resp.json())["handled"][5:]
        async with http.get(f"{tg.url}/_control/stats") as resp:
            calls = (await resp.json())["calls"]
        own = statistics.mean(handled)
        beyond = sorted(t - own for t in times)
        p50 = beyond[len(beyond) // 2]
        p95 = beyond[min(len(beyond) - 1, int(0.95 * len(beyond)))]
        print(f"voice replies: {len(times)} of a {chars}-character answer "
              f"(sendVoice calls {calls.get('sendVoice', 0)})")
        print(f"SpeechKit stand-in's own time: mean {1000 * own:.2f} ms per request")
        print(f"bot-side time beyond it: p50 {1000 * p50:.1f} ms, p95 {1000 * p95:.1f} ms, "
              f"max {1000 * beyond[-1]:.1f} ms (target p95 <= 50 ms)")
        cpu.sort()
        print(f"bot process CPU per reply: p50 {1000 * cpu[len(cpu) // 2]:.1f} ms, p95 "
              f"{1000 * cpu[min(len(cpu) - 1, int(0.95 * len(cpu)))]:.1f} ms; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times stretch with it)")
        await synthesizer.aclose()
        await outbox.aclose()
        await bot.session.close()
        await db.dispose()
    finally:
        await http.close()
        await tg.stop()
        await tts.stop()
        tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replies", type=int, default=60)
    parser.add_argument("--chars", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.replies, args.chars))
