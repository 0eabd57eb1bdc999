"""The console's two pages on a database of 10,000 conversations (issue 80: each under
200 ms on this machine).

    .venv/bin/python bench/bench_console.py [--conversations 10000] [--days 7] [--runs 30]

Builds a fresh SQLite database migrated with Alembic, holding `--conversations` private
conversations spread over `--days` days, each of three questions and three answers with a
trace of about 2 KiB (the model's entry, five passages, a tool call on every fifth answer,
"not found" on every seventh), and a support-desk case for every fourth (handed off, closed,
rated and scored). Then it serves the console on loopback, signs in and times, over HTTP as a
browser asks, the list of the busiest day (unfiltered; filtered to handed-off conversations,
to a tool, and a text search), a conversation's page, the live figures over 14 days (the
desk's report per day) and the judge against people over 8 weeks. It prints the median and the 95th
percentile of `--runs` requests each, after the first (timed apart: it compiles the
page's templates, and builds the figures' desk report, which is then reused for a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.features.console.auth import Access, Keys
from bot.features.console.models import ConsoleSession
from bot.features.console.pages import COOKIE
from bot.features.console.web import Console
from bot.features.desk.domain.figures import figures_reader
from bot.features.desk.domain.hours import SupportHours
from bot.features.desk.storage.facts import case_facts, scored_cases
from bot.features.desk.storage.insights_models import DeskScore
from bot.features.desk.storage.models import DeskCase
from bot.features.installed import load_tables
from bot.plugin.offers import CaseFacts, DeskFigures, ScoredCases
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.models import AnswerTrace, Chat, Conversation, Message, User
from bot.storage.repositories.traces import joined_tags

QUESTIONS = ["Where is my order A-{n}?", "How long does standard delivery take?",
             "Can I return a damaged item?", "What discount do we get for 200 units?"]
DOCS = ["shop/shipping.md", "shop/returns.md", "shop/orders.md", "shop/bulk.pdf"]


def trace(n: int, rng: random.Random) -> tuple[str, set[str]]:
    tags: set[str] = set()
    passages = [{"document": f"Document {i}", "path": DOCS[i % 4], "heading": f"Part {i}",
                 "score": round(rng.random(), 4), "used": i < 3, "cited": i == 0,
                 "excerpt": "Lorem ipsum dolor sit amet, " * 10} for i in range(5)]
    entry: dict[str, object] = {
        "model": {"model": "yandexgpt/latest", "wire": "native", "status": "complete",
                  "asked": True, "input_tokens": 800, "output_tokens": 120,
                  "first_words_ms": 400, "total_ms": 1900, "history_trimmed": False},
        "knowledge": {"search": QUESTIONS[n % 4], "mode": "assist", "min_score": 0.3,
                      "best_score": 0.8, "covered": True, "passages": passages},
    }
    tags.add(f"doc:{DOCS[n % 4]}")
    if n % 5 == 0:
        entry["tools"] = {"offered": ["order_status"], "rules": [], "calls": [{
            "round": 0, "name": "order_status", "arguments": {"order_id": f"A-{n}"},
            "state": "done", "outcome": "ok", "detail": None, "result": '{"status": "shipped"}',
            "latency_ms": 40, "writes": False, "pressed_by": None}]}
        tags.add("tool:order_status")
    if n % 7 == 0:
        entry["grounding"] = {"rules": ["\"not found\": the answer said so"], "sources": []}
        tags.add("notfound")
    return json.dumps(entry), tags


async def fill(db: Database, conversations: int, days: int) -> dt.date:
    """The conversations, spread over `days` days ending yesterday; the busiest day."""
    rng = random.Random(80)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=days)
    per_day: dict[dt.date, int] = {}
    users, chats, convs, messages, traces, cases, scores = [], [], [], [], [], [], []
    message_id = 0
    for c in range(1, conversations + 1):
        user_id = 100_000 + c
        at = start + dt.timedelta(seconds=rng.randrange(days * 86400 - 3600))
        per_day[at.date()] = per_day.get(at.date(), 0) + 1
        users.append({"id": user_id, "first_name": f"Customer {c}", "username": f"c{c}"})
        chats.append({"id": user_id, "type": "private"})
        convs.append({"id": c, "chat_id": user_id, "opened_at": at})
        for turn in range(3):
            n = c * 3 + turn
            message_id += 1
            asked = at + dt.timedelta(minutes=turn * 5)
            messages.append({"id": message_id, "conversation_id": c, "role": "user",
                             "status": "complete", "author_user_id": user_id,
                             "text": QUESTIONS[n % 4].format(n=n), "created_at": asked,
                             "updated_at": asked, "telegram_message_ids": []})
            message_id += 1
            data, tags = trace(n, rng)
            messages.append({"id": message_id, "conversation_id": c, "role": "assistant",
                             "status": "complete", "reply_to_id": message_id - 1,
                             "model": "yandexgpt/latest",
                             "text": "Standard delivery takes 2 to 4 working days. " * 4,
                             "created_at": asked + dt.timedelta(seconds=2),
                             "updated_at": asked, "telegram_message_ids": []})
            traces.append({"answer_id": message_id, "data": data, "tags": joined_tags(tags),
                           "created_at": asked})
        if c % 4 == 0:
            handed = at + dt.timedelta(minutes=16)
            cases.append({"id": c, "user_id": user_id, "status": "resolved", "opened_at": at,
                          "last_user_at": handed, "not_found_streak": 0,
                          "handoff_reason": "user_request", "handoff_at": handed,
                          "resolved_at": handed + dt.timedelta(minutes=10),
                          "resolution": "closed", "csat_score": 1 + c % 5,
                          "csat_comment_pending": False, "user_name": f"Customer {c}"})
            scores.append({"case_id": c, "status": "scored", "resolved": c % 8 == 0,
                           "score": 1 + c % 5, "evidence_line": 3,
                           "evidence": "the customer thanked the operator",
                           "scored_at": handed})
    async with db.sessionmaker() as session:
        for model, rows in ((User, users), (Chat, chats), (Conversation, convs),
                            (Message, messages), (AnswerTrace, traces), (DeskCase, cases),
                            (DeskScore, scores)):
            for i in range(0, len(rows), 5000):
                await session.execute(insert(model), rows[i:i + 5000])
        await session.commit()
    return max(per_day, key=lambda day: per_day[day])


async def timed(http: aiohttp.ClientSession, url: str, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        async with http.get(url) as response:
            body = await response.text()
            assert response.status == 200, body[:300]
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    load_tables()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/console.db"
        await migrate(url)
        db = Database(url)
        began = time.perf_counter()
        busiest = await fill(db, args.conversations, args.days)
        print(f"{args.conversations} conversations over {args.days} days, filled in "
              f"{time.perf_counter() - began:.1f} s; the busiest day {busiest}")
        access = Access(db.sessionmaker, Keys("bench"), 3600, frozenset({1}))
        hours = SupportHours.parse("", "UTC")
        console = Console(access, db.sessionmaker, CaseFacts(case_facts), path="/console",
                          public_url="http://127.0.0.1", secure=False,
                          figures=DeskFigures(figures_reader(db.sessionmaker, lambda: hours,
                                                             dt.timedelta(hours=24))),
                          scored=ScoredCases(scored_cases))
        async with db.sessionmaker() as session:
            session.add(ConsoleSession(
                digest=__import__("hashlib").sha256(b"bench-cookie").hexdigest(), user_id=1,
                csrf="x", expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
            await session.commit()
        app = web.Application()
        console.mount(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}/console"
        day = busiest.isoformat()
        pages = {
            "list, the busiest day": f"{base}/?day={day}",
            "list, handed off": f"{base}/?day={day}&handed_off=yes",
            "list, a tool used": f"{base}/?day={day}&tool=order_status",
            "list, text search": f"{base}/?day={day}&q=damaged",
            "list, page 10": f"{base}/?day={day}&page=10",
            "a conversation": f"{base}/c/{args.conversations // 2}",
            "the figures, 14 days": f"{base}/figures?days=14",
            "judge vs people, 8 weeks": f"{base}/agreement?weeks=8",
        }
        jar = aiohttp.CookieJar(unsafe=True)
        jar.update_cookies({COOKIE: "bench-cookie"})
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            for name, page in pages.items():
                # The first request: templates compiled, the figures' desk report built (it
                # is then reused for a minute).
                first, _ = await timed(http, page, 1)
                await timed(http, page, 1)
                median, p95 = await timed(http, page, args.runs)
                print(f"{name:<26} first {first:6.1f} ms   median {median:6.1f} ms   "
                      f"p95 {p95:6.1f} ms")
        await runner.cleanup()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
