"""Desk-insights benchmark (issue 26): deferred jobs under the async quotas, gap analysis CPU.

    .venv/bin/python bench/bench_insights.py jobs [--cases 1000] [--speedup 20]
    .venv/bin/python bench/bench_insights.py gaps [--questions 10000]

jobs: `--cases` closed cases in a fresh SQLite database, each with a handoff summary and an FAQ
drafts job, through the real client against the fake Yandex server, which answers
completionAsync with operations pending for 2 polls and refuses with 429 what goes beyond the
folder's quotas (10 submits and 50 operation GETs a second, 5,000 submits an hour). Time runs
`--speedup` times faster on both sides (the fake's limits and the bot's pacing are multiplied
alike), so the ratio to the quota is what is measured. Prints the jobs applied, the wall time,
the submit and poll rates against the (scaled) quotas, and the 429 count.

gaps: `--questions` not-found questions (Russian and English, 250 topics phrased many ways) in
a fresh SQLite database; `GapAnalysis.run` reads them, groups and ranks them; the embedding
requests are answered from vectors computed beforehand with the fake server's embedding (they
are network-bound and paced by the quota, not bot CPU). Prints the bot CPU (process time) of
the run and the topics found.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bot.features.desk.insights import InsightJobs
from bot.features.desk.insights.faq import FAQ_PROMPT, FAQ_SCHEMA
from bot.features.desk.insights.gaps import GapAnalysis
from bot.features.desk.insights.summaries import HANDOFF_PROMPT, HANDOFF_SCHEMA
from bot.features.desk.storage.insights_models import InsightJobStatus
from bot.features.desk.storage.models import DeskCase, DeskStatus, DeskTurn
from bot.foundation_models.types import ChatMessage, PollPolicy, Role
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.testing.yandex import payloads as fm_payloads
from tests.conversation.conftest import API_KEY, FOLDER, fake_client
from tests.fakes.yandex.server import FakeFoundationModels

SUBMITS, GETS, PER_HOUR = 10.0, 50.0, 5000


async def bench_jobs(cases: int, speedup: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate(url)
        db = Database(url)
        async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as fm:
            fm.text_pending_polls = 2
            fm.async_rps_limit = SUBMITS * speedup
            fm.operation_rps_limit = GETS * speedup
            client = fake_client(fm.url)
            jobs = InsightJobs(
                db.sessionmaker, client, model_name="yandexgpt/latest",
                policy=PollPolicy(initial=2.0 / speedup, multiplier=1.5,
                                  max_interval=30.0 / speedup, deadline=600.0),
                submit_rate=SUBMITS * 0.9 * speedup, poll_rate=GETS * 0.2 * speedup,
                submits_per_hour=int(PER_HOUR * 0.9), hour=3600.0 / speedup,
                retry_base=5.0 / speedup, concurrency=200,
            )
            async with db.sessionmaker() as session:
                rows = [DeskCase(user_id=i, user_name=f"u{i}", status=DeskStatus.RESOLVED)
                        for i in range(cases)]
                session.add_all(rows)
                await session.commit()
                ids = [(row.id, row.user_id) for row in rows]
            started = time.monotonic()
            for case_id, user in ids:
                text = f"user: where is my parcel number {user}?\noperator: It ships in 2 days."
                await jobs.submit("handoff_summary", [ChatMessage(Role.SYSTEM, HANDOFF_PROMPT),
                                  ChatMessage(Role.USER, text)], schema=HANDOFF_SCHEMA,
                                  case_id=case_id, user_id=user)
                await jobs.submit("faq_drafts", [ChatMessage(Role.SYSTEM, FAQ_PROMPT),
                                  ChatMessage(Role.USER, text)], schema=FAQ_SCHEMA,
                                  case_id=case_id, user_id=user)
            while True:
                await jobs.wait_idle()
                if not await jobs.sweep():
                    break
            wall = time.monotonic() - started
            async with db.sessionmaker() as session:
                from sqlalchemy import func, select

                from bot.features.desk.storage.insights_models import InsightJob

                states = dict((await session.execute(
                    select(InsightJob.status, func.count()).group_by(InsightJob.status)
                )).all())
            submits = sum(1 for r in fm.requests if r.path.endswith("/completionAsync"))
            polls = sum(1 for r in fm.requests if r.path.startswith("/operations/"))
            await jobs.aclose()
            await client.aclose()
        await db.dispose()
    applied = states.get(InsightJobStatus.APPLIED, 0)
    real = wall * speedup
    print(f"{cases} cases, {2 * cases} jobs: {applied} applied, states {states}")
    print(f"wall {wall:.1f} s at speedup {speedup:g} (= {real:.0f} s real time)")
    print(f"submits {submits}: {submits / real:.2f}/s real (quota {SUBMITS:g}/s, "
          f"{PER_HOUR}/h: {submits * 3600 / max(real, 3600):.0f} in the busiest hour)")
    print(f"operation GETs {polls}: {polls / real:.2f}/s real (quota {GETS:g}/s)")
    print(f"429 answers: {fm.async_429s}")


TOPICS_EN = ["refund", "delivery", "password", "gift card", "warranty", "invoice", "discount",
             "pickup", "installments", "exchange"]
TOPICS_RU = ["возврат", "доставка", "пароль", "подарочная карта", "гарантия", "счёт", "скидка",
             "самовывоз", "рассрочка", "обмен"]
SHAPES_EN = ["how does {t} work for {x}?", "question about {t} and {x}", "{x}: what about {t}?",
             "can I get {t} with {x}", "is {t} possible for {x}"]
SHAPES_RU = ["как работает {t} для {x}?", "вопрос про {t} и {x}", "{x}: что с {t}?",
             "можно ли {t} для {x}", "{t} возможен для {x}?"]


def questions(n: int, rng: random.Random) -> list[str]:
    things = [f"item{k}" for k in range(25)]
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            t, shape = rng.choice(TOPICS_EN), rng.choice(SHAPES_EN)
        else:
            t, shape = rng.choice(TOPICS_RU), rng.choice(SHAPES_RU)
        out.append(shape.format(t=t, x=rng.choice(things)))
    return out


async def bench_gaps(count: int) -> None:
    rng = random.Random(26)
    texts = questions(count, rng)
    cache = {t: np.asarray(fm_payloads.embedding_of(t), dtype=np.float32) for t in set(texts)}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate(url)
        db = Database(url)
        now = dt.datetime.now(dt.UTC)
        async with db.sessionmaker() as session:
            for start in range(0, count, 1000):
                cases = [DeskCase(user_id=i, user_name="u", status=DeskStatus.BOT)
                         for i in range(start, min(count, start + 1000))]
                session.add_all(cases)
                await session.flush()
                session.add_all(DeskTurn(case_id=c.id, question=texts[c.user_id], not_found=True,
                                         created_at=now - dt.timedelta(hours=1))
                                for c in cases)
            await session.commit()

        async def embed(text: str) -> np.ndarray:
            return cache[text]

        async def similar(text: str) -> float:
            return 0.0

        analysis = GapAnalysis(db.sessionmaker, embed=embed, similar=similar)
        cpu, wall = time.process_time(), time.monotonic()
        gaps = await analysis.run(7)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        await db.dispose()
    print(f"{count} questions -> {len(gaps)} topics; top: {gaps[0].title!r} "
          f"({gaps[0].users} users)")
    print(f"gap analysis: {cpu:.2f} s of bot CPU, {wall:.2f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    j = sub.add_parser("jobs")
    j.add_argument("--cases", type=int, default=1000)
    j.add_argument("--speedup", type=float, default=20.0)
    g = sub.add_parser("gaps")
    g.add_argument("--questions", type=int, default=10_000)
    args = parser.parse_args()
    if args.what == "jobs":
        asyncio.run(bench_jobs(args.cases, args.speedup))
    else:
        asyncio.run(bench_gaps(args.questions))


if __name__ == "__main__":
    main()
